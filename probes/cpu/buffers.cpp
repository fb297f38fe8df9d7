#include "probes/cpu/buffers.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <fstream>
#include <utility>

#include <fmt/format.h>

#include "kernels/cpu/random.hpp"
#include "values/error.hpp"

namespace roofaudit {
namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;
}

HugeBuffer::HugeBuffer(std::size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  mapping_bytes_ = bytes + kHugePage;
  mapping_ = mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    throw Error(fmt::format("cannot allocate {} bytes", bytes));
  }
  const auto base = reinterpret_cast<std::uintptr_t>(mapping_);
  data_ = reinterpret_cast<void*>((base + kHugePage - 1) & ~(kHugePage - 1));
#ifdef MADV_HUGEPAGE
  madvise(data_, bytes_, MADV_HUGEPAGE);  // a hint: refused without harm where THP is off
#endif
}

HugeBuffer::~HugeBuffer() {
  if (mapping_) munmap(mapping_, mapping_bytes_);
}

HugeBuffer::HugeBuffer(HugeBuffer&& other) noexcept
    : mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_bytes_(std::exchange(other.mapping_bytes_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)) {}

HugeBuffer& HugeBuffer::operator=(HugeBuffer&& other) noexcept {
  if (this != &other) {
    if (mapping_) munmap(mapping_, mapping_bytes_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_bytes_ = std::exchange(other.mapping_bytes_, 0);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

std::string transparent_hugepage_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(in, line)) return "unavailable";
  const auto open = line.find('[');
  const auto close = line.find(']');
  if (open == std::string::npos || close == std::string::npos) return line;
  return line.substr(open + 1, close - open - 1);
}

void fill_random(std::uint64_t* words, std::size_t n, std::uint64_t seed, std::uint64_t mask) {
  kernels::SplitMix64 rng(seed);
  for (std::size_t i = 0; i < n; ++i) words[i] = rng.next() & mask;
}

}  // namespace roofaudit
