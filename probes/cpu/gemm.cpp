// cpu.gemm: matmul throughput. fp32 and fp64 through the system BLAS, swept over square
// sizes on one thread and on all of them; the BLAS is itself audited by re-running its
// best case with wider OpenBLAS core types when the default picked narrower kernels.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "kernels/cpu/decode.hpp"
#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/isa.hpp"
#include "kernels/cpu/random.hpp"
#include "probes/cpu/blas_gemm.hpp"
#include "probes/cpu/onednn_gemm.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "probes/summary.hpp"
#include "probes/driver.hpp"
#include "probes/topology.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"cpu.gemm", 1,
                                  "matmul throughput: fp32/fp64 system BLAS (with an OpenBLAS core-type audit), bf16/int8 own kernels "
                                  "beside oneDNN",
                                  Role::gemm};

class CpuGemmProbe final : public DrivenProbe {
 public:
  CpuGemmProbe() : DrivenProbe(kIdentity) {}

  void run_with(ProbeDriver& driver) override {
    const int all = driver.threads();
    // Up to matrices far larger than the caches: 4096^2 fp64 is 128 MiB per matrix.
    std::vector<int> sizes = {256, 512, 1024, 2048};
    if (!driver.settings().quick) sizes.push_back(4096);
    if (driver.settings().max_working_set_bytes)  // small test runs: bound the matrices too
      sizes.erase(std::remove_if(sizes.begin(), sizes.end(),
                                 [&](int n) { return 3.0 * n * n * 8 > double(driver.settings().max_working_set_bytes); }),
                  sizes.end());
    if (sizes.empty()) sizes.push_back(64);
    std::vector<int> thread_counts{1};
    if (all > 1) thread_counts.push_back(all);
    if (!run_lowp(driver, sizes, thread_counts, all)) return;
    run_blas(driver, sizes, thread_counts, all);
  }

 private:
  static Figure figure(const std::string& precision) {
    return {precision, "gemm", precision == "int8" ? "OP/s" : "FLOP/s", true,
            "2 n^3 floating-point operations per n x n x n product"};
  }
  static nlohmann::json params(int n, int threads, const std::string& library, const std::string& coretype = "") {
    nlohmann::json p = {{"n", n}, {"threads", threads}, {"library", library}};
    if (!coretype.empty()) p["coretype"] = coretype;
    return p;
  }

  // int8 and bf16: roofaudit's fastest kernel for this CPU, and oneDNN's matmul beside it.
  // False when stopped.
  bool run_lowp(const ProbeDriver& driver, const std::vector<int>& sizes, const std::vector<int>& thread_counts,
                int all) const {
    const std::string no_onednn = onednn_missing_reason();
    for (const std::string precision : {"bf16", "int8"}) {
      const auto type = precision == "bf16" ? kernels::LowpType::bf16 : kernels::LowpType::int8;
      const kernels::LowpKernel kernel = kernels::fastest_decode_kernel(type, all).kernel;
      for (const std::string library : {"roofaudit", "onednn"}) {
        if (library == "onednn" && !no_onednn.empty()) {
          driver.unsupported(figure(precision), "unsupported: " + no_onednn, params(sizes.back(), all, library));
          continue;
        }
        for (int threads : thread_counts)
          for (int n : sizes) {
            if (driver.stopped()) return false;
            if (threads == 1 && n > 2048) continue;
            driver.progress(fmt::format("{} {} n={} x{}", library, precision, n, threads));
            driver.emit(measure_lowp(driver, precision, library, kernel, n, threads));
          }
      }
    }
    return true;
  }

  // fp32 and fp64 through the system BLAS, then its wider core types in child processes
  // (OPENBLAS_CORETYPE is read once, at load) at the size that was fastest on all threads.
  void run_blas(const ProbeDriver& driver, const std::vector<int>& sizes, const std::vector<int>& thread_counts,
                int all) const {
    const RunSettings& settings = driver.settings();
    const int reps = driver.repetitions(2, 3);
    for (const std::string precision : {"fp32", "fp64"}) {
      Measurement best_all;
      for (int threads : thread_counts) {
        for (int n : sizes) {
          if (driver.stopped()) return;
          if (threads == 1 && n > 2048) continue;  // a single core at 4096 costs seconds and says nothing new
          driver.progress(fmt::format("blas {} n={} x{}", precision, n, threads));
          Measurement m = from_result(driver, precision, n, threads, "", measure_blas_gemm(precision, n, threads, reps, settings.seed));
          if (threads == all && m.summary && (!best_all.summary || m.summary->best > best_all.summary->best)) best_all = m;
          driver.emit(std::move(m));
        }
      }
      if (!best_all.summary || settings.executable.empty()) continue;
      const std::string current = best_all.params["corename"].get<std::string>();
      for (const auto& coretype : wider_blas_coretypes(current)) {
        if (driver.stopped()) return;
        const int n = best_all.params["n"].get<int>();
        driver.progress(fmt::format("blas {} n={} OPENBLAS_CORETYPE={}", precision, n, coretype));
        try {
          driver.emit(from_result(driver, precision, n, all, coretype,
                                  measure_blas_gemm_in_child(settings.executable, coretype, precision, n, all, reps,
                                                             settings.seed)));
        } catch (const Error& e) {
          Measurement m = driver.measurement(figure(precision), params(n, all, "blas", coretype));
          m.valid = false;
          m.validation = std::string("failed: ") + e.what();
          driver.emit(std::move(m));
        }
      }
    }
  }

  // roofaudit's or oneDNN's bf16 / int8 matmul on small integers, whose products and sums
  // are exact in the accumulators: sampled entries must equal an integer reference exactly.
  static Measurement measure_lowp(const ProbeDriver& driver, const std::string& precision, const std::string& library,
                                  kernels::LowpKernel kernel, int n, int threads) {
    Measurement m = driver.measurement(figure(precision), params(n, threads, library));
    const std::uint64_t seed = driver.settings().seed;
    const bool bf16 = precision == "bf16";
    const auto type = bf16 ? kernels::LowpType::bf16 : kernels::LowpType::int8;
    const std::size_t nn = std::size_t(n) * std::size_t(n);
    kernels::SplitMix64 rng(seed + std::uint64_t(n));
    std::vector<int> ai(nn), bi(nn);
    for (auto& x : ai) x = bf16 ? int(rng.below(17)) - 8 : int(rng.below(256));
    // oneDNN's int8 path without VNNI sums u8 x s8 pairs in saturating 16 bits
    // (vpmaddubsw), as its documentation says: it is given 7-bit weights there, which it
    // computes exactly, and the record says so.
    const kernels::CpuFeatures cpu = kernels::cpu_features();
    // (x86 only: on AArch64 it computes int8 with its own exact kernels.)
#if defined(__x86_64__)
    const bool seven_bit = library == "onednn" && !bf16 && !cpu.avx512_vnni && !cpu.avx_vnni;
#else
    const bool seven_bit = false;
    (void)cpu;
#endif
    for (auto& x : bi) x = bf16 ? int(rng.below(17)) - 8 : seven_bit ? int(rng.below(128)) - 64 : int(rng.below(256)) - 128;
    if (seven_bit) m.params["b_range"] = "[-64, 63]: no VNNI, oneDNN's u8 x s8 pairs saturate at 16 bits";
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
    std::unique_ptr<OnednnMatmul> dnnl;
    if (library == "onednn") {
      try {
        dnnl = bf16 ? std::make_unique<OnednnMatmul>(true, n, a16.data(), b16.data(), c32.data())
                    : std::make_unique<OnednnMatmul>(false, n, a8.data(), b8.data(), ci.data());
      } catch (const Error& e) {
        m.supported = false;
        m.validation = std::string("unsupported: ") + e.what();
        return m;
      }
      m.params["kernel"] = dnnl->impl();
      m.params["version"] = dnnl->version();
    } else {
      m.params["kernel"] = kernels::lowp_kernel_name(kernel, type);
      m.params["isa"] = kernels::lowp_kernel_isa(kernel, type);
    }
    // The product is checked after the last repetition.
    auto once = [&](std::string&) {
      const auto t0 = std::chrono::steady_clock::now();
      if (dnnl) dnnl->run(threads);
      else if (bf16) kernels::gemm_bf16(a16.data(), b16.data(), c32.data(), un, un, un, threads, kernel);
      else kernels::gemm_int8(a8.data(), b8.data(), ci.data(), un, un, un, threads, kernel);
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    auto timed = driver.time("", fmt::format("cpu.gemm/{}/{}/{}/{}", library, precision, n, threads), once, 1,
                             driver.repetitions(2, 3));
    std::string& problem = timed.problem;
    for (int s = 0; s < 256 && problem.empty(); ++s) {
      const std::size_t i = rng.below(un), j = rng.below(un);
      std::int64_t ref = 0;
      for (std::size_t k = 0; k < un; ++k) ref += std::int64_t(ai[i * un + k]) * bi[k * un + j];
      const double got = bf16 ? double(c32[i * un + j]) : double(ci[i * un + j]);
      if (got != double(ref)) problem = fmt::format("C[{},{}] = {} but the integer reference is {}", i, j, got, ref);
    }
    const double ops = 2.0 * double(n) * double(n) * double(n);
    return driver.outcome(std::move(m), timed,
                          library == "onednn" ? "256 sampled entries of C equal the exact integer reference"
                                              : "256 sampled entries of C equal the exact integer reference (packing "
                                                "included in the time)",
                          [&](double sec) { return ops / sec; });
  }

  static Measurement from_result(const ProbeDriver& driver, const std::string& precision, int n, int threads,
                                 const std::string& coretype, const BlasGemmResult& r) {
    Measurement m = driver.measurement(figure(precision), params(n, threads, "blas", coretype));
    m.params["corename"] = r.corename;
    const double flops = 2.0 * double(n) * double(n) * double(n);
    record_outcome(m, r.seconds, r.valid ? "" : r.validation, r.validation, [&](double s) { return flops / s; });
    return m;
  }
};

ROOFAUDIT_REGISTER_PROBE(CpuGemmProbe);

}  // namespace
}  // namespace roofaudit
