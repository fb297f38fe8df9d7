#pragma once
// What this CPU can execute, as the kernels choose from it: detected once, then capped by
// ROOFAUDIT_MAX_ISA so one host can run every narrower path it contains. A cap names a
// class of real CPUs and keeps only the features that class has.
//
// x86-64 (CPUID):
//   generic      no vector extensions beyond the x86-64 baseline
//   avx2         AVX2 + FMA + F16C (Haswell..Comet Lake, Zen 1-3, VMs hiding AVX-512)
//   avx-vnni     avx2 + AVX-VNNI (Alder Lake and later client parts)
//   avx512       avx2 + AVX-512 F/BW/VL/DQ (Skylake-SP)
//   avx512-vnni  avx512 + AVX512_VNNI (Cascade Lake, Ice Lake)
//   avx512-bf16  avx512-vnni + AVX512_BF16 + AVX-VNNI (Cooper Lake, Zen 4/5, Sapphire Rapids)
//   amx          everything (no cap)
// AArch64 (the kernel's hwcaps, getauxval):
//   generic      portable C++ only (the compiler may still use the baseline NEON)
//   neon         Advanced SIMD fp32/fp64 FMA, widening int8 and bf16 (Cortex-A72, Graviton 1)
//   dotprod      neon + SDOT/UDOT (Neoverse N1: Graviton 2, Ampere Altra)
//   i8mm         dotprod + I8MM (USDOT, SMMLA) + BF16 (BFDOT, BFMMLA), no SVE (AmpereOne)
//   sve          i8mm + SVE (Neoverse V1: Graviton 3)
//   sve2         everything (no cap): SVE2 (Neoverse V2: Grace, Graviton 4)
#include <string>
#include <string_view>

#if defined(__x86_64__)
#define ROOFAUDIT_X86 1
#elif defined(__aarch64__)
#define ROOFAUDIT_ARM64 1
#else
#error "roofaudit's CPU kernels are written for x86-64 and AArch64"
#endif

namespace roofaudit::kernels {

struct CpuFeatures {
  // x86-64
  bool avx2 = false;         // with FMA and F16C
  bool avx_vnni = false;     // VEX-encoded vpdpbusd / vpdpwssd on ymm
  bool avx512 = false;       // F, BW, VL, DQ
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool amx_int8 = false;
  bool amx_bf16 = false;
  // AArch64
  bool neon = false;         // Advanced SIMD with fp64 (asimd)
  bool dotprod = false;      // SDOT / UDOT (asimddp)
  bool i8mm = false;         // USDOT, SMMLA, USMMLA
  bool bf16 = false;         // BFDOT, BFMMLA, BFCVT
  bool sve = false;
  bool sve2 = false;
  unsigned sve_bits = 0;     // the SVE vector length the process runs at, when sve
};

// What the CPU reports, uncapped.
CpuFeatures host_cpu_features();
// host_cpu_features() capped by ROOFAUDIT_MAX_ISA (read on every call, so tests can set it).
// Throws std::invalid_argument naming the value when the cap is not a class above for
// this architecture.
CpuFeatures cpu_features();
// The cap in force ("" when none).
std::string isa_cap();
// This architecture's class names, comma-separated, for messages.
std::string_view isa_cap_names();
// The widest class `cpu` belongs to ("avx512-bf16", "dotprod", "sve2", ...).
std::string isa_class(const CpuFeatures& cpu);

}  // namespace roofaudit::kernels
