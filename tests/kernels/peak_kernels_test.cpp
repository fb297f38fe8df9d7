#include "kernels/cpu/peak.hpp"

#include <gtest/gtest.h>

namespace roofaudit::kernels {
namespace {

class PeakKernelsTest : public ::testing::TestWithParam<std::string> {};

// Every kernel of every ISA level (forcing the fallbacks with the cap) ends on its exact
// closed-form checksum, for iteration counts that are not multiples of any unroll.
TEST_P(PeakKernelsTest, ChecksumsMatchTheClosedForm) {
  const auto kernels = peak_kernels(GetParam());
  ASSERT_GE(kernels.size(), 2u) << "fp64 and fp32 are always available";
  for (const auto& k : kernels) {
    if (!GetParam().empty()) {
      EXPECT_EQ(k.isa == "avx512", GetParam() == "avx512") << k.instruction;
    }
    for (std::size_t iterations : {1u, 7u, 1000u, 65537u}) {
      EXPECT_EQ(k.run(iterations), k.expected(iterations)) << precision_name(k.precision) << " " << k.isa << " " << iterations;
    }
    EXPECT_GT(k.ops_per_iteration, 0);
  }
}

TEST_P(PeakKernelsTest, Fp32AndBf16StayExactUpToTheirLimits) {
  for (const auto& k : peak_kernels(GetParam()))
    if (k.precision == Precision::fp32 || k.precision == Precision::bf16) {
      EXPECT_EQ(k.run(k.max_iterations), k.expected(k.max_iterations)) << precision_name(k.precision);
    }
}

INSTANTIATE_TEST_SUITE_P(IsaCaps, PeakKernelsTest, ::testing::Values("", "avx2", "generic"),
                         [](const auto& info) { return info.param.empty() ? std::string("widest") : info.param; });

TEST(PeakDispatch, GenericCapLeavesOnlyScalarFpAndSaysWhy) {
  const auto kernels = peak_kernels("generic");
  ASSERT_EQ(kernels.size(), 2u);
  for (const auto& k : kernels) EXPECT_EQ(k.isa, "generic");
  EXPECT_NE(peak_unsupported_reason(Precision::bf16, "generic").find("AVX512_BF16"), std::string::npos);
  EXPECT_NE(peak_unsupported_reason(Precision::int8, "generic").find("VNNI"), std::string::npos);
  EXPECT_TRUE(peak_unsupported_reason(Precision::fp64, "generic").empty());
}

}  // namespace
}  // namespace roofaudit::kernels

#include <cmath>

#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/random.hpp"

namespace roofaudit::kernels {
namespace {

// Odd shapes: none a multiple of the 8 x 32 tile or of the k-groups.
const std::size_t kShapes[][3] = {{1, 1, 1}, {7, 33, 5}, {9, 31, 3}, {65, 70, 259}, {17, 100, 515}};

TEST(LowPrecisionGemm, Bf16MatchesIntegerReference) {
  if (!lowp_gemm_supported_bf16()) {  // then the probes must say so instead of measuring
    EXPECT_FALSE(peak_unsupported_reason(Precision::bf16).empty());
    return;
  }
  for (const auto& s : kShapes) {
    const std::size_t m = s[0], n = s[1], k = s[2];
    SplitMix64 rng(m * 1000 + n);
    std::vector<int> ai(m * k), bi(k * n);
    std::vector<std::uint16_t> a(m * k), b(k * n);
    for (std::size_t i = 0; i < m * k; ++i) a[i] = to_bf16(float(ai[i] = int(rng.below(17)) - 8));
    for (std::size_t i = 0; i < k * n; ++i) b[i] = to_bf16(float(bi[i] = int(rng.below(17)) - 8));
    for (int threads : {1, 2}) {
      std::vector<float> c(m * n, -1);
      gemm_bf16(a.data(), b.data(), c.data(), m, n, k, threads);
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          long ref = 0;
          for (std::size_t q = 0; q < k; ++q) ref += long(ai[i * k + q]) * bi[q * n + j];
          ASSERT_EQ(c[i * n + j], float(ref)) << m << "x" << n << "x" << k << " at " << i << "," << j;
        }
    }
  }
}

// The packing buffers are reused between calls: what a larger earlier call left behind
// (here bf16 infinities) must not leak into the k padding of a later, smaller one, where
// Inf x 0 would turn an entry into NaN.
TEST(LowPrecisionGemm, Bf16ReusedBuffersKeepThePaddingZero) {
  if (!lowp_gemm_supported_bf16()) {
    EXPECT_FALSE(peak_unsupported_reason(Precision::bf16).empty());
    return;
  }
  const std::size_t big = 64;
  std::vector<std::uint16_t> inf(big * big, 0x7f80);
  std::vector<float> sink(big * big);
  gemm_bf16(inf.data(), inf.data(), sink.data(), big, big, big, 1);
  EXPECT_TRUE(std::isinf(sink[0]));
  const std::size_t m = 9, n = 31, k = 3;  // k odd: the last bf16 pair is half padding
  std::vector<std::uint16_t> a(m * k, to_bf16(2.0f)), b(k * n, to_bf16(-3.0f));
  std::vector<float> c(m * n);
  gemm_bf16(a.data(), b.data(), c.data(), m, n, k, 1);
  for (float x : c) ASSERT_EQ(x, -18.0f);
}

TEST(LowPrecisionGemm, Int8MatchesIntegerReference) {
  if (!lowp_gemm_supported_int8()) {
    EXPECT_FALSE(peak_unsupported_reason(Precision::int8).empty());
    return;
  }
  for (const auto& s : kShapes) {
    const std::size_t m = s[0], n = s[1], k = s[2];
    SplitMix64 rng(m * 77 + k);
    std::vector<std::uint8_t> a(m * k);
    std::vector<std::int8_t> b(k * n);
    for (auto& x : a) x = std::uint8_t(rng.below(256));
    for (auto& x : b) x = std::int8_t(int(rng.below(256)) - 128);
    std::vector<std::int32_t> c(m * n, -1);
    gemm_int8(a.data(), b.data(), c.data(), m, n, k, 2);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        long ref = 0;
        for (std::size_t q = 0; q < k; ++q) ref += long(a[i * k + q]) * b[q * n + j];
        ASSERT_EQ(c[i * n + j], ref) << m << "x" << n << "x" << k << " at " << i << "," << j;
      }
  }
}

}  // namespace
}  // namespace roofaudit::kernels
