// gpu.gemm: matmul throughput of a Vulkan device, tiled through shared memory, with fp32
// inputs and with fp16 inputs (16-bit storage), both accumulating in fp32. Square sizes
// swept; small-integer inputs make every product and sum exact, so sampled entries of C
// must equal the host's integer reference exactly.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "kernels/cpu/random.hpp"
#include "kernels/vulkan/shaders.hpp"
#include "values/error.hpp"
#include "probes/gpu/host_values.hpp"
#include "probes/gpu/session.hpp"
#include "probes/probe.hpp"
#include "probes/summary.hpp"
#include "probes/timing.hpp"

namespace roofaudit {
namespace {

using gpu::to_half;
using vk::Buffer;

struct Variant {
  const char* name;
  const char* shader;
  int element_bytes;
  bool coopmat;  // on the matrix units: VK_NV_cooperative_matrix
};
const Variant kVariants[] = {{"fp32", "gemm_fp32", 4, false},
                             {"fp16", "gemm_fp16", 2, false},
                             {"fp16_coopmat", "", 2, true}};

// A workgroup of lx x ly invocations, each computing tm x tn outputs over k steps of tk:
// a bm x bn tile of C.
struct Tile {
  std::uint32_t lx, ly, tm, tn, tk, bm, bn;
};


class GpuGemmProbe final : public Probe {
 public:
  std::string_view name() const override { return "gpu.gemm"; }
  std::string_view description() const override {
    return "Vulkan matmul throughput: shared-memory tiled, fp32 and fp16 inputs (fp32 accumulate)";
  }
  int version() const override { return 1; }
  void check(const RunSettings& settings, const Topology&) const override { gpu::check_device_selector(settings); }

  void run(ProbeContext& ctx) override {
    gpu::Session session = gpu::open_session(ctx.settings);
    if (!session.skipped.empty()) {
      for (const auto& v : kVariants) emit_unsupported(ctx, v, "gpu", 0, session.skipped);
      return;
    }
    ctx.describe_device(session.device_info());
    const vk::Device& dev = *session.device;
    const auto& desc = dev.description();
    std::vector<std::uint32_t> sizes = {256, 512, 1024, 2048, 4096};
    const std::uint64_t cap = ctx.settings.max_working_set_bytes
                                  ? ctx.settings.max_working_set_bytes
                                  : (desc.type == "cpu" ? std::uint64_t(4) << 20 : std::uint64_t(1) << 30);
    sizes.erase(std::remove_if(sizes.begin(), sizes.end(),
                               [&](std::uint32_t n) {
                                 const std::uint64_t matrix = std::uint64_t(n) * n * 4;
                                 return 3 * matrix > std::max<std::uint64_t>(cap, 3 * 256 * 256 * 4) ||
                                        matrix > desc.max_storage_buffer_range;
                               }),
                sizes.end());
    const double target = gpu::sample_target_seconds(ctx.settings, desc);
    const int reps = ctx.settings.repetitions > 0 ? ctx.settings.repetitions : (ctx.settings.quick ? 3 : 5);
    vk::Commands commands(dev, 2);

    for (const auto& v : kVariants) {
      std::string missing;
      if (!desc.timestamps) missing = "unsupported: the compute queue has no timestamps";
      else if (v.element_bytes == 2 && !desc.storage_16bit)
        missing = "unsupported: the device lacks storageBuffer16BitAccess";
      gpu::MatrixUnitPath unit;
      if (v.coopmat && missing.empty()) {
        unit = gpu::matrix_unit_path(desc, "gemm_coopmat_nv", "gemm_coopmat_khr");
        missing = unit.unsupported;
      }
      if (!missing.empty()) {
        emit_unsupported(ctx, v, session.device_key(), 0, missing);
        continue;
      }
      // Tile shapes of the shared-memory shader, as specialization constants; every size is
      // measured with each and all are stored (the report shows the best). The matrix-unit
      // shader is one subgroup per workgroup with 2 x 2 tiles of 16 x 16.
      std::vector<Tile> tiles = v.coopmat ? std::vector<Tile>{{desc.subgroup_size, 1, 2, 2, 16, 32, 32}}
                                          : std::vector<Tile>{{16, 16, 4, 4, 16, 64, 64}, {16, 16, 8, 8, 16, 128, 128}};
      for (const Tile& tile : tiles) {
        const std::vector<std::uint32_t> spec = v.coopmat ? std::vector<std::uint32_t>{tile.lx}
                                                          : std::vector<std::uint32_t>{tile.lx, tile.ly, tile.tm, tile.tn, tile.tk};
        vk::ComputePipeline pipeline(dev, kernels::vulkan::shader(v.coopmat ? unit.shader : v.shader), 3, 4, spec,
                                     std::uint32_t(sizes.size()));
        for (std::uint32_t n : sizes) {
          if (ctx.stop_requested) return;
          if (n % tile.bm || n % tile.bn) continue;
          ctx.progress(fmt::format("{} n={} tile {}x{}", v.name, n, tile.bm, tile.bn));
          ctx.emit(measure(ctx, session, pipeline, commands, v, tile, n, target, reps));
        }
      }
    }
  }

 private:
  Measurement measure(ProbeContext& ctx, gpu::Session& session, vk::ComputePipeline& pipeline, vk::Commands& commands,
                      const Variant& v, const Tile& tile, std::uint32_t n, double target, int reps) const {
    const vk::Device& dev = *session.device;
    const std::uint64_t elements = std::uint64_t(n) * n;
    const std::uint64_t in_bytes = elements * std::uint64_t(v.element_bytes), out_bytes = elements * 4;
    // Inputs: integers in [-4, 4]; |C| <= 16 n < 2^24 for n <= 4096, exact in fp32.
    kernels::SplitMix64 rng(ctx.settings.seed + n);
    std::vector<int> ai(elements), bi(elements);
    for (auto& x : ai) x = int(rng.below(9)) - 4;
    for (auto& x : bi) x = int(rng.below(9)) - 4;
    Buffer staging(dev, std::max(2 * in_bytes, out_bytes), Buffer::Memory::host_visible);
    auto* bytes = static_cast<std::uint8_t*>(staging.mapped());
    for (std::uint64_t i = 0; i < elements; ++i) {
      if (v.element_bytes == 4) {
        const float a = float(ai[i]), b = float(bi[i]);
        std::memcpy(bytes + i * 4, &a, 4);
        std::memcpy(bytes + in_bytes + i * 4, &b, 4);
      } else {
        const std::uint16_t a = to_half(ai[i]), b = to_half(bi[i]);
        std::memcpy(bytes + i * 2, &a, 2);
        std::memcpy(bytes + in_bytes + i * 2, &b, 2);
      }
    }
    Buffer a(dev, in_bytes, Buffer::Memory::device_local), b(dev, in_bytes, Buffer::Memory::device_local),
        c(dev, out_bytes, Buffer::Memory::device_local);
    {
      VkCommandBuffer cmd = commands.begin();
      vk::copy_buffer(cmd, staging, a, 0, 0, in_bytes);
      vk::copy_buffer(cmd, staging, b, in_bytes, 0, in_bytes);
      vk::transfer_barrier(cmd);
      commands.submit_and_wait();
    }
    VkDescriptorSet set = pipeline.bind({&a, &b, &c});
    const std::uint32_t groups_x = n / tile.bn, groups_y = n / tile.bm;  // one output tile per workgroup
    std::uint32_t dispatches = 1;
    auto run_batch = [&](std::string& problem) {
      VkCommandBuffer cmd = commands.begin();
      vkCmdFillBuffer(cmd, c.get(), 0, VK_WHOLE_SIZE, 0xffffffffu);
      vk::transfer_barrier(cmd);
      commands.timestamp(0);
      for (std::uint32_t d = 0; d < dispatches; ++d) {
        if (d) vk::compute_barrier(cmd);
        pipeline.dispatch2d(cmd, set, &n, groups_x, groups_y);
      }
      commands.timestamp(1);
      vk::transfer_barrier(cmd);
      vk::copy_buffer(cmd, c, staging, 0, 0, out_bytes);
      vk::transfer_barrier(cmd);
      commands.submit_and_wait();
      const double seconds = commands.seconds_between(0, 1) / dispatches;
      const auto* got = static_cast<const float*>(staging.mapped());
      kernels::SplitMix64 pick(n * 31 + dispatches);
      for (int s = 0; s < 256 && problem.empty(); ++s) {
        const std::uint64_t i = s == 0 ? n - 1 : pick.below(n), j = s == 0 ? n - 1 : pick.below(n);
        long ref = 0;
        for (std::uint64_t k = 0; k < n; ++k) ref += long(ai[i * n + k]) * bi[k * n + j];
        if (got[i * n + j] != float(ref))
          problem = fmt::format("C[{},{}] = {} but the integer reference is {}", i, j, got[i * n + j], ref);
      }
      if (problem.empty()) problem = session.validation_problem();
      return seconds;
    };
    std::string problem;
    const double one = run_batch(problem);
    dispatches = std::uint32_t(std::clamp(target / std::max(one, 1e-7), 1.0, 64.0));
    std::vector<double> seconds;
    if (problem.empty()) {
      const auto timing = time_repetitions(fmt::format("gpu.gemm/{}/{}", v.name, n), 1, reps, [&] {
        std::string p;
        const double s = run_batch(p);
        if (!p.empty()) throw SampleFailed{p};
        return s;
      });
      seconds = timing.seconds;
      if (!timing.ok) problem = timing.error;
    }
    Measurement m = base(v, session.device_key(), n);
    m.params["device_name"] = dev.description().name;
    m.params["kernel"] = v.coopmat ? "cooperative matrix 16x16x16, 2x2 tiles per subgroup, fp32 accumulate"
                                   : fmt::format("shared-memory tiles {}x{}x{}, {}x{} per invocation, fp32 accumulate",
                                                 tile.bm, tile.bn, tile.tk, tile.tm, tile.tn);
    m.params["tile"] = fmt::format("{}x{}", tile.bm, tile.bn);
    m.params["dispatches_per_sample"] = dispatches;
    const double flops = 2.0 * double(n) * double(n) * double(n);
    record_outcome(m, seconds, problem, "256 sampled entries of C (one the last) equal the exact integer reference",
                   [&](double s) { return flops / s; });
    return m;
  }

  Measurement base(const Variant& v, const std::string& device, std::uint32_t n) const {
    Measurement m;
    m.probe = std::string(name());
    m.probe_version = version();
    m.device = device;
    m.variant = v.name;
    m.metric = "gemm";
    m.unit = "FLOP/s";
    m.higher_is_better = true;
    m.convention = "2 n^3 floating-point operations per n x n x n product";
    m.params = {{"n", n}};
    return m;
  }

  void emit_unsupported(ProbeContext& ctx, const Variant& v, const std::string& device, std::uint32_t n,
                        const std::string& why) const {
    Measurement m = base(v, device, n);
    m.supported = false;
    m.validation = why;
    ctx.emit(std::move(m));
  }
};

ROOFAUDIT_REGISTER_PROBE(GpuGemmProbe);

}  // namespace
}  // namespace roofaudit
