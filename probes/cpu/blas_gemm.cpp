#include "probes/cpu/blas_gemm.hpp"

#include <cblas.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include <fmt/format.h>

#include "kernels/cpu/random.hpp"
#include "values/error.hpp"

namespace roofaudit {
namespace {

using Clock = std::chrono::steady_clock;

template <typename T>
void gemm(int n, const T* a, const T* b, T* c);
template <>
void gemm<float>(int n, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
}
template <>
void gemm<double>(int n, const double* a, const double* b, double* c) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
}

template <typename T>
BlasGemmResult measure(int n, int repetitions, std::uint64_t seed) {
  const std::size_t nn = std::size_t(n) * std::size_t(n);
  std::vector<T> a(nn), b(nn), c(nn);
  kernels::SplitMix64 rng(seed);
  // Uniform in [-1, 1) and never zero: zeros would let a kernel skip work.
  auto value = [&] { return T((double(rng.next() >> 11) * 0x1.0p-53) * 2 - 1 + 0x1.0p-20); };
  for (auto& x : a) x = value();
  for (auto& x : b) x = value();
  BlasGemmResult r;
  r.corename = openblas_get_corename();
  gemm<T>(n, a.data(), b.data(), c.data());  // warm-up: threads started, pages touched
  for (int i = 0; i < repetitions; ++i) {
    std::fill(c.begin(), c.end(), T(0));
    const auto t0 = Clock::now();
    gemm<T>(n, a.data(), b.data(), c.data());
    r.seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  // Rounding bound of a length-n dot product: n * eps * sum |a_ik b_kj|.
  const double eps = sizeof(T) == 4 ? 0x1.0p-24 : 0x1.0p-53;
  for (int s = 0; s < 64; ++s) {
    const int i = int(rng.below(std::uint64_t(n))), j = int(rng.below(std::uint64_t(n)));
    long double ref = 0, magnitude = 0;
    for (int k = 0; k < n; ++k) {
      const long double p = (long double)a[std::size_t(i) * n + k] * b[std::size_t(k) * n + j];
      ref += p;
      magnitude += std::fabs(p);
    }
    const double err = std::fabs(double(c[std::size_t(i) * n + j] - ref));
    if (!(err <= 2.0 * n * eps * double(magnitude) + 1e-30)) {
      r.valid = false;
      r.validation = fmt::format("C[{},{}] = {} but the reference is {} (error {:.3g} over the bound)", i, j,
                                 double(c[std::size_t(i) * n + j]), double(ref), err);
      return r;
    }
  }
  r.valid = true;
  r.validation = "64 sampled entries of C within the rounding bound of a long-double reference";
  return r;
}

}  // namespace

nlohmann::json BlasGemmResult::to_json() const {
  return {{"corename", corename}, {"seconds", seconds}, {"valid", valid}, {"validation", validation}};
}

BlasGemmResult BlasGemmResult::from_json(const nlohmann::json& j) {
  BlasGemmResult r;
  r.corename = j.at("corename").get<std::string>();
  r.seconds = j.at("seconds").get<std::vector<double>>();
  r.valid = j.at("valid").get<bool>();
  r.validation = j.at("validation").get<std::string>();
  return r;
}

BlasGemmResult measure_blas_gemm(const std::string& precision, int n, int threads, int repetitions,
                                 std::uint64_t seed) {
  if (n < 1 || repetitions < 1 || threads < 1) throw Error("blas gemm: size, threads and repetitions must be positive");
  openblas_set_num_threads(threads);
  if (precision == "fp32") return measure<float>(n, repetitions, seed);
  if (precision == "fp64") return measure<double>(n, repetitions, seed);
  throw Error(fmt::format("blas gemm: no BLAS routine for precision '{}'", precision));
}

BlasGemmResult measure_blas_gemm_in_child(const std::string& executable, const std::string& coretype,
                                          const std::string& precision, int n, int threads, int repetitions,
                                          std::uint64_t seed) {
  int fds[2];
  if (pipe(fds) != 0) throw Error("cannot create a pipe for the BLAS child");
  const pid_t pid = fork();
  if (pid < 0) throw Error("cannot fork the BLAS child");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    setenv("OPENBLAS_CORETYPE", coretype.c_str(), 1);
    const std::string ns = std::to_string(n), ts = std::to_string(threads), rs = std::to_string(repetitions),
                      ss = std::to_string(seed);
    execl(executable.c_str(), executable.c_str(), "blas-gemm", "--precision", precision.c_str(), "--size", ns.c_str(),
          "--threads", ts.c_str(), "--repetitions", rs.c_str(), "--seed", ss.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t got; (got = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, std::size_t(got));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(fmt::format("the BLAS child with OPENBLAS_CORETYPE={} failed", coretype));
  try {
    return BlasGemmResult::from_json(nlohmann::json::parse(out));
  } catch (const std::exception&) {
    throw Error(fmt::format("the BLAS child with OPENBLAS_CORETYPE={} printed no result", coretype));
  }
}

std::vector<std::string> wider_blas_coretypes(const std::string& current) {
#if !defined(__x86_64__)
  (void)current;  // OpenBLAS picks AArch64 cores (NeoverseN1, V1, ...) itself: no wider x86 core to try
  return {};
#else
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  if (!avx512) return {};
  static const std::vector<std::string> avx512_cores = {"SkylakeX", "Cooperlake", "SapphireRapids"};
  for (const auto& c : avx512_cores)
    if (c == current) return {};  // already on AVX-512 kernels
  std::vector<std::string> out = {"SkylakeX"};
  if (__builtin_cpu_supports("avx512bf16")) out.push_back("Cooperlake");
  return out;
#endif
}

}  // namespace roofaudit
