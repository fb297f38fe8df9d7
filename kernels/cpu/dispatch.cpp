#include <stdexcept>
#include <string>

#include "kernels/cpu/isa.hpp"
#include "kernels/cpu/stream.hpp"

namespace roofaudit::kernels {

extern const StreamKernels kStream_generic;
#if ROOFAUDIT_X86
extern const StreamKernels kStream_avx2;
extern const StreamKernels kStream_avx512;
#else
extern const StreamKernels kStream_sve;
#endif

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    case Isa::sve: return "sve";
    case Isa::generic: return "generic";
  }
  return "unknown";
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> isas;
  const CpuFeatures cpu = cpu_features();  // within ROOFAUDIT_MAX_ISA
  if (cpu.avx512) isas.push_back(Isa::avx512);
  if (cpu.avx2) isas.push_back(Isa::avx2);
  if (cpu.sve) isas.push_back(Isa::sve);
  isas.push_back(Isa::generic);
  return isas;
}

Isa widest_isa() { return supported_isas().front(); }

const StreamKernels& stream_kernels(Isa isa) {
  for (Isa s : supported_isas()) {
    if (s != isa) continue;
    switch (isa) {
#if ROOFAUDIT_X86
      case Isa::avx512: return kStream_avx512;
      case Isa::avx2: return kStream_avx2;
#else
      case Isa::sve: return kStream_sve;
#endif
      case Isa::generic: return kStream_generic;
      default: break;
    }
  }
  throw std::invalid_argument("this CPU cannot run the " + std::string(isa_name(isa)) + " kernels");
}

}  // namespace roofaudit::kernels
