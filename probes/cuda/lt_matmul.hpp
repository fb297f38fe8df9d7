#pragma once
// cuBLASLt behind one small owner: a product D = A^T B of one precision and shape in the
// "TN" layout every precision accepts (fp8 and int8 require it), the algorithms cuBLASLt's
// heuristic offers for it with a workspace as cuBLAS advises, and the operands with
// their check on the GPU (kernels/cuda/kernels.hpp's check_product).
#include <cublasLt.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/kernels.hpp"
#include "probes/cuda/session.hpp"

namespace roofaudit::cuda {

struct Precision {
  const char* name;  // the figure's variant: "fp64" ... "int8"
  kernels::cuda::Element a, d;  // B is of A's type
  cudaDataType_t a_type, d_type;
  cublasComputeType_t compute;
  cudaDataType_t scale;
  int range;               // inputs are integers in [-range, range]
  double unit_roundoff;    // of D, where its values round (0: exact)
  int min_compute;         // compute capability x10 the precision needs (fp8: 89)
  const char* unit;        // "FLOP/s" or "OP/s"
  const char* math;        // what cuBLASLt is asked for
};

// fp64, fp32, tf32, bf16, fp16, fp8 (e4m3, bf16 out), int8 (int32 out).
const std::vector<Precision>& precisions();
const Precision* precision(const std::string& name);

void check_lt(cublasStatus_t status, const char* call);

class LtHandle {
 public:
  LtHandle();
  ~LtHandle();
  LtHandle(const LtHandle&) = delete;
  LtHandle& operator=(const LtHandle&) = delete;
  cublasLtHandle_t get() const { return handle_; }

 private:
  cublasLtHandle_t handle_ = nullptr;
};

// 32 MiB: what cuBLAS advises for Hopper and newer (4 MiB before).
std::uint64_t workspace_bytes(const DeviceView& d);

// The operands of an m x n x k product and the scratch of its check.
struct Operands {
  Operands(const Precision& p, std::uint64_t m, std::uint64_t n, std::uint64_t k, std::uint32_t seed,
           const Stream& stream);
  const Precision& precision;
  std::uint64_t m, n, k;
  DeviceMemory a, b, d, scratch;
  std::uint32_t seed;
  // Every element of D through Freivalds' check, 256 sampled exactly: "" or what is wrong.
  std::string check(const Stream& stream) const;
  // D filled with a pattern no correct product leaves (NaN, or -1 in int32).
  void poison(const Stream& stream) const;
  double operations() const { return 2.0 * double(m) * double(n) * double(k); }
};

class LtMatmul {
 public:
  LtMatmul(const LtHandle& handle, const Operands& o, const DeviceMemory& workspace, int max_algorithms);
  ~LtMatmul();
  LtMatmul(const LtMatmul&) = delete;
  LtMatmul& operator=(const LtMatmul&) = delete;
  // The heuristic's candidates, best first; none: cuBLASLt has no algorithm for the shape.
  int algorithms() const { return int(algorithms_.size()); }
  std::string algorithm_name(int i) const;  // "heuristic #0 (algo 21, 34 MiB? ...)"
  void run(int algorithm, const Operands& o, cudaStream_t stream) const;

 private:
  const LtHandle& handle_;
  const DeviceMemory& workspace_;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, d_ = nullptr;
  std::vector<cublasLtMatmulHeuristicResult_t> algorithms_;
};

// `launches` products between two events, after D is poisoned; then the check. Returns
// the GPU seconds of one product.
double timed_products(const LtMatmul& mm, int algorithm, const Operands& o, const Stream& stream,
                      const EventPair& events, std::uint32_t launches, std::string& problem);

}  // namespace roofaudit::cuda
