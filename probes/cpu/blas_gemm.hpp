#pragma once
// GEMM through the system BLAS (CBLAS; OpenBLAS on Debian), measured and validated, in
// this process or in a child started with another OPENBLAS_CORETYPE.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace roofaudit {

struct BlasGemmResult {
  std::string corename;            // the kernels OpenBLAS picked
  std::vector<double> seconds;     // one per timed repetition
  bool valid = false;
  std::string validation;
  nlohmann::json to_json() const;
  static BlasGemmResult from_json(const nlohmann::json& j);
};

// C = A B for square n x n matrices of `precision` ("fp32" or "fp64") on `threads` BLAS
// threads: one warm-up, then `repetitions` timed calls; sampled entries of C are checked
// against a long-double dot product.
BlasGemmResult measure_blas_gemm(const std::string& precision, int n, int threads, int repetitions,
                                 std::uint64_t seed);

// The same, in a child process of `executable` (roofaudit's hidden `blas-gemm` verb)
// with OPENBLAS_CORETYPE=coretype. Throws Error when the child fails.
BlasGemmResult measure_blas_gemm_in_child(const std::string& executable, const std::string& coretype,
                                          const std::string& precision, int n, int threads, int repetitions,
                                          std::uint64_t seed);

// OpenBLAS core types with wider kernels than `current` that this CPU can run, best first.
std::vector<std::string> wider_blas_coretypes(const std::string& current);

}  // namespace roofaudit
