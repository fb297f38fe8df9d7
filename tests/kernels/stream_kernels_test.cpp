#include "kernels/cpu/stream.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "kernels/cpu/pointer_chase.hpp"
#include "kernels/cpu/random.hpp"

namespace roofaudit::kernels {
namespace {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <typename T>
std::unique_ptr<T[], FreeDeleter> aligned_array(std::size_t n) {
  return std::unique_ptr<T[], FreeDeleter>(static_cast<T*>(std::aligned_alloc(64, n * sizeof(T))));
}

// Sizes that are whole blocks but not powers of two, so every unroll remainder path of
// the pass loop is crossed.
const std::size_t kSizes[] = {kStreamBlockElems, 3 * kStreamBlockElems, 17 * kStreamBlockElems, 1000 * kStreamBlockElems};

class StreamKernelsTest : public ::testing::TestWithParam<Isa> {};

TEST_P(StreamKernelsTest, ReadSumMatchesScalarSumOverPasses) {
  const auto& k = stream_kernels(GetParam());
  for (std::size_t n : kSizes) {
    auto a = aligned_array<std::uint64_t>(n);
    SplitMix64 rng(n);
    std::uint64_t expected = 0;
    for (std::size_t i = 0; i < n; ++i) expected += (a[i] = rng.next());
    EXPECT_EQ(k.read_sum(a.get(), n, 1), expected) << n;
    EXPECT_EQ(k.read_sum(a.get(), n, 3), expected * 3) << n;
  }
}

TEST_P(StreamKernelsTest, FillWritesEveryWord) {
  const auto& k = stream_kernels(GetParam());
  for (std::size_t n : kSizes) {
    for (auto fill : {k.fill, k.fill_nt}) {
      auto a = aligned_array<std::uint64_t>(n + kStreamBlockElems);
      for (std::size_t i = 0; i < n + kStreamBlockElems; ++i) a[i] = 7;
      fill(a.get(), n, 0xfeedULL, 2);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(a[i], 0xfeedULL) << i;
      for (std::size_t i = n; i < n + kStreamBlockElems; ++i) ASSERT_EQ(a[i], 7u) << "wrote past the end at " << i;
    }
  }
}

TEST_P(StreamKernelsTest, CopyReproducesSource) {
  const auto& k = stream_kernels(GetParam());
  for (std::size_t n : kSizes) {
    for (auto copy : {k.copy, k.copy_nt}) {
      auto src = aligned_array<std::uint64_t>(n);
      auto dst = aligned_array<std::uint64_t>(n);
      SplitMix64 rng(n + 1);
      for (std::size_t i = 0; i < n; ++i) {
        src[i] = rng.next();
        dst[i] = ~src[i];
      }
      copy(dst.get(), src.get(), n, 2);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(dst[i], src[i]) << i;
    }
  }
}

TEST_P(StreamKernelsTest, TriadMatchesScalarReference) {
  const auto& k = stream_kernels(GetParam());
  for (std::size_t n : kSizes) {
    auto a = aligned_array<double>(n);
    auto b = aligned_array<double>(n);
    auto c = aligned_array<double>(n);
    SplitMix64 rng(n + 2);
    for (std::size_t i = 0; i < n; ++i) {
      b[i] = double(rng.below(1 << 20));
      c[i] = double(rng.below(1 << 20));
      a[i] = -1;
    }
    k.triad(a.get(), b.get(), c.get(), 3.0, n, 2);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(a[i], b[i] + 3.0 * c[i]) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(EverySupportedIsa, StreamKernelsTest, ::testing::ValuesIn(supported_isas()),
                         [](const auto& info) { return std::string(isa_name(info.param)); });

TEST(StreamDispatch, GenericFallbackIsAlwaysAvailable) {
  const auto isas = supported_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.back(), Isa::generic);
  EXPECT_EQ(stream_kernels(Isa::generic).isa, Isa::generic);
  EXPECT_EQ(widest_isa(), isas.front());
}

TEST(PointerChase, CycleVisitsEveryLineOnce) {
  for (std::size_t n : {4u, 5u, 100u, 4097u}) {
    std::vector<ChaseLine> lines(n);
    const auto order = link_random_cycle(lines.data(), n, 42);
    std::vector<int> seen(n, 0);
    const ChaseLine* p = &lines[order[0]];
    for (std::size_t k = 0; k < n; ++k) {
      const auto idx = std::size_t(p - lines.data());
      ASSERT_EQ(idx, order[k]);
      ++seen[idx];
      p = p->next;
    }
    EXPECT_EQ(p, &lines[order[0]]) << "cycle does not close after n hops";
    for (int s : seen) EXPECT_EQ(s, 1);
  }
}

TEST(PointerChase, ChaseEndsWhereTheOrderPredicts) {
  const std::size_t n = 1000;
  std::vector<ChaseLine> lines(n);
  const auto order = link_random_cycle(lines.data(), n, 7);
  for (std::size_t hops : {0u, 1u, 7u, 8u, 999u, 1000u, 12345u})
    EXPECT_EQ(chase(&lines[order[0]], hops), &lines[order[hops % n]]) << hops;
}

}  // namespace
}  // namespace roofaudit::kernels
