#pragma once
// Page-aligned anonymous memory with transparent huge pages requested, so that large
// working sets measure the memory and not the TLB.
#include <cstddef>
#include <cstdint>
#include <string>

namespace roofaudit {

class HugeBuffer {
 public:
  HugeBuffer() = default;
  explicit HugeBuffer(std::size_t bytes);
  ~HugeBuffer();
  HugeBuffer(HugeBuffer&& other) noexcept;
  HugeBuffer& operator=(HugeBuffer&& other) noexcept;
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;

  template <typename T>
  T* as() const { return static_cast<T*>(data_); }
  std::size_t bytes() const { return bytes_; }

 private:
  void* mapping_ = nullptr;
  std::size_t mapping_bytes_ = 0;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// The kernel's THP mode ("always", "madvise", "never"), recorded with each result.
std::string transparent_hugepage_mode();

// Fills words with random values from `seed`; `mask` limits the bits set.
void fill_random(std::uint64_t* words, std::size_t n, std::uint64_t seed,
                 std::uint64_t mask = ~std::uint64_t{0});

}  // namespace roofaudit
