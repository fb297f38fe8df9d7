// cpu.gemm: matmul throughput. fp32 and fp64 through the system BLAS, swept over square
// sizes on one thread and on all of them; the BLAS is itself audited by re-running its
// best case with wider OpenBLAS core types when the default picked narrower kernels.
#include <algorithm>
#include <chrono>
#include <map>

#include <fmt/format.h>

#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/random.hpp"
#include "probes/cpu/blas_gemm.hpp"
#include "probes/error.hpp"
#include "probes/probe.hpp"
#include "probes/summary.hpp"
#include "probes/timing.hpp"
#include "probes/topology.hpp"

namespace roofaudit {
namespace {

class CpuGemmProbe final : public Probe {
 public:
  std::string_view name() const override { return "cpu.gemm"; }
  std::string_view description() const override {
    return "matmul throughput: fp32/fp64 system BLAS (with an OpenBLAS core-type audit), bf16/int8 own kernels";
  }
  int version() const override { return 1; }
  void check(const RunSettings&, const Topology&) const override {}

  void run(ProbeContext& ctx) override {
    const int all = ctx.settings.threads > 0 ? ctx.settings.threads : ctx.topology.cores();
    const int reps = ctx.settings.repetitions > 0 ? ctx.settings.repetitions : (ctx.settings.quick ? 2 : 3);
    // Up to matrices far larger than the caches: 4096^2 fp64 is 128 MiB per matrix.
    std::vector<int> sizes = {256, 512, 1024, 2048};
    if (!ctx.settings.quick) sizes.push_back(4096);
    if (ctx.settings.max_working_set_bytes)  // small test runs: bound the matrices too
      sizes.erase(std::remove_if(sizes.begin(), sizes.end(),
                                 [&](int n) { return 3.0 * n * n * 8 > double(ctx.settings.max_working_set_bytes); }),
                  sizes.end());
    if (sizes.empty()) sizes.push_back(64);
    std::vector<int> thread_counts{1};
    if (all > 1) thread_counts.push_back(all);

    for (const std::string precision : {"bf16", "int8"}) {
      const bool supported = precision == "bf16" ? kernels::lowp_gemm_supported_bf16() : kernels::lowp_gemm_supported_int8();
      for (int threads : thread_counts) {
        for (int n : sizes) {
          if (ctx.stop_requested) return;
          if (threads == 1 && n > 2048) continue;
          if (!supported) {
            Measurement m = base(precision, n, threads, "");
            m.params["library"] = "roofaudit";
            m.supported = false;
            m.validation = precision == "bf16" ? "unsupported: the CPU lacks AVX512_BF16" : "unsupported: the CPU lacks AVX512_VNNI";
            ctx.emit(std::move(m));
            break;
          }
          ctx.progress(fmt::format("own {} n={} x{}", precision, n, threads));
          ctx.emit(measure_own(precision, n, threads, reps, ctx.settings.seed));
        }
      }
    }

    for (const std::string precision : {"fp32", "fp64"}) {
      Measurement best_all;
      for (int threads : thread_counts) {
        for (int n : sizes) {
          if (ctx.stop_requested) return;
          if (threads == 1 && n > 2048) continue;  // a single core at 4096 costs seconds and says nothing new
          ctx.progress(fmt::format("blas {} n={} x{}", precision, n, threads));
          Measurement m = from_result(precision, n, threads, "", measure_blas_gemm(precision, n, threads, reps, ctx.settings.seed));
          if (threads == all && m.summary && (!best_all.summary || m.summary->best > best_all.summary->best)) best_all = m;
          ctx.emit(std::move(m));
        }
      }
      if (!best_all.summary || ctx.settings.executable.empty()) continue;
      const std::string current = best_all.params["corename"].get<std::string>();
      for (const auto& coretype : wider_blas_coretypes(current)) {
        if (ctx.stop_requested) return;
        const int n = best_all.params["n"].get<int>();
        ctx.progress(fmt::format("blas {} n={} OPENBLAS_CORETYPE={}", precision, n, coretype));
        try {
          ctx.emit(from_result(precision, n, all, coretype,
                               measure_blas_gemm_in_child(ctx.settings.executable, coretype, precision, n, all, reps,
                                                          ctx.settings.seed)));
        } catch (const Error& e) {
          Measurement m = base(precision, n, all, coretype);
          m.valid = false;
          m.validation = std::string("failed: ") + e.what();
          ctx.emit(std::move(m));
        }
      }
    }
  }

 private:
  Measurement base(const std::string& precision, int n, int threads, const std::string& coretype) const {
    Measurement m;
    m.probe = std::string(name());
    m.probe_version = version();
    m.device = "cpu";
    m.variant = precision;
    m.metric = "gemm";
    m.unit = "FLOP/s";
    m.higher_is_better = true;
    m.convention = "2 n^3 floating-point operations per n x n x n product";
    m.params = {{"n", n}, {"threads", threads}, {"library", "blas"}};
    if (!coretype.empty()) m.params["coretype"] = coretype;
    return m;
  }

  // roofaudit's bf16 / int8 kernels on small integers, whose products and sums are exact
  // in the accumulators: sampled entries must equal an integer reference exactly.
  Measurement measure_own(const std::string& precision, int n, int threads, int reps, std::uint64_t seed) const {
    Measurement m = base(precision, n, threads, "");
    m.params["library"] = "roofaudit";
    m.params["kernel"] = precision == "bf16" ? "vdpbf16ps 8x32 tile" : "vpdpbusd 8x32 tile";
    m.unit = precision == "int8" ? "OP/s" : "FLOP/s";
    const std::size_t nn = std::size_t(n) * std::size_t(n);
    kernels::SplitMix64 rng(seed + std::uint64_t(n));
    std::vector<int> ai(nn), bi(nn);
    const bool bf16 = precision == "bf16";
    for (auto& x : ai) x = bf16 ? int(rng.below(17)) - 8 : int(rng.below(256));
    for (auto& x : bi) x = bf16 ? int(rng.below(17)) - 8 : int(rng.below(256)) - 128;
    std::vector<std::uint16_t> a16, b16;
    std::vector<std::uint8_t> a8;
    std::vector<std::int8_t> b8;
    std::vector<float> c32;
    std::vector<std::int32_t> ci;
    if (bf16) {
      for (int x : ai) a16.push_back(kernels::to_bf16(float(x)));
      for (int x : bi) b16.push_back(kernels::to_bf16(float(x)));
      c32.resize(nn);
    } else {
      for (int x : ai) a8.push_back(std::uint8_t(x));
      for (int x : bi) b8.push_back(std::int8_t(x));
      ci.resize(nn);
    }
    const std::size_t un = std::size_t(n);
    auto once = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      if (bf16) kernels::gemm_bf16(a16.data(), b16.data(), c32.data(), un, un, un, threads);
      else kernels::gemm_int8(a8.data(), b8.data(), ci.data(), un, un, un, threads);
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    const auto timing = time_repetitions(fmt::format("cpu.gemm/{}/{}/{}", precision, n, threads), 1, reps, once);
    std::string problem = timing.ok ? "" : timing.error;
    for (int s = 0; s < 256 && problem.empty(); ++s) {
      const std::size_t i = rng.below(un), j = rng.below(un);
      std::int64_t ref = 0;
      for (std::size_t k = 0; k < un; ++k) ref += std::int64_t(ai[i * un + k]) * bi[k * un + j];
      const double got = bf16 ? double(c32[i * un + j]) : double(ci[i * un + j]);
      if (got != double(ref)) problem = fmt::format("C[{},{}] = {} but the integer reference is {}", i, j, got, ref);
    }
    const double ops = 2.0 * double(n) * double(n) * double(n);
    record_outcome(m, timing.seconds, problem,
                   "256 sampled entries of C equal the exact integer reference (packing included in the time)",
                   [&](double sec) { return ops / sec; });
    return m;
  }

  Measurement from_result(const std::string& precision, int n, int threads, const std::string& coretype,
                          const BlasGemmResult& r) const {
    Measurement m = base(precision, n, threads, coretype);
    m.params["corename"] = r.corename;
    const double flops = 2.0 * double(n) * double(n) * double(n);
    record_outcome(m, r.seconds, r.valid ? "" : r.validation, r.validation, [&](double s) { return flops / s; });
    return m;
  }
};

ROOFAUDIT_REGISTER_PROBE(CpuGemmProbe);

}  // namespace
}  // namespace roofaudit
