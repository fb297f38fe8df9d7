// gpu.peak: peak arithmetic of a Vulkan device per precision: fp32 FMA (vec4), fp16
// packed FMA (f16vec4: half2 pairs; needs shaderFloat16), int8 dot product (OpSDotAccSat
// on packed 4 x int8; needs VK_KHR_shader_integer_dot_product). Eight independent chains
// per invocation whose values provably return to their start, so every invocation's
// result is checked; one dispatch per sample, its length calibrated to the time target.
// Packed fp16 races 8 chains against 16 (a device whose packed pipe needs more
// independent work shows its 2:1 rate only with more) and stores the faster, naming it.
#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "kernels/vulkan/shaders.hpp"
#include "values/error.hpp"
#include "probes/vulkan/session.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"gpu.peak", 1,
                                  "Vulkan peak arithmetic: fp32 FMA, fp16 packed FMA, int8 dot product (dp4a), fp16 cooperative matrix",
                                  Role::peak};

using vk::Buffer;

struct Variant {
  const char* name;
  const char* shader;
  const char* instruction;
  const char* wide_shader;  // the same with 16 chains instead of 8, raced against it; or nullptr
  const char* unit;
  bool fp;       // push constants a, b as floats; else as packed int8 words
  bool coopmat;  // one subgroup per workgroup on the matrix units
};
const Variant kVariants[] = {
    {"fp32", "peak_fp32", "fma vec4", nullptr, "FLOP/s", true, false},
    {"fp16", "peak_fp16", "fma f16vec4 (packed half2)", "peak_fp16_wide", "FLOP/s", true, false},
    {"int8", "peak_int8", "OpSDotAccSat 4x8-bit packed", nullptr, "OP/s", false, false},
    {"fp16_coopmat", "", "cooperative matrix 16x16x16 f16*f16+f32", nullptr, "FLOP/s", true, true},
    {"int8_coopmat", "", "cooperative matrix 16x16x32 s8*s8+s32", nullptr, "OP/s", false, true},
};
// Per invocation and iteration, with 8 chains: 16 vec4 FMAs, 16 f16vec4 FMAs, or 16 dp4a.
constexpr double kOpsPerIteration = 128;
// Per subgroup and iteration: four products of 16x16x16 (fp16) or 16x16x32 (int8).
double coopmat_ops_per_iteration(const Variant& v) { return 4 * 2.0 * 16 * 16 * (v.fp ? 16 : 32); }

// What every invocation must return: the sum of its `chains` chains' start values.
float expected(const Variant& v, std::uint32_t id, std::uint32_t chains) {
  if (v.coopmat) return float(1 + (id % 1024) / 256);  // tile k of each workgroup holds k + 1
  std::uint32_t sum = 0;
  if (v.fp) {
    for (std::uint32_t k = 0; k < chains; ++k)
      for (std::uint32_t l = 0; l < 4; ++l) sum += (id + 4 * k + l) & 15u;
  } else {
    for (std::uint32_t k = 0; k < 8; ++k) sum += (id + k) & 15u;
  }
  return float(sum);
}

class GpuPeakProbe final : public gpu::GpuProbe {
 public:
  GpuPeakProbe() : GpuProbe(kIdentity) {}

  std::vector<Figure> figures() const override { return gpu::figures_of(kVariants, figure); }
  void run_on(ProbeDriver& driver, gpu::Session& session) override {
    const vk::Device& dev = *session.device;
    const auto& desc = dev.description();
    // Enough invocations to fill any current GPU several times over; the CPU
    // implementation gets a few per core.
    shape_.local = std::min<std::uint32_t>(256, desc.max_workgroup_size);
    shape_.groups = desc.type == "cpu" ? 16 : 4096;
    // Results: one float per invocation, or four 16 x 16 tiles per workgroup (coopmat).
    const std::uint64_t result_words =
        std::max<std::uint64_t>(std::uint64_t(shape_.groups) * shape_.local, std::uint64_t(shape_.groups) * 1024);
    Buffers b{Buffer(dev, result_words * 4, Buffer::Memory::device_local),
              Buffer(dev, result_words * 4, Buffer::Memory::host_visible),
              Buffer(dev, 512 * 2, Buffer::Memory::device_local), Buffer(dev, 1024, Buffer::Memory::device_local)};
    upload_tiles(dev, b);
    vk::Commands commands(dev, 2);
    for (const auto& v : kVariants) {
      if (driver.stopped()) return;
      gpu::MatrixUnitPath unit;
      const std::string missing = unsupported_reason(v, desc, unit);
      if (!missing.empty()) {
        driver.unsupported(figure(v), missing);
        continue;
      }
      driver.progress(fmt::format("{} {}", desc.name, v.name));
      if (!v.wide_shader) {
        measure(driver, session, v, unit, b, commands, {v.shader, 8}, true);
        continue;
      }
      // A race of 8 and 16 chains: a candidate that fails is stored as failed; the faster
      // valid one is measured and stored.
      Candidate best{nullptr, 0};
      double best_rate = 0;
      for (const Candidate c : {Candidate{v.shader, 8}, Candidate{v.wide_shader, 16}}) {
        const double rate = measure(driver, session, v, unit, b, commands, c, false);
        if (rate > best_rate) best_rate = rate, best = c;
      }
      if (best.shader) measure(driver, session, v, unit, b, commands, best, true);
    }
  }

 private:
  struct Shape {
    std::uint32_t local = 0, groups = 0;
  } shape_;
  struct Buffers {
    Buffer results, readback, tiles16, tiles8;
  };

  static Figure figure(const Variant& v) {
    return {v.name, "peak", v.unit, true, "an FMA counts 2 operations; a 4 x int8 dot product with accumulate counts 8"};
  }

  static std::string unsupported_reason(const Variant& v, const vk::DeviceDescription& desc, gpu::MatrixUnitPath& unit) {
    if (!desc.timestamps) return "unsupported: the compute queue has no timestamps";
    if (std::string(v.name) == "fp16" && !desc.shader_float16) return "unsupported: the device lacks shaderFloat16";
    if (std::string(v.name) == "int8" && !desc.integer_dot_product)
      return "unsupported: the device lacks VK_KHR_shader_integer_dot_product";
    if (!v.coopmat) return "";
    unit = v.fp ? gpu::matrix_unit_path(desc, "peak_coopmat_nv", "peak_coopmat_khr")
                : gpu::matrix_unit_path(desc, "peak_coopmat_int8_nv", "", gpu::kMatrixUnitShapeInt8);
    return unit.unsupported;
  }

  // The matrix-unit shaders' input tiles: A all zeros, B all ones. fp16: 256 + 256 halves
  // (1.0 = 0x3c00); int8: 512 + 512 bytes.
  static void upload_tiles(const vk::Device& dev, Buffers& b) {
    Buffer staging(dev, 2048, Buffer::Memory::host_visible);
    auto* h = static_cast<std::uint16_t*>(staging.mapped());
    for (int i = 0; i < 512; ++i) h[i] = i < 256 ? 0 : 0x3c00;
    auto* bytes = static_cast<std::uint8_t*>(staging.mapped()) + 1024;
    for (int i = 0; i < 1024; ++i) bytes[i] = i < 512 ? 0 : 1;
    vk::Commands upload(dev, 0);
    VkCommandBuffer cmd = upload.begin();
    vk::copy_buffer(cmd, staging, b.tiles16, 0, 0, 1024);
    vk::copy_buffer(cmd, staging, b.tiles8, 1024, 0, 1024);
    vk::transfer_barrier(cmd);
    upload.submit_and_wait();
  }

  // A shader of a non-matrix variant and its independent chains per invocation.
  struct Candidate {
    const char* shader;
    std::uint32_t chains;
  };

  // With `store`, one variant measured and stored. Without, one candidate's rate from one
  // calibrated sample (0 when it fails, and the failure stored), for a race.
  double measure(const ProbeDriver& driver, const gpu::Session& session, const Variant& v,
                 const gpu::MatrixUnitPath& unit, Buffers& b, vk::Commands& commands, const Candidate& c,
                 bool store) const {
    const vk::Device& dev = *session.device;
    const auto& desc = dev.description();
    const std::uint32_t local = shape_.local, groups = shape_.groups, invocations = groups * local;
    vk::ComputePipeline pipeline(dev, kernels::vulkan::shader(v.coopmat ? unit.shader : c.shader), v.coopmat ? 2 : 1,
                                 v.coopmat ? 4 : 12, v.coopmat ? desc.subgroup_size : local, 1);
    VkDescriptorSet set = v.coopmat ? pipeline.bind({v.fp ? &b.tiles16 : &b.tiles8, &b.results}) : pipeline.bind({&b.results});
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
      vkCmdFillBuffer(cmd, b.results.get(), 0, VK_WHOLE_SIZE, 0xffffffffu);  // NaN: a skipped invocation shows
      vk::transfer_barrier(cmd);
      commands.timestamp(0);
      pipeline.dispatch(cmd, set, push, groups);
      commands.timestamp(1);
      vk::transfer_barrier(cmd);
      vk::copy_buffer(cmd, b.results, b.readback, 0, 0, b.results.bytes());
      vk::transfer_barrier(cmd);
      commands.submit_and_wait();
      const auto* got = static_cast<const float*>(b.readback.mapped());
      const auto* got_int = static_cast<const std::int32_t*>(b.readback.mapped());  // int8 matrix units
      for (std::uint32_t id = 0; id < checked && problem.empty(); ++id) {
        const double value = v.coopmat && !v.fp ? double(got_int[id]) : double(got[id]);
        if (!(value == double(expected(v, id, c.chains))))
          problem = fmt::format("result {} is {}, expected {}", id, value, expected(v, id, c.chains));
      }
      if (problem.empty()) problem = session.validation_problem();
      return commands.seconds_between(0, 1);
    };
    // Calibration doubles as warm-up: grow the loop until one dispatch fills half the target.
    std::string problem;
    calibrate_count(gpu::sample_target_seconds(driver.settings(), desc), iterations, std::uint32_t{1} << 24, sample,
                    problem, 0.5, 2.0);
    Measurement m = driver.measurement(
        figure(v), {{"device_name", desc.name},
                    {"instruction", c.chains == 8 || v.coopmat ? std::string(v.instruction)
                                                               : fmt::format("{}, {} chains", v.instruction, c.chains)},
                    {"invocations", v.coopmat ? groups * desc.subgroup_size : invocations}, {"iterations", iterations},
                    {"local_size", v.coopmat ? desc.subgroup_size : local}});
    if (v.coopmat) m.params["extension"] = unit.extension;
    else m.params["chains"] = c.chains;
    const double ops = v.coopmat ? coopmat_ops_per_iteration(v) * double(iterations) * double(groups)
                                 : kOpsPerIteration * c.chains / 8 * double(iterations) * double(invocations);
    const std::string what = "every invocation's result equals its chains' known start values";
    if (!store) {
      const double seconds = problem.empty() ? sample(problem) : 0;
      if (problem.empty()) return ops / seconds;
      driver.store(std::move(m), ProbeDriver::Timed{{}, problem}, what, [](double s) { return s; });
      return 0;
    }
    driver.measure_unless(problem, std::move(m), fmt::format("gpu.peak/{}", v.name), sample, what,
                          [&](double s) { return ops / s; });
    return 0;
  }
};

ROOFAUDIT_REGISTER_PROBE(GpuPeakProbe);

}  // namespace
}  // namespace roofaudit
