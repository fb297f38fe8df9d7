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
    if (!GetParam().empty()) EXPECT_EQ(k.isa == "avx512", GetParam() == "avx512") << k.instruction;
    for (std::size_t iterations : {1u, 7u, 1000u, 65537u}) {
      EXPECT_EQ(k.run(iterations), k.expected(iterations)) << precision_name(k.precision) << " " << k.isa << " " << iterations;
    }
    EXPECT_GT(k.ops_per_iteration, 0);
  }
}

TEST_P(PeakKernelsTest, Fp32AndBf16StayExactUpToTheirLimits) {
  for (const auto& k : peak_kernels(GetParam()))
    if (k.precision == Precision::fp32 || k.precision == Precision::bf16)
      EXPECT_EQ(k.run(k.max_iterations), k.expected(k.max_iterations)) << precision_name(k.precision);
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
