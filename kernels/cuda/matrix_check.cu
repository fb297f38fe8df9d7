// Matrix fills and the check of a product D = A^T B, on the GPU: only a counter of
// failures is read back, so even a 16384 x 16384 product is checked in milliseconds.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <type_traits>

#include "kernels/cuda/kernels.hpp"

namespace roofaudit::kernels::cuda {
namespace {

constexpr int kSamples = 256;
constexpr unsigned kThreads = 256;

__device__ __forceinline__ std::uint32_t word(std::uint32_t index, std::uint32_t seed) {
  return fill_word(index, seed);
}
__device__ __forceinline__ std::uint32_t word64(std::uint64_t index, std::uint32_t seed) {
  return word(std::uint32_t(index) ^ (std::uint32_t(index >> 32) * 0x85ebca6bu), seed);
}

template <typename T> __device__ __forceinline__ double to_double(T v) { return double(v); }
template <> __device__ __forceinline__ double to_double(__half v) { return double(__half2float(v)); }
template <> __device__ __forceinline__ double to_double(__nv_bfloat16 v) { return double(__bfloat162float(v)); }
template <> __device__ __forceinline__ double to_double(__nv_fp8_e4m3 v) { return double(float(v)); }

template <typename T> __device__ __forceinline__ T from_int(int v) { return T(v); }
template <> __device__ __forceinline__ __half from_int(int v) { return __float2half(float(v)); }
template <> __device__ __forceinline__ __nv_bfloat16 from_int(int v) { return __float2bfloat16(float(v)); }
template <> __device__ __forceinline__ __nv_fp8_e4m3 from_int(int v) { return __nv_fp8_e4m3(float(v)); }

__device__ __forceinline__ double warp_sum(double v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

template <typename T>
__global__ void fill_kernel(T* p, std::uint64_t count, std::uint32_t seed, int range) {
  const std::uint64_t stride = std::uint64_t(gridDim.x) * blockDim.x;
  for (std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    p[i] = from_int<T>(int(word64(i, seed) % std::uint32_t(2 * range + 1)) - range);
}

__global__ void signs_kernel(double* x, std::uint64_t n, std::uint32_t seed) {
  for (std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::uint64_t(gridDim.x) * blockDim.x)
    x[i] = (word64(i, seed) & 1u) ? 1.0 : -1.0;
}

// y += M x over one slice of columns (blockIdx.y), and y_abs += |M| |x|; M is rows x cols,
// column-major. A thread per row: a warp reads consecutive rows of a column (coalesced).
// The sums are of integers below 2^53, exact in fp64 in any order.
template <typename T>
__global__ void times_columns_kernel(const T* m, std::uint64_t rows, std::uint64_t cols, std::uint64_t ld,
                                     const double* x, double* y, double* y_abs) {
  const std::uint64_t row = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= rows) return;
  const std::uint64_t per_slice = (cols + gridDim.y - 1) / gridDim.y;
  const std::uint64_t begin = blockIdx.y * per_slice, end = begin + per_slice < cols ? begin + per_slice : cols;
  double acc = 0, acc_abs = 0;
  for (std::uint64_t c = begin; c < end; ++c) {
    const double v = to_double(m[row + c * ld]);
    acc += v * x[c];
    acc_abs += fabs(v * x[c]);
  }
  atomicAdd(&y[row], acc);
  if (y_abs) atomicAdd(&y_abs[row], acc_abs);
}

// y[col] = column col of M (k x cols, column-major) dotted with z: a warp per column.
template <typename T>
__global__ void columns_dot_kernel(const T* m, std::uint64_t k, std::uint64_t cols, std::uint64_t ld, const double* z,
                                   double* y) {
  const std::uint64_t col = (std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const unsigned lane = threadIdx.x & 31;
  if (col >= cols) return;
  double acc = 0;
  for (std::uint64_t i = lane; i < k; i += 32) acc += to_double(m[i + col * ld]) * z[i];
  acc = warp_sum(acc);
  if (lane == 0) y[col] = acc;
}

__global__ void compare_kernel(const double* got, const double* want, const double* scale, std::uint64_t n, double u,
                               unsigned long long* bad) {
  for (std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += std::uint64_t(gridDim.x) * blockDim.x)
    if (!(fabs(got[i] - want[i]) <= 2 * u * scale[i])) atomicAdd(bad, 1ull);  // NaN fails too
}

__device__ __forceinline__ void sample_at(int s, std::uint64_t m, std::uint64_t n, std::uint32_t seed,
                                          std::uint64_t& i, std::uint64_t& j) {
  i = s == 0 ? m - 1 : word(2u * s, seed) % m;
  j = s == 0 ? n - 1 : word(2u * s + 1u, seed) % n;
}

// The exact dot product behind each sampled element of D: a warp per sample.
template <typename T>
__global__ void sample_reference_kernel(const T* a, const T* b, std::uint64_t m, std::uint64_t n, std::uint64_t k,
                                        std::uint32_t seed, double* reference) {
  const int s = int((std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32);
  const unsigned lane = threadIdx.x & 31;
  if (s >= kSamples) return;
  std::uint64_t i = 0, j = 0;
  sample_at(s, m, n, seed, i, j);
  double acc = 0;
  for (std::uint64_t q = lane; q < k; q += 32) acc += to_double(a[q + i * k]) * to_double(b[q + j * k]);
  acc = warp_sum(acc);
  if (lane == 0) reference[s] = acc;
}

template <typename T>
__global__ void sample_compare_kernel(const T* d, std::uint64_t m, std::uint64_t n, std::uint32_t seed, double u,
                                      const double* reference, unsigned long long* bad) {
  const int s = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (s >= kSamples) return;
  std::uint64_t i = 0, j = 0;
  sample_at(s, m, n, seed, i, j);
  const double got = to_double(d[i + j * m]);
  if (!(fabs(got - reference[s]) <= u * fabs(reference[s]))) atomicAdd(bad, 1ull);
}

// Calls f with a null pointer of the element type's C++ type.
template <typename F>
void with_type(Element e, F&& f) {
  switch (e) {
    case Element::f64: f(static_cast<double*>(nullptr)); break;
    case Element::f32: f(static_cast<float*>(nullptr)); break;
    case Element::f16: f(static_cast<__half*>(nullptr)); break;
    case Element::bf16: f(static_cast<__nv_bfloat16*>(nullptr)); break;
    case Element::e4m3: f(static_cast<__nv_fp8_e4m3*>(nullptr)); break;
    case Element::i8: f(static_cast<std::int8_t*>(nullptr)); break;
    case Element::i32: f(static_cast<std::int32_t*>(nullptr)); break;
  }
}

unsigned blocks_for(std::uint64_t threads) { return unsigned((threads + kThreads - 1) / kThreads); }

}  // namespace

std::size_t element_bytes(Element e) {
  switch (e) {
    case Element::f64: return 8;
    case Element::f32: case Element::i32: return 4;
    case Element::f16: case Element::bf16: return 2;
    case Element::e4m3: case Element::i8: return 1;
  }
  return 1;
}

void fill_matrix(Element e, void* p, std::uint64_t count, std::uint32_t seed, int range, cudaStream_t stream) {
  with_type(e, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    fill_kernel<T><<<1024, kThreads, 0, stream>>>(static_cast<T*>(p), count, seed, range);
  });
}

std::uint64_t product_check_scratch_bytes(const ProductCheck& p) {
  return (3 * p.m + p.n + p.k + kSamples) * sizeof(double) + sizeof(unsigned long long);
}

unsigned long long* check_product(const ProductCheck& p, const void* a, const void* b, const void* d, void* scratch,
                                  cudaStream_t stream) {
  double* x = static_cast<double*>(scratch);  // n signs
  double* z = x + p.n;                          // B x (k)
  double* y_d = z + p.k;                        // D x (m)
  double* y_abs = y_d + p.m;                    // |D| |x| (m)
  double* y_ab = y_abs + p.m;                   // A^T (B x) (m)
  double* reference = y_ab + p.m;               // the sampled elements' exact values
  auto* bad = reinterpret_cast<unsigned long long*>(reference + kSamples);
  cudaMemsetAsync(z, 0, (p.k + 2 * p.m) * sizeof(double), stream);
  cudaMemsetAsync(bad, 0, sizeof(*bad), stream);
  signs_kernel<<<blocks_for(p.n), kThreads, 0, stream>>>(x, p.n, p.seed);
  // Columns split into slices so that even a product with few rows fills the GPU.
  const unsigned slices = unsigned(p.n >= 64 ? 64 : p.n);
  with_type(p.b, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const unsigned b_slices = unsigned(p.n >= 64 ? 64 : p.n);
    times_columns_kernel<T><<<dim3(blocks_for(p.k), b_slices), kThreads, 0, stream>>>(static_cast<const T*>(b), p.k,
                                                                                      p.n, p.k, x, z, nullptr);
  });
  with_type(p.d, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    times_columns_kernel<T><<<dim3(blocks_for(p.m), slices), kThreads, 0, stream>>>(static_cast<const T*>(d), p.m, p.n,
                                                                                    p.m, x, y_d, y_abs);
  });
  with_type(p.a, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    columns_dot_kernel<T><<<blocks_for(p.m * 32), kThreads, 0, stream>>>(static_cast<const T*>(a), p.k, p.m, p.k, z,
                                                                          y_ab);
    sample_reference_kernel<T><<<blocks_for(kSamples * 32), kThreads, 0, stream>>>(
        static_cast<const T*>(a), static_cast<const T*>(b), p.m, p.n, p.k, p.seed, reference);
  });
  compare_kernel<<<blocks_for(p.m), kThreads, 0, stream>>>(y_d, y_ab, y_abs, p.m, p.unit_roundoff, bad);
  with_type(p.d, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    sample_compare_kernel<T><<<1, kSamples, 0, stream>>>(static_cast<const T*>(d), p.m, p.n, p.seed, p.unit_roundoff,
                                                         reference, bad);
  });
  return bad;
}

}  // namespace roofaudit::kernels::cuda
