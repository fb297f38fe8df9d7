#pragma once
#include "test_util.hpp"
// Test parameters: every low-precision kernel, whether or not this host runs it. A test
// on a kernel the host (or ROOFAUDIT_MAX_ISA) cannot run skips, saying why.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/cpu/lowp.hpp"

namespace roofaudit::kernels {

inline const LowpKernel kAllLowpKernels[] = {LowpKernel::amx,  LowpKernel::avx512_dot, LowpKernel::avx512,
                                              LowpKernel::avx_vnni, LowpKernel::avx2, LowpKernel::neon_mmla, LowpKernel::sve, LowpKernel::neon_dot,
                                              LowpKernel::neon, LowpKernel::portable};

// The kernels that have a bf16 form: AVX-VNNI has no bf16 instruction, so its class runs
// the AVX2 bf16 kernel (DecodeKernelDispatch checks that it is never offered for bf16).
inline const LowpKernel kBf16LowpKernels[] = {LowpKernel::amx,      LowpKernel::avx512_dot, LowpKernel::avx512,
                                               LowpKernel::avx2,     LowpKernel::neon_mmla,  LowpKernel::sve, LowpKernel::neon_dot, LowpKernel::neon,
                                               LowpKernel::portable};

inline std::string lowp_kernel_test_name(const ::testing::TestParamInfo<LowpKernel>& info) {
  switch (info.param) {
    case LowpKernel::amx: return "amx";
    case LowpKernel::avx512_dot: return "avx512_dot";
    case LowpKernel::avx512: return "avx512";
    case LowpKernel::avx_vnni: return "avx_vnni";
    case LowpKernel::avx2: return "avx2";
    case LowpKernel::neon_mmla: return "neon_mmla";
    case LowpKernel::sve: return "sve";
    case LowpKernel::neon_dot: return "neon_dot";
    case LowpKernel::neon: return "neon";
    case LowpKernel::portable: return "portable";
  }
  return "unknown";
}

// Empty when the kernel runs here for `type`; else why not.
inline std::string lowp_kernel_skip_reason(LowpKernel kernel, LowpType type) {
  if (lowp_kernel_supported(kernel, type, cpu_features())) return "";
  const std::string cap = isa_cap();
  return "this CPU" + (cap.empty() ? std::string() : " within ROOFAUDIT_MAX_ISA=" + cap) + " cannot run the " +
         lowp_kernel_isa(kernel, type) + " " + (type == LowpType::int8 ? "int8" : "bf16") + " kernel";
}

// This architecture's ISA classes (isa.hpp), widest first, "" (no cap) before them.
#if defined(__x86_64__)
inline const std::vector<std::string> kIsaCaps = {"", "avx512-bf16", "avx512-vnni", "avx512", "avx-vnni", "avx2", "generic"};
#else
inline const std::vector<std::string> kIsaCaps = {"", "sve", "i8mm", "dotprod", "neon", "generic"};
#endif

// Sets ROOFAUDIT_MAX_ISA for a scope, then puts back what was there (the suite itself
// may run under a cap).
class ScopedIsaCap : public testing::ScopedEnv {
 public:
  explicit ScopedIsaCap(const char* cap) : ScopedEnv("ROOFAUDIT_MAX_ISA", cap) {}
};

}  // namespace roofaudit::kernels

#define ROOFAUDIT_SKIP_UNLESS_RUNS(kernel, type)                        \
  do {                                                                  \
    const std::string why = ::roofaudit::kernels::lowp_kernel_skip_reason(kernel, type); \
    if (!why.empty()) GTEST_SKIP() << why;                              \
  } while (0)
