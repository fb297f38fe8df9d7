#include "kernels/cpu/transformer.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "kernels/cpu/random.hpp"

namespace roofaudit::kernels {
namespace {

enum Matrix : std::uint64_t { kQkv = 1, kOut = 2, kGateUp = 3, kDown = 4, kLmHead = 5, kEmbedding = 6 };

std::uint64_t row_seed(std::uint64_t seed, int layer, Matrix m, std::size_t row) {
  SplitMix64 mix(seed ^ (std::uint64_t(layer) << 40) ^ (std::uint64_t(m) << 56) ^ (row * 0x9e3779b97f4a7c15ULL));
  mix.next();
  return mix.next();
}

// int8 weights: uniform in [-127, 127], eight per generator call.
void int8_row(std::uint64_t seed, std::size_t k, std::int8_t* dst) {
  SplitMix64 rng(seed);
  for (std::size_t i = 0; i < k; i += 8) {
    std::uint64_t bits = rng.next();
    for (std::size_t j = 0; j < 8 && i + j < k; ++j, bits >>= 8) dst[i + j] = std::int8_t(int((bits & 0xff) % 255) - 127);
  }
}
// A row's scale: unit-variance outputs for unit-RMS inputs, varied a little per row.
float int8_scale(std::size_t k, std::size_t row) {
  return float(std::sqrt(3.0 / double(k)) / 127.0 * (1.0 + double(row % 7) / 14.0));
}

std::uint16_t round_bf16(float f) {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  bits += 0x7fff + ((bits >> 16) & 1);
  return std::uint16_t(bits >> 16);
}
inline float bf16f(std::uint16_t h) { return std::bit_cast<float>(std::uint32_t(h) << 16); }

// bf16 weights: uniform in [-a, a) with the same variance as the int8 ones, four per call.
void bf16_row(std::uint64_t seed, std::size_t k, std::uint16_t* dst) {
  SplitMix64 rng(seed);
  const float a = float(std::sqrt(3.0 / double(k)));
  for (std::size_t i = 0; i < k; i += 4) {
    std::uint64_t bits = rng.next();
    for (std::size_t j = 0; j < 4 && i + j < k; ++j, bits >>= 16)
      dst[i + j] = round_bf16((float(bits & 0xffff) / 32768.0f - 1.0f) * a);
  }
}

std::unique_ptr<DecodeWeights> make_weights(DecodeType type, DecodeKernel kernel, std::uint64_t seed, int layer,
                                            Matrix m, std::size_t rows, std::size_t k, int threads) {
  if (type == DecodeType::int8) {
    std::vector<float> scales(rows);
    for (std::size_t r = 0; r < rows; ++r) scales[r] = int8_scale(k, r);
    return std::make_unique<DecodeWeights>(DecodeWeights::int8(
        rows, k, [&](std::size_t r, std::int8_t* dst) { int8_row(row_seed(seed, layer, m, r), k, dst); },
        std::move(scales), kernel, threads));
  }
  return std::make_unique<DecodeWeights>(DecodeWeights::bf16(
      rows, k, [&](std::size_t r, std::uint16_t* dst) { bf16_row(row_seed(seed, layer, m, r), k, dst); }, kernel,
      threads));
}

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

// Rotary embedding of one head at position pos: pairs (i, i + H/2).
void rope(float* v, int head_dim, std::size_t pos, double theta) {
  const int half = head_dim / 2;
  for (int i = 0; i < half; ++i) {
    const double angle = double(pos) * std::pow(theta, -2.0 * i / head_dim);
    const float c = float(std::cos(angle)), s = float(std::sin(angle));
    const float a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = a * s + b * c;
  }
}


// Keys are cached in blocks of kKeyBlock positions, transposed within the block
// ([i][t]): the score of 16 positions is then one vector accumulated over the head
// dimension, with no horizontal sums. Values stay [t][i].
constexpr std::size_t kKeyBlock = 16;
inline std::size_t key_index(std::size_t t, std::size_t i, std::size_t head_dim) {
  return (t / kKeyBlock) * kKeyBlock * head_dim + i * kKeyBlock + t % kKeyBlock;
}
inline std::size_t key_span(std::size_t context) { return (context + kKeyBlock - 1) / kKeyBlock * kKeyBlock; }

// exp(x) for x <= 0 in plain arithmetic the compiler vectorises: 2^n by the exponent
// bits, exp(r) for |r| <= ln2/2 by its Taylor series to r^7 (error below 1e-8).
inline float exp_nonpositive(float x) {
  x = std::max(x, -87.0f);
  // Round to nearest by the 1.5 * 2^23 trick (vectorises where nearbyint would not).
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * std::bit_cast<float>(std::uint32_t(std::int32_t(n) + 127) << 23);
}

// x * sigmoid(x), through the same vectorisable exp (exp(-|x|) keeps it in range).
inline float silu(float g) {
  const float e = exp_nonpositive(-std::fabs(g));
  return g >= 0 ? g / (1.0f + e) : g * e / (1.0f + e);
}

// The vector loops of the step (SwiGLU, attention) are compiled once per ISA class, so
// ROOFAUDIT_MAX_ISA caps them as it caps the products. name##_for(cpu) picks the build;
// a step picks once (cpu_features() reads the environment), not per head.
#define ROOFAUDIT_PER_ISA(name, params, args)                                                          \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))) void name##_avx512 params { \
    name##_body args;                                                                                 \
  }                                                                                                   \
  __attribute__((target("avx2,fma"))) void name##_avx2 params { name##_body args; }                   \
  void name##_generic params { name##_body args; }                                                    \
  using name##_fn = void(*) params;                                                                   \
  name##_fn name##_for(const CpuFeatures& cpu) {                                                      \
    return cpu.avx512 ? name##_avx512 : cpu.avx2 ? name##_avx2 : name##_generic;                      \
  }

__attribute__((always_inline)) inline void swiglu_body(const float* gate_up, std::size_t F, float* out) {
#pragma omp simd
  for (std::size_t i = 0; i < F; ++i) out[i] = silu(gate_up[i]) * gate_up[F + i];
}
ROOFAUDIT_PER_ISA(swiglu, (const float* gate_up, std::size_t F, float* out), (gate_up, F, out))

// Scores of G query heads (G x H) against n keys: G x n, row stride n. Fixed G keeps the
// G accumulators of a key block in registers.
template <int G>
__attribute__((always_inline)) inline void score_keys(const float* q, const std::uint16_t* keys, std::size_t n,
                                                      std::size_t H, float scale, float* scores) {
  // Two key blocks per pass when G is small: 2G independent accumulator chains.
  constexpr std::size_t kBlocks = G <= 4 ? 2 : 1;
  for (std::size_t t0 = 0; t0 < n; t0 += kBlocks * kKeyBlock) {
    const std::size_t blocks = std::min(kBlocks, (n - t0 + kKeyBlock - 1) / kKeyBlock);
    float acc[G][kBlocks][kKeyBlock] = {};
    for (std::size_t i = 0; i < H; ++i) {
      float col[kBlocks][kKeyBlock] = {};
      for (std::size_t k = 0; k < blocks; ++k) {
        const std::uint16_t* c = keys + (t0 + k * kKeyBlock) * H + i * kKeyBlock;
#pragma omp simd
        for (std::size_t t = 0; t < kKeyBlock; ++t) col[k][t] = std::bit_cast<float>(std::uint32_t(c[t]) << 16);
      }
      for (int g = 0; g < G; ++g) {
        const float qi = q[g * H + i];
        for (std::size_t k = 0; k < kBlocks; ++k)
#pragma omp simd
          for (std::size_t t = 0; t < kKeyBlock; ++t) acc[g][k][t] += qi * col[k][t];
      }
    }
    const std::size_t len = std::min(kBlocks * kKeyBlock, n - t0);
    for (int g = 0; g < G; ++g)
      for (std::size_t t = 0; t < len; ++t) scores[g * n + t0 + t] = acc[g][t / kKeyBlock][t % kKeyBlock] * scale;
  }
}

// out[g] = sum over t of p[g][t] * value[t] for G heads (p: G x n, row stride n; out:
// G x H). 16 x G output lanes at a time, 16 x 16 / G of them (at most 16 accumulator
// vectors, kept in registers across all positions); each value converted once.
template <int G>
__attribute__((always_inline)) inline void weigh_values(const float* p, const std::uint16_t* values, std::size_t n,
                                                        std::size_t H, float* out) {
  constexpr std::size_t kSpan = 16 * 16 / G;  // lanes per pass
  for (std::size_t i0 = 0; i0 < H; i0 += kSpan) {
    const std::size_t width = std::min(kSpan, H - i0);
    float acc[G][kSpan] = {};
    for (std::size_t t = 0; t < n; ++t) {
      float v[kSpan] = {};
      const std::uint16_t* vt = values + t * H + i0;
      if (width == kSpan) {
#pragma omp simd
        for (std::size_t i = 0; i < kSpan; ++i) v[i] = std::bit_cast<float>(std::uint32_t(vt[i]) << 16);
      } else {
        for (std::size_t i = 0; i < width; ++i) v[i] = std::bit_cast<float>(std::uint32_t(vt[i]) << 16);
      }
      for (int g = 0; g < G; ++g) {
        const float w = p[g * n + t];
#pragma omp simd
        for (std::size_t i = 0; i < kSpan; ++i) acc[g][i] += w * v[i];
      }
    }
    for (int g = 0; g < G; ++g)
      for (std::size_t i = 0; i < width; ++i) out[g * H + i0 + i] = acc[g][i];
  }
}

// Calls f(heads, first) over the query heads of a KV head in groups of 8, 4, 2 or 1 (a
// compile-time count), so each group's accumulators stay in registers.
template <typename F>
__attribute__((always_inline)) inline void by_head_groups(int group, F&& f) {
  for (int g0 = 0; g0 < group;) {
    const int left = group - g0;
    if (left >= 8) f(std::integral_constant<int, 8>{}, g0), g0 += 8;
    else if (left >= 4) f(std::integral_constant<int, 4>{}, g0), g0 += 4;
    else if (left >= 2) f(std::integral_constant<int, 2>{}, g0), g0 += 2;
    else f(std::integral_constant<int, 1>{}, g0), g0 += 1;
  }
}

// Grouped-query attention of one KV head: `group` query heads (group x head_dim) over
// n cached positions; scores is group x n scratch, out group x head_dim.
__attribute__((always_inline)) inline void attend_body(const float* q, const std::uint16_t* keys,
                                                       const std::uint16_t* values, std::size_t n, int group,
                                                       int head_dim, float scale, float* scores, float* out) {
  const std::size_t H = std::size_t(head_dim);
  by_head_groups(group, [&](auto heads, int g0) __attribute__((always_inline)) {
    score_keys<heads()>(q + std::size_t(g0) * H, keys, n, H, scale, scores + std::size_t(g0) * n);
  });
  for (int g = 0; g < group; ++g) {
    float* sg = scores + g * n;
    float m = sg[0];
    for (std::size_t t = 1; t < n; ++t) m = std::max(m, sg[t]);
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (std::size_t t = 0; t < n; ++t) {
      sg[t] = exp_nonpositive(sg[t] - m);
      sum += sg[t];
    }
    const float inv = 1.0f / sum;
    for (std::size_t t = 0; t < n; ++t) sg[t] *= inv;
  }
  by_head_groups(group, [&](auto heads, int g0) __attribute__((always_inline)) {
    weigh_values<heads()>(scores + std::size_t(g0) * n, values, n, H, out + std::size_t(g0) * H);
  });
}
ROOFAUDIT_PER_ISA(attend,
                  (const float* q, const std::uint16_t* keys, const std::uint16_t* values, std::size_t n, int group,
                   int head_dim, float scale, float* scores, float* out),
                  (q, keys, values, n, group, head_dim, scale, scores, out))
#undef ROOFAUDIT_PER_ISA

// cos and sin of every rotary frequency at one position: 2 x head_dim/2.
std::vector<float> rope_table(int head_dim, std::size_t pos, double theta) {
  const int half = head_dim / 2;
  std::vector<float> t(2 * half);
  for (int i = 0; i < half; ++i) {
    const double angle = double(pos) * std::pow(theta, -2.0 * i / head_dim);
    t[i] = float(std::cos(angle));
    t[half + i] = float(std::sin(angle));
  }
  return t;
}

void rope_with(float* v, int head_dim, const std::vector<float>& table) {
  const int half = head_dim / 2;
  for (int i = 0; i < half; ++i) {
    const float c = table[i], s = table[half + i];
    const float a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = a * s + b * c;
  }
}

// One query head against n positions in double precision: key(t, i) and value(t, i)
// give the cached (bf16) entries.
template <typename Key, typename Value>
void reference_head(const float* q, std::size_t n, std::size_t H, const Key& key, const Value& value, float* out) {
  const double scale = 1.0 / std::sqrt(double(H));
  std::vector<double> p(n);
  double top = -INFINITY;
  for (std::size_t t = 0; t < n; ++t) {
    double dot = 0;
    for (std::size_t i = 0; i < H; ++i) dot += double(q[i]) * key(t, i);
    p[t] = dot * scale;
    top = std::max(top, p[t]);
  }
  double sum = 0;
  for (auto& e : p) sum += (e = std::exp(e - top));
  for (std::size_t i = 0; i < H; ++i) {
    double o = 0;
    for (std::size_t t = 0; t < n; ++t) o += p[t] * value(t, i);
    out[i] = float(o / sum);
  }
}

}  // namespace

std::size_t attention_key_offset(std::size_t t, std::size_t i, std::size_t head_dim) { return key_index(t, i, head_dim); }
std::size_t attention_key_span(std::size_t context) { return key_span(context); }

void attend_bf16(const float* q, const std::uint16_t* keys, const std::uint16_t* values, std::size_t n, int group,
                 int head_dim, float* scores, float* out) {
  attend_for(cpu_features())(q, keys, values, n, group, head_dim, float(1.0 / std::sqrt(double(head_dim))), scores,
                            out);
}

void attend_reference(const float* q, const std::uint16_t* keys, const std::uint16_t* values, std::size_t n, int group,
                      int head_dim, float* out) {
  const std::size_t H = std::size_t(head_dim);
  for (int g = 0; g < group; ++g)
    reference_head(
        q + g * H, n, H, [&](std::size_t t, std::size_t i) { return bf16f(keys[key_index(t, i, H)]); },
        [&](std::size_t t, std::size_t i) { return bf16f(values[t * H + i]); }, out + g * H);
}

float transformer_norm_weight(int layer, int which, int i) {
  return 1.0f + 0.05f * float(((i * 7 + layer * 3 + which) % 11) - 5) / 5.0f;
}

void TransformerShape::check() const {
  if (layers < 1 || d_model < 1 || d_ff < 1 || q_heads < 1 || kv_heads < 1 || head_dim < 2 || vocab < 1)
    throw std::invalid_argument("transformer: every size must be positive");
  if (q_heads % kv_heads != 0) throw std::invalid_argument("transformer: query heads must be a multiple of KV heads");
  if (head_dim % 2 != 0) throw std::invalid_argument("transformer: rotary embedding needs an even head dimension");
}

double TransformerShape::streamed_weight_bytes(DecodeType type) const {
  const double qkv = double(q_heads + 2 * kv_heads) * head_dim, attn_out = double(q_heads) * head_dim;
  const double per_layer_weights = qkv * d_model + double(d_model) * attn_out + 2.0 * d_ff * d_model + double(d_model) * d_ff;
  const double per_layer_rows = qkv + d_model + 2.0 * d_ff + d_model;
  const double weights = layers * per_layer_weights + double(vocab) * d_model;
  const double rows = layers * per_layer_rows + vocab;
  return type == DecodeType::int8 ? weights + 4.0 * rows : 2.0 * weights;
}

struct Transformer::Layer {
  std::unique_ptr<DecodeWeights> qkv, out, gate_up, down;
};

Transformer::Transformer(const TransformerShape& shape, DecodeType type, DecodeKernel kernel, std::uint64_t seed,
                         int threads)
    : shape_(shape), type_(type), seed_(seed) {
  shape_.check();
  const std::size_t D = shape_.d_model, F = shape_.d_ff, H = shape_.head_dim;
  const std::size_t qkv_rows = std::size_t(shape_.q_heads + 2 * shape_.kv_heads) * H;
  for (int l = 0; l < shape_.layers; ++l) {
    auto layer = std::make_unique<Layer>();
    layer->qkv = make_weights(type, kernel, seed, l, kQkv, qkv_rows, D, threads);
    layer->out = make_weights(type, kernel, seed, l, kOut, D, std::size_t(shape_.q_heads) * H, threads);
    layer->gate_up = make_weights(type, kernel, seed, l, kGateUp, 2 * F, D, threads);
    layer->down = make_weights(type, kernel, seed, l, kDown, D, F, threads);
    layers_.push_back(std::move(layer));
  }
  output_ = make_weights(type, kernel, seed, shape_.layers, kLmHead, std::size_t(shape_.vocab), D, threads);
}

Transformer::~Transformer() = default;

std::string Transformer::kernel_name() const { return output_->kernel_name(); }

double Transformer::streamed_weight_bytes() const {
  double bytes = double(output_->weight_bytes());
  for (const auto& l : layers_)
    bytes += double(l->qkv->weight_bytes() + l->out->weight_bytes() + l->gate_up->weight_bytes() + l->down->weight_bytes());
  return bytes;
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

void Transformer::embed(std::int32_t token, float* out) const {
  const std::size_t D = shape_.d_model;
  const std::size_t row = std::size_t(token);
  if (shape_.tied_embeddings) {
    // The output matrix's row, dequantized.
    if (type_ == DecodeType::int8) {
      std::vector<std::int8_t> w(D);
      int8_row(row_seed(seed_, shape_.layers, kLmHead, row), D, w.data());
      const float s = int8_scale(D, row);
      for (std::size_t i = 0; i < D; ++i) out[i] = float(w[i]) * s;
    } else {
      std::vector<std::uint16_t> w(D);
      bf16_row(row_seed(seed_, shape_.layers, kLmHead, row), D, w.data());
      for (std::size_t i = 0; i < D; ++i) out[i] = bf16f(w[i]);
    }
    return;
  }
  std::vector<std::uint16_t> w(D);
  bf16_row(row_seed(seed_, shape_.layers, kEmbedding, row), D, w.data());
  for (std::size_t i = 0; i < D; ++i) out[i] = bf16f(w[i]);
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

namespace {

using Vectors = std::vector<std::vector<float>>;

double relative_rms(const std::vector<float>& got, const std::vector<float>& want) {
  double ss = 0, ds = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    ss += double(want[i]) * want[i];
    ds += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
  }
  return ss > 0 ? std::sqrt(ds / ss) : std::sqrt(ds);
}

}  // namespace

// y[j][r] = W[r] . x[j] for every given vector, the fast path's arithmetic contract
// (activations quantized or rounded the same way), one regenerated row at a time.
Vectors Transformer::reference_linear(int layer, int matrix, std::size_t rows, std::size_t k, const Vectors& x,
                                      int threads) const {
  const std::size_t n = x.size();
  const auto m = Matrix(matrix);
  Vectors y(n, std::vector<float>(rows));
  if (type_ == DecodeType::int8) {
    std::vector<std::vector<std::int8_t>> q(n, std::vector<std::int8_t>(k));
    std::vector<float> qs(n);
    for (std::size_t j = 0; j < n; ++j) quantize(x[j].data(), k, q[j].data(), &qs[j]);
    std::vector<std::int8_t> rows_w(std::size_t(std::max(threads, 1)) * k);  // per thread, before the region
#pragma omp parallel num_threads(threads)
    {
      std::int8_t* w = &rows_w[std::size_t(omp_get_thread_num()) * k];
#pragma omp for schedule(static)
      for (std::size_t r = 0; r < rows; ++r) {
        int8_row(row_seed(seed_, layer, m, r), k, w);
        for (std::size_t j = 0; j < n; ++j) {
          std::int64_t dot = 0;
          for (std::size_t i = 0; i < k; ++i) dot += std::int64_t(w[i]) * q[j][i];
          y[j][r] = float(double(dot) * qs[j] * int8_scale(k, r));
        }
      }
    }
  } else {
    Vectors xb(n, std::vector<float>(k));
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < k; ++i) xb[j][i] = bf16f(round_bf16(x[j][i]));
    std::vector<std::uint16_t> rows_w(std::size_t(std::max(threads, 1)) * k);  // per thread, before the region
#pragma omp parallel num_threads(threads)
    {
      std::uint16_t* w = &rows_w[std::size_t(omp_get_thread_num()) * k];
#pragma omp for schedule(static)
      for (std::size_t r = 0; r < rows; ++r) {
        bf16_row(row_seed(seed_, layer, m, r), k, w);
        for (std::size_t j = 0; j < n; ++j) {
          double dot = 0;
          for (std::size_t i = 0; i < k; ++i) dot += double(bf16f(w[i])) * xb[j][i];
          y[j][r] = float(dot);
        }
      }
    }
  }
  return y;
}

// One layer for the given sequences, from their residual stream x (updated in place).
void Transformer::reference_layer(int l, const std::vector<std::size_t>& sequences, Vectors& x, int threads) const {
  const std::size_t n = sequences.size(), D = shape_.d_model, F = shape_.d_ff, H = shape_.head_dim;
  const int Nq = shape_.q_heads, K = shape_.kv_heads, group = Nq / K;
  const std::size_t pos = context_ - 1;
  Vectors h(n, std::vector<float>(D));
  for (std::size_t j = 0; j < n; ++j) rms_norm(x[j].data(), D, l, 0, h[j].data());
  auto qkv = reference_linear(l, kQkv, std::size_t(Nq + 2 * K) * H, D, h, threads);
  Vectors attn(n, std::vector<float>(std::size_t(Nq) * H));
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t b = sequences[j];
    for (int head = 0; head < Nq + K; ++head) rope(&qkv[j][std::size_t(head) * H], int(H), pos, shape_.rope_theta);
    for (int qh = 0; qh < Nq; ++qh) {
      const int kh = qh / group;
      const float* q = &qkv[j][std::size_t(qh) * H];
      const float* k_new = &qkv[j][std::size_t(Nq + kh) * H];
      const float* v_new = &qkv[j][std::size_t(Nq + K + kh) * H];
      const std::uint16_t* kc = kv_.data() + ((std::size_t(l) * batch_ + b) * K + kh) * (key_span(context_) + context_) * H;
      const std::uint16_t* vc = kc + key_span(context_) * H;
      auto key = [&](std::size_t t, std::size_t i) {
        return t == pos ? bf16f(round_bf16(k_new[i])) : bf16f(kc[key_index(t, i, H)]);
      };
      auto value = [&](std::size_t t, std::size_t i) { return t == pos ? bf16f(round_bf16(v_new[i])) : bf16f(vc[t * H + i]); };
      reference_head(q, context_, H, key, value, &attn[j][std::size_t(qh) * H]);
    }
  }
  auto o = reference_linear(l, kOut, D, std::size_t(Nq) * H, attn, threads);
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < D; ++i) x[j][i] += o[j][i];
    rms_norm(x[j].data(), D, l, 1, h[j].data());
  }
  auto gu = reference_linear(l, kGateUp, 2 * F, D, h, threads);
  Vectors act(n, std::vector<float>(F));
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < F; ++i) act[j][i] = float(gu[j][i] / (1.0 + std::exp(-double(gu[j][i]))) * gu[j][F + i]);
  auto down = reference_linear(l, kDown, D, F, act, threads);
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < D; ++i) x[j][i] += down[j][i];
}

Vectors Transformer::reference_logits(const std::vector<std::size_t>& sequences, const std::vector<std::int32_t>& tokens,
                                      int threads) const {
  if (sequences.size() != tokens.size()) throw std::invalid_argument("reference: one token per sequence");
  for (std::size_t s : sequences)
    if (s >= batch_) throw std::invalid_argument("reference: no such sequence in the cache");
  const std::size_t n = sequences.size(), D = shape_.d_model;
  Vectors x(n, std::vector<float>(D)), h(n, std::vector<float>(D));
  for (std::size_t j = 0; j < n; ++j) embed(tokens[j], x[j].data());
  for (int l = 0; l < shape_.layers; ++l) reference_layer(l, sequences, x, threads);
  for (std::size_t j = 0; j < n; ++j) rms_norm(x[j].data(), D, shape_.layers, 0, h[j].data());
  return reference_linear(shape_.layers, kLmHead, std::size_t(shape_.vocab), D, h, threads);
}

StepCheck Transformer::check_step(const StepTrace& trace, const std::vector<std::int32_t>& tokens, int threads) const {
  const std::size_t n = trace.sequences.size(), D = shape_.d_model;
  if (tokens.size() != n || trace.residual.size() != n || trace.logits.size() != n)
    throw std::invalid_argument("check_step: the trace does not match the tokens");
  StepCheck result;
  std::vector<double> all;
  auto note = [&](double err, std::string where) {
    all.push_back(err);
    if (!(err <= result.worst)) {
      result.worst = err;
      result.where = std::move(where);
    }
  };
  Vectors x(n, std::vector<float>(D));
  for (std::size_t j = 0; j < n; ++j) {
    embed(tokens[j], x[j].data());
    note(relative_rms(trace.residual[j][0], x[j]), "embedding");
  }
  // Each layer from the fast path's own input: differences do not compound, so the
  // bound stays tight however deep the model.
  for (int l = 0; l < shape_.layers; ++l) {
    Vectors in(n), out(n);
    for (std::size_t j = 0; j < n; ++j) in[j] = out[j] = trace.residual[j][l];
    reference_layer(l, trace.sequences, out, threads);
    for (std::size_t j = 0; j < n; ++j) {
      std::vector<float> want(D), got(D);
      for (std::size_t i = 0; i < D; ++i) {
        want[i] = out[j][i] - in[j][i];
        got[i] = trace.residual[j][l + 1][i] - in[j][i];
      }
      note(relative_rms(got, want), "layer " + std::to_string(l) + ", sequence " + std::to_string(trace.sequences[j]));
    }
  }
  Vectors h(n, std::vector<float>(D));
  for (std::size_t j = 0; j < n; ++j) rms_norm(trace.residual[j][shape_.layers].data(), D, shape_.layers, 0, h[j].data());
  const auto logits = reference_linear(shape_.layers, kLmHead, std::size_t(shape_.vocab), D, h, threads);
  for (std::size_t j = 0; j < n; ++j)
    note(relative_rms(trace.logits[j], logits[j]), "logits, sequence " + std::to_string(trace.sequences[j]));
  std::nth_element(all.begin(), all.begin() + all.size() / 2, all.end());
  result.median = all[all.size() / 2];
  return result;
}

}  // namespace roofaudit::kernels
