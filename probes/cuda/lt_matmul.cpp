#include "probes/cuda/lt_matmul.hpp"

#include <fmt/format.h>

namespace roofaudit::cuda {
namespace {

namespace k = kernels::cuda;

}  // namespace

const std::vector<Precision>& precisions() {
  // Ranges keep every exact sum within what D holds: |D| <= range^2 k; bf16 and fp16 D
  // round, and the check allows their rounding (unit_roundoff).
  static const std::vector<Precision> all = {
      {"fp64", k::Element::f64, k::Element::f64, CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F, CUDA_R_64F, 2, 0, 0,
       "FLOP/s", "fp64 in, fp64 out"},
      {"fp32", k::Element::f32, k::Element::f32, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUDA_R_32F, 2, 0, 0,
       "FLOP/s", "fp32 in, fp32 out, fp32 math"},
      {"tf32", k::Element::f32, k::Element::f32, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F, 2, 0,
       80, "FLOP/s", "fp32 in and out, tf32 tensor-core math"},
      {"bf16", k::Element::bf16, k::Element::bf16, CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, 1,
       1.0 / 256, 80, "FLOP/s", "bf16 in, bf16 out, fp32 accumulate"},
      {"fp16", k::Element::f16, k::Element::f16, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F, 2,
       1.0 / 2048, 0, "FLOP/s", "fp16 in, fp16 out, fp32 accumulate"},
      {"fp8", k::Element::e4m3, k::Element::bf16, CUDA_R_8F_E4M3, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, 1,
       1.0 / 256, 89, "FLOP/s", "fp8 e4m3 in, bf16 out, fp32 accumulate"},
      {"int8", k::Element::i8, k::Element::i32, CUDA_R_8I, CUDA_R_32I, CUBLAS_COMPUTE_32I, CUDA_R_32I, 2, 0, 0,
       "OP/s", "int8 in, int32 out and accumulate"},
  };
  return all;
}

const Precision* precision(const std::string& name) {
  for (const auto& p : precisions())
    if (name == p.name) return &p;
  return nullptr;
}

void check_lt(cublasStatus_t status, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw Error(fmt::format("{}: {}", call, cublasLtGetStatusName(status)));
}

LtHandle::LtHandle() { check_lt(cublasLtCreate(&handle_), "cublasLtCreate"); }
LtHandle::~LtHandle() { cublasLtDestroy(handle_); }

std::uint64_t workspace_bytes(const DeviceView& d) {
  return d.compute_major >= 9 ? std::uint64_t(32) << 20 : std::uint64_t(4) << 20;
}

Operands::Operands(const Precision& p, std::uint64_t m_, std::uint64_t n_, std::uint64_t k_, std::uint32_t seed_,
                   const Stream& stream)
    : precision(p),
      m(m_),
      n(n_),
      k(k_),
      a(m_ * k_ * k::element_bytes(p.a)),
      b(k_ * n_ * k::element_bytes(p.a)),
      d(m_ * n_ * k::element_bytes(p.d)),
      scratch(k::product_check_scratch_bytes({p.a, p.a, p.d, m_, n_, k_, p.unit_roundoff, seed_})),
      seed(seed_) {
  k::fill_matrix(p.a, a.get(), m * k, seed, p.range, stream.get());
  k::fill_matrix(p.a, b.get(), k * n, seed ^ 0x5bd1e995u, p.range, stream.get());
  cuda::check(cudaGetLastError(), "fill_matrix");
  stream.synchronize();
}

std::string Operands::check(const Stream& stream) const {
  const k::ProductCheck pc{precision.a, precision.a, precision.d, m, n, k, precision.unit_roundoff, seed};
  unsigned long long* bad = k::check_product(pc, a.get(), b.get(), d.get(), scratch.get(), stream.get());
  cuda::check(cudaGetLastError(), "check_product");
  unsigned long long wrong = 0;
  cuda::check(cudaMemcpyAsync(&wrong, bad, sizeof wrong, cudaMemcpyDeviceToHost, stream.get()), "cudaMemcpyAsync");
  stream.synchronize();
  if (wrong == 0) return "";
  return fmt::format("{} of {} row sums (Freivalds) and 256 sampled elements of the {} x {} x {} {} product are wrong",
                     wrong, m, m, n, k, precision.name);
}

void Operands::poison(const Stream& stream) const {
  cuda::check(cudaMemsetAsync(d.get(), 0xff, d.bytes(), stream.get()), "cudaMemsetAsync");
}

LtMatmul::LtMatmul(const LtHandle& handle, const Operands& o, const DeviceMemory& workspace, int max_algorithms)
    : handle_(handle), workspace_(workspace) {
  const Precision& p = o.precision;
  check_lt(cublasLtMatmulDescCreate(&desc_, p.compute, p.scale), "cublasLtMatmulDescCreate");
  const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
  check_lt(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose),
           "cublasLtMatmulDescSetAttribute");
  check_lt(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof keep),
           "cublasLtMatmulDescSetAttribute");
  check_lt(cublasLtMatrixLayoutCreate(&a_, p.a_type, o.k, o.m, o.k), "cublasLtMatrixLayoutCreate");
  check_lt(cublasLtMatrixLayoutCreate(&b_, p.a_type, o.k, o.n, o.k), "cublasLtMatrixLayoutCreate");
  check_lt(cublasLtMatrixLayoutCreate(&d_, p.d_type, o.m, o.n, o.m), "cublasLtMatrixLayoutCreate");
  cublasLtMatmulPreference_t preference = nullptr;
  check_lt(cublasLtMatmulPreferenceCreate(&preference), "cublasLtMatmulPreferenceCreate");
  const std::uint64_t bytes = workspace.bytes();
  cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &bytes, sizeof bytes);
  algorithms_.resize(std::size_t(std::max(1, max_algorithms)));
  int returned = 0;
  const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle.get(), desc_, a_, b_, d_, d_, preference,
                                                           int(algorithms_.size()), algorithms_.data(), &returned);
  cublasLtMatmulPreferenceDestroy(preference);
  if (st != CUBLAS_STATUS_SUCCESS && st != CUBLAS_STATUS_NOT_SUPPORTED) check_lt(st, "cublasLtMatmulAlgoGetHeuristic");
  algorithms_.resize(st == CUBLAS_STATUS_SUCCESS ? std::size_t(std::max(0, returned)) : 0);
}

LtMatmul::~LtMatmul() {
  if (d_) cublasLtMatrixLayoutDestroy(d_);
  if (b_) cublasLtMatrixLayoutDestroy(b_);
  if (a_) cublasLtMatrixLayoutDestroy(a_);
  if (desc_) cublasLtMatmulDescDestroy(desc_);
}

std::string LtMatmul::algorithm_name(int i) const {
  int id = -1;
  std::size_t written = 0;
  cublasLtMatmulAlgoConfigGetAttribute(&algorithms_[std::size_t(i)].algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id,
                                       &written);
  return fmt::format("heuristic #{} (algo id {}, workspace {} KiB)", i, id,
                     algorithms_[std::size_t(i)].workspaceSize / 1024);
}

void LtMatmul::run(int algorithm, const Operands& o, cudaStream_t stream) const {
  const double one_d = 1, zero_d = 0;
  const float one_f = 1, zero_f = 0;
  const std::int32_t one_i = 1, zero_i = 0;
  const void* alpha = &one_f;
  const void* beta = &zero_f;
  if (o.precision.scale == CUDA_R_64F) alpha = &one_d, beta = &zero_d;
  if (o.precision.scale == CUDA_R_32I) alpha = &one_i, beta = &zero_i;
  check_lt(cublasLtMatmul(handle_.get(), desc_, alpha, o.a.get(), a_, o.b.get(), b_, beta, o.d.get(), d_, o.d.get(), d_,
                          &algorithms_[std::size_t(algorithm)].algo, workspace_.get(), workspace_.bytes(), stream),
           "cublasLtMatmul");
}

double timed_products(const LtMatmul& mm, int algorithm, const Operands& o, const Stream& stream,
                      const EventPair& events, std::uint32_t launches, std::string& problem) {
  o.poison(stream);
  events.start(stream.get());
  for (std::uint32_t i = 0; i < launches; ++i) mm.run(algorithm, o, stream.get());
  events.stop(stream.get());
  stream.synchronize();
  problem = o.check(stream);
  return events.seconds() / launches;
}

}  // namespace roofaudit::cuda
