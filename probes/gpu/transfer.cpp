// gpu.transfer: host<->device copy bandwidth. The device's own copy engine through
// vkCmdCopyBuffer between host-visible staging memory and device-local memory, each way
// and both ways in one submission (timed by timestamp queries), and the host's memcpy
// into and out of mapped memory (device-local when the device exposes it to the host,
// otherwise host-visible staging; timed by the host clock). Every transfer's data is
// checked against its source.
#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "kernels/cpu/random.hpp"
#include "probes/cpu/sweep.hpp"
#include "values/error.hpp"
#include "probes/gpu/session.hpp"
#include "probes/probe.hpp"
#include "probes/summary.hpp"
#include "probes/timing.hpp"

namespace roofaudit {
namespace {

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

class GpuTransferProbe final : public Probe {
 public:
  std::string_view name() const override { return "gpu.transfer"; }
  std::string_view description() const override {
    return "host<->device bandwidth: vkCmdCopyBuffer each way and both ways, and memcpy through mapped memory";
  }
  int version() const override { return 1; }
  void check(const RunSettings& settings, const Topology&) const override { gpu::check_device_selector(settings); }

  void run(ProbeContext& ctx) override {
    gpu::Session session = gpu::open_session(ctx.settings);
    if (!session.skipped.empty()) {
      for (const auto& v : kVariants) emit_unsupported(ctx, v, "gpu", session.skipped);
      return;
    }
    ctx.describe_device(session.device_info());
    const vk::Device& dev = *session.device;
    const auto& desc = dev.description();
    const std::uint64_t max_bytes = max_transfer(ctx.settings, desc);
    const auto sizes = geometric_sizes(std::min<std::uint64_t>(std::max<std::uint64_t>(ctx.settings.min_working_set_bytes, 64 * 1024), max_bytes), max_bytes, 4.0);
    ctx.progress(fmt::format("{}: allocating", desc.name));
    Buffer up(dev, max_bytes, Buffer::Memory::host_visible), down(dev, max_bytes, Buffer::Memory::host_visible);
    Buffer device_a(dev, max_bytes, Buffer::Memory::device_local), device_b(dev, max_bytes, Buffer::Memory::device_local);
    const bool device_mapped = dev.has_memory(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                              VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    std::unique_ptr<Buffer> mapped_device;
    if (device_mapped) {
      try {  // a small BAR window (256 MiB without resizable BAR) may refuse it
        mapped_device = std::make_unique<Buffer>(dev, max_bytes, Buffer::Memory::device_mapped);
      } catch (const vk::VulkanError&) {
        mapped_device.reset();
      }
    }
    Buffer& mapped = mapped_device ? *mapped_device : up;
    const char* mapped_kind = mapped_device ? "device-local host-visible (mapped VRAM)" : "host-visible staging";

    // Random host data, and the same in device_b for the device->host direction.
    std::vector<std::uint64_t> host(max_bytes / 8), back(max_bytes / 8);
    kernels::SplitMix64 rng(ctx.settings.seed);
    for (auto& w : host) w = rng.next();
    std::memcpy(up.mapped(), host.data(), max_bytes);
    vk::Commands commands(dev, 2);
    {
      VkCommandBuffer cmd = commands.begin();
      vk::copy_buffer(cmd, up, device_b, 0, 0, max_bytes);
      vk::transfer_barrier(cmd);
      commands.submit_and_wait();
    }
    const double target = gpu::sample_target_seconds(ctx.settings, desc);
    const int reps = ctx.settings.repetitions > 0 ? ctx.settings.repetitions : (ctx.settings.quick ? 3 : 5);

    for (const auto& v : kVariants) {
      const bool copy = v.kind == Kind::h2d_copy || v.kind == Kind::d2h_copy || v.kind == Kind::both_copy;
      if (copy && !desc.timestamps) {
        emit_unsupported(ctx, v, session.device_key(), "unsupported: the compute queue has no timestamps");
        continue;
      }
      for (std::uint64_t bytes : sizes) {
        if (ctx.stop_requested) return;
        bytes = bytes / 8 * 8;
        ctx.progress(fmt::format("{} {}", v.name, human_bytes(double(bytes))));
        const std::uint64_t expect = checksum(host.data(), bytes);
        std::uint32_t copies = 1;
        // One sample: the transfer, then its check. Returns seconds per transfer.
        auto sample = [&](std::string& problem) -> double {
          switch (v.kind) {
            case Kind::h2d_copy:
            case Kind::d2h_copy:
            case Kind::both_copy: {
              std::memset(down.mapped(), 0, bytes);  // poison what is read back
              VkCommandBuffer cmd = commands.begin();
              if (v.kind != Kind::d2h_copy) vkCmdFillBuffer(cmd, device_a.get(), 0, bytes, 0);
              vk::transfer_barrier(cmd);
              commands.timestamp(0);
              for (std::uint32_t c = 0; c < copies; ++c) {
                if (c) vk::transfer_barrier(cmd);
                if (v.kind != Kind::d2h_copy) vk::copy_buffer(cmd, up, device_a, 0, 0, bytes);
                if (v.kind != Kind::h2d_copy) vk::copy_buffer(cmd, device_b, down, 0, 0, bytes);
              }
              commands.timestamp(1);
              vk::transfer_barrier(cmd);
              if (v.kind == Kind::h2d_copy) vk::copy_buffer(cmd, device_a, down, 0, 0, bytes);  // read back what arrived
              vk::transfer_barrier(cmd);
              commands.submit_and_wait();
              const double seconds = commands.seconds_between(0, 1) / copies;  // before the pool is reused
              const std::uint64_t got = checksum(down.mapped(), bytes);
              if (got != expect) problem = fmt::format("{}: {} bytes arrived with checksum {:#x}, sent {:#x}", v.name, bytes, got, expect);
              if (v.kind == Kind::both_copy && problem.empty()) {  // and the upload: read it back too
                VkCommandBuffer check = commands.begin();
                vk::copy_buffer(check, device_a, down, 0, 0, bytes);
                vk::transfer_barrier(check);
                commands.submit_and_wait();
                if (checksum(down.mapped(), bytes) != expect) problem = "bidirectional_copy: the upload arrived corrupted";
              }
              return seconds;
            }
            case Kind::h2d_mapped: {
              std::memset(mapped.mapped(), 0, bytes);
              const auto t0 = std::chrono::steady_clock::now();
              for (std::uint32_t c = 0; c < copies; ++c) std::memcpy(mapped.mapped(), host.data(), bytes);
              const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
              if (checksum(mapped.mapped(), bytes) != expect) problem = "h2d_mapped: mapped memory differs from the source";
              return s / copies;
            }
            case Kind::d2h_mapped: {
              std::memcpy(mapped.mapped(), host.data(), bytes);
              std::memset(back.data(), 0, bytes);
              const auto t0 = std::chrono::steady_clock::now();
              for (std::uint32_t c = 0; c < copies; ++c) std::memcpy(back.data(), mapped.mapped(), bytes);
              const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
              if (checksum(back.data(), bytes) != expect) problem = "d2h_mapped: what was read differs from the source";
              return s / copies;
            }
          }
          return 0;
        };
        std::string problem;
        const double one = sample(problem);
        copies = std::uint32_t(std::clamp(target / std::max(one, 1e-7), 1.0, double(kMaxCopies)));
        std::vector<double> seconds;
        if (problem.empty()) {
          const auto timing = time_repetitions(fmt::format("gpu.transfer/{}/{}", v.name, bytes), 1, reps, [&] {
            std::string p;
            const double s = sample(p);
            if (p.empty()) p = session.validation_problem();
            if (!p.empty()) throw SampleFailed{p};
            return s;
          });
          seconds = timing.seconds;
          if (!timing.ok) problem = timing.error;
        }
        Measurement m = base(v, session.device_key());
        const double moved = double(bytes) * (v.kind == Kind::both_copy ? 2 : 1);
        m.params = {{"bytes", bytes}, {"device_name", desc.name}, {"transfers_per_sample", copies}};
        if (!copy) m.params["memory"] = mapped_kind;
        record_outcome(m, seconds, problem, "checksum of every byte transferred equals the source's",
                       [&](double s) { return moved / s; });
        ctx.emit(std::move(m));
      }
    }
  }

 private:
  static std::uint64_t max_transfer(const RunSettings& s, const vk::DeviceDescription& d) {
    std::uint64_t cap = std::min<std::uint64_t>(d.max_allocation_bytes, std::max<std::uint64_t>(d.device_local_bytes() / 8, 1 << 20));
    const std::uint64_t wanted = s.max_working_set_bytes ? s.max_working_set_bytes
                                                         : (d.type == "cpu" ? std::uint64_t(64) << 20 : std::uint64_t(256) << 20);
    return std::max<std::uint64_t>(std::min(wanted, cap) / 8 * 8, 64 * 1024);
  }

  Measurement base(const Variant& v, const std::string& device) const {
    Measurement m;
    m.probe = std::string(name());
    m.probe_version = version();
    m.device = device;
    m.variant = v.name;
    m.metric = "bandwidth";
    m.unit = "B/s";
    m.higher_is_better = true;
    m.convention = v.convention;
    return m;
  }

  void emit_unsupported(ProbeContext& ctx, const Variant& v, const std::string& device, const std::string& why) const {
    Measurement m = base(v, device);
    m.supported = false;
    m.validation = why;
    ctx.emit(std::move(m));
  }
};

ROOFAUDIT_REGISTER_PROBE(GpuTransferProbe);

}  // namespace
}  // namespace roofaudit
