#pragma once
// The CUDA backend's own kernels (kernels/cuda/*.cu, built by nvcc): the bandwidth sweep
// (no library measures it), the spin kernel that hides enqueue time from copy timings,
// and the fills and checks that validate on the GPU what a kernel, a copy or cuBLASLt
// computed, so that only a counter of wrong elements is read back. Launchers only: the
// callers are plain C++ and see no CUDA syntax.
#include <cstdint>

#include <cuda_runtime_api.h>

// fill_word is computed by the host and by the kernels alike.
#if defined(__CUDACC__)
#define ROOFAUDIT_HOST_DEVICE __host__ __device__
#else
#define ROOFAUDIT_HOST_DEVICE
#endif

namespace roofaudit::kernels::cuda {

// The contents every buffer is filled with: a hash of the 32-bit word index and a seed
// (the Vulkan shaders' fill_word), random words that nothing can compress.
ROOFAUDIT_HOST_DEVICE constexpr std::uint32_t fill_word(std::uint32_t index, std::uint32_t seed) {
  std::uint32_t x = index * 0x9e3779b9u ^ seed;
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// ---- The bandwidth sweep -------------------------------------------------------------

enum class Sweep { read, write, copy, triad };
constexpr float kTriadScalar = 3.0f;

// One launch: `threads` x `blocks` threads each move `iterations` 16-byte vectors of each
// buffer. Thread t's i-th vector is (t + i * threads * blocks) mod n, so a warp's accesses
// are consecutive (coalesced), every vector of a buffer is touched once iterations *
// threads * blocks >= n, and a working set smaller than the grid is read by many threads
// at once from every SM: its bytes then come from L1 or L2, which is what the sweep measures
// at small sizes.
struct SweepShape {
  std::uint32_t blocks = 0;
  std::uint32_t threads = 256;
  std::uint32_t iterations = 0;
  std::uint32_t n = 0;  // 16-byte vectors per buffer
  std::uint64_t vectors_per_buffer() const { return std::uint64_t(blocks) * threads * iterations; }
};

// Fills `words` 32-bit words with fill_word(i, seed), or with float(fill_word(i, seed) & 1023)
// (small integers, so that a triad's result is exact).
void fill_words(void* p, std::uint64_t words, std::uint32_t seed, bool as_float, cudaStream_t stream);

// One launch of the sweep kernel. read: the words of `a` are summed (per thread modulo
// 2^32) into *sum. write: a's word w becomes w ^ tag. copy: a = b. triad: a = b + 3 c.
void sweep(Sweep kind, const SweepShape& shape, void* a, const void* b, const void* c, std::uint32_t tag,
           unsigned long long* sum, cudaStream_t stream);
// What one read launch must add to the sum when `a` holds fill_word(i, seed): the same
// walk, with the words computed instead of loaded.
void expected_read_sum(const SweepShape& shape, std::uint32_t seed, unsigned long long* sum, cudaStream_t stream);
// Adds to *bad the words of the first n vectors of `a` that differ from what the kind
// writes: write: w ^ tag; copy: fill_word(w, seed_b); triad: from seeds b and c (floats).
void check_sweep(Sweep kind, const SweepShape& shape, const void* a, std::uint32_t tag, std::uint32_t seed_b,
                 std::uint32_t seed_c, unsigned long long* bad, cudaStream_t stream);

// Adds to *bad the words of p[0, words) that differ from fill_word(i, seed).
void count_mismatches(const void* p, std::uint64_t words, std::uint32_t seed, unsigned long long* bad,
                      cudaStream_t stream);

// One thread that waits until *flag (host memory mapped into the device) is non-zero,
// or `timeout_ns` have passed on the GPU's global timer (then *timed_out = 1): work
// enqueued behind it starts together once the host has enqueued all of it.
void spin(const volatile int* flag, std::uint64_t timeout_ns, int* timed_out, cudaStream_t stream);

// ---- Collectives between GPUs, checked on each GPU --------------------------------------

// Rank q's input word i is fill_word(i, seed + q), as fill_words writes it; the sums are
// of 32-bit words modulo 2^32 (NCCL's uint32 sum), so every result is exact.
enum class Collective { all_reduce, all_gather, reduce_scatter };
// Adds to *bad the words of rank `rank`'s output (`words` of them) that differ from what
// the collective over `ranks` ranks must leave there: all_reduce: sum over q of word i;
// all_gather: rank (i / (words / ranks))'s word i mod (words / ranks); reduce_scatter:
// the sum over q of word rank * words + i.
void check_collective(Collective kind, const void* out, std::uint64_t words, int ranks, int rank, std::uint32_t seed,
                      unsigned long long* bad, cudaStream_t stream);

// ---- Matrices, checked on the GPU -----------------------------------------------------

enum class Element { f64, f32, f16, bf16, e4m3, i8, i32 };
std::size_t element_bytes(Element e);

// Fills `count` elements with integers in [-range, range] (exact in every element type
// for range <= 2), from fill_word of the index and the seed.
void fill_matrix(Element e, void* p, std::uint64_t count, std::uint32_t seed, int range, cudaStream_t stream);

// What a product D = op(A) B, with A stored k x m and B k x n column-major (cuBLASLt's
// "TN" layout) and D m x n column-major, is checked against.
struct ProductCheck {
  Element a = Element::f32, b = Element::f32, d = Element::f32;
  std::uint64_t m = 0, n = 0, k = 0;
  double unit_roundoff = 0;  // of D's type where its values can round (0: exact)
  std::uint32_t seed = 1;
};

// Scratch for check_product: 3 m + 2 n + k doubles, and the counter.
std::uint64_t product_check_scratch_bytes(const ProductCheck& p);

// Freivalds' check of every element at once, D x = A^T (B x) with x of +-1 (in fp64, exact
// for the integer inputs; where D rounds, within D's rounding of each row's terms), and
// 256 sampled elements (one the last) against their exact dot product, each within D's
// rounding of itself. Adds the failures to the counter at the end of `scratch`; returns
// its address.
unsigned long long* check_product(const ProductCheck& p, const void* a, const void* b, const void* d, void* scratch,
                                  cudaStream_t stream);

}  // namespace roofaudit::kernels::cuda
