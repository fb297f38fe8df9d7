#pragma once
// oneDNN's matmul as the second opinion on roofaudit's own int8 (u8 x s8 -> s32) and bf16
// (bf16 x bf16 -> fp32) GEMM, as the system BLAS is for fp32/fp64. Built only where
// libdnnl-dev was found; otherwise onednn_missing_reason() says so.
#include <memory>
#include <string>

namespace roofaudit {

// Empty when oneDNN is built in; else why it is not.
std::string onednn_missing_reason();

// One n x n x n matmul primitive on caller-owned row-major buffers. Within
// ROOFAUDIT_MAX_ISA: the first primitive caps oneDNN's ISA at the same class.
class OnednnMatmul {
 public:
  OnednnMatmul(bool bf16, int n, void* a, void* b, void* c);  // throws Error
  ~OnednnMatmul();
  OnednnMatmul(const OnednnMatmul&) = delete;
  OnednnMatmul& operator=(const OnednnMatmul&) = delete;
  void run(int threads);            // throws Error
  const std::string& impl() const;  // the implementation oneDNN chose, e.g. "brg:avx512_core_amx"
  std::string version() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace roofaudit
