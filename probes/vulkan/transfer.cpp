// gpu.transfer: host<->device copy bandwidth. The device's own copy engine through
// vkCmdCopyBuffer between host-visible staging memory and device-local memory, each way
// and both ways in one submission (timed by timestamp queries), and the host's memcpy
// into and out of mapped memory (device-local when the device exposes it to the host,
// otherwise host-visible staging; timed by the host clock). Every transfer's data is
// checked against its source.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "kernels/cpu/random.hpp"
#include "probes/cpu/sweep.hpp"
#include "values/error.hpp"
#include "probes/vulkan/session.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"gpu.transfer", 1,
                                  "host<->device bandwidth: vkCmdCopyBuffer each way and both ways, and memcpy through mapped memory",
                                  Role::host_link};

using vk::Buffer;

enum class Kind { h2d_copy, d2h_copy, both_copy, h2d_mapped, d2h_mapped };
struct Variant {
  Kind kind;
  const char* name;
  const char* convention;
};
const Variant kVariants[] = {
    {Kind::h2d_copy, "h2d_copy", "bytes moved host->device once; vkCmdCopyBuffer from host-visible staging"},
    {Kind::d2h_copy, "d2h_copy", "bytes moved device->host once; vkCmdCopyBuffer into host-visible staging"},
    {Kind::both_copy, "bidirectional_copy",
     "bytes moved in both directions, summed; both copies in one command buffer on one queue, with no barrier "
     "between them (the driver may overlap them)"},
    {Kind::h2d_mapped, "h2d_mapped", "bytes the host memcpy writes into mapped memory, once"},
    {Kind::d2h_mapped, "d2h_mapped", "bytes the host memcpy reads from mapped memory, once"},
};
constexpr std::uint32_t kMaxCopies = 256;

std::uint64_t checksum(const void* data, std::uint64_t bytes) {
  const auto* w = static_cast<const std::uint64_t*>(data);
  std::uint64_t sum = 0x9e3779b97f4a7c15ULL;
  for (std::uint64_t i = 0; i < bytes / 8; ++i) sum = (sum ^ w[i]) * 0x100000001b3ULL + i;
  return sum;
}

class GpuTransferProbe final : public gpu::GpuProbe {
 public:
  GpuTransferProbe() : GpuProbe(kIdentity) {}

  std::vector<Figure> figures() const override { return gpu::figures_of(kVariants, figure); }
  void run_on(ProbeDriver& driver, gpu::Session& session) override {
    const auto& desc = session.device->description();
    const std::uint64_t max_bytes = max_transfer(driver.settings(), desc);
    const auto sizes = geometric_sizes(
        std::min<std::uint64_t>(std::max<std::uint64_t>(driver.settings().min_working_set_bytes, 64 * 1024), max_bytes),
        max_bytes, 4.0);
    driver.progress(fmt::format("{}: allocating", desc.name));
    Transfers t(session, max_bytes, driver.settings().seed);
    for (const auto& v : kVariants) {
      if (is_copy(v) && !desc.timestamps) {
        driver.unsupported(figure(v), "unsupported: the compute queue has no timestamps");
        continue;
      }
      for (std::uint64_t bytes : sizes) {
        if (driver.stopped()) return;
        bytes = bytes / 8 * 8;
        driver.progress(fmt::format("{} {}", v.name, human_bytes(double(bytes))));
        measure(driver, t, v, bytes);
      }
    }
  }

 private:
  static Figure figure(const Variant& v) { return {v.name, "bandwidth", "B/s", true, v.convention}; }
  static bool is_copy(const Variant& v) {
    return v.kind == Kind::h2d_copy || v.kind == Kind::d2h_copy || v.kind == Kind::both_copy;
  }

  // The buffers of every transfer, the random host data, and one sample of each kind.
  class Transfers {
   public:
    Transfers(const gpu::Session& session, std::uint64_t max_bytes, std::uint64_t seed)
        : session_(session), dev_(*session.device), up_(dev_, max_bytes, Buffer::Memory::host_visible),
          down_(dev_, max_bytes, Buffer::Memory::host_visible), device_a_(dev_, max_bytes, Buffer::Memory::device_local),
          device_b_(dev_, max_bytes, Buffer::Memory::device_local), host_(max_bytes / 8), back_(max_bytes / 8),
          commands_(dev_, 2) {
      if (dev_.has_memory(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                          VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) {
        try {  // a small BAR window (256 MiB without resizable BAR) may refuse it
          mapped_device_ = std::make_unique<Buffer>(dev_, max_bytes, Buffer::Memory::device_mapped);
        } catch (const vk::VulkanError&) {
          mapped_device_.reset();
        }
      }
      // Random host data, and the same in device_b for the device->host direction.
      kernels::SplitMix64 rng(seed);
      for (auto& w : host_) w = rng.next();
      std::memcpy(up_.mapped(), host_.data(), max_bytes);
      VkCommandBuffer cmd = commands_.begin();
      vk::copy_buffer(cmd, up_, device_b_, 0, 0, max_bytes);
      vk::transfer_barrier(cmd);
      commands_.submit_and_wait();
    }

    const vk::DeviceDescription& description() const { return dev_.description(); }
    const char* mapped_kind() const {
      return mapped_device_ ? "device-local host-visible (mapped VRAM)" : "host-visible staging";
    }
    std::uint64_t checksum_of_source(std::uint64_t bytes) const { return checksum(host_.data(), bytes); }

    // One sample: `copies` transfers, then their check. Returns seconds per transfer.
    double sample(Kind kind, std::uint64_t bytes, std::uint32_t copies, std::uint64_t expect, std::string& problem) {
      const double s = kind == Kind::h2d_mapped || kind == Kind::d2h_mapped ? mapped(kind, bytes, copies, expect, problem)
                                                                             : copy(kind, bytes, copies, expect, problem);
      if (problem.empty()) problem = session_.validation_problem();
      return s;
    }

   private:
    double copy(Kind kind, std::uint64_t bytes, std::uint32_t copies, std::uint64_t expect, std::string& problem) {
      std::memset(down_.mapped(), 0, bytes);  // poison what is read back
      VkCommandBuffer cmd = commands_.begin();
      if (kind != Kind::d2h_copy) vkCmdFillBuffer(cmd, device_a_.get(), 0, bytes, 0);
      vk::transfer_barrier(cmd);
      commands_.timestamp(0);
      for (std::uint32_t c = 0; c < copies; ++c) {
        if (c) vk::transfer_barrier(cmd);
        if (kind != Kind::d2h_copy) vk::copy_buffer(cmd, up_, device_a_, 0, 0, bytes);
        if (kind != Kind::h2d_copy) vk::copy_buffer(cmd, device_b_, down_, 0, 0, bytes);
      }
      commands_.timestamp(1);
      vk::transfer_barrier(cmd);
      if (kind == Kind::h2d_copy) vk::copy_buffer(cmd, device_a_, down_, 0, 0, bytes);  // read back what arrived
      vk::transfer_barrier(cmd);
      commands_.submit_and_wait();
      const double seconds = commands_.seconds_between(0, 1) / copies;  // before the pool is reused
      const std::uint64_t got = checksum(down_.mapped(), bytes);
      const char* name = kind == Kind::h2d_copy ? "h2d_copy" : kind == Kind::d2h_copy ? "d2h_copy" : "bidirectional_copy";
      if (got != expect) problem = fmt::format("{}: {} bytes arrived with checksum {:#x}, sent {:#x}", name, bytes, got, expect);
      if (kind == Kind::both_copy && problem.empty()) {  // and the upload: read it back too
        VkCommandBuffer check = commands_.begin();
        vk::copy_buffer(check, device_a_, down_, 0, 0, bytes);
        vk::transfer_barrier(check);
        commands_.submit_and_wait();
        if (checksum(down_.mapped(), bytes) != expect) problem = "bidirectional_copy: the upload arrived corrupted";
      }
      return seconds;
    }

    double mapped(Kind kind, std::uint64_t bytes, std::uint32_t copies, std::uint64_t expect, std::string& problem) {
      Buffer& target = mapped_device_ ? *mapped_device_ : up_;
      if (kind == Kind::h2d_mapped) std::memset(target.mapped(), 0, bytes);
      else {
        std::memcpy(target.mapped(), host_.data(), bytes);
        std::memset(back_.data(), 0, bytes);
      }
      const auto t0 = std::chrono::steady_clock::now();
      for (std::uint32_t c = 0; c < copies; ++c)
        if (kind == Kind::h2d_mapped) std::memcpy(target.mapped(), host_.data(), bytes);
        else std::memcpy(back_.data(), target.mapped(), bytes);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (kind == Kind::h2d_mapped && checksum(target.mapped(), bytes) != expect)
        problem = "h2d_mapped: mapped memory differs from the source";
      if (kind == Kind::d2h_mapped && checksum(back_.data(), bytes) != expect)
        problem = "d2h_mapped: what was read differs from the source";
      return s / copies;
    }

    const gpu::Session& session_;
    const vk::Device& dev_;
    Buffer up_, down_, device_a_, device_b_;
    std::unique_ptr<Buffer> mapped_device_;
    std::vector<std::uint64_t> host_, back_;
    vk::Commands commands_;
  };

  void measure(const ProbeDriver& driver, Transfers& t, const Variant& v, std::uint64_t bytes) const {
    const std::uint64_t expect = t.checksum_of_source(bytes);
    std::string problem;
    const double one = t.sample(v.kind, bytes, 1, expect, problem);
    const double target = gpu::sample_target_seconds(driver.settings(), t.description());
    const auto copies = std::uint32_t(std::clamp(target / std::max(one, 1e-7), 1.0, double(kMaxCopies)));
    Measurement m = driver.measurement(
        figure(v), {{"bytes", bytes}, {"device_name", t.description().name}, {"transfers_per_sample", copies}});
    if (!is_copy(v)) m.params["memory"] = t.mapped_kind();
    const double moved = double(bytes) * (v.kind == Kind::both_copy ? 2 : 1);
    driver.measure_unless(
        problem, std::move(m), fmt::format("gpu.transfer/{}/{}", v.name, bytes),
        [&](std::string& p) { return t.sample(v.kind, bytes, copies, expect, p); },
        "checksum of every byte transferred equals the source's", [&](double s) { return moved / s; });
  }

  static std::uint64_t max_transfer(const RunSettings& s, const vk::DeviceDescription& d) {
    std::uint64_t cap = std::min<std::uint64_t>(d.max_allocation_bytes, std::max<std::uint64_t>(d.device_local_bytes() / 8, 1 << 20));
    const std::uint64_t wanted = s.max_working_set_bytes ? s.max_working_set_bytes
                                                         : (d.type == "cpu" ? std::uint64_t(64) << 20 : std::uint64_t(256) << 20);
    return std::max<std::uint64_t>(std::min(wanted, cap) / 8 * 8, 64 * 1024);
  }
};

ROOFAUDIT_REGISTER_PROBE(GpuTransferProbe);

}  // namespace
}  // namespace roofaudit
