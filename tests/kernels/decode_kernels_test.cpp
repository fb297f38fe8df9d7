#include "kernels/cpu/decode.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/random.hpp"

namespace roofaudit::kernels {
namespace {

// Odd shapes: rows not a multiple of the 32-row panel, k not a multiple of the 4-byte
// group, batches on both sides of the narrow/8-row tile switch and past one panel.
struct Shape {
  std::size_t rows, k, batch;
};
const Shape kShapes[] = {{1, 1, 1}, {33, 5, 2}, {31, 3, 3}, {70, 259, 4}, {65, 515, 5}, {40, 130, 9}, {97, 64, 17}};

std::vector<DecodeKernel> kernels_for(DecodeType type) {
  std::vector<DecodeKernel> out{DecodeKernel::portable};
  if (decode_avx512_supported(type)) out.push_back(DecodeKernel::avx512);
  return out;
}

TEST(DecodeKernels, Int8MatchesTheScalarReference) {
  for (DecodeKernel kernel : kernels_for(DecodeType::int8)) {
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

TEST(DecodeKernels, Bf16MatchesTheExactReference) {
  for (DecodeKernel kernel : kernels_for(DecodeType::bf16)) {
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

// The same weights give the same outputs on both kernels, for every batch size the
// probe sweeps up to 64 (the tile choice changes with the batch).
TEST(DecodeKernels, BothKernelsAgreeAcrossBatchSizes) {
  if (!decode_avx512_supported(DecodeType::int8)) {
    EXPECT_THROW(DecodeWeights::int8(1, 1, [](std::size_t, std::int8_t*) {}, {1.0f}, DecodeKernel::avx512, 1),
                 std::invalid_argument);
    return;
  }
  const std::size_t rows = 100, k = 300;
  auto fill = [&](std::size_t r, std::int8_t* dst) {
    SplitMix64 g(r);
    for (std::size_t i = 0; i < k; ++i) dst[i] = std::int8_t(int(g.below(255)) - 127);
  };
  const auto fast = DecodeWeights::int8(rows, k, fill, std::vector<float>(rows, 0.5f), DecodeKernel::avx512, 2);
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

TEST(DecodeKernels, RefusesTheWrongStepOrShape) {
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
