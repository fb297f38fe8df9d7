#include "kernels/cpu/isa.hpp"

#include <cstdlib>
#include <stdexcept>

#if ROOFAUDIT_ARM64
#include <sys/auxv.h>
#include <sys/prctl.h>
#endif

namespace roofaudit::kernels {

namespace {
#if ROOFAUDIT_X86
CpuFeatures detect() {
  __builtin_cpu_init();
  CpuFeatures f;
  f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.avx_vnni = f.avx2 && __builtin_cpu_supports("avxvnni");
  f.avx512 = f.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
  f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
  // GCC 12's __builtin_cpu_supports knows no AMX names; CPUID leaf 7 EDX bits 22 (AMX-BF16),
  // 24 (AMX-TILE) and 25 (AMX-INT8).
  unsigned a = 0, b = 0, c = 0, d = 0;
  __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
  const bool tile = (d >> 24) & 1;
  f.amx_int8 = f.avx512 && tile && ((d >> 25) & 1);
  f.amx_bf16 = f.avx512 && tile && ((d >> 22) & 1);
  return f;
}
#else
// Linux's AArch64 hwcap bits (arch/arm64/include/uapi/asm/hwcap.h), spelled out: glibc
// 2.36's headers lack the newer HWCAP2 names.
constexpr unsigned long kHwcapAsimd = 1UL << 1, kHwcapAsimddp = 1UL << 20, kHwcapSve = 1UL << 22;
constexpr unsigned long kHwcap2Sve2 = 1UL << 1, kHwcap2I8mm = 1UL << 13, kHwcap2Bf16 = 1UL << 14;

CpuFeatures detect() {
  const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  CpuFeatures f;
  f.neon = hw & kHwcapAsimd;
  f.dotprod = f.neon && (hw & kHwcapAsimddp);
  f.i8mm = f.dotprod && (hw2 & kHwcap2I8mm);
  f.bf16 = f.neon && (hw2 & kHwcap2Bf16);
  f.sve = f.neon && (hw & kHwcapSve);
  f.sve2 = f.sve && (hw2 & kHwcap2Sve2);
  if (f.sve) {
    // PR_SVE_GET_VL (51): the low 16 bits are this thread's vector length in bytes.
    const int vl = prctl(51, 0, 0, 0, 0);
    f.sve_bits = vl > 0 ? unsigned(vl & 0xffff) * 8 : 0;
    if (f.sve_bits == 0) f.sve = f.sve2 = false;
  }
  return f;
}
#endif
}  // namespace

// Detected once: CPUID traps to the hypervisor in a VM, and the attention kernels ask per call.
CpuFeatures host_cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

std::string isa_cap() {
  const char* cap = std::getenv("ROOFAUDIT_MAX_ISA");
  return cap ? cap : "";
}

#if ROOFAUDIT_X86
std::string_view isa_cap_names() { return "generic, avx2, avx-vnni, avx512, avx512-vnni, avx512-bf16, amx"; }

std::string isa_class(const CpuFeatures& f) {
  if (f.amx_int8 || f.amx_bf16) return "amx";
  if (f.avx512_bf16) return "avx512-bf16";
  if (f.avx512_vnni) return "avx512-vnni";
  if (f.avx512) return "avx512";
  if (f.avx_vnni) return "avx-vnni";
  if (f.avx2) return "avx2";
  return "generic";
}

CpuFeatures cpu_features() {
  CpuFeatures f = host_cpu_features();
  const std::string cap = isa_cap();
  if (cap.empty() || cap == "amx") return f;
  CpuFeatures keep;  // what the named class has
  if (cap == "generic") {
  } else if (cap == "avx2") {
    keep.avx2 = true;
  } else if (cap == "avx-vnni") {
    keep.avx2 = keep.avx_vnni = true;
  } else if (cap == "avx512") {
    keep.avx2 = keep.avx512 = true;
  } else if (cap == "avx512-vnni") {
    keep.avx2 = keep.avx512 = keep.avx512_vnni = true;
  } else if (cap == "avx512-bf16") {
    keep.avx2 = keep.avx512 = keep.avx512_vnni = keep.avx512_bf16 = keep.avx_vnni = true;
  } else {
    throw std::invalid_argument("ROOFAUDIT_MAX_ISA='" + cap + "' is not one of " + std::string(isa_cap_names()));
  }
  f.avx2 &= keep.avx2;
  f.avx_vnni &= keep.avx_vnni;
  f.avx512 &= keep.avx512;
  f.avx512_vnni &= keep.avx512_vnni;
  f.avx512_bf16 &= keep.avx512_bf16;
  f.amx_int8 = f.amx_bf16 = false;
  return f;
}
#else
std::string_view isa_cap_names() { return "generic, neon, dotprod, i8mm, sve, sve2"; }

std::string isa_class(const CpuFeatures& f) {
  if (f.sve2) return "sve2";
  if (f.sve) return "sve";
  if (f.i8mm && f.bf16) return "i8mm";
  if (f.dotprod) return "dotprod";
  if (f.neon) return "neon";
  return "generic";
}

CpuFeatures cpu_features() {
  CpuFeatures f = host_cpu_features();
  const std::string cap = isa_cap();
  if (cap.empty() || cap == "sve2") return f;
  CpuFeatures keep;
  if (cap == "generic") {
  } else if (cap == "neon") {
    keep.neon = true;
  } else if (cap == "dotprod") {
    keep.neon = keep.dotprod = true;
  } else if (cap == "i8mm") {
    keep.neon = keep.dotprod = keep.i8mm = keep.bf16 = true;
  } else if (cap == "sve") {
    keep.neon = keep.dotprod = keep.i8mm = keep.bf16 = keep.sve = true;
  } else {
    throw std::invalid_argument("ROOFAUDIT_MAX_ISA='" + cap + "' is not one of " + std::string(isa_cap_names()));
  }
  f.neon &= keep.neon;
  f.dotprod &= keep.dotprod;
  f.i8mm &= keep.i8mm;
  f.bf16 &= keep.bf16;
  f.sve &= keep.sve;
  f.sve2 = false;
  if (!f.sve) f.sve_bits = 0;
  return f;
}
#endif

}  // namespace roofaudit::kernels
