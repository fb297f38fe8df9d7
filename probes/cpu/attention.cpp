// cpu.attention: the decode step's attention kernel on its own. Grouped-query attention
// of one new token over a bf16 KV cache far larger than the caches, at several context
// lengths, for the run's model's head layout: the rate at which decode reads its KV
// cache. The serving model's t_kv assumes memory bandwidth; this is what the CPU's
// attention reaches, and the calibration uses it.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "kernels/cpu/aligned.hpp"
#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/random.hpp"
#include "kernels/cpu/transformer.hpp"
#include "probes/cpu/model_shape.hpp"
#include "probes/cpu/sweep.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"
#include "probes/topology.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"cpu.attention", 1,
                                  "decode attention over a bf16 KV cache past the caches, per context length: KV bytes read per second",
                                  Role::attention};

constexpr int kCheckedBlocks = 6;

std::uint64_t cache_bytes(const RunSettings& s) {
  if (s.max_working_set_bytes) return std::max<std::uint64_t>(s.max_working_set_bytes, 1 << 20);
  return s.quick ? std::uint64_t(128) << 20 : std::uint64_t(512) << 20;
}

std::vector<std::size_t> contexts(const RunSettings& s) {
  if (s.quick) return {1024, 4096};
  return {256, 1024, 4096, 16384};
}

std::uint16_t random_bf16(kernels::SplitMix64& rng) { return kernels::to_bf16(float(rng.below(1 << 16)) / 32768.0f - 1.0f); }

class CpuAttentionProbe final : public DrivenProbe {
 public:
  CpuAttentionProbe() : DrivenProbe(kIdentity) {}

  void check(const RunSettings& settings, const Topology&) const override {
    transformer_shape(settings.model, name());
    check_fits_in_memory(2 * cache_bytes(settings), "cpu.attention's KV cache");
  }

  void run_with(ProbeDriver& driver) override {
    const kernels::TransformerShape h = transformer_shape(driver.settings().model, name());
    const int threads = driver.threads();
#pragma omp parallel num_threads(threads)
    driver.topology().pin_current_thread(omp_get_thread_num());
    for (std::size_t n : contexts(driver.settings())) {
      if (driver.stopped()) return;
      driver.progress(fmt::format("context {}", n));
      measure_context(driver, h, n, threads);
    }
  }

 private:
  void measure_context(const ProbeDriver& driver, const kernels::TransformerShape& h, std::size_t n, int threads) const {
    const std::size_t H = std::size_t(h.head_dim), group = std::size_t(h.q_heads / h.kv_heads);
    const std::size_t block = (kernels::attention_key_span(n) + n) * H;  // one KV head's keys and values
    const std::size_t kv_bytes_per_block = 2 * n * H * 2;
    const std::size_t blocks = std::max<std::size_t>(2 * std::size_t(threads), cache_bytes(driver.settings()) / kv_bytes_per_block);
    kernels::AlignedVector<std::uint16_t> cache(blocks * block);
    std::vector<float> q(blocks * group * H), out(blocks * group * H);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::size_t b = 0; b < blocks; ++b) {
      kernels::SplitMix64 rng(driver.settings().seed ^ (0x9e3779b97f4a7c15ULL * (b + 1)) ^ n);
      for (std::size_t i = 0; i < block; ++i) cache[b * block + i] = random_bf16(rng);
      for (std::size_t i = 0; i < group * H; ++i) q[b * group * H + i] = float(rng.below(1 << 16)) / 32768.0f - 1.0f;
    }
    auto keys = [&](std::size_t b) { return cache.data() + b * block; };
    auto values = [&](std::size_t b) { return cache.data() + b * block + kernels::attention_key_span(n) * H; };
    // Scores per thread, allocated out here: an exception cannot leave an OpenMP region.
    std::vector<float> all_scores(std::size_t(threads) * group * n);
    auto step = [&] {
#pragma omp parallel num_threads(threads)
      {
        float* scores = &all_scores[std::size_t(omp_get_thread_num()) * group * n];
#pragma omp for schedule(static)
        for (std::size_t b = 0; b < blocks; ++b)
          kernels::attend_bf16(&q[b * group * H], keys(b), values(b), n, int(group), int(H), scores,
                               &out[b * group * H]);
      }
    };

    Measurement m = driver.measurement(
        {fmt::format("context {}", n), "kv_bandwidth", "B/s", true,
         "bytes of bf16 keys and values read once per step (2 x context x head_dim x 2 B per KV head), every KV head "
         "of the cache attended by its query heads"},
        {{"context", n}, {"kv_heads_attended", blocks}, {"group", group}, {"head_dim", H},
         {"kv_bytes", double(blocks * kv_bytes_per_block)}, {"threads", threads}});
    step();
    // Validation: sampled KV heads against the double-precision reference.
    std::vector<float> want(group * H);
    double worst = 0;
    for (int c = 0; c < kCheckedBlocks; ++c) {
      const std::size_t b = (std::size_t(c) * 7919) % blocks;
      kernels::attend_reference(&q[b * group * H], keys(b), values(b), n, int(group), int(H), want.data());
      for (std::size_t i = 0; i < group * H; ++i) {
        const double err = std::fabs(double(out[b * group * H + i]) - want[i]) / (std::fabs(want[i]) + 1e-3);
        if (!(err <= worst)) worst = err;
      }
    }
    const std::string problem =
        worst <= 1e-4 ? "" : fmt::format("attention output differs from the reference by {:.3g} (relative)", worst);
    const double bytes = double(blocks * kv_bytes_per_block);
    driver.measure_unless(
        problem, std::move(m), fmt::format("cpu.attention/{}", n),
        [&](std::string&) {
          const auto t0 = std::chrono::steady_clock::now();
          step();
          return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        },
        fmt::format("{} sampled KV heads against a double-precision reference, to 1e-4 relative", kCheckedBlocks),
        [bytes](double s) { return bytes / s; });
  }
};

ROOFAUDIT_REGISTER_PROBE(CpuAttentionProbe);

}  // namespace
}  // namespace roofaudit
