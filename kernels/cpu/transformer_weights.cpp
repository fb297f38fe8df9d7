// The transformer's weights: generated row by row from seeds, so the reference can
// regenerate any row, and the shape's byte counts.
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

}  // namespace detail

using namespace detail;

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
      for (std::size_t i = 0; i < D; ++i) out[i] = bf16_to_float(w[i]);
    }
    return;
  }
  std::vector<std::uint16_t> w(D);
  bf16_row(row_seed(seed_, shape_.layers, kEmbedding, row), D, w.data());
  for (std::size_t i = 0; i < D; ++i) out[i] = bf16_to_float(w[i]);
}

}  // namespace roofaudit::kernels
