#pragma once
// What this CPU can execute, as the kernels choose from it: detected once, then capped by
// ROOFAUDIT_MAX_ISA so one host can run every narrower path it contains. A cap names a
// class of real CPUs and keeps only the features that class has:
//   generic      no vector extensions beyond the x86-64 baseline
//   avx2         AVX2 + FMA + F16C (Haswell..Comet Lake, Zen 1-3, VMs hiding AVX-512)
//   avx-vnni     avx2 + AVX-VNNI (Alder Lake and later client parts)
//   avx512       avx2 + AVX-512 F/BW/VL/DQ (Skylake-SP)
//   avx512-vnni  avx512 + AVX512_VNNI (Cascade Lake, Ice Lake)
//   avx512-bf16  avx512-vnni + AVX512_BF16 + AVX-VNNI (Cooper Lake, Zen 4/5, Sapphire Rapids)
//   amx          everything (no cap)
#include <string>
#include <string_view>

namespace roofaudit::kernels {

struct CpuFeatures {
  bool avx2 = false;         // with FMA and F16C
  bool avx_vnni = false;     // VEX-encoded vpdpbusd / vpdpwssd on ymm
  bool avx512 = false;       // F, BW, VL, DQ
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool amx_int8 = false;
  bool amx_bf16 = false;
};

// What the CPU reports, uncapped.
CpuFeatures host_cpu_features();
// host_cpu_features() capped by ROOFAUDIT_MAX_ISA (read on every call, so tests can set it).
// Throws std::invalid_argument naming the value when the cap is not a class above.
CpuFeatures cpu_features();
// The cap in force ("" when none).
std::string isa_cap();
// The class names, comma-separated, for messages.
std::string_view isa_cap_names();

}  // namespace roofaudit::kernels
