// gpu.peak: peak arithmetic of a Vulkan device per precision: fp32 FMA (vec4), fp16
// packed FMA (f16vec4: half2 pairs; needs shaderFloat16), int8 dot product (OpSDotAccSat
// on packed 4 x int8; needs VK_KHR_shader_integer_dot_product). Eight independent chains
// per invocation whose values provably return to their start, so every invocation's
// result is checked; one dispatch per sample, its length calibrated to the time target.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "kernels/vulkan/shaders.hpp"
#include "values/error.hpp"
#include "probes/gpu/session.hpp"
#include "probes/probe.hpp"
#include "probes/summary.hpp"
#include "probes/timing.hpp"

namespace roofaudit {
namespace {

using vk::Buffer;

struct Variant {
  const char* name;
  const char* shader;
  const char* instruction;
  const char* unit;
  bool fp;       // push constants a, b as floats; else as packed int8 words
  bool coopmat;  // one subgroup per workgroup on the matrix units
};
const Variant kVariants[] = {
    {"fp32", "peak_fp32", "fma vec4", "FLOP/s", true, false},
    {"fp16", "peak_fp16", "fma f16vec4 (packed half2)", "FLOP/s", true, false},
    {"int8", "peak_int8", "OpSDotAccSat 4x8-bit packed", "OP/s", false, false},
    {"fp16_coopmat", "", "cooperative matrix 16x16x16 f16*f16+f32", "FLOP/s", true, true},
    {"int8_coopmat", "", "cooperative matrix 16x16x32 s8*s8+s32", "OP/s", false, true},
};
constexpr double kOpsPerIteration = 128;  // per invocation: 16 vec4 FMAs, 16 f16vec4 FMAs, or 16 dp4a
// Per subgroup and iteration: four products of 16x16x16 (fp16) or 16x16x32 (int8).
double coopmat_ops_per_iteration(const Variant& v) { return 4 * 2.0 * 16 * 16 * (v.fp ? 16 : 32); }

// What every invocation must return: the sum of its chains' start values.
float expected(const Variant& v, std::uint32_t id) {
  if (v.coopmat) return float(1 + (id % 1024) / 256);  // tile k of each workgroup holds k + 1
  std::uint32_t sum = 0;
  if (v.fp) {
    for (std::uint32_t k = 0; k < 8; ++k)
      for (std::uint32_t l = 0; l < 4; ++l) sum += (id + 4 * k + l) & 15u;
  } else {
    for (std::uint32_t k = 0; k < 8; ++k) sum += (id + k) & 15u;
  }
  return float(sum);
}

class GpuPeakProbe final : public Probe {
 public:
  std::string_view name() const override { return "gpu.peak"; }
  std::string_view description() const override {
    return "Vulkan peak arithmetic: fp32 FMA, fp16 packed FMA, int8 dot product (dp4a), fp16 cooperative matrix";
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
    const std::uint32_t local = std::min<std::uint32_t>(256, desc.max_workgroup_size);
    // Enough invocations to fill any current GPU several times over; the CPU
    // implementation gets a few per core.
    const std::uint32_t groups = desc.type == "cpu" ? 16 : 4096;
    const std::uint32_t invocations = groups * local;
    // Results: one float per invocation, or four 16 x 16 tiles per workgroup (coopmat).
    const std::uint64_t result_words = std::max<std::uint64_t>(invocations, std::uint64_t(groups) * 1024);
    Buffer results(dev, result_words * 4, Buffer::Memory::device_local);
    Buffer readback(dev, result_words * 4, Buffer::Memory::host_visible);
    // The matrix-unit shaders' input tiles: A all zeros, B all ones. fp16: 256 + 256 halves
    // (1.0 = 0x3c00); int8: 512 + 512 bytes.
    Buffer tiles16(dev, 512 * 2, Buffer::Memory::device_local), tiles8(dev, 1024, Buffer::Memory::device_local);
    {
      Buffer staging(dev, 2048, Buffer::Memory::host_visible);
      auto* h = static_cast<std::uint16_t*>(staging.mapped());
      for (int i = 0; i < 512; ++i) h[i] = i < 256 ? 0 : 0x3c00;
      auto* b = static_cast<std::uint8_t*>(staging.mapped()) + 1024;
      for (int i = 0; i < 1024; ++i) b[i] = i < 512 ? 0 : 1;
      vk::Commands upload(dev, 0);
      VkCommandBuffer cmd = upload.begin();
      vk::copy_buffer(cmd, staging, tiles16, 0, 0, 1024);
      vk::copy_buffer(cmd, staging, tiles8, 1024, 0, 1024);
      vk::transfer_barrier(cmd);
      upload.submit_and_wait();
    }
    vk::Commands commands(dev, 2);
    const double target = gpu::sample_target_seconds(ctx.settings, desc);
    const int reps = ctx.settings.repetitions > 0 ? ctx.settings.repetitions : (ctx.settings.quick ? 3 : 5);

    for (const auto& v : kVariants) {
      if (ctx.stop_requested) return;
      std::string missing;
      if (!desc.timestamps) missing = "unsupported: the compute queue has no timestamps";
      else if (std::string(v.name) == "fp16" && !desc.shader_float16) missing = "unsupported: the device lacks shaderFloat16";
      else if (std::string(v.name) == "int8" && !desc.integer_dot_product)
        missing = "unsupported: the device lacks VK_KHR_shader_integer_dot_product";
      gpu::MatrixUnitPath unit;
      if (v.coopmat && missing.empty()) {
        unit = v.fp ? gpu::matrix_unit_path(desc, "peak_coopmat_nv", "peak_coopmat_khr")
                    : gpu::matrix_unit_path(desc, "peak_coopmat_int8_nv", "", gpu::kMatrixUnitShapeInt8);
        missing = unit.unsupported;
      }
      if (!missing.empty()) {
        emit_unsupported(ctx, v, session.device_key(), missing);
        continue;
      }
      ctx.progress(fmt::format("{} {}", desc.name, v.name));
      vk::ComputePipeline pipeline(dev, kernels::vulkan::shader(v.coopmat ? unit.shader : v.shader), v.coopmat ? 2 : 1,
                                   v.coopmat ? 4 : 12,
                                   v.coopmat ? desc.subgroup_size : local, 1);
      VkDescriptorSet set = v.coopmat ? pipeline.bind({v.fp ? &tiles16 : &tiles8, &results}) : pipeline.bind({&results});
      const std::uint32_t checked = v.coopmat ? groups * 1024 : invocations;
      std::uint32_t iterations = 16;
      auto sample = [&](std::string& problem) {
        std::uint32_t push[3] = {iterations, 0, 0};
        if (v.fp) {
          const float one = 1.0f;
          std::memcpy(&push[1], &one, 4);
          std::memcpy(&push[2], &one, 4);
        } else {
          push[1] = 0x01010101u;  // (1, 1, 1, 1)
          push[2] = 0xff01ff01u;  // (1, -1, 1, -1): every dot product is 0
        }
        VkCommandBuffer cmd = commands.begin();
        vkCmdFillBuffer(cmd, results.get(), 0, VK_WHOLE_SIZE, 0xffffffffu);  // NaN: a skipped invocation shows
        vk::transfer_barrier(cmd);
        commands.timestamp(0);
        pipeline.dispatch(cmd, set, push, groups);
        commands.timestamp(1);
        vk::transfer_barrier(cmd);
        vk::copy_buffer(cmd, results, readback, 0, 0, results.bytes());
        vk::transfer_barrier(cmd);
        commands.submit_and_wait();
        const auto* got = static_cast<const float*>(readback.mapped());
        const auto* got_int = static_cast<const std::int32_t*>(readback.mapped());  // int8 matrix units
        for (std::uint32_t id = 0; id < checked && problem.empty(); ++id) {
          const double value = v.coopmat && !v.fp ? double(got_int[id]) : double(got[id]);
          if (!(value == double(expected(v, id))))
            problem = fmt::format("result {} is {}, expected {}", id, value, expected(v, id));
        }
        if (problem.empty()) problem = session.validation_problem();
        return commands.seconds_between(0, 1);
      };
      // Calibration doubles as warm-up: grow the loop until one dispatch fills the target.
      std::string problem;
      for (int step = 0; step < 24 && problem.empty(); ++step) {
        const double s = sample(problem);
        if (s >= target / 2 || iterations >= (1u << 24)) break;
        iterations = std::uint32_t(std::min<double>(double(iterations) * std::clamp(target / std::max(s, 1e-6), 2.0, 64.0), 1u << 24));
      }
      std::vector<double> seconds;
      if (problem.empty()) {
        const auto timing = time_repetitions(fmt::format("gpu.peak/{}", v.name), 1, reps, [&] {
          std::string p;
          const double s = sample(p);
          if (!p.empty()) throw SampleFailed{p};
          return s;
        });
        seconds = timing.seconds;
        if (!timing.ok) problem = timing.error;
      }
      Measurement m = base(v, session.device_key());
      m.params = {{"device_name", desc.name}, {"instruction", v.instruction},
                  {"invocations", v.coopmat ? groups * desc.subgroup_size : invocations}, {"iterations", iterations},
                  {"local_size", v.coopmat ? desc.subgroup_size : local}};
      if (v.coopmat) m.params["extension"] = unit.extension;
      const double ops = v.coopmat ? coopmat_ops_per_iteration(v) * double(iterations) * double(groups)
                                   : kOpsPerIteration * double(iterations) * double(invocations);
      record_outcome(m, seconds, problem, "every invocation's result equals its chains' known start values",
                     [&](double s) { return ops / s; });
      ctx.emit(std::move(m));
    }
  }

 private:
  Measurement base(const Variant& v, const std::string& device) const {
    Measurement m;
    m.probe = std::string(name());
    m.probe_version = version();
    m.device = device;
    m.variant = v.name;
    m.metric = "peak";
    m.unit = v.unit;
    m.higher_is_better = true;
    m.convention = "an FMA counts 2 operations; a 4 x int8 dot product with accumulate counts 8";
    return m;
  }

  void emit_unsupported(ProbeContext& ctx, const Variant& v, const std::string& device, const std::string& why) const {
    Measurement m = base(v, device);
    m.supported = false;
    m.validation = why;
    ctx.emit(std::move(m));
  }
};

ROOFAUDIT_REGISTER_PROBE(GpuPeakProbe);

}  // namespace
}  // namespace roofaudit
