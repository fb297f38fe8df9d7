#include "kernels/cpu/decode.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/random.hpp"
#include "tests/kernels/lowp_kernel_params.hpp"

namespace roofaudit::kernels {
namespace {

// Odd shapes: rows not a multiple of any panel (16 or 32 rows), k not a multiple of the
// 2- or 4-element group, batches on both sides of every tile-height switch and past one
// activation panel.
struct Shape {
  std::size_t rows, k, batch;
};
// The last: k past several k-blocks, a batch past several activation panels.
// k = 128 and 192 with batches past 16: the AMX tile path, with a partial 32-vector block;
// 300 x 1344 at B = 40: the AMX loop's blocking, two groups of panels (8 and 2), two or
// three k-chunks (the last partial) and a partial second block of vectors; B = 7: the
// fewest vectors the AMX tiles take, one partial block.
const Shape kShapes[] = {{1, 1, 1},    {33, 5, 2},   {31, 3, 3},    {70, 259, 4},   {65, 515, 5},
                         {40, 130, 9}, {97, 64, 17}, {20, 8193, 70}, {40, 128, 33}, {70, 192, 64},
                         {300, 1344, 40}, {50, 256, 7}};

class DecodeKernels : public ::testing::TestWithParam<DecodeKernel> {};

TEST_P(DecodeKernels, Int8MatchesTheScalarReference) {
  ROOFAUDIT_SKIP_UNLESS_RUNS(GetParam(), DecodeType::int8);
  {
    const DecodeKernel kernel = GetParam();
    for (const auto& s : kShapes) {
      SplitMix64 rng(s.rows * 131 + s.k);
      std::vector<std::int8_t> w(s.rows * s.k), x(s.batch * s.k);
      for (auto& v : w) v = std::int8_t(int(rng.below(256)) - 128);  // -128 included
      for (auto& v : x) v = std::int8_t(int(rng.below(256)) - 128);
      std::vector<float> row_scale(s.rows), x_scale(s.batch);
      for (auto& v : row_scale) v = std::ldexp(1.0f + float(rng.below(8)) / 8, -int(rng.below(6)));
      for (auto& v : x_scale) v = std::ldexp(1.0f + float(rng.below(8)) / 8, -int(rng.below(6)));
      const auto weights = DecodeWeights::int8(
          s.rows, s.k, [&](std::size_t r, std::int8_t* dst) { std::copy_n(&w[r * s.k], s.k, dst); }, row_scale,
          kernel, 2);
      EXPECT_EQ(weights.weight_bytes(), s.rows * s.k + s.rows * 4);
      std::vector<float> y(s.batch * s.rows, NAN);
      weights.step_int8(x.data(), x_scale.data(), s.batch, y.data(), 2);
      for (std::size_t b = 0; b < s.batch; ++b)
        for (std::size_t r = 0; r < s.rows; ++r) {
          long dot = 0;
          for (std::size_t i = 0; i < s.k; ++i) dot += long(w[r * s.k + i]) * x[b * s.k + i];
          const double ref = double(dot) * row_scale[r] * x_scale[b];
          ASSERT_NEAR(y[b * s.rows + r], ref, 1e-6 * std::abs(ref))
              << weights.kernel_name() << " " << s.rows << "x" << s.k << " B=" << s.batch << " at " << b << "," << r;
        }
    }
  }
}

class DecodeKernelsBf16 : public ::testing::TestWithParam<DecodeKernel> {};

TEST_P(DecodeKernelsBf16, MatchesTheExactReference) {
  ROOFAUDIT_SKIP_UNLESS_RUNS(GetParam(), DecodeType::bf16);
  {
    const DecodeKernel kernel = GetParam();
    for (const auto& s : kShapes) {
      SplitMix64 rng(s.rows * 7 + s.batch);
      std::vector<int> wi(s.rows * s.k), xi(s.batch * s.k);
      for (auto& v : wi) v = int(rng.below(17)) - 8;
      for (auto& v : xi) v = int(rng.below(17)) - 8;
      std::vector<std::uint16_t> x(xi.size());
      for (std::size_t i = 0; i < xi.size(); ++i) x[i] = to_bf16(float(xi[i]));
      const auto weights = DecodeWeights::bf16(
          s.rows, s.k,
          [&](std::size_t r, std::uint16_t* dst) {
            for (std::size_t i = 0; i < s.k; ++i) dst[i] = to_bf16(float(wi[r * s.k + i]));
          },
          kernel, 2);
      std::vector<float> y(s.batch * s.rows, NAN);
      weights.step_bf16(x.data(), s.batch, y.data(), 1);
      for (std::size_t b = 0; b < s.batch; ++b)
        for (std::size_t r = 0; r < s.rows; ++r) {
          long ref = 0;
          for (std::size_t i = 0; i < s.k; ++i) ref += long(wi[r * s.k + i]) * xi[b * s.k + i];
          ASSERT_EQ(y[b * s.rows + r], float(ref))
              << weights.kernel_name() << " " << s.rows << "x" << s.k << " B=" << s.batch << " at " << b << "," << r;
        }
    }
  }
}

// The same weights give the same outputs on every kernel as on the portable one, for
// every batch size the probe sweeps up to 64 (the tile choice changes with the batch).
TEST_P(DecodeKernels, AgreesWithPortableAcrossBatchSizes) {
  ROOFAUDIT_SKIP_UNLESS_RUNS(GetParam(), DecodeType::int8);
  const std::size_t rows = 100, k = 320;  // whole AMX tile steps: batches from 5 take the tiles
  auto fill = [&](std::size_t r, std::int8_t* dst) {
    SplitMix64 g(r);
    for (std::size_t i = 0; i < k; ++i) dst[i] = std::int8_t(int(g.below(255)) - 127);
  };
  const auto fast = DecodeWeights::int8(rows, k, fill, std::vector<float>(rows, 0.5f), GetParam(), 2);
  const auto slow = DecodeWeights::int8(rows, k, fill, std::vector<float>(rows, 0.5f), DecodeKernel::portable, 2);
  std::vector<std::int8_t> x(64 * k);
  SplitMix64 g(99);
  for (auto& v : x) v = std::int8_t(int(g.below(255)) - 127);
  const std::vector<float> xs(64, 0.25f);
  for (std::size_t batch = 1; batch <= 64; ++batch) {
    std::vector<float> a(batch * rows), b(batch * rows);
    fast.step_int8(x.data(), xs.data(), batch, a.data(), 2);
    slow.step_int8(x.data(), xs.data(), batch, b.data(), 2);
    ASSERT_EQ(a, b) << "B=" << batch;  // scales are powers of two: both are exact
  }
}

INSTANTIATE_TEST_SUITE_P(EveryKernel, DecodeKernels, ::testing::ValuesIn(kAllLowpKernels), lowp_kernel_test_name);
INSTANTIATE_TEST_SUITE_P(EveryKernel, DecodeKernelsBf16, ::testing::ValuesIn(kBf16LowpKernels), lowp_kernel_test_name);

// A kernel the CPU cannot run is refused when the weights are packed, not run.
TEST(DecodeKernelDispatch, AvxVnniHasNoBf16Kernel) {
  CpuFeatures all;
  all.avx2 = all.avx_vnni = true;
  EXPECT_TRUE(lowp_kernel_supported(DecodeKernel::avx_vnni, DecodeType::int8, all));
  EXPECT_FALSE(lowp_kernel_supported(DecodeKernel::avx_vnni, DecodeType::bf16, all));
  EXPECT_EQ(lowp_kernels(DecodeType::bf16, all).front(), DecodeKernel::avx2);
}

// Neoverse N1 has SDOT but no BFDOT: its bf16 runs the widening NEON kernel.
TEST(DecodeKernelDispatch, DotprodWithoutBf16WidensBf16) {
  CpuFeatures n1;
  n1.neon = n1.dotprod = true;
  EXPECT_EQ(lowp_kernels(DecodeType::int8, n1).front(), DecodeKernel::neon_dot);
  EXPECT_EQ(lowp_kernels(DecodeType::bf16, n1).front(), DecodeKernel::neon);
  EXPECT_EQ(lowp_kernel_isa(DecodeKernel::neon_dot, DecodeType::int8), "dotprod");
}

TEST(DecodeKernelDispatch, RefusesAKernelTheCpuCannotRun) {
  const ScopedIsaCap cap("generic");
  EXPECT_THROW(DecodeWeights::int8(1, 1, [](std::size_t, std::int8_t*) {}, {1.0f}, DecodeKernel::avx2, 1),
               std::invalid_argument);
  EXPECT_THROW(DecodeWeights::int8(1, 1, [](std::size_t, std::int8_t*) {}, {1.0f}, DecodeKernel::neon, 1),
               std::invalid_argument);
  EXPECT_EQ(best_lowp_kernel(DecodeType::int8), DecodeKernel::portable);
}

// The cap names real CPU classes: each keeps only what that class has.
TEST(DecodeKernelDispatch, TheIsaCapPicksEachClassesKernel) {
  const CpuFeatures host = host_cpu_features();
  struct Expect {
    const char* cap;
    bool possible;
    DecodeKernel int8, bf16;
  };
  const Expect cases[] = {
      {"generic", true, DecodeKernel::portable, DecodeKernel::portable},
#if defined(__aarch64__)
      {"neon", host.neon, DecodeKernel::neon, DecodeKernel::neon},
      {"dotprod", host.dotprod, DecodeKernel::neon_dot, DecodeKernel::neon},
      {"i8mm", host.i8mm && host.bf16, DecodeKernel::neon_mmla, DecodeKernel::neon_mmla},
      {"sve", host.sve && !host.i8mm && (host.sve_bits == 128 || host.sve_bits == 256 || host.sve_bits == 512),
       DecodeKernel::sve, host.bf16 ? DecodeKernel::sve : DecodeKernel::neon},
#else
      {"avx2", host.avx2, DecodeKernel::avx2, DecodeKernel::avx2},
      {"avx-vnni", host.avx_vnni, DecodeKernel::avx_vnni, DecodeKernel::avx2},
      {"avx512", host.avx512, DecodeKernel::avx512, DecodeKernel::avx512},
      {"avx512-vnni", host.avx512_vnni, DecodeKernel::avx512_dot, DecodeKernel::avx512},
      {"avx512-bf16", host.avx512_bf16 && host.avx512_vnni, DecodeKernel::avx512_dot, DecodeKernel::avx512_dot},
      {"amx",
       lowp_kernel_supported(DecodeKernel::amx, DecodeType::int8, host) &&
           lowp_kernel_supported(DecodeKernel::amx, DecodeType::bf16, host),
       DecodeKernel::amx, DecodeKernel::amx},
#endif
  };
  int checked = 0;
  for (const auto& c : cases) {
    if (!c.possible) continue;
    const ScopedIsaCap cap(c.cap);
    EXPECT_EQ(best_lowp_kernel(DecodeType::int8), c.int8) << c.cap;
    EXPECT_EQ(best_lowp_kernel(DecodeType::bf16), c.bf16) << c.cap;
    ++checked;
  }
  {
    const ScopedIsaCap cap("pentium");
    EXPECT_THROW(cpu_features(), std::invalid_argument);
  }
  EXPECT_GE(checked, 1);
}

TEST(DecodeKernelDispatch, RefusesTheWrongStepOrShape) {
  const auto w = DecodeWeights::bf16(2, 2, [](std::size_t, std::uint16_t* d) { d[0] = d[1] = 0; },
                                     DecodeKernel::portable, 1);
  std::vector<std::int8_t> x(2);
  std::vector<float> xs(1), y(2);
  EXPECT_THROW(w.step_int8(x.data(), xs.data(), 1, y.data(), 1), std::invalid_argument);
  EXPECT_THROW(DecodeWeights::int8(2, 2, [](std::size_t, std::int8_t*) {}, {1.0f}, DecodeKernel::portable, 1),
               std::invalid_argument);  // one scale for two rows
}

}  // namespace
}  // namespace roofaudit::kernels
