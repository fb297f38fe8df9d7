#pragma once
// The low-precision product kernels (int8 and bf16) and which of them this CPU runs.
// Every path computes the same thing; they differ in the instructions:
//   amx         AMX tdpbusd / tdpbf16ps on 32 x 32 blocks of tiles (the avx512_dot packing;
//               batches of 1-4 vectors and k not in whole tile steps run avx512_dot)
//   avx512_dot  AVX512_VNNI vpdpbusd / AVX512_BF16 vdpbf16ps, 8 x 32 register tiles
//   avx512      AVX-512 BW without them: vpmaddwd zmm / bf16 widened to vfmadd231ps zmm
//   avx_vnni    AVX-VNNI vpdpwssd ymm (int8 only; bf16 runs the avx2 path)
//   avx2        AVX2: vpmaddwd + vpaddd ymm / bf16 widened to vfmadd231ps ymm
//   sve         AArch64 SVE SDOT / BFDOT at the CPU's vector length (128, 256 or 512 bits)
//   neon_mmla   AArch64 SMMLA/USMMLA (i8mm) / BFMMLA (bf16), 2 x 2 blocks in 8 x 8 tiles
//   neon_dot    AArch64 SDOT (dotprod) / BFDOT (bf16), 8 x 8 register tiles
//   neon        AArch64 Advanced SIMD: smull + addp on int16 pairs / bf16 widened to fmla
//   portable    C++ in register blocks of 4 rows x 4 vectors, for any CPU
#include <string>
#include <vector>

#include "kernels/cpu/isa.hpp"

namespace roofaudit::kernels {

enum class LowpType { int8, bf16 };
enum class LowpKernel { amx, avx512_dot, avx512, avx_vnni, avx2, neon_mmla, sve, neon_dot, neon, portable };

// Whether `cpu` can run `kernel` for `type`.
bool lowp_kernel_supported(LowpKernel kernel, LowpType type, const CpuFeatures& cpu);
// The kernels `cpu` can run for `type`, fastest first (always ends with portable).
std::vector<LowpKernel> lowp_kernels(LowpType type, const CpuFeatures& cpu);
// The fastest kernel for `type` on this CPU, within ROOFAUDIT_MAX_ISA.
LowpKernel best_lowp_kernel(LowpType type);
// "avx512-vnni", "avx512-bf16", "avx512", "avx-vnni", "avx2", "dotprod", "i8mm", "neon",
// "generic": the ISA class (isa.hpp).
std::string lowp_kernel_isa(LowpKernel kernel, LowpType type);
// The instruction sequence, for the record.
std::string lowp_kernel_name(LowpKernel kernel, LowpType type);
// Throws std::invalid_argument, prefixed by `what`, when this CPU (within ROOFAUDIT_MAX_ISA)
// cannot run `kernel` for `type`.
void require_lowp_kernel(LowpKernel kernel, LowpType type, const std::string& what);
// Weight rows per packed panel (1 for portable: rows in order).
std::size_t lowp_panel_rows(LowpKernel kernel);

}  // namespace roofaudit::kernels
