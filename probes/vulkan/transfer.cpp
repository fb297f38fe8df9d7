// gpu.transfer: host<->device copy bandwidth. The device's own copy engine through
// vkCmdCopyBuffer between host-visible staging memory and device-local memory, each way
// and both ways in one submission (timed by timestamp queries), and the host's memcpy
// into and out of mapped memory (device-local when the device exposes it to the host,
// otherwise host-visible staging; timed by the host clock). Every transfer's data is
// checked against its source.
//
// A GPU caches host memory in its L2 like its own: copying the same 16 MiB from host memory
// again and again reads it from L2 after the first time, at L2 speed (384 GB/s "over" a
// 64 GB/s PCIe link on an H200). So the copies of one sample each read (host->device) or
// write (device->host) host memory the previous copies did not touch, walking a staging
// window of at least 256 MiB (past every GPU L2 shipping) before they come back to its
// start. Reads of mapped device memory (the BAR window) are uncached on the host and crawl:
// they stop at 4 MiB, and what the host wrote there is checked by a copy on the GPU.
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
constexpr std::uint64_t kStagingWindow = std::uint64_t(256) << 20;
constexpr std::uint64_t kBarReadCap = std::uint64_t(4) << 20;

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
    Transfers t(session, max_bytes, staging_window(desc, max_bytes), driver.settings().seed);
    for (const auto& v : kVariants) {
      if (is_copy(v) && !desc.timestamps) {
        driver.unsupported(figure(v), "unsupported: the compute queue has no timestamps");
        continue;
      }
      for (std::uint64_t bytes : sizes) {
        if (driver.stopped()) return;
        bytes = bytes / 8 * 8;
        if (v.kind == Kind::d2h_mapped && t.maps_device_memory() && bytes > kBarReadCap) break;
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
    Transfers(const gpu::Session& session, std::uint64_t max_bytes, std::uint64_t window, std::uint64_t seed)
        : session_(session), dev_(*session.device), window_(window), up_(dev_, window, Buffer::Memory::host_visible),
          down_(dev_, window, Buffer::Memory::host_visible), device_a_(dev_, max_bytes, Buffer::Memory::device_local),
          device_b_(dev_, max_bytes, Buffer::Memory::device_local), host_(window / 8), back_(max_bytes / 8),
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
      std::memcpy(up_.mapped(), host_.data(), window);
      VkCommandBuffer cmd = commands_.begin();
      vk::copy_buffer(cmd, up_, device_b_, 0, 0, max_bytes);
      vk::transfer_barrier(cmd);
      commands_.submit_and_wait();
    }

    const vk::DeviceDescription& description() const { return dev_.description(); }
    const char* mapped_kind() const {
      return mapped_device_ ? "device-local host-visible (mapped VRAM)" : "host-visible staging";
    }
    // Whether mapped memory is a discrete GPU's BAR window (uncached for the host's reads);
    // an integrated GPU's or the CPU implementation's device-local memory is the host's own.
    bool maps_device_memory() const { return mapped_device_ && dev_.description().type == "discrete"; }
    std::uint64_t window() const { return window_; }

    // One sample: `copies` transfers, then their check. Returns seconds per transfer.
    double sample(Kind kind, std::uint64_t bytes, std::uint32_t copies, std::string& problem) {
      const double s = kind == Kind::h2d_mapped || kind == Kind::d2h_mapped ? mapped(kind, bytes, copies, problem)
                                                                             : copy(kind, bytes, copies, problem);
      if (problem.empty()) problem = session_.validation_problem();
      return s;
    }

   private:
    // Where copy c of a sample reads (host->device) or writes (device->host) in the
    // staging window: consecutive slots of `bytes`, so no copy finds the last one's bytes
    // in a cache until the window has been walked.
    std::uint64_t slot(std::uint64_t bytes, std::uint32_t c) const { return (c % std::max<std::uint64_t>(window_ / bytes, 1)) * bytes; }
    std::uint64_t checksum_at(std::uint64_t offset, std::uint64_t bytes) const { return checksum(host_.data() + offset / 8, bytes); }
    static std::uint8_t* at(Buffer& b, std::uint64_t offset) { return static_cast<std::uint8_t*>(b.mapped()) + offset; }

    double copy(Kind kind, std::uint64_t bytes, std::uint32_t copies, std::string& problem) {
      const std::uint64_t last = slot(bytes, copies - 1);
      const char* name = kind == Kind::h2d_copy ? "h2d_copy" : kind == Kind::d2h_copy ? "d2h_copy" : "bidirectional_copy";
      // Poisoned: where the upload is read back (offset 0), and the slot the last download lands in.
      std::memset(at(down_, 0), 0, bytes);
      if (last != 0) std::memset(at(down_, last), 0, bytes);
      VkCommandBuffer cmd = commands_.begin();
      if (kind != Kind::d2h_copy) vkCmdFillBuffer(cmd, device_a_.get(), 0, bytes, 0);
      vk::transfer_barrier(cmd);
      commands_.timestamp(0);
      for (std::uint32_t c = 0; c < copies; ++c) {
        if (c) vk::transfer_barrier(cmd);
        if (kind != Kind::d2h_copy) vk::copy_buffer(cmd, up_, device_a_, slot(bytes, c), 0, bytes);
        if (kind != Kind::h2d_copy) vk::copy_buffer(cmd, device_b_, down_, 0, slot(bytes, c), bytes);
      }
      commands_.timestamp(1);
      vk::transfer_barrier(cmd);
      commands_.submit_and_wait();
      const double seconds = commands_.seconds_between(0, 1) / copies;  // before the pool is reused
      // device_b_ holds the window's first bytes; the upload's last copy came from slot `last`.
      if (kind != Kind::h2d_copy && checksum(at(down_, last), bytes) != checksum_at(0, bytes))
        problem = fmt::format("{}: the {} bytes that reached the host differ from the device's", name, bytes);
      if (kind != Kind::d2h_copy && problem.empty()) {  // what arrived on the device, read back
        VkCommandBuffer check = commands_.begin();
        vk::copy_buffer(check, device_a_, down_, 0, 0, bytes);
        vk::transfer_barrier(check);
        commands_.submit_and_wait();
        if (checksum(at(down_, 0), bytes) != checksum_at(last, bytes))
          problem = fmt::format("{}: the {} bytes that reached the device differ from the host's", name, bytes);
      }
      return seconds;
    }

    double mapped(Kind kind, std::uint64_t bytes, std::uint32_t copies, std::string& problem) {
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
      const std::uint64_t expect = checksum_at(0, bytes);
      if (kind == Kind::h2d_mapped) {
        // Device memory the host maps is checked by the GPU's copy of it into host memory:
        // the host's own reads of it are uncached.
        const void* written = target.mapped();
        if (mapped_device_) {
          std::memset(at(down_, 0), 0, bytes);
          VkCommandBuffer check = commands_.begin();
          vk::copy_buffer(check, *mapped_device_, down_, 0, 0, bytes);
          vk::transfer_barrier(check);
          commands_.submit_and_wait();
          written = at(down_, 0);
        }
        if (checksum(written, bytes) != expect) problem = "h2d_mapped: mapped memory differs from the source";
      }
      if (kind == Kind::d2h_mapped && checksum(back_.data(), bytes) != expect)
        problem = "d2h_mapped: what was read differs from the source";
      return s / copies;
    }

    const gpu::Session& session_;
    const vk::Device& dev_;
    std::uint64_t window_;
    Buffer up_, down_, device_a_, device_b_;
    std::unique_ptr<Buffer> mapped_device_;
    std::vector<std::uint64_t> host_, back_;
    vk::Commands commands_;
  };

  void measure(const ProbeDriver& driver, Transfers& t, const Variant& v, std::uint64_t bytes) const {
    std::string problem;
    const double one = t.sample(v.kind, bytes, 1, problem);
    const double target = gpu::sample_target_seconds(driver.settings(), t.description());
    const auto copies = std::uint32_t(std::clamp(target / std::max(one, 1e-7), 1.0, double(kMaxCopies)));
    Measurement m = driver.measurement(
        figure(v), {{"bytes", bytes}, {"device_name", t.description().name}, {"transfers_per_sample", copies}});
    if (!is_copy(v)) m.params["memory"] = t.mapped_kind();
    else m.params["staging_window_bytes"] = t.window();
    const double moved = double(bytes) * (v.kind == Kind::both_copy ? 2 : 1);
    const auto& link = t.description().pcie;
    if (is_copy(v)) m.params["link"] = link ? link->text() : "not stated (no PCI bus info, or no PCIe link in sysfs)";
    auto timed = driver.time(problem, fmt::format("gpu.transfer/{}/{}", v.name, bytes),
                             [&](std::string& p) { return t.sample(v.kind, bytes, copies, p); });
    // A copy over the link above its signalling rate did not cross it as counted.
    if (timed.problem.empty() && link && is_copy(v))
      timed.problem = exceeds_link(*link, moved, timed.seconds, v.kind == Kind::both_copy ? 2 : 1);
    driver.store(std::move(m), timed,
                 "checksum of every byte of the last transfer each way equals its source's (what reached device memory "
                 "read back by a GPU copy)",
                 [moved](double s) { return moved / s; });
  }

  static std::uint64_t allocation_cap(const vk::DeviceDescription& d) {
    return std::min<std::uint64_t>(d.max_allocation_bytes, std::max<std::uint64_t>(d.device_local_bytes() / 8, 1 << 20));
  }
  // The staging window: the largest transfer, and at least 256 MiB where the device allows.
  static std::uint64_t staging_window(const vk::DeviceDescription& d, std::uint64_t max_bytes) {
    return std::max(max_bytes, std::min(kStagingWindow, allocation_cap(d)) / 8 * 8);
  }

  static std::uint64_t max_transfer(const RunSettings& s, const vk::DeviceDescription& d) {
    std::uint64_t cap = allocation_cap(d);
    const std::uint64_t wanted = s.max_working_set_bytes ? s.max_working_set_bytes
                                                         : (d.type == "cpu" ? std::uint64_t(64) << 20 : std::uint64_t(256) << 20);
    return std::max<std::uint64_t>(std::min(wanted, cap) / 8 * 8, 64 * 1024);
  }
};

ROOFAUDIT_REGISTER_PROBE(GpuTransferProbe);

}  // namespace
}  // namespace roofaudit
