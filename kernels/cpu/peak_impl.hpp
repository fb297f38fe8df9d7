// Helpers shared by the per-ISA peak translation units.
#include <cstddef>
#include <cstring>

// In an anonymous namespace: each per-ISA file gets its own copy, built with its flags, so
// the linker can never hand an AVX2-only CPU the AVX-512 file's build of a helper.
namespace roofaudit::kernels::peak_detail {
namespace {

// Makes `v` opaque to the optimiser, so a multiply by a register holding 1.0 stays a real
// multiply and the chains are not folded into a closed form.
template <typename V>
inline void opaque(V& v) {
#if defined(__aarch64__)
  asm volatile("" : "+w"(v));  // any SIMD/FP (or SVE) register
#else
  asm volatile("" : "+x"(v));
#endif
}

// Sum of chain starting values: chain c, lane l starts at c + l.
inline double start_sum(int chains, int lanes) {
  double s = 0;
  for (int c = 0; c < chains; ++c)
    for (int l = 0; l < lanes; ++l) s += c + l;
  return s;
}

// Sum of every lane of every chain, in double (exact for the small integers the chains hold).
template <typename Lane, typename V>
inline double sum_lanes(const V* acc, int chains) {
  double sum = 0;
  for (int c = 0; c < chains; ++c) {
    Lane lanes[sizeof(V) / sizeof(Lane)];
    std::memcpy(lanes, &acc[c], sizeof(V));
    for (Lane v : lanes) sum += double(v);
  }
  return sum;
}

}  // namespace
}  // namespace roofaudit::kernels::peak_detail
