#pragma once
// 64-byte aligned vectors for packed operands: a 64-byte vector load from a 16-byte
// aligned buffer would split across two cache lines on every load. Large ones are also
// aligned to 2 MiB and marked for transparent huge pages, as the bandwidth probe's
// buffers are: streamed through 4 KiB pages, a 1 GiB weight matrix reached 47-53 GB/s
// where the same machine reads 72 GB/s.
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace roofaudit::kernels {

template <typename T>
struct Aligned64 {
  using value_type = T;
  Aligned64() = default;
  template <typename U>
  Aligned64(const Aligned64<U>&) {}
  static constexpr std::size_t kHuge = std::size_t(2) << 20;
  static std::align_val_t alignment(std::size_t n) {
    return std::align_val_t{n * sizeof(T) >= 2 * kHuge ? kHuge : 64};
  }
  T* allocate(std::size_t n) {
    void* p = ::operator new(n * sizeof(T), alignment(n));
#ifdef MADV_HUGEPAGE
    if (n * sizeof(T) >= 2 * kHuge) madvise(p, n * sizeof(T) / kHuge * kHuge, MADV_HUGEPAGE);  // a hint only
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) { ::operator delete(p, alignment(n)); }
  bool operator==(const Aligned64&) const { return true; }
};

template <typename T>
using AlignedVector = std::vector<T, Aligned64<T>>;

// Packed operands of the dot-product kernels: one 32-bit group (4 int8 or 2 bf16) per entry.
using Panel = AlignedVector<std::uint32_t>;

}  // namespace roofaudit::kernels
