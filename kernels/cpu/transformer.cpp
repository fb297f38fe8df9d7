// The decode step: every layer's norms, projections (through the decode kernels),
// attention and MLP for a batch of sequences over their KV caches.
#include "kernels/cpu/transformer_parts.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/random.hpp"

namespace roofaudit::kernels {
namespace detail {

// Per vector: scale = max|x| / 127, q = round(x / scale).
void quantize(const float* x, std::size_t k, std::int8_t* q, float* scale) {
  float m = 0;
  for (std::size_t i = 0; i < k; ++i) m = std::max(m, std::fabs(x[i]));
  const float s = m > 0 ? m / 127.0f : 1.0f;
  for (std::size_t i = 0; i < k; ++i) q[i] = std::int8_t(std::clamp(std::lrint(x[i] / s), -127L, 127L));
  *scale = s;
}

void rms_norm(const float* x, std::size_t n, int layer, int which, float* out) {
  double ss = 0;
  for (std::size_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  const float inv = float(1.0 / std::sqrt(ss / double(n) + 1e-5));
  for (std::size_t i = 0; i < n; ++i) out[i] = x[i] * inv * transformer_norm_weight(layer, which, int(i));
}

}  // namespace detail

using namespace detail;

float transformer_norm_weight(int layer, int which, int i) {
  return 1.0f + 0.05f * float(((i * 7 + layer * 3 + which) % 11) - 5) / 5.0f;
}

std::uint16_t* Transformer::k_cache(int layer, std::size_t b, int kv_head) {
  const std::size_t block = (key_span(context_) + context_) * shape_.head_dim;
  return kv_.data() + ((std::size_t(layer) * batch_ + b) * shape_.kv_heads + kv_head) * block;
}
std::uint16_t* Transformer::v_cache(int layer, std::size_t b, int kv_head) {
  return k_cache(layer, b, kv_head) + key_span(context_) * shape_.head_dim;
}

void Transformer::prepare(std::size_t batch, std::size_t context, std::uint64_t seed, int threads) {
  if (batch < 1 || context < 1) throw std::invalid_argument("transformer: batch and context must be at least 1");
  batch_ = batch;
  context_ = context;
  const std::size_t H = shape_.head_dim, blocks = std::size_t(shape_.layers) * batch * shape_.kv_heads;
  kv_ = AlignedVector<std::uint16_t>();
  const std::size_t block = (key_span(context) + context) * H;
  kv_.resize(blocks * block);
  // The past: keys and values uniform in [-1, 1), one generator per block.
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t blk = 0; blk < blocks; ++blk) {
    SplitMix64 rng(seed ^ (0xa0761d6478bd642fULL * (blk + 1)));
    std::uint16_t* p = kv_.data() + blk * block;
    for (std::size_t i = 0; i < block; i += 4) {
      std::uint64_t bits = rng.next();
      for (std::size_t j = 0; j < 4 && i + j < block; ++j, bits >>= 16)
        p[i + j] = round_bf16(float(bits & 0xffff) / 32768.0f - 1.0f);
    }
  }
  const std::size_t D = shape_.d_model, F = shape_.d_ff;
  const std::size_t qkv_rows = std::size_t(shape_.q_heads + 2 * shape_.kv_heads) * H;
  const std::size_t widest = std::max({D, F, std::size_t(shape_.q_heads) * H});
  x_.assign(batch * D, 0);
  h_.assign(batch * D, 0);
  qkv_.assign(batch * qkv_rows, 0);
  attn_.assign(batch * shape_.q_heads * H, 0);
  mlp_.assign(batch * 2 * F, 0);
  act_.assign(batch * F, 0);
  xq_.assign(batch * widest, 0);
  xq_scale_.assign(batch, 0);
  xb_.assign(batch * widest, 0);
}

void Transformer::project(const DecodeWeights& w, const float* x, std::size_t batch, float* y, int threads) {
  const std::size_t k = w.k();
  if (type_ == DecodeType::int8) {
#pragma omp parallel for num_threads(threads) schedule(static) if (batch > 1)
    for (std::size_t b = 0; b < batch; ++b) quantize(x + b * k, k, xq_.data() + b * k, &xq_scale_[b]);
    w.step_int8(xq_.data(), xq_scale_.data(), batch, y, threads);
  } else {
#pragma omp parallel for num_threads(threads) schedule(static) if (batch > 1)
    for (std::size_t i = 0; i < batch * k; ++i) xb_[i] = round_bf16(x[i]);
    w.step_bf16(xb_.data(), batch, y, threads);
  }
}

void Transformer::step(const std::int32_t* tokens, float* logits, int threads, StepTrace* trace) {
  if (batch_ == 0) throw std::invalid_argument("transformer: prepare() a KV cache before stepping");
  const std::size_t B = batch_, D = shape_.d_model, F = shape_.d_ff, H = shape_.head_dim;
  const int Nq = shape_.q_heads, K = shape_.kv_heads, group = Nq / K;
  const std::size_t qkv_rows = std::size_t(Nq + 2 * K) * H, pos = context_ - 1;
  const float scale = float(1.0 / std::sqrt(double(H)));
  const std::vector<float> rotary = rope_table(int(H), pos, shape_.rope_theta);
  const CpuFeatures cpu = cpu_features();  // once per step
  const auto attend = attend_for(cpu);
  const auto swiglu = swiglu_for(cpu);
  for (std::size_t b = 0; b < B; ++b) {
    if (tokens[b] < 0 || tokens[b] >= shape_.vocab) throw std::invalid_argument("transformer: token out of range");
    embed(tokens[b], &x_[b * D]);
  }
  auto record = [&] {
    if (!trace) return;
    for (std::size_t j = 0; j < trace->sequences.size(); ++j)
      trace->residual[j].emplace_back(x_.begin() + trace->sequences[j] * D, x_.begin() + (trace->sequences[j] + 1) * D);
  };
  if (trace) {
    for (std::size_t s : trace->sequences)
      if (s >= B) throw std::invalid_argument("transformer: traced sequence out of range");
    trace->residual.assign(trace->sequences.size(), {});
  }
  for (int l = 0; l < shape_.layers; ++l) {
    record();
    const Layer& layer = *layers_[l];
#pragma omp parallel for num_threads(threads) schedule(static) if (B > 1)
    for (std::size_t b = 0; b < B; ++b) rms_norm(&x_[b * D], D, l, 0, &h_[b * D]);
    project(*layer.qkv, h_.data(), B, qkv_.data(), threads);
    // Scratch per thread, allocated here: an exception cannot leave an OpenMP region.
    std::vector<float> all_scores(std::size_t(std::max(threads, 1)) * group * context_);
#pragma omp parallel num_threads(threads)
    {
      float* scores = &all_scores[std::size_t(omp_get_thread_num()) * group * context_];
#pragma omp for collapse(2) schedule(static)
      for (std::size_t b = 0; b < B; ++b)
        for (int kh = 0; kh < K; ++kh) {
          float* q = &qkv_[b * qkv_rows + std::size_t(kh) * group * H];
          float* k = &qkv_[b * qkv_rows + std::size_t(Nq) * H + std::size_t(kh) * H];
          float* v = k + std::size_t(K) * H;
          for (int g = 0; g < group; ++g) rope_with(q + g * H, int(H), rotary);
          rope_with(k, int(H), rotary);
          std::uint16_t* kc = k_cache(l, b, kh);
          std::uint16_t* vc = v_cache(l, b, kh);
          for (std::size_t i = 0; i < H; ++i) {
            kc[key_index(pos, i, H)] = round_bf16(k[i]);
            vc[pos * H + i] = round_bf16(v[i]);
          }
          attend(q, kc, vc, context_, group, int(H), scale, scores,
                 &attn_[b * Nq * H + std::size_t(kh) * group * H]);
        }
    }
    project(*layer.out, attn_.data(), B, h_.data(), threads);
    // Residual add and the MLP's norm, one sequence per iteration.
#pragma omp parallel for num_threads(threads) schedule(static) if (B > 1)
    for (std::size_t b = 0; b < B; ++b) {
      for (std::size_t i = b * D; i < (b + 1) * D; ++i) x_[i] += h_[i];
      rms_norm(&x_[b * D], D, l, 1, &h_[b * D]);
    }
    project(*layer.gate_up, h_.data(), B, mlp_.data(), threads);
#pragma omp parallel for num_threads(threads) schedule(static) if (B > 1)
    for (std::size_t b = 0; b < B; ++b) swiglu(&mlp_[b * 2 * F], F, &act_[b * F]);
    project(*layer.down, act_.data(), B, h_.data(), threads);
#pragma omp parallel for num_threads(threads) schedule(static) if (B > 1)
    for (std::size_t i = 0; i < B * D; ++i) x_[i] += h_[i];
  }
  record();
  for (std::size_t b = 0; b < B; ++b) rms_norm(&x_[b * D], D, shape_.layers, 0, &h_[b * D]);
  project(*output_, h_.data(), B, logits, threads);
  if (trace) {
    trace->logits.clear();
    const std::size_t V = std::size_t(shape_.vocab);
    for (std::size_t s : trace->sequences) trace->logits.emplace_back(logits + s * V, logits + (s + 1) * V);
  }
}

}  // namespace roofaudit::kernels
