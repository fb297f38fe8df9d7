#pragma once
// Streaming kernels (STREAM/BabelStream shapes) over one thread's slice of memory.
// Pure compute: no timing, no threads, no allocation.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace roofaudit::kernels {

// generic: 16-byte vectors of the baseline (SSE2 on x86-64, NEON on AArch64).
enum class Isa { generic, avx2, avx512, sve };

std::string_view isa_name(Isa isa);

// Element counts handed to every stream kernel must be a multiple of this
// (512 bytes: eight 64-byte vectors, the unroll of the widest build).
inline constexpr std::size_t kStreamBlockElems = 64;

// Every kernel makes `passes` passes over its arrays. The pass loop lives inside the
// kernel so that a working set of a few KiB measures the cache, not the call and the
// final reduction.
struct StreamKernels {
  Isa isa;
  // Sum of all words over all passes, wrapping: integer adds make the result exact and
  // independent of summation order, so every read can be validated bit for bit.
  std::uint64_t (*read_sum)(const std::uint64_t* a, std::size_t n, std::size_t passes);
  void (*fill)(std::uint64_t* a, std::size_t n, std::uint64_t value, std::size_t passes);
  void (*fill_nt)(std::uint64_t* a, std::size_t n, std::uint64_t value, std::size_t passes);
  void (*copy)(std::uint64_t* dst, const std::uint64_t* src, std::size_t n, std::size_t passes);
  void (*copy_nt)(std::uint64_t* dst, const std::uint64_t* src, std::size_t n, std::size_t passes);
  // a = b + scalar * c
  void (*triad)(double* a, const double* b, const double* c, double scalar, std::size_t n, std::size_t passes);
};

// ISA levels this CPU can execute, widest first. Always ends with Isa::generic.
std::vector<Isa> supported_isas();
Isa widest_isa();
// Throws std::invalid_argument when the CPU cannot run `isa`.
const StreamKernels& stream_kernels(Isa isa);

}  // namespace roofaudit::kernels
