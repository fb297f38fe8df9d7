#include "kernels/cpu/peak.hpp"

#include <gtest/gtest.h>

#include <iterator>
#include <set>

#include "tests/kernels/lowp_kernel_params.hpp"

namespace roofaudit::kernels {
namespace {

class PeakKernelsTest : public ::testing::TestWithParam<std::string> {};

// Every candidate sequence of every ISA class this host can run (forcing the narrower
// classes with the cap) ends on its exact closed-form checksum, for iteration counts that
// are not multiples of any unroll.
TEST_P(PeakKernelsTest, ChecksumsMatchTheClosedForm) {
  // (Uncapped on an AMX machine this includes the tile kernels, so they run here too.)
  const ScopedIsaCap cap(GetParam().empty() ? nullptr : GetParam().c_str());
  const auto kernels = peak_kernels();
  std::set<Precision> precisions;
  for (const auto& k : kernels) {
    precisions.insert(k.precision);
    for (std::size_t iterations : {1u, 7u, 1000u, 65537u}) {
      EXPECT_EQ(k.run(iterations), k.expected(iterations)) << precision_name(k.precision) << " " << k.instruction << " " << iterations;
    }
    EXPECT_GT(k.ops_per_iteration, 0);
  }
  // Every precision has a kernel on every CPU: none is ever unsupported.
  EXPECT_EQ(precisions.size(), 4u);
}

TEST_P(PeakKernelsTest, Fp32AndBf16StayExactUpToTheirLimits) {
  const ScopedIsaCap cap(GetParam().empty() ? nullptr : GetParam().c_str());
  for (const auto& k : peak_kernels())
    if (k.precision == Precision::fp32 || k.precision == Precision::bf16) {
      EXPECT_EQ(k.run(k.max_iterations), k.expected(k.max_iterations)) << k.instruction;
    }
}

INSTANTIATE_TEST_SUITE_P(IsaCaps, PeakKernelsTest, ::testing::ValuesIn(kIsaCaps),
                         [](const auto& info) {
                           std::string name = info.param.empty() ? std::string("widest") : info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

// Each cap keeps its class's sequences only: an AVX2 CPU gets both int8 sequences without
// VNNI and the widened bf16, named as such; the scalar fallback only where no vectors exist.
TEST(PeakDispatch, EachCapNamesItsClassesSequences) {
  const CpuFeatures host = host_cpu_features();
  if (!host.avx2) GTEST_SKIP() << "this CPU lacks AVX2";
  std::set<std::string> int8, bf16;
  {
    const ScopedIsaCap cap("avx2");
    for (const auto& k : peak_kernels()) {
      EXPECT_EQ(k.isa, "avx2") << k.instruction;
      if (k.precision == Precision::int8) int8.insert(k.instruction);
      if (k.precision == Precision::bf16) bf16.insert(k.instruction);
    }
  }
  EXPECT_EQ(int8, (std::set<std::string>{"vpmaddubsw + vpmaddwd + vpaddd ymm", "vpmaddwd + vpaddd ymm"}));
  EXPECT_EQ(bf16.size(), 1u);
  {
    // AMX only uncapped: every narrower class leaves the tile instructions out.
    const ScopedIsaCap cap("avx512-bf16");
    for (const auto& k : peak_kernels()) EXPECT_NE(k.isa, "amx") << k.instruction;
  }
  const ScopedIsaCap cap("generic");
  const auto generic = peak_kernels();
  ASSERT_EQ(generic.size(), 4u);
  for (const auto& k : generic) EXPECT_EQ(k.isa, "generic");
}

// AArch64: each class offers its own instructions and every narrower one's; SVE's run at
// the vector length the CPU has, and the operation counts scale with it.
TEST(PeakDispatch, EachArmClassNamesItsInstructions) {
  const CpuFeatures host = host_cpu_features();
  if (!host.neon) GTEST_SKIP() << "this CPU is not an AArch64 one with Advanced SIMD";
  auto instructions = [](const char* c) {
    const ScopedIsaCap cap(c);
    std::set<std::string> out;
    for (const auto& k : peak_kernels()) out.insert(k.instruction);
    return out;
  };
  const auto neon = instructions("neon");
  EXPECT_TRUE(neon.count("fmla v.4s") && neon.count("sxtl + smlal v.4s") && !neon.count("sdot v.4s"));
  if (host.dotprod) {
    EXPECT_TRUE(instructions("dotprod").count("sdot v.4s"));
  }
  if (host.i8mm && host.bf16) {
    const auto i8mm = instructions("i8mm");
    for (const char* want : {"smmla v.4s", "usdot v.4s", "bfdot v.4s", "bfmmla v.4s"}) {
      EXPECT_TRUE(i8mm.count(want)) << want;
    }
    for (const auto& i : i8mm) {
      EXPECT_EQ(i.find("SVE"), std::string::npos) << i;
    }
  }
  if (host.sve) {
    const ScopedIsaCap cap("sve");
    double fp32_neon = 0, fp32_sve = 0;
    for (const auto& k : peak_kernels()) {
      if (k.precision == Precision::fp32) (k.isa == "sve" ? fp32_sve : fp32_neon) = k.ops_per_iteration;
    }
    // 16 SVE chains of sve_bits / 32 lanes against 20 NEON chains of 4 lanes.
    EXPECT_DOUBLE_EQ(fp32_sve / fp32_neon, (16.0 * host.sve_bits / 32) / (20.0 * 4));
  }
  const ScopedIsaCap cap("avx2");
  EXPECT_THROW(peak_kernels(), std::invalid_argument) << "an x86 class is no AArch64 cap";
}

}  // namespace
}  // namespace roofaudit::kernels

#include <cmath>

#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/random.hpp"

namespace roofaudit::kernels {
namespace {

// Odd shapes: none a multiple of any tile or of the k-groups; the last spans several
// k-blocks (256 groups), so the blocks accumulate into C more than once.
const std::size_t kShapes[][3] = {{1, 1, 1}, {7, 33, 5}, {9, 31, 3}, {65, 70, 259}, {17, 100, 515}, {300, 40, 1100},
                                  {40, 50, 128}, {33, 70, 256}};  // the last two in whole AMX tile steps

class LowPrecisionGemm : public ::testing::TestWithParam<LowpKernel> {};
class LowPrecisionGemmBf16 : public ::testing::TestWithParam<LowpKernel> {};

TEST_P(LowPrecisionGemmBf16, MatchesIntegerReference) {
  ROOFAUDIT_SKIP_UNLESS_RUNS(GetParam(), LowpType::bf16);
  for (const auto& s : kShapes) {
    const std::size_t m = s[0], n = s[1], k = s[2];
    SplitMix64 rng(m * 1000 + n);
    std::vector<int> ai(m * k), bi(k * n);
    std::vector<std::uint16_t> a(m * k), b(k * n);
    for (std::size_t i = 0; i < m * k; ++i) a[i] = to_bf16(float(ai[i] = int(rng.below(17)) - 8));
    for (std::size_t i = 0; i < k * n; ++i) b[i] = to_bf16(float(bi[i] = int(rng.below(17)) - 8));
    for (int threads : {1, 2}) {
      std::vector<float> c(m * n, -1);
      gemm_bf16(a.data(), b.data(), c.data(), m, n, k, threads, GetParam());
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
TEST_P(LowPrecisionGemmBf16, ReusedBuffersKeepThePaddingZero) {
  ROOFAUDIT_SKIP_UNLESS_RUNS(GetParam(), LowpType::bf16);
  const std::size_t big = 64;
  std::vector<std::uint16_t> inf(big * big, 0x7f80);
  std::vector<float> sink(big * big);
  gemm_bf16(inf.data(), inf.data(), sink.data(), big, big, big, 1, GetParam());
  EXPECT_TRUE(std::isinf(sink[0]));
  const std::size_t m = 9, n = 31, k = 3;  // k odd: the last bf16 pair is half padding
  std::vector<std::uint16_t> a(m * k, to_bf16(2.0f)), b(k * n, to_bf16(-3.0f));
  std::vector<float> c(m * n);
  gemm_bf16(a.data(), b.data(), c.data(), m, n, k, 1, GetParam());
  for (float x : c) ASSERT_EQ(x, -18.0f);
}

TEST_P(LowPrecisionGemm, Int8MatchesIntegerReference) {
  ROOFAUDIT_SKIP_UNLESS_RUNS(GetParam(), LowpType::int8);
  for (const auto& s : kShapes) {
    const std::size_t m = s[0], n = s[1], k = s[2];
    SplitMix64 rng(m * 77 + k);
    std::vector<std::uint8_t> a(m * k);
    std::vector<std::int8_t> b(k * n);
    for (auto& x : a) x = std::uint8_t(rng.below(256));
    for (auto& x : b) x = std::int8_t(int(rng.below(256)) - 128);
    std::vector<std::int32_t> c(m * n, -1);
    gemm_int8(a.data(), b.data(), c.data(), m, n, k, 2, GetParam());
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        long ref = 0;
        for (std::size_t q = 0; q < k; ++q) ref += long(a[i * k + q]) * b[q * n + j];
        ASSERT_EQ(c[i * n + j], ref) << m << "x" << n << "x" << k << " at " << i << "," << j;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryKernel, LowPrecisionGemm, ::testing::ValuesIn(kAllLowpKernels), lowp_kernel_test_name);
INSTANTIATE_TEST_SUITE_P(EveryKernel, LowPrecisionGemmBf16, ::testing::ValuesIn(kBf16LowpKernels),
                         lowp_kernel_test_name);

}  // namespace
}  // namespace roofaudit::kernels
