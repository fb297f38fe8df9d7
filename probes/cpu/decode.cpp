// cpu.decode: the decode-shaped sweep. One weight matrix far larger than the caches
// (int8 with per-row scales, and bf16) times a batch of B activation vectors, for
// B = 1, 2, 4, ... 512: time per step, effective weight bandwidth and achieved
// arithmetic rate at each B. At small B every step streams all weights from memory; at
// large B the dot-product units bound it. The knee between the two is fitted after the
// run (calibrate/knee) and shown beside the roofline's prediction.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "kernels/cpu/decode.hpp"
#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/random.hpp"
#include "probes/cpu/sweep.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"
#include "probes/topology.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"cpu.decode", 1,
                                  "decode-shaped sweep: int8 (per-row scales) and bf16 weights past the caches times B = 1..512 vectors",
                                  Role::decode_sweep};

using kernels::DecodeKernel;
using kernels::DecodeType;
using kernels::DecodeWeights;

constexpr std::size_t kK = 8192;            // the hidden size of a 70B-class model
constexpr std::size_t kMaxBatch = 512;
constexpr double kStepBudgetSeconds = 5.0;  // a slower step ends the sweep (the portable kernel; AVX2 int8 at B = 512 over 1 GiB takes 4-5 s)
constexpr int kSampledEntries = 64;

std::uint64_t default_weight_bytes(const RunSettings& s, const Topology& topo) {
  if (s.max_working_set_bytes) return s.max_working_set_bytes;  // small test runs
  const std::uint64_t gib = std::uint64_t(1) << 30;
  const std::uint64_t llc = topo.last_level_cache_bytes();
  std::uint64_t bytes = std::max<std::uint64_t>(gib, 2 * llc);
  // --quick: 256 MiB, past the last-level caches of nearly every CPU shipping (the
  // largest stacked-cache parts report more, and their figures are then partly cache).
  if (s.quick) bytes = std::min<std::uint64_t>(bytes, gib / 4);
  return std::min<std::uint64_t>(bytes, 4 * gib);
}

std::uint64_t output_bytes(std::uint64_t weight_bytes) {
  // y is kMaxBatch x rows fp32; int8 has the most rows per weight byte.
  return weight_bytes / kK * kMaxBatch * sizeof(float);
}

// Deterministic contents, regenerated for the reference: row r of the weights and
// vector b of the activations come from their own generator streams.
std::uint64_t row_seed(std::uint64_t seed, std::size_t r) { return seed ^ (0xd1b54a32d192ed03ULL * (r + 1)); }
std::uint64_t vector_seed(std::uint64_t seed, std::size_t b) { return ~seed ^ (0x8cb92ba72f3d8dd7ULL * (b + 1)); }

// int8: the full signed range except -128, so sums exercise the unsigned-offset trick.
void int8_row(std::uint64_t seed, std::int8_t* dst) {
  kernels::SplitMix64 rng(seed);
  for (std::size_t i = 0; i < kK; ++i) dst[i] = std::int8_t(int(rng.below(255)) - 127);
}
// bf16: small integers, whose products and fp32 sums are exact.
void bf16_row(std::uint64_t seed, std::uint16_t* dst) {
  kernels::SplitMix64 rng(seed);
  for (std::size_t i = 0; i < kK; ++i) dst[i] = kernels::to_bf16(float(int(rng.below(17)) - 8));
}
float row_scale(std::size_t r) { return std::ldexp(1.0f + float(r % 7) / 8.0f, -int(r % 9)); }
float vector_scale(std::size_t b) { return std::ldexp(1.0f + float(b % 5) / 4.0f, -3 - int(b % 4)); }

class CpuDecodeProbe final : public DrivenProbe {
 public:
  CpuDecodeProbe() : DrivenProbe(kIdentity) {}

  void check(const RunSettings& settings, const Topology& topology) const override {
    const std::uint64_t w = default_weight_bytes(settings, topology);
    if (w < kK * 16)
      throw Error(fmt::format("cpu.decode needs a weight matrix of at least {} (16 rows of {})",
                              human_bytes(double(kK * 16)), kK));
    check_fits_in_memory(w + output_bytes(w), "cpu.decode's weights and outputs");
  }

  void run_with(ProbeDriver& driver) override {
    const int threads = driver.threads();
    const std::uint64_t weight_bytes = default_weight_bytes(driver.settings(), driver.topology());
    // The kernels' OpenMP threads, pinned one per core for the whole probe.
#pragma omp parallel num_threads(threads)
    driver.topology().pin_current_thread(omp_get_thread_num());

    for (DecodeType type : {DecodeType::int8, DecodeType::bf16}) {
      if (driver.stopped()) return;
      const DecodeKernel kernel = kernels::fastest_decode_kernel(type, threads).kernel;  // within ROOFAUDIT_MAX_ISA
      sweep(driver, type, kernel, weight_bytes, threads);
    }
  }

 private:
  struct Point {
    std::size_t batch;
    std::vector<double> seconds;
    std::string problem;
  };

  void sweep(const ProbeDriver& driver, DecodeType type, DecodeKernel kernel, std::uint64_t weight_bytes,
             int threads) const {
    const RunSettings& settings = driver.settings();
    const bool int8 = type == DecodeType::int8;
    const std::size_t rows = std::size_t(weight_bytes / (kK * (int8 ? 1 : 2)));
    const std::uint64_t seed = settings.seed + (int8 ? 1 : 2);
    driver.progress(fmt::format("{} weights: {} rows x {}, packing", int8 ? "int8" : "bf16", rows, kK));
    std::vector<float> scales(rows);
    for (std::size_t r = 0; r < rows; ++r) scales[r] = row_scale(r);
    const DecodeWeights w =
        int8 ? DecodeWeights::int8(
                   rows, kK, [&](std::size_t r, std::int8_t* dst) { int8_row(row_seed(seed, r), dst); },
                   std::move(scales), kernel, threads)
             : DecodeWeights::bf16(
                   rows, kK, [&](std::size_t r, std::uint16_t* dst) { bf16_row(row_seed(seed, r), dst); }, kernel,
                   threads);

    std::vector<std::int8_t> x8;
    std::vector<std::uint16_t> x16;
    std::vector<float> xs(kMaxBatch);
    if (int8) x8.resize(kMaxBatch * kK);
    else x16.resize(kMaxBatch * kK);
    for (std::size_t b = 0; b < kMaxBatch; ++b) {
      if (int8) int8_row(vector_seed(seed, b), &x8[b * kK]);
      else bf16_row(vector_seed(seed, b), &x16[b * kK]);
      xs[b] = vector_scale(b);
    }
    std::vector<float> y(kMaxBatch * rows);

    for (std::size_t batch = 1; batch <= kMaxBatch; batch *= 2) {
      if (driver.stopped()) return;
      driver.progress(fmt::format("{} B={}", int8 ? "int8" : "bf16", batch));
      std::fill(y.begin(), y.begin() + std::ptrdiff_t(batch * rows), std::numeric_limits<float>::quiet_NaN());
      // The outputs are checked after the last repetition.
      auto step = [&](std::string&) {
        const auto t0 = std::chrono::steady_clock::now();
        if (int8) w.step_int8(x8.data(), xs.data(), batch, y.data(), threads);
        else w.step_bf16(x16.data(), batch, y.data(), threads);
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      };
      // Short steps get more repetitions: they cost little and the machine's noise
      // matters most where the step is one pass over memory.
      const int reps = driver.repetitions(2, 3);
      const int point_reps = settings.repetitions > 0 ? reps : (batch <= 16 ? 2 * reps + 1 : reps);
      auto timed = driver.time("", fmt::format("cpu.decode/{}/{}", int8 ? "int8" : "bf16", batch), step, 1, point_reps);
      if (timed.problem.empty()) timed.problem = check(w, int8, seed, x8, x16, xs, batch, y);
      emit_point(driver, w, batch, threads, timed);
      if (!timed.seconds.empty() && *std::min_element(timed.seconds.begin(), timed.seconds.end()) > kStepBudgetSeconds) {
        driver.progress(fmt::format("{} steps take over {} s; the sweep stops at B={}", int8 ? "int8" : "bf16",
                                 kStepBudgetSeconds, batch));
        return;
      }
    }
  }

  // Sampled entries, every vector of the batch at least once, against a scalar
  // reference from regenerated rows: bf16 exactly (small integers), int8 to fp32
  // rounding of the scale products.
  static std::string check(const DecodeWeights& w, bool int8, std::uint64_t seed, const std::vector<std::int8_t>& x8,
                           const std::vector<std::uint16_t>& x16, const std::vector<float>& xs, std::size_t batch,
                           const std::vector<float>& y) {
    kernels::SplitMix64 pick(seed + batch);
    std::vector<std::int8_t> row8(int8 ? kK : 0);
    std::vector<std::uint16_t> row16(int8 ? 0 : kK);
    const int samples = std::max<int>(kSampledEntries, int(batch));
    for (int s = 0; s < samples; ++s) {
      const std::size_t b = std::size_t(s) < batch ? std::size_t(s) : pick.below(batch);
      const std::size_t r = s == 0 ? w.rows() - 1 : pick.below(w.rows());
      const float got = y[b * w.rows() + r];
      if (int8) {
        int8_row(row_seed(seed, r), row8.data());
        std::int64_t dot = 0;
        for (std::size_t i = 0; i < kK; ++i) dot += std::int64_t(row8[i]) * x8[b * kK + i];
        const double ref = double(dot) * double(row_scale(r)) * double(xs[b]);
        if (!(std::abs(double(got) - ref) <= 1e-6 * std::abs(ref) + 1e-30))
          return fmt::format("y[{}][{}] = {} but the reference is {}", b, r, got, ref);
      } else {
        bf16_row(row_seed(seed, r), row16.data());
        double ref = 0;
        for (std::size_t i = 0; i < kK; ++i)
          ref += double(kernels::bf16_to_float(row16[i])) * kernels::bf16_to_float(x16[b * kK + i]);
        if (double(got) != ref) return fmt::format("y[{}][{}] = {} but the exact reference is {}", b, r, got, ref);
      }
    }
    return "";
  }

  static void emit_point(const ProbeDriver& driver, const DecodeWeights& w, std::size_t batch, int threads,
                         const ProbeDriver::Timed& timed) {
    const bool int8 = w.type() == DecodeType::int8;
    const double bytes = double(w.weight_bytes());
    const double ops = 2.0 * double(batch) * double(w.rows()) * double(w.k());
    const std::string checked = fmt::format(
        "{} sampled outputs (every vector of the batch) against a scalar reference from regenerated weights{}",
        std::max<std::size_t>(kSampledEntries, batch), int8 ? ", to 1e-6 relative" : ", exactly");
    struct Metric {
      const char* metric;
      const char* unit;
      bool higher_is_better;
      std::function<double(double)> value_of;
    };
    const Metric metrics[] = {
        {"step_time", "s", false, [](double s) { return s; }},
        {"weight_bandwidth", "B/s", true, [&](double s) { return bytes / s; }},
        {"throughput", int8 ? "OP/s" : "FLOP/s", true, [&](double s) { return ops / s; }},
    };
    for (const auto& metric : metrics) {
      Measurement m = driver.measurement(
          {int8 ? "int8" : "bf16", metric.metric, metric.unit, metric.higher_is_better,
           "one step: y (B x rows) = x (B x k) . W^T; bandwidth counts every weight byte (and int8 row scale) once "
           "per step; 2 operations per weight per vector"},
          {{"batch", batch}, {"threads", threads}, {"rows", w.rows()}, {"k", w.k()}, {"weight_bytes", w.weight_bytes()},
           {"kernel", w.kernel_name()}, {"isa", kernels::lowp_kernel_isa(w.kernel(), w.type())}});
      driver.store(std::move(m), timed, checked, metric.value_of);
    }
  }
};

ROOFAUDIT_REGISTER_PROBE(CpuDecodeProbe);

}  // namespace
}  // namespace roofaudit
