#pragma once
// Internal to kernels/cpu: what the transformer's files share. The weights are
// regenerated row by row from their seeds (transformer_weights.cpp), the step runs the
// fast kernels (transformer.cpp, transformer_attention.cpp), and the reference redoes
// it plainly (transformer_reference.cpp).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cpu/decode.hpp"
#include "kernels/cpu/isa.hpp"
#include "kernels/cpu/transformer.hpp"

namespace roofaudit::kernels {

struct Transformer::Layer {
  std::unique_ptr<DecodeWeights> qkv, out, gate_up, down;
};

namespace detail {

enum Matrix : std::uint64_t { kQkv = 1, kOut = 2, kGateUp = 3, kDown = 4, kLmHead = 5, kEmbedding = 6 };

// The generator seed of one weight row.
std::uint64_t row_seed(std::uint64_t seed, int layer, Matrix m, std::size_t row);
// int8 weights: uniform in [-127, 127]; with the row's scale, unit-variance outputs for
// unit-RMS inputs. bf16 weights: uniform with the same variance.
void int8_row(std::uint64_t seed, std::size_t k, std::int8_t* dst);
float int8_scale(std::size_t k, std::size_t row);
void bf16_row(std::uint64_t seed, std::size_t k, std::uint16_t* dst);
std::unique_ptr<DecodeWeights> make_weights(DecodeType type, DecodeKernel kernel, std::uint64_t seed, int layer, Matrix m,
                                            std::size_t rows, std::size_t k, int threads);

// Per vector: scale = max|x| / 127, q = round(x / scale).
void quantize(const float* x, std::size_t k, std::int8_t* q, float* scale);
void rms_norm(const float* x, std::size_t n, int layer, int which, float* out);
// Rotary embedding of one head at position pos: pairs (i, i + H/2); the step applies it
// from a table of one position's cos and sin (2 x head_dim/2).
void rope(float* v, int head_dim, std::size_t pos, double theta);
std::vector<float> rope_table(int head_dim, std::size_t pos, double theta);
void rope_with(float* v, int head_dim, const std::vector<float>& table);

// Keys are cached in blocks of kKeyBlock positions, transposed within the block
// ([i][t]): the score of 16 positions is then one vector accumulated over the head
// dimension, with no horizontal sums. Values stay [t][i].
constexpr std::size_t kKeyBlock = 16;
inline std::size_t key_index(std::size_t t, std::size_t i, std::size_t head_dim) {
  return (t / kKeyBlock) * kKeyBlock * head_dim + i * kKeyBlock + t % kKeyBlock;
}
inline std::size_t key_span(std::size_t context) { return (context + kKeyBlock - 1) / kKeyBlock * kKeyBlock; }

// The step's vector loops, built once per ISA class (transformer_attention.cpp): the
// build for `cpu`, picked once per step.
using swiglu_fn = void (*)(const float* gate_up, std::size_t F, float* out);
using attend_fn = void (*)(const float* q, const std::uint16_t* keys, const std::uint16_t* values, std::size_t n,
                           int group, int head_dim, float scale, float* scores, float* out);
swiglu_fn swiglu_for(const CpuFeatures& cpu);
attend_fn attend_for(const CpuFeatures& cpu);

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

}  // namespace detail
}  // namespace roofaudit::kernels
