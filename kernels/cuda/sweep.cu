// The bandwidth sweep's kernels, the fills and checks of its buffers, and the spin kernel.
#include "kernels/cuda/kernels.hpp"

namespace roofaudit::kernels::cuda {
namespace {

__device__ __forceinline__ std::uint32_t word(std::uint32_t index, std::uint32_t seed) {
  return fill_word(index, seed);
}

__device__ __forceinline__ float small_float(std::uint32_t index, std::uint32_t seed) {
  return float(word(index, seed) & 1023u);
}

// The walk of kernels.hpp's SweepShape: the vector index a thread starts at and its step,
// both below n, so the next index is one add and one conditional subtract (no division
// in the loop, which would cost more than an L1 load).
struct Walk {
  std::uint32_t j, step, n;
  __device__ Walk(const SweepShape& s) : n(s.n) {
    const std::uint64_t t = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    const std::uint64_t total = std::uint64_t(gridDim.x) * blockDim.x;
    j = std::uint32_t(t % s.n);
    step = std::uint32_t(total % s.n);
  }
  __device__ __forceinline__ void next() {
    j += step;
    if (j >= n || j < step) j -= n;  // j < step: the add wrapped past 2^32
  }
};

__device__ __forceinline__ void add_to(unsigned long long* sum, unsigned long long v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  if ((threadIdx.x & 31) == 0) atomicAdd(sum, v);
}

__global__ void fill_words_kernel(std::uint32_t* p, std::uint64_t words, std::uint32_t seed, bool as_float) {
  const std::uint64_t stride = std::uint64_t(gridDim.x) * blockDim.x;
  for (std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < words; i += stride)
    p[i] = as_float ? __float_as_uint(small_float(std::uint32_t(i), seed)) : word(std::uint32_t(i), seed);
}

__global__ void read_kernel(SweepShape s, const uint4* a, unsigned long long* sum) {
  Walk w(s);
  std::uint32_t acc = 0;
#pragma unroll 8
  for (std::uint32_t i = 0; i < s.iterations; ++i) {
    const uint4 v = a[w.j];
    acc += v.x + v.y + v.z + v.w;
    w.next();
  }
  add_to(sum, acc);
}

__global__ void expected_read_kernel(SweepShape s, std::uint32_t seed, unsigned long long* sum) {
  Walk w(s);
  std::uint32_t acc = 0;
  for (std::uint32_t i = 0; i < s.iterations; ++i) {
    const std::uint32_t base = w.j * 4u;
    acc += word(base, seed) + word(base + 1, seed) + word(base + 2, seed) + word(base + 3, seed);
    w.next();
  }
  add_to(sum, acc);
}

// The value written depends on the index: stores of one value to one address in a loop
// could be merged, and a constant could be compressed.
__global__ void write_kernel(SweepShape s, uint4* a, std::uint32_t tag) {
  Walk w(s);
#pragma unroll 8
  for (std::uint32_t i = 0; i < s.iterations; ++i) {
    const std::uint32_t base = w.j * 4u;
    a[w.j] = make_uint4(base ^ tag, (base + 1) ^ tag, (base + 2) ^ tag, (base + 3) ^ tag);
    w.next();
  }
}

__global__ void copy_kernel(SweepShape s, uint4* a, const uint4* b) {
  Walk w(s);
#pragma unroll 8
  for (std::uint32_t i = 0; i < s.iterations; ++i) {
    a[w.j] = b[w.j];
    w.next();
  }
}

__global__ void triad_kernel(SweepShape s, float4* a, const float4* b, const float4* c) {
  Walk w(s);
#pragma unroll 8
  for (std::uint32_t i = 0; i < s.iterations; ++i) {
    const float4 x = b[w.j], y = c[w.j];
    a[w.j] = make_float4(x.x + kTriadScalar * y.x, x.y + kTriadScalar * y.y, x.z + kTriadScalar * y.z,
                         x.w + kTriadScalar * y.w);
    w.next();
  }
}

__global__ void check_sweep_kernel(Sweep kind, std::uint64_t words, const std::uint32_t* a, std::uint32_t tag,
                                   std::uint32_t seed_b, std::uint32_t seed_c, unsigned long long* bad) {
  const std::uint64_t stride = std::uint64_t(gridDim.x) * blockDim.x;
  unsigned long long wrong = 0;
  for (std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < words; i += stride) {
    const std::uint32_t w = std::uint32_t(i);
    std::uint32_t want = 0;
    if (kind == Sweep::write) want = w ^ tag;
    else if (kind == Sweep::copy) want = word(w, seed_b);
    else want = __float_as_uint(small_float(w, seed_b) + kTriadScalar * small_float(w, seed_c));
    wrong += a[i] != want;
  }
  add_to(bad, wrong);
}

__global__ void mismatch_kernel(const std::uint32_t* p, std::uint64_t words, std::uint32_t seed,
                                unsigned long long* bad) {
  const std::uint64_t stride = std::uint64_t(gridDim.x) * blockDim.x;
  unsigned long long wrong = 0;
  for (std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < words; i += stride)
    wrong += p[i] != word(std::uint32_t(i), seed);
  add_to(bad, wrong);
}

__global__ void spin_kernel(const volatile int* flag, std::uint64_t timeout_ns, int* timed_out) {
  std::uint64_t start = 0, now = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  while (*flag == 0) {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    if (now - start > timeout_ns) {
      *timed_out = 1;
      return;
    }
  }
}

// Grid-stride kernels over many elements: enough blocks to fill any GPU, no more.
constexpr unsigned kStrideBlocks = 1024, kStrideThreads = 256;

}  // namespace

void fill_words(void* p, std::uint64_t words, std::uint32_t seed, bool as_float, cudaStream_t stream) {
  fill_words_kernel<<<kStrideBlocks, kStrideThreads, 0, stream>>>(static_cast<std::uint32_t*>(p), words, seed,
                                                                   as_float);
}

void sweep(Sweep kind, const SweepShape& shape, void* a, const void* b, const void* c, std::uint32_t tag,
           unsigned long long* sum, cudaStream_t stream) {
  const dim3 grid(shape.blocks), block(shape.threads);
  switch (kind) {
    case Sweep::read: read_kernel<<<grid, block, 0, stream>>>(shape, static_cast<const uint4*>(a), sum); break;
    case Sweep::write: write_kernel<<<grid, block, 0, stream>>>(shape, static_cast<uint4*>(a), tag); break;
    case Sweep::copy:
      copy_kernel<<<grid, block, 0, stream>>>(shape, static_cast<uint4*>(a), static_cast<const uint4*>(b));
      break;
    case Sweep::triad:
      triad_kernel<<<grid, block, 0, stream>>>(shape, static_cast<float4*>(a), static_cast<const float4*>(b),
                                               static_cast<const float4*>(c));
      break;
  }
}

void expected_read_sum(const SweepShape& shape, std::uint32_t seed, unsigned long long* sum, cudaStream_t stream) {
  expected_read_kernel<<<shape.blocks, shape.threads, 0, stream>>>(shape, seed, sum);
}

void check_sweep(Sweep kind, const SweepShape& shape, const void* a, std::uint32_t tag, std::uint32_t seed_b,
                 std::uint32_t seed_c, unsigned long long* bad, cudaStream_t stream) {
  check_sweep_kernel<<<kStrideBlocks, kStrideThreads, 0, stream>>>(
      kind, std::uint64_t(shape.n) * 4, static_cast<const std::uint32_t*>(a), tag, seed_b, seed_c, bad);
}

void count_mismatches(const void* p, std::uint64_t words, std::uint32_t seed, unsigned long long* bad,
                      cudaStream_t stream) {
  mismatch_kernel<<<kStrideBlocks, kStrideThreads, 0, stream>>>(static_cast<const std::uint32_t*>(p), words, seed,
                                                                 bad);
}

void spin(const volatile int* flag, std::uint64_t timeout_ns, int* timed_out, cudaStream_t stream) {
  spin_kernel<<<1, 1, 0, stream>>>(flag, timeout_ns, timed_out);
}

}  // namespace roofaudit::kernels::cuda
