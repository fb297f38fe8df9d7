// gpu.gemm: matmul throughput of a Vulkan device, tiled through shared memory, with fp32
// inputs and with fp16 inputs (16-bit storage), both accumulating in fp32; and on the
// matrix units (cooperative matrices) with fp16 inputs and with int8 (int32 accumulate).
// Each variant races its candidates (tile shapes) and names the winner. Square sizes
// swept; small-integer inputs make every product and sum exact, so sampled entries of C
// must equal the host's integer reference exactly.
#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <cstring>

#include <fmt/format.h>

#include "kernels/cpu/random.hpp"
#include "kernels/vulkan/shaders.hpp"
#include "values/error.hpp"
#include "probes/vulkan/gemm_candidates.hpp"
#include "probes/vulkan/host_values.hpp"
#include "probes/vulkan/session.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"gpu.gemm", 1,
                                  "Vulkan matmul throughput: shared-memory tiled, fp32 and fp16 inputs (fp32 accumulate)",
                                  Role::gemm};

using gpu::to_half;
using gpu::Candidate;
using vk::Buffer;

struct Variant {
  const char* name;
  const char* shader;
  int element_bytes;
  bool coopmat;  // on the matrix units: VK_NV_cooperative_matrix
};
const Variant kVariants[] = {{"fp32", "gemm_fp32", 4, false},
                             {"fp16", "gemm_fp16", 2, false},
                             {"fp16_coopmat", "", 2, true},
                             {"int8_coopmat", "", 1, true}};

class GpuGemmProbe final : public gpu::GpuProbe {
 public:
  GpuGemmProbe() : GpuProbe(kIdentity) {}

  std::vector<Figure> figures() const override { return gpu::figures_of(kVariants, figure); }
  // Per variant, a race: every candidate measured at the race size (the largest swept size
  // up to 4096), every result stored; then the fastest valid one sweeps the other sizes.
  // A candidate the driver refuses or that computes a wrong product is stored as failed,
  // and the race goes on without it.
  void run_on(ProbeDriver& driver, gpu::Session& session) override {
    const auto& desc = session.device->description();
    const std::vector<std::uint32_t> sizes = matrix_sizes(driver.settings(), desc);
    vk::Commands commands(*session.device, 2);
    for (const auto& v : kVariants) {
      gpu::MatrixUnitPath unit;
      const std::string missing = unsupported_reason(v, desc, unit);
      if (!missing.empty()) {
        driver.unsupported(figure(v), missing, {{"n", 0}});
        continue;
      }
      std::uint32_t race_n = sizes.front();
      for (std::uint32_t n : sizes)
        if (n <= 4096) race_n = n;
      std::optional<Operands> at_race;
      std::optional<Candidate> best;
      double best_rate = 0;
      std::vector<std::unique_ptr<vk::ComputePipeline>> pipelines;
      for (const Candidate& c : gpu::gemm_candidates(v.shader, v.coopmat ? unit.shader : "", desc, v.element_bytes)) {
        if (driver.stopped()) return;
        Measurement m = driver.measurement(figure(v), params(desc, c, race_n, 0));
        if (const std::string unfit = gpu::candidate_unfit(c, desc); !unfit.empty()) {
          driver.unsupported(figure(v), unfit, m.params);
          continue;
        }
        if (race_n % c.bm || race_n % c.bn) continue;
        std::unique_ptr<vk::ComputePipeline> pipeline;
        try {
          pipeline = std::make_unique<vk::ComputePipeline>(*session.device, kernels::vulkan::shader(c.shader), 3, 4,
                                                           c.spec, std::uint32_t(sizes.size()));
        } catch (const vk::VulkanError& e) {
          m.valid = false;
          m.validation = fmt::format("failed: the driver refused the pipeline: {}", e.what());
          driver.emit(std::move(m));
          continue;
        }
        driver.progress(fmt::format("{} n={} {}x{} block (race)", v.name, race_n, c.bm, c.bn));
        const Measurement done = measure(driver, session, *pipeline, commands, v, c, race_n);
        if (done.valid && done.summary && done.summary->best > best_rate) {
          best_rate = done.summary->best;
          best = c;
          pipelines.clear();
          pipelines.push_back(std::move(pipeline));
        }
        driver.emit(done);
      }
      if (!best) continue;
      for (std::uint32_t n : sizes) {
        if (driver.stopped()) return;
        if (n == race_n || n % best->bm || n % best->bn) continue;
        driver.progress(fmt::format("{} n={} {}x{} block", v.name, n, best->bm, best->bn));
        driver.emit(measure(driver, session, *pipelines.front(), commands, v, *best, n));
      }
    }
  }

 private:
  static Figure figure(const Variant& v) {
    if (v.element_bytes == 1) return {v.name, "gemm", "OP/s", true, "2 n^3 integer operations per n x n x n product"};
    return {v.name, "gemm", "FLOP/s", true, "2 n^3 floating-point operations per n x n x n product"};
  }

  static nlohmann::json params(const vk::DeviceDescription& d, const Candidate& c, std::uint32_t n,
                               std::uint32_t dispatches) {
    nlohmann::json p{{"n", n}, {"device_name", d.name}, {"kernel", c.kernel}, {"tile", fmt::format("{}x{}", c.bm, c.bn)}};
    if (dispatches) p["dispatches_per_sample"] = dispatches;
    return p;
  }

  static std::string unsupported_reason(const Variant& v, const vk::DeviceDescription& desc, gpu::MatrixUnitPath& unit) {
    if (!desc.timestamps) return "unsupported: the compute queue has no timestamps";
    if (v.element_bytes == 2 && !desc.storage_16bit) return "unsupported: the device lacks storageBuffer16BitAccess";
    if (!v.coopmat) return "";
    unit = v.element_bytes == 1
               ? gpu::matrix_unit_path(desc, "gemm_coopmat_int8_nv", "", gpu::kMatrixUnitShapeInt8)
               : gpu::matrix_unit_path(desc, "gemm_coopmat_nv", "gemm_coopmat_khr");
    return unit.unsupported;
  }

  // Square sizes whose three matrices fit the working-set cap (4 MiB on the CPU
  // implementation, 1 GiB on a GPU, or --max-size) and one storage buffer.
  static std::vector<std::uint32_t> matrix_sizes(const RunSettings& settings, const vk::DeviceDescription& desc) {
    std::vector<std::uint32_t> sizes = {256, 512, 1024, 2048, 4096, 8192};
    const std::uint64_t cap = settings.max_working_set_bytes
                                  ? settings.max_working_set_bytes
                                  : (desc.type == "cpu" ? std::uint64_t(4) << 20 : std::uint64_t(1) << 30);
    sizes.erase(std::remove_if(sizes.begin(), sizes.end(),
                               [&](std::uint32_t n) {
                                 const std::uint64_t matrix = std::uint64_t(n) * n * 4;
                                 return 3 * matrix > std::max<std::uint64_t>(cap, 3 * 256 * 256 * 4) ||
                                        matrix > desc.max_storage_buffer_range;
                               }),
                sizes.end());
    return sizes;
  }

  // Inputs: integers in [-4, 4]; |C| <= 16 n < 2^24 for n <= 8192, exact in fp32.
  struct Operands {
    std::vector<std::int8_t> a, b;
  };
  static Operands random_operands(std::uint64_t seed, std::uint64_t elements) {
    kernels::SplitMix64 rng(seed);
    Operands o{std::vector<std::int8_t>(elements), std::vector<std::int8_t>(elements)};
    for (auto& x : o.a) x = std::int8_t(int(rng.below(9)) - 4);
    for (auto& x : o.b) x = std::int8_t(int(rng.below(9)) - 4);
    return o;
  }

  // A and B in the variant's element type, side by side in `staging`.
  static void write_inputs(const Operands& o, int element_bytes, std::uint8_t* bytes, std::uint64_t in_bytes) {
    for (std::size_t i = 0; i < o.a.size(); ++i) {
      if (element_bytes == 1) {
        bytes[i] = std::uint8_t(o.a[i]);
        bytes[in_bytes + i] = std::uint8_t(o.b[i]);
      } else if (element_bytes == 4) {
        const float a = float(o.a[i]), b = float(o.b[i]);
        std::memcpy(bytes + i * 4, &a, 4);
        std::memcpy(bytes + in_bytes + i * 4, &b, 4);
      } else {
        const std::uint16_t a = to_half(o.a[i]), b = to_half(o.b[i]);
        std::memcpy(bytes + i * 2, &a, 2);
        std::memcpy(bytes + in_bytes + i * 2, &b, 2);
      }
    }
  }

  // 256 sampled entries of C (the first the last entry) against the integer reference.
  // C is fp32, or int32 for int8 inputs.
  static std::string check_product(const void* c, bool int_c, const Operands& o, std::uint32_t n, std::uint64_t seed) {
    kernels::SplitMix64 pick(seed);
    for (int s = 0; s < 256; ++s) {
      const std::uint64_t i = s == 0 ? n - 1 : pick.below(n), j = s == 0 ? n - 1 : pick.below(n);
      long ref = 0;
      for (std::uint64_t k = 0; k < n; ++k) ref += long(o.a[i * n + k]) * o.b[k * n + j];
      const double got = int_c ? double(static_cast<const std::int32_t*>(c)[i * n + j])
                               : double(static_cast<const float*>(c)[i * n + j]);
      if (got != double(ref)) return fmt::format("C[{},{}] = {} but the integer reference is {}", i, j, got, ref);
    }
    return "";
  }

  // One candidate at one size, measured and checked; the outcome, not yet stored.
  Measurement measure(const ProbeDriver& driver, gpu::Session& session, vk::ComputePipeline& pipeline,
                      vk::Commands& commands, const Variant& v, const Candidate& cand, std::uint32_t n) const {
    const vk::Device& dev = *session.device;
    const std::uint64_t elements = std::uint64_t(n) * n;
    const std::uint64_t in_bytes = elements * std::uint64_t(v.element_bytes), out_bytes = elements * 4;
    const Operands operands = random_operands(driver.settings().seed + n, elements);
    Buffer staging(dev, std::max(2 * in_bytes, out_bytes), Buffer::Memory::host_visible);
    write_inputs(operands, v.element_bytes, static_cast<std::uint8_t*>(staging.mapped()), in_bytes);
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
    const std::uint32_t groups_x = n / cand.bn, groups_y = n / cand.bm;  // one output tile per workgroup
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
      problem = check_product(staging.mapped(), v.element_bytes == 1, operands, n, n * 31 + dispatches);
      if (problem.empty()) problem = session.validation_problem();
      return seconds;
    };
    std::string problem;
    const double one = run_batch(problem);
    dispatches = std::uint32_t(std::clamp(gpu::sample_target_seconds(driver.settings(), dev.description()) / std::max(one, 1e-7), 1.0, 64.0));
    Measurement m = driver.measurement(figure(v), params(dev.description(), cand, n, dispatches));
    const double flops = 2.0 * double(n) * double(n) * double(n);
    const std::string checked = "256 sampled entries of C (one the last) equal the exact integer reference";
    const auto timed = driver.time(problem, fmt::format("gpu.gemm/{}/{}/{}x{}", v.name, n, cand.bm, cand.bn), run_batch);
    return driver.outcome(std::move(m), timed, checked, [&](double s) { return flops / s; });
  }
};

ROOFAUDIT_REGISTER_PROBE(GpuGemmProbe);

}  // namespace
}  // namespace roofaudit
