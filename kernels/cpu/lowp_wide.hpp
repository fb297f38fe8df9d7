#pragma once
// Internal to kernels/cpu: the widening low-precision products, for CPUs without (or
// capped below) the AVX-512 dot instructions. One source (lowp_wide_impl.hpp) built per
// ISA:
//   int8: bytes sign-extended to 16 bits as they are loaded (vpmovsxbw), then i16 pair
//         dot products into i32 (vpmaddwd + vpaddd). Exact for every int8 and uint8
//         value: vpmaddubsw would be one instruction fewer but saturates its 16-bit pair
//         sums (255 * 127 * 2 > 32767). With AVX-VNNI, vpdpbusd on quads of bytes
//         instead (signed activations offset by 128, taken back out by the row sums).
//   bf16: each 32-bit pair of bf16 weights widened to two fp32 vectors by a shift and a
//         mask, then fp32 FMA against broadcast fp32 activations.
// Weights ("rows": a decode layer's rows, a GEMM's columns of B) are packed into panels of
// `panel` rows in k-groups of 2 elements; the kernel converts activations itself.
#include <cstddef>
#include <cstdint>

namespace roofaudit::kernels::lowp {

// Where the products go: y[b * ldy + r] = dot * row_scale[r] * x_scale[b] when y is set
// (scales may be null: 1), else c[b * ldc + r] = dot.
struct Int8Out {
  float* y = nullptr;
  const float* row_scale = nullptr;
  const float* x_scale = nullptr;
  std::int32_t* c = nullptr;
  std::size_t ld = 0;
  // Quad kernels (int8_group 4) with signed activations: each row's weight sum.
  const std::int32_t* row_sum = nullptr;
};

struct WideKernels {
  const char* isa;            // "avx2", "avx-vnni", "avx512", "neon", "dotprod"
  const char* int8_name;      // the instruction sequence, for the record
  const char* bf16_name;
  std::size_t panel;          // rows per weight panel
  std::size_t int8_group;     // int8 elements per packed k-group: 2 (vpmaddwd), 4 (vpdpbusd, sdot) or 8 (smmla)
  // w: packed int8 weights (pack_wide_int8); x: batch x k int8 (x_unsigned: uint8), row-major.
  void (*int8)(const std::int8_t* w, std::size_t rows, std::size_t k, const void* x, bool x_unsigned,
               std::size_t batch, const Int8Out& out, int threads);
  // w: packed bf16 weights, bf16_group elements per k-group; x: batch x k bf16; y[b * ldy + r].
  void (*bf16)(const std::uint32_t* w, std::size_t rows, std::size_t k, const std::uint16_t* x, std::size_t batch,
               float* y, std::size_t ldy, int threads);
  std::size_t bf16_group = 2;  // bf16 elements per packed k-group: 2, or 4 (bfmmla)
};

// Scratch that only grows, one per calling thread (a fresh buffer per step would spend
// its time in page faults). Defined in lowp.cpp, outside every ISA's target switch.
struct ScratchBuffer {
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer();
  void* get(std::size_t bytes);  // 64-byte aligned, at least `bytes`; throws std::bad_alloc

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

extern const WideKernels kWide_avx2;
extern const WideKernels kWide_avxvnni;
extern const WideKernels kWide_avx512;
extern const WideKernels kWide_neon;
extern const WideKernels kWide_neon_dot;
extern const WideKernels kWide_neon_mmla;
extern const WideKernels kWide_sve128;
extern const WideKernels kWide_sve256;
extern const WideKernels kWide_sve512;
}  // namespace roofaudit::kernels::lowp

#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/lowp.hpp"

namespace roofaudit::kernels::lowp {
// The kernels of this framework: avx512, avx_vnni, avx2, neon_mmla, sve, neon_dot, neon (std::logic_error
// for the others).
const WideKernels& wide_kernels(LowpKernel kernel);

// Packed sizes and group offsets: panel p holds, for every k-group q (`group` elements),
// the group of each of its `panel` rows in turn; zero past k and past the last row.
//   int8: int8_group bytes per group;  bf16: 2 elements, one uint32, per group.
inline std::size_t wide_groups(std::size_t k, std::size_t group) { return (k + group - 1) / group; }
inline std::size_t wide_panels(std::size_t rows, std::size_t panel) { return (rows + panel - 1) / panel; }
inline std::size_t wide_offset(std::size_t row, std::size_t q, std::size_t k, std::size_t group, std::size_t panel) {
  return ((row / panel) * wide_groups(k, group) + q) * panel + row % panel;
}

}  // namespace roofaudit::kernels::lowp
