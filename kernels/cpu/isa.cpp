#include "kernels/cpu/isa.hpp"

#include <cstdlib>
#include <stdexcept>

namespace roofaudit::kernels {

namespace {
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

std::string_view isa_cap_names() { return "generic, avx2, avx-vnni, avx512, avx512-vnni, avx512-bf16, amx"; }

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

}  // namespace roofaudit::kernels
