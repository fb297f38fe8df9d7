// gpu.decode: the decode-shaped sweep of cpu.decode on a Vulkan device. A weight matrix
// past the GPU's caches (int8 with per-row scales, and fp16) times B = 1, 2, 4, ... 512
// activation vectors: step time, effective weight bandwidth and arithmetic rate per B;
// the knee is fitted after the run like the CPU's. Each batch is a race: the FMA shader
// in three workgroup shapes and, for fp16 from B = 16 where the device has cooperative
// matrices, the block-tiled matrix-unit shader in two; the fastest valid one is timed,
// stored and named, and a candidate that fails is stored as failed. Weights are generated
// on the device; sampled outputs are checked against a host reference computed from the
// same formula.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "kernels/cpu/random.hpp"
#include "kernels/vulkan/shaders.hpp"
#include "values/error.hpp"
#include "probes/vulkan/host_values.hpp"
#include "probes/vulkan/session.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"gpu.decode", 1,
                                  "decode-shaped sweep on a Vulkan device: int8 (per-row scales) and fp16 weights times B = 1..512 vectors",
                                  Role::decode_sweep};

using gpu::fill_word;
using gpu::to_half;
using vk::Buffer;

constexpr std::uint32_t kK = 8192;
constexpr std::uint32_t kMaxBatch = 512;
constexpr std::uint32_t kSeed = 0x0dec0de;
// The FMA decode shader's shapes raced at every batch: invocations per workgroup, weight
// rows and activation vectors per workgroup.
struct FmaShape {
  std::uint32_t local, rows, vectors;
};
constexpr FmaShape kFmaShapes[] = {{64, 4, 8}, {128, 8, 4}, {256, 4, 2}};
// On the matrix units (fp16, from B = 16): the block-tiled shader's decode form.
constexpr std::uint32_t kMatrixUnitBatch = 16;

// Element j of weight row r, as bw_fill writes it (mode 0 bytes, mode 2 fp16 pairs).
int weight(bool int8, std::uint32_t r, std::uint32_t j) {
  if (int8) return int(std::int8_t((fill_word(r * (kK / 4) + j / 4, kSeed) >> (8 * (j % 4))) & 0xffu));
  const std::uint32_t v = fill_word(r * (kK / 2) + j / 2, kSeed);
  return int(((j % 2 ? v >> 8 : v) & 15u)) - 8;
}
float row_scale(std::uint32_t r) { return std::ldexp(1.0f + float(r % 7) / 8.0f, -int(r % 9)); }
float vector_scale(std::uint32_t b) { return std::ldexp(1.0f + float(b % 5) / 4.0f, -3 - int(b % 4)); }

class GpuDecodeProbe final : public gpu::GpuProbe {
 public:
  GpuDecodeProbe() : GpuProbe(kIdentity) {}

  std::vector<Figure> figures() const override {
    return {figure("int8", "step_time", "s", false), figure("fp16", "step_time", "s", false)};
  }
  void run_on(ProbeDriver& driver, gpu::Session& session) override {
    if (!session.device->description().timestamps) {
      for (const auto& f : figures()) driver.unsupported(f, "unsupported: the compute queue has no timestamps");
      return;
    }
    for (bool int8 : {true, false}) sweep(driver, session, int8);
  }

 private:
  static Figure figure(const std::string& variant, const char* metric, const char* unit, bool higher) {
    return {variant, metric, unit, higher,
            "one step: y (B x rows) = x (B x k) . W^T; bandwidth counts every weight byte (and int8 row scale) once per "
            "step; 2 operations per weight per vector"};
  }

  static std::uint64_t weight_bytes(const RunSettings& s, const vk::DeviceDescription& d) {
    std::uint64_t cap = std::min<std::uint64_t>(d.max_storage_buffer_range, d.max_allocation_bytes);
    cap = std::min<std::uint64_t>(cap, std::max<std::uint64_t>(d.device_local_bytes() / 4, 1 << 20));
    // The CPU implementation is a correctness target: small (1 MiB with --quick); GPUs
    // 1 GiB (256 MiB with --quick).
    std::uint64_t wanted = d.type == "cpu" ? std::uint64_t(16) << 20 : std::uint64_t(1) << 30;
    if (s.quick) wanted /= d.type == "cpu" ? 16 : 4;
    if (s.max_working_set_bytes) wanted = s.max_working_set_bytes;
    return std::max<std::uint64_t>(std::min(wanted, cap), std::uint64_t(kK) * 2 * 8);
  }

  // One precision's weights, activations and scales on the device, and the host's copy
  // of the activations for the reference.
  struct Operands {
    Operands(const vk::Device& dev, bool int8_weights, std::uint32_t weight_rows)
        : int8(int8_weights), rows(weight_rows), w_bytes(std::uint64_t(rows) * kK * (int8 ? 1 : 2)),
          w(dev, w_bytes, Buffer::Memory::device_local),
          x(dev, std::uint64_t(kMaxBatch) * kK * (int8 ? 1 : 2), Buffer::Memory::device_local),
          scales(dev, std::uint64_t(rows) * 4, Buffer::Memory::device_local),
          x_scales(dev, kMaxBatch * 4, Buffer::Memory::device_local),
          y(dev, std::uint64_t(kMaxBatch) * rows * 4, Buffer::Memory::device_local),
          staging(dev, std::max<std::uint64_t>(x.bytes() + rows * 4 + kMaxBatch * 4, 4096), Buffer::Memory::host_visible),
          xi(std::size_t(kMaxBatch) * kK) {}
    bool int8;
    std::uint32_t rows;
    std::uint64_t w_bytes;
    Buffer w, x, scales, x_scales, y, staging;
    std::vector<int> xi;
  };

  // Weights: generated on the device. Activations and scales: from the host.
  static void upload(const vk::Device& dev, vk::Commands& commands, Operands& o, std::uint64_t seed) {
    vk::ComputePipeline fill(dev, kernels::vulkan::shader("bw_fill"), 1, 12, 256, 1);
    VkDescriptorSet set = fill.bind({&o.w});
    const std::uint32_t n = std::uint32_t(o.w_bytes / 16), push[3] = {n, kSeed, o.int8 ? 0u : 2u};
    auto* host = static_cast<std::uint8_t*>(o.staging.mapped());
    kernels::SplitMix64 rng(seed);
    for (std::uint32_t b = 0; b < kMaxBatch; ++b)
      for (std::uint32_t j = 0; j < kK; ++j) {
        const int v = int(rng.below(16)) - 8;
        o.xi[std::size_t(b) * kK + j] = v;
        if (o.int8) host[std::uint64_t(b) * kK + j] = std::uint8_t(std::int8_t(v));
        else {
          const std::uint16_t h = to_half(v);
          std::memcpy(host + (std::uint64_t(b) * kK + j) * 2, &h, 2);
        }
      }
    auto* sc = reinterpret_cast<float*>(host + o.x.bytes());
    for (std::uint32_t r = 0; r < o.rows; ++r) sc[r] = row_scale(r);
    for (std::uint32_t b = 0; b < kMaxBatch; ++b) sc[o.rows + b] = vector_scale(b);
    VkCommandBuffer cmd = commands.begin();
    fill.dispatch(cmd, set, push, std::uint32_t(std::min<std::uint64_t>((n + 255) / 256, 65535)));
    vk::copy_buffer(cmd, o.staging, o.x, 0, 0, o.x.bytes());
    vk::copy_buffer(cmd, o.staging, o.scales, o.x.bytes(), 0, std::uint64_t(o.rows) * 4);
    vk::copy_buffer(cmd, o.staging, o.x_scales, o.x.bytes() + std::uint64_t(o.rows) * 4, 0, kMaxBatch * 4);
    vk::transfer_barrier(cmd);
    commands.submit_and_wait();
  }

  // The outputs to check at `batch`: every vector once, and at least 64 in all, rows at
  // random (the first the last row).
  static std::vector<std::pair<std::uint32_t, std::uint32_t>> sampled_outputs(std::uint32_t batch, std::uint32_t rows,
                                                                               std::uint64_t seed) {
    kernels::SplitMix64 pick(seed);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> samples;  // (b, r)
    for (std::uint32_t s = 0; s < std::max<std::uint32_t>(64, batch); ++s)
      samples.emplace_back(s < batch ? s : std::uint32_t(pick.below(batch)), s == 0 ? rows - 1 : std::uint32_t(pick.below(rows)));
    return samples;
  }

  static std::string check_outputs(const Operands& o, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& samples) {
    const auto* got = static_cast<const float*>(o.staging.mapped());
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const auto [b, r] = samples[i];
      long dot = 0;
      for (std::uint32_t j = 0; j < kK; ++j) dot += long(weight(o.int8, r, j)) * o.xi[std::size_t(b) * kK + j];
      const double ref = o.int8 ? double(dot) * row_scale(r) * vector_scale(b) : double(dot);
      if (!(std::abs(double(got[i]) - ref) <= 1e-6 * std::abs(ref)))
        return fmt::format("y[{}][{}] = {} but the reference is {}", b, r, got[i], ref);
    }
    return "";
  }

  // One way to run a step at one batch: a pipeline and its grid.
  struct Kernel {
    vk::ComputePipeline* pipeline = nullptr;
    VkDescriptorSet set = VK_NULL_HANDLE;
    std::uint32_t groups_x = 0, groups_y = 0;
    std::string name;          // what the record names
    std::string peak_variant;  // the gpu.peak variant whose rate bounds it
  };

  // The pipelines of a sweep, made once per shape.
  class Pipelines {
   public:
    Pipelines(const vk::Device& dev, Operands& o) : dev_(dev), o_(o) {}
    Kernel get(const std::string& shader, const std::vector<std::uint32_t>& spec) {
      auto& slot = made_[shader + fmt::format("{}", fmt::join(spec, ","))];
      if (!slot) {
        slot = std::make_unique<vk::ComputePipeline>(dev_, kernels::vulkan::shader(shader), 5, 12, spec, 1);
        sets_[slot.get()] = slot->bind({&o_.w, &o_.x, &o_.scales, &o_.x_scales, &o_.y});
      }
      return {slot.get(), sets_[slot.get()]};
    }

   private:
    const vk::Device& dev_;
    Operands& o_;
    std::map<std::string, std::unique_ptr<vk::ComputePipeline>> made_;
    std::map<vk::ComputePipeline*, VkDescriptorSet> sets_;
  };

  // The candidates at one batch: the FMA shader's shapes, and from B = 16 for fp16 the
  // matrix units (when the device has them, this build has the shader, the rows divide
  // into its blocks and its workgroup fits). Each is made only when raced.
  static std::vector<std::function<Kernel()>> candidates(const vk::DeviceDescription& d, Pipelines& pipelines,
                                                         const Operands& o, std::uint32_t batch) {
    std::vector<std::function<Kernel()>> out;
    const std::string shader = o.int8 ? "decode_int8" : "decode_fp16";
    for (const FmaShape& f : kFmaShapes) {
      out.push_back([&pipelines, shader, f, batch, rows = o.rows] {
        Kernel k = pipelines.get(shader, {f.local, f.rows, f.vectors});
        k.groups_x = (rows + f.rows - 1) / f.rows;
        k.groups_y = (batch + f.vectors - 1) / f.vectors;
        k.name = fmt::format("unpacked to fp32 FMA, {} rows x {} vectors per workgroup of {}", f.rows, f.vectors, f.local);
        k.peak_variant = "fp32";
        return k;
      });
    }
    if (o.int8 || batch < kMatrixUnitBatch || batch % 16) return out;
    const gpu::MatrixUnitPath unit = gpu::matrix_unit_path(d, "decode_coopmat_nv", "");
    if (unit.shader.empty() || !kernels::vulkan::has_shader(unit.shader)) return out;
    const std::uint32_t tm = std::min<std::uint32_t>(batch / 16, 4), wm = batch >= 128 ? 2 : 1;
    for (const std::uint32_t wn : {4u, 8u}) {
      const std::uint32_t tn = 2, bm = wm * tm * 16, bn = wn * tn * 16, local = wm * wn * d.subgroup_size;
      const std::uint32_t shared = (bm + bn) * (32 + 8) * 2;
      if (o.rows % bn || (d.max_workgroup_invocations && local > d.max_workgroup_invocations) ||
          (d.max_shared_memory_bytes && shared > d.max_shared_memory_bytes))
        continue;
      out.push_back([&pipelines, unit, wm, wn, tm, tn, bm, bn, local, batch, rows = o.rows] {
        Kernel k = pipelines.get(unit.shader, {local, wm, wn, tm, tn});
        k.groups_x = rows / bn;
        k.groups_y = (batch + bm - 1) / bm;
        k.name = fmt::format("cooperative matrix 16x16x16 ({}), {} rows x {} vectors per workgroup of {} subgroups, "
                             "operands staged in shared memory",
                             unit.extension, bn, bm, wm * wn);
        k.peak_variant = "fp16_coopmat";
        return k;
      });
    }
    return out;
  }

  void sweep(const ProbeDriver& driver, gpu::Session& session, bool int8) const {
    const vk::Device& dev = *session.device;
    const std::uint32_t rows = std::uint32_t(weight_bytes(driver.settings(), dev.description()) / (std::uint64_t(kK) * (int8 ? 1 : 2)));
    driver.progress(fmt::format("{} weights: {} rows x {}", int8 ? "int8" : "fp16", rows, kK));
    Operands o(dev, int8, rows);
    vk::Commands commands(dev, 2);
    upload(dev, commands, o, driver.settings().seed);
    Pipelines pipelines(dev, o);
    for (std::uint32_t batch = 1; batch <= kMaxBatch; batch *= 2) {
      if (driver.stopped()) return;
      driver.progress(fmt::format("{} B={}", int8 ? "int8" : "fp16", batch));
      measure(driver, session, commands, pipelines, o, batch);
    }
  }

  // A race at one batch: each candidate runs one checked sample of a short target; one
  // that fails is stored as failed, with its name; the fastest valid one is then timed and
  // stored. Every candidate failing stores the first failure.
  void measure(const ProbeDriver& driver, const gpu::Session& session, vk::Commands& commands, Pipelines& pipelines,
               Operands& o, std::uint32_t batch) const {
    const std::uint32_t rows = o.rows, chunks = kK * (o.int8 ? 1 : 2) / 16;
    const auto& desc = session.device->description();
    const std::string variant = o.int8 ? "int8" : "fp16";
    Kernel kernel;
    std::uint32_t dispatches = 1;
    auto run_batch = [&](std::string& problem) {
      VkCommandBuffer cmd = commands.begin();
      vkCmdFillBuffer(cmd, o.y.get(), 0, std::uint64_t(batch) * rows * 4, 0xffffffffu);  // NaN until written
      vk::transfer_barrier(cmd);
      commands.timestamp(0);
      const std::uint32_t push[3] = {rows, chunks, batch};
      for (std::uint32_t d = 0; d < dispatches; ++d) {
        if (d) vk::compute_barrier(cmd);
        kernel.pipeline->dispatch2d(cmd, kernel.set, push, kernel.groups_x, kernel.groups_y);
      }
      commands.timestamp(1);
      vk::transfer_barrier(cmd);
      // Read back sampled outputs: each sample's whole output row for one vector is too
      // much at 1 GiB; copy single floats.
      const auto samples = sampled_outputs(batch, rows, batch * 977 + dispatches);
      std::vector<VkBufferCopy> regions;
      for (std::size_t i = 0; i < samples.size(); ++i)
        regions.push_back({(std::uint64_t(samples[i].first) * rows + samples[i].second) * 4, i * 4, 4});
      vkCmdCopyBuffer(cmd, o.y.get(), o.staging.get(), std::uint32_t(regions.size()), regions.data());
      vk::transfer_barrier(cmd);
      commands.submit_and_wait();
      const double seconds = commands.seconds_between(0, 1) / dispatches;
      problem = check_outputs(o, samples);
      if (problem.empty()) problem = session.validation_problem();
      return seconds;
    };
    const double target = gpu::sample_target_seconds(driver.settings(), desc);
    auto dispatches_for = [&](double seconds, double of) {
      return std::uint32_t(std::clamp(of / std::max(seconds, 1e-7), 1.0, 64.0));
    };
    const std::string checked =
        "at least 64 sampled outputs (every vector of the batch) against a host reference from the same generator, "
        "exact before scaling";
    std::optional<Kernel> best;
    double best_seconds = 0, best_one = 0;
    std::string first_problem;
    for (const auto& make : candidates(desc, pipelines, o, batch)) {
      if (driver.stopped()) return;
      std::string problem;
      kernel = Kernel{};
      try {
        kernel = make();
      } catch (const vk::VulkanError& e) {
        problem = fmt::format("the driver refused the pipeline: {}", e.what());
      }
      double one = 0, seconds = 0;
      if (problem.empty()) {
        dispatches = 1;
        one = run_batch(problem);
      }
      if (problem.empty()) {
        dispatches = dispatches_for(one, target / 4);
        seconds = run_batch(problem);
      }
      if (!problem.empty()) {
        if (first_problem.empty()) first_problem = problem;
        Measurement m = driver.measurement(figure(variant, "step_time", "s", false),
                                           {{"batch", batch}, {"rows", rows}, {"k", kK}, {"device_name", desc.name},
                                            {"kernel", kernel.pipeline ? kernel.name : "(not built)"}});
        driver.store(std::move(m), ProbeDriver::Timed{{}, problem}, checked, [](double s) { return s; });
        continue;
      }
      if (!best || seconds < best_seconds) best = kernel, best_seconds = seconds, best_one = one;
    }
    if (best) kernel = *best;
    dispatches = dispatches_for(best_one, target);
    const auto timed = best ? driver.time("", fmt::format("gpu.decode/{}/{}", variant, batch), run_batch)
                            : ProbeDriver::Timed{{}, first_problem};
    const double streamed = double(o.w_bytes) + (o.int8 ? double(rows) * 4 : 0);
    const double ops = 2.0 * batch * double(rows) * kK;
    struct Metric {
      const char* metric;
      const char* unit;
      bool higher;
      double numerator;  // value = numerator / seconds, or seconds itself when 0
    };
    for (const Metric& mt : {Metric{"step_time", "s", false, 0}, Metric{"weight_bandwidth", "B/s", true, streamed},
                             Metric{"throughput", o.int8 ? "OP/s" : "FLOP/s", true, ops}}) {
      Measurement m = driver.measurement(
          figure(variant, mt.metric, mt.unit, mt.higher),
          {{"batch", batch}, {"rows", rows}, {"k", kK}, {"weight_bytes", std::uint64_t(streamed)},
           {"device_name", desc.name}, {"kernel", best ? kernel.name : "every candidate failed"},
           {"peak_variant", best ? kernel.peak_variant : "fp32"}, {"dispatches_per_sample", dispatches}});
      driver.store(std::move(m), timed, checked, [&](double s) { return mt.numerator > 0 ? mt.numerator / s : s; });
    }
  }
};

ROOFAUDIT_REGISTER_PROBE(GpuDecodeProbe);

}  // namespace
}  // namespace roofaudit
