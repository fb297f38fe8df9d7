#include "kernels/cpu/lowp.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <new>
#include <cstring>
#include <stdexcept>

#include "kernels/cpu/aligned.hpp"
#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/lowp_amx.hpp"
#include "kernels/cpu/lowp_portable.hpp"
#include "kernels/cpu/lowp_tiles.hpp"
#include "kernels/cpu/lowp_wide.hpp"

namespace roofaudit::kernels {

namespace lowp {
ScratchBuffer::~ScratchBuffer() { std::free(data_); }
void* ScratchBuffer::get(std::size_t bytes) {
  if (bytes > bytes_) {
    std::free(data_);
    bytes_ = (bytes + 63) / 64 * 64;
    data_ = std::aligned_alloc(64, bytes_);
    if (!data_) {
      bytes_ = 0;
      throw std::bad_alloc();
    }
  }
  return data_;
}
}  // namespace lowp

bool lowp_kernel_supported(LowpKernel kernel, LowpType type, const CpuFeatures& cpu) {
  switch (kernel) {
    case LowpKernel::amx:  // its small batches run the avx512_dot tiles
#if ROOFAUDIT_X86
      return (type == LowpType::int8 ? cpu.amx_int8 && cpu.avx512_vnni : cpu.amx_bf16 && cpu.avx512_bf16) &&
             lowp::amx_permitted();
#else
      return false;
#endif
    case LowpKernel::avx512_dot: return type == LowpType::int8 ? cpu.avx512_vnni : cpu.avx512_bf16;
    case LowpKernel::avx512: return cpu.avx512;
    case LowpKernel::avx_vnni: return type == LowpType::int8 && cpu.avx_vnni;  // no bf16 dot in AVX-VNNI
    case LowpKernel::avx2: return cpu.avx2;
    case LowpKernel::neon_mmla: return type == LowpType::int8 ? cpu.i8mm : cpu.bf16;
    case LowpKernel::sve:  // built for 128, 256 and 512 bits
      return cpu.sve && (cpu.sve_bits == 128 || cpu.sve_bits == 256 || cpu.sve_bits == 512) &&
             (type == LowpType::int8 || cpu.bf16);
    case LowpKernel::neon_dot: return type == LowpType::int8 ? cpu.dotprod : cpu.bf16;
    case LowpKernel::neon: return cpu.neon;
    case LowpKernel::portable: return true;
  }
  return false;
}

std::vector<LowpKernel> lowp_kernels(LowpType type, const CpuFeatures& cpu) {
  // Fastest first: a dot instruction beats widening, 512-bit beats 256-bit (vpdpwssd ymm
  // does 16 pair products per instruction, vpmaddwd + vpaddd zmm 32 per two).
  std::vector<LowpKernel> out;
  for (LowpKernel k : {LowpKernel::amx, LowpKernel::avx512_dot, LowpKernel::avx512, LowpKernel::avx_vnni, LowpKernel::avx2,
                       LowpKernel::neon_mmla, LowpKernel::sve, LowpKernel::neon_dot, LowpKernel::neon, LowpKernel::portable})
    if (lowp_kernel_supported(k, type, cpu)) out.push_back(k);
  return out;
}

LowpKernel best_lowp_kernel(LowpType type) { return lowp_kernels(type, cpu_features()).front(); }

std::string lowp_kernel_isa(LowpKernel kernel, LowpType type) {
  switch (kernel) {
    case LowpKernel::amx: return "amx";
    case LowpKernel::avx512_dot: return type == LowpType::int8 ? "avx512-vnni" : "avx512-bf16";
    case LowpKernel::avx512: return "avx512";
    case LowpKernel::avx_vnni: return "avx-vnni";
    case LowpKernel::avx2: return "avx2";
    case LowpKernel::neon_mmla: return "i8mm";
    case LowpKernel::sve: return "sve";
    case LowpKernel::neon_dot: return type == LowpType::int8 ? "dotprod" : "i8mm";
    case LowpKernel::neon: return "neon";
    case LowpKernel::portable: return "generic";
  }
  return "?";
}

const lowp::WideKernels& lowp::wide_kernels(LowpKernel kernel) {
  switch (kernel) {
#if ROOFAUDIT_X86
    case LowpKernel::avx512: return kWide_avx512;
    case LowpKernel::avx_vnni: return kWide_avxvnni;
    case LowpKernel::avx2: return kWide_avx2;
#else
    case LowpKernel::neon_mmla: return kWide_neon_mmla;
    case LowpKernel::sve:  // the build for the vector length this process runs at
      switch (host_cpu_features().sve_bits) {
        case 128: return kWide_sve128;
        case 256: return kWide_sve256;
        case 512: return kWide_sve512;
        default: throw std::logic_error("no SVE build for this vector length");
      }
    case LowpKernel::neon_dot: return kWide_neon_dot;
    case LowpKernel::neon: return kWide_neon;
#endif
    default: throw std::logic_error("not a kernel of the wide framework on this architecture");
  }
}

void require_lowp_kernel(LowpKernel kernel, LowpType type, const std::string& what) {
  if (!lowp_kernel_supported(kernel, type, cpu_features()))
    throw std::invalid_argument(what + ": this CPU (or ROOFAUDIT_MAX_ISA) cannot run the " +
                                lowp_kernel_isa(kernel, type) + " " + (type == LowpType::int8 ? "int8" : "bf16") +
                                " kernel");
}

std::string lowp_kernel_name(LowpKernel kernel, LowpType type) {
  const bool int8 = type == LowpType::int8;
  if (kernel == LowpKernel::amx)
    return int8 ? "tdpbusd 32x32 tiles (AMX-INT8); vpdpbusd for 1-4 vectors"
                : "tdpbf16ps 32x32 tiles (AMX-BF16); vdpbf16ps for 1-4 vectors";
  if (kernel == LowpKernel::avx512_dot) return int8 ? "vpdpbusd 8x32 tile" : "vdpbf16ps 8x32 tile";
  if (kernel == LowpKernel::portable) return "portable C++ 4x4 blocks";
  return int8 ? lowp::wide_kernels(kernel).int8_name : lowp::wide_kernels(kernel).bf16_name;
}

std::size_t lowp_panel_rows(LowpKernel kernel) {
  if (kernel == LowpKernel::avx512_dot || kernel == LowpKernel::amx) return lowp::kTileCols;
  if (kernel == LowpKernel::portable) return 1;
  return lowp::wide_kernels(kernel).panel;
}

namespace {

// B's columns as the rows of a widening kernel's panels: column j's k-group q (elements
// 2q, 2q+1) at wide_offset(j, q); zero past k and past n.
template <typename T>
const void* pack_columns_wide(const T* b, std::size_t n, std::size_t k, std::size_t group, std::size_t panel,
                              int threads) {
  const std::size_t groups = lowp::wide_groups(k, group), entries = lowp::wide_panels(n, panel) * groups * panel;
  thread_local Panel buffer;  // grown only: see gemm_lowp_avx512.cpp
  if (buffer.size() < entries * group * sizeof(T) / 4 + 1) buffer.resize(entries * group * sizeof(T) / 4 + 1);
  T* out = reinterpret_cast<T*>(buffer.data());
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t q = 0; q < groups; ++q)
    for (std::size_t e = 0; e < group; ++e) {
      const T* row = group * q + e < k ? b + (group * q + e) * n : nullptr;
      for (std::size_t j = 0; j < lowp::wide_panels(n, panel) * panel; ++j)
        out[lowp::wide_offset(j, q, k, group, panel) * group + e] = row && j < n ? row[j] : T(0);
    }
  return buffer.data();
}

// B transposed, for the portable kernel.
template <typename T>
const T* transpose(const T* b, std::size_t n, std::size_t k, int threads) {
  thread_local std::vector<T> buffer;
  buffer.resize(n * k);
  T* out = buffer.data();  // the caller's buffer: inside the region, `buffer` would name each thread's own
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < k; ++i) out[j * k + i] = b[i * n + j];
  return out;
}

}  // namespace

void gemm_bf16(const std::uint16_t* a, const std::uint16_t* b, float* c, std::size_t m, std::size_t n, std::size_t k,
               int threads, LowpKernel kernel) {
  require_lowp_kernel(kernel, LowpType::bf16, "gemm");
#if ROOFAUDIT_X86
  if (kernel == LowpKernel::amx && lowp::amx_shape_ok(k, m, true))
    return lowp::amx_bf16(lowp::pack_dot_bf16(b, n, k, threads), n, k, a, m, c, n, threads);
  if (kernel == LowpKernel::avx512_dot || kernel == LowpKernel::amx)
    return lowp::gemm_bf16_dot(a, b, c, m, n, k, threads);
#endif
  if (kernel == LowpKernel::portable) {
    const std::uint16_t* bt = transpose(b, n, k, threads);
    lowp::portable_bf16(bt, n, k, a, m, [&](std::size_t i, std::size_t j, float dot) { c[i * n + j] = dot; }, threads);
    return;
  }
  const auto& w = lowp::wide_kernels(kernel);
  const auto* packed = static_cast<const std::uint32_t*>(pack_columns_wide(b, n, k, w.bf16_group, w.panel, threads));
  w.bf16(packed, n, k, a, m, c, n, threads);
}

void gemm_int8(const std::uint8_t* a, const std::int8_t* b, std::int32_t* c, std::size_t m, std::size_t n,
               std::size_t k, int threads, LowpKernel kernel) {
  require_lowp_kernel(kernel, LowpType::int8, "gemm");
#if ROOFAUDIT_X86
  if (kernel == LowpKernel::amx && lowp::amx_shape_ok(k, m, false)) {
    lowp::Int8Out out;
    out.c = c;
    out.ld = n;
    return lowp::amx_int8(lowp::pack_dot_int8(b, n, k, threads), n, k, a, true, m, out, threads);
  }
  if (kernel == LowpKernel::avx512_dot || kernel == LowpKernel::amx)
    return lowp::gemm_int8_dot(a, b, c, m, n, k, threads);
#endif
  if (kernel == LowpKernel::portable) {
    const std::int8_t* bt = transpose(b, n, k, threads);
    lowp::portable_int8(bt, n, k, a, m, [&](std::size_t i, std::size_t j, std::int32_t dot) { c[i * n + j] = dot; },
                        threads);
    return;
  }
  const auto& w = lowp::wide_kernels(kernel);
  const auto* packed = static_cast<const std::int8_t*>(pack_columns_wide(b, n, k, w.int8_group, w.panel, threads));
  lowp::Int8Out out;
  out.c = c;
  out.ld = n;
  w.int8(packed, n, k, a, true, m, out, threads);
}

}  // namespace roofaudit::kernels
