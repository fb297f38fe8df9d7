// The decode step of a whole transformer against its plain reference, on small models
// where the two agree to float rounding, for every head grouping the kernel special-cases.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/transformer.hpp"

namespace roofaudit::kernels {
namespace {

double relative_rms(const float* got, const std::vector<float>& want) {
  double ss = 0, ds = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    ss += double(want[i]) * want[i];
    ds += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
  }
  return std::sqrt(ds / ss);
}

struct Case {
  const char* name;
  TransformerShape shape;
  std::size_t batch, context;
};

// q heads / KV heads = 1, 3 (split 2 + 1), 4 and 8 query heads per KV head; contexts
// that end inside a key block; tied and untied embeddings; batches either side of the
// decode kernel's switch from narrow to full tiles.
const Case kCases[] = {
    {"group4_tied", {2, 64, 160, 4, 1, 16, 300, true}, 3, 40},
    {"group1_untied", {2, 96, 128, 4, 4, 24, 257, false}, 2, 17},
    {"group3", {1, 64, 96, 6, 2, 32, 128, true}, 6, 33},
    {"group8_long", {2, 128, 256, 8, 1, 16, 200, false}, 5, 130},
};

// Every kernel this host runs (within ROOFAUDIT_MAX_ISA); the kernel tests check each
// against its scalar reference and skip, saying why, those it cannot run.
std::vector<DecodeKernel> kernels_here(DecodeType t) { return lowp_kernels(t, cpu_features()); }

TEST(Transformer, StepMatchesTheReferenceOnSmallModels) {
  for (const auto& c : kCases)
    for (DecodeType type : {DecodeType::int8, DecodeType::bf16})
      for (DecodeKernel kernel : kernels_here(type)) {
        SCOPED_TRACE(::testing::Message() << c.name << (type == DecodeType::int8 ? " int8" : " bf16")
                                          << " " << lowp_kernel_isa(kernel, type));
        Transformer t(c.shape, type, kernel, 42, 2);
        t.prepare(c.batch, c.context, 7, 2);
        std::vector<std::int32_t> tokens(c.batch);
        for (std::size_t b = 0; b < c.batch; ++b) tokens[b] = std::int32_t((b * 37 + 5) % std::size_t(c.shape.vocab));
        std::vector<float> logits(c.batch * std::size_t(c.shape.vocab));
        t.step(tokens.data(), logits.data(), 2);
        std::vector<std::size_t> seqs;
        for (std::size_t b = 0; b < c.batch; ++b) seqs.push_back(b);
        const auto ref = t.reference_logits(seqs, tokens, 2);
        for (std::size_t b = 0; b < c.batch; ++b) {
          for (std::size_t i = 0; i < ref[b].size(); ++i) ASSERT_TRUE(std::isfinite(logits[b * ref[b].size() + i]));
          // Different summation order only; an activation landing on a rounding boundary
          // moves a small model by well under 1e-3.
          EXPECT_LT(relative_rms(&logits[b * ref[b].size()], ref[b]), 1e-3) << "sequence " << b;
        }
        // A repeated step rewrites the same position: identical logits.
        std::vector<float> again(logits.size());
        t.step(tokens.data(), again.data(), 2);
        EXPECT_EQ(again, logits);
      }
}

TEST(Transformer, LayerCheckIsTightAndFindsATamperedLayer) {
  const Case& c = kCases[0];
  Transformer t(c.shape, DecodeType::int8, DecodeKernel::portable, 42, 2);
  t.prepare(c.batch, c.context, 7, 2);
  std::vector<std::int32_t> tokens = {3, 99, 250};
  std::vector<float> logits(c.batch * std::size_t(c.shape.vocab));
  StepTrace trace;
  trace.sequences = {0, 2};
  t.step(tokens.data(), logits.data(), 2, &trace);
  ASSERT_EQ(trace.residual.size(), 2u);
  ASSERT_EQ(trace.residual[0].size(), std::size_t(c.shape.layers + 1));
  const StepCheck ok = t.check_step(trace, {3, 250}, 2);
  EXPECT_LT(ok.worst, 1e-4) << ok.where;
  EXPECT_LT(ok.median, 1e-5);

  // The first layer's output of sequence 2 nudged by 1% of its update: found, on that sequence.
  StepTrace bad = trace;
  auto& out = bad.residual[1][1];
  for (std::size_t i = 0; i < out.size(); ++i) out[i] += 0.01f * (trace.residual[1][1][i] - trace.residual[1][0][i]);
  const StepCheck found = t.check_step(bad, {3, 250}, 2);
  EXPECT_GT(found.worst, 5e-3);
  EXPECT_NE(found.where.find("sequence 2"), std::string::npos) << found.where;

  // Checked against the wrong token: the embedding differs.
  const StepCheck wrong = t.check_step(trace, {3, 251}, 2);
  EXPECT_GT(wrong.worst, 0.1);
  EXPECT_EQ(wrong.where, "embedding");
}

TEST(Transformer, StreamedBytesCountEveryProjectionOnce) {
  const TransformerShape s{2, 64, 160, 4, 1, 16, 300, true};
  // Per layer: QKV (4 + 2) x 16 rows, out 64 rows of 64, gate+up 320 rows, down 64 rows of 160.
  const double weights = 2 * (96.0 * 64 + 64.0 * 64 + 320.0 * 64 + 64.0 * 160) + 300.0 * 64;
  const double rows = 2 * (96.0 + 64 + 320 + 64) + 300;
  EXPECT_DOUBLE_EQ(s.streamed_weight_bytes(DecodeType::bf16), 2 * weights);
  EXPECT_DOUBLE_EQ(s.streamed_weight_bytes(DecodeType::int8), weights + 4 * rows);
  Transformer t(s, DecodeType::int8, DecodeKernel::portable, 1, 1);
  EXPECT_DOUBLE_EQ(t.streamed_weight_bytes(), s.streamed_weight_bytes(DecodeType::int8));
  EXPECT_DOUBLE_EQ(s.kv_bytes_per_token(), 2.0 * 2 * 1 * 16 * 2);
}

TEST(Transformer, RefusesInconsistentShapes) {
  EXPECT_THROW((TransformerShape{2, 64, 160, 6, 4, 16, 300, true}.check()), std::invalid_argument);
  EXPECT_THROW((TransformerShape{2, 64, 160, 4, 2, 15, 300, true}.check()), std::invalid_argument);
  EXPECT_THROW((TransformerShape{0, 64, 160, 4, 2, 16, 300, true}.check()), std::invalid_argument);
  Transformer t(kCases[0].shape, DecodeType::bf16, DecodeKernel::portable, 1, 1);
  std::vector<float> logits(300);
  std::int32_t token = 1;
  EXPECT_THROW(t.step(&token, logits.data(), 1), std::invalid_argument) << "no cache prepared";
  t.prepare(1, 4, 1, 1);
  token = 300;
  EXPECT_THROW(t.step(&token, logits.data(), 1), std::invalid_argument) << "token past the vocabulary";
}

}  // namespace
}  // namespace roofaudit::kernels

namespace roofaudit::kernels {
namespace {

TEST(Attention, KernelMatchesTheDoublePrecisionReference) {
  for (int group : {1, 2, 3, 4, 8, 11})
    for (std::size_t n : {1u, 15u, 16u, 33u, 200u})
      for (int H : {16, 64, 80}) {
        SCOPED_TRACE(::testing::Message() << "group " << group << " n " << n << " head_dim " << H);
        std::vector<std::uint16_t> keys(attention_key_span(n) * H), values(n * H);
        std::uint32_t x = 12345;
        auto next = [&] {
          x = x * 1664525u + 1013904223u;
          return float(x >> 8) / float(1 << 24) * 2.0f - 1.0f;
        };
        auto bf16 = [](float f) { return to_bf16(f); };
        for (std::size_t t = 0; t < n; ++t)
          for (int i = 0; i < H; ++i) {
            keys[attention_key_offset(t, i, H)] = bf16(next());
            values[t * H + i] = bf16(next());
          }
        std::vector<float> q(std::size_t(group) * H), scores(std::size_t(group) * n), out(q.size()), want(q.size());
        for (auto& v : q) v = 2 * next();
        attend_bf16(q.data(), keys.data(), values.data(), n, group, H, scores.data(), out.data());
        attend_reference(q.data(), keys.data(), values.data(), n, group, H, want.data());
        for (std::size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(out[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << i;
      }
}

TEST(Attention, OnePositionReturnsItsValueAndEqualKeysAverage) {
  const int H = 32;
  std::vector<std::uint16_t> keys(attention_key_span(3) * H, 0x3f80), values(3 * H);  // every key 1.0
  for (int i = 0; i < H; ++i) {
    values[i] = 0x4000;           // 2.0
    values[H + i] = 0x4080;       // 4.0
    values[2 * H + i] = 0x40c0;   // 6.0
  }
  std::vector<float> q(H, 0.3f), scores(3), out(H);
  attend_bf16(q.data(), keys.data(), values.data(), 1, 1, H, scores.data(), out.data());
  for (float v : out) EXPECT_FLOAT_EQ(v, 2.0f);
  attend_bf16(q.data(), keys.data(), values.data(), 3, 1, H, scores.data(), out.data());
  for (float v : out) EXPECT_NEAR(v, 4.0f, 1e-5);  // equal scores: the mean
}

}  // namespace
}  // namespace roofaudit::kernels
