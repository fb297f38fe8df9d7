#pragma once
// A complete decoder-only transformer decode step on the CPU, LLaMA-shaped: RMSNorm,
// fused QKV projection, rotary position embedding, grouped-query attention over a bf16
// KV cache, SwiGLU MLP, every layer, final norm and output projection. Weights are
// int8 with one fp32 scale per row (activations quantized per vector before each
// projection) or bf16; random but deterministic, so a plain scalar reference can
// regenerate them and check what the fast path computed.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/aligned.hpp"
#include "kernels/cpu/decode.hpp"

namespace roofaudit::kernels {

struct TransformerShape {
  int layers = 0;
  int d_model = 0;
  int d_ff = 0;
  int q_heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int vocab = 0;
  bool tied_embeddings = true;
  double rope_theta = 500000.0;

  // Throws std::invalid_argument naming the first inconsistency (heads not dividing,
  // odd head dimension, non-positive sizes).
  void check() const;
  // Bytes one step streams for the weights: every projection and the output matrix
  // (the input embedding is a gather of B rows and is not counted).
  double streamed_weight_bytes(DecodeType type) const;
  // KV-cache bytes per token of context (bf16 keys and values, every layer).
  double kv_bytes_per_token() const { return 2.0 * 2.0 * kv_heads * head_dim * layers; }
};

// What a step leaves for checking: for the chosen sequences, the residual stream at the
// entry of every layer and after the last ([sequence][0..layers]), and the logits.
struct StepTrace {
  std::vector<std::size_t> sequences;
  std::vector<std::vector<std::vector<float>>> residual;
  std::vector<std::vector<float>> logits;
};

// RMS-relative differences between a traced step and the reference, per layer update
// (and embedding, logits) of each traced sequence: the largest and where, and the median.
struct StepCheck {
  double worst = 0;
  std::string where;
  double median = 0;
};

class Transformer {
 public:
  // Generates and packs every weight (threads OpenMP threads).
  Transformer(const TransformerShape& shape, DecodeType type, DecodeKernel kernel, std::uint64_t seed, int threads);
  ~Transformer();
  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;

  const TransformerShape& shape() const { return shape_; }
  DecodeType type() const { return type_; }
  std::string kernel_name() const;
  double streamed_weight_bytes() const;

  // A KV cache for `batch` sequences of `context` positions: positions 0..context-2 hold
  // a synthetic past (deterministic from `seed`), the step writes position context-1.
  void prepare(std::size_t batch, std::size_t context, std::uint64_t seed, int threads);
  std::size_t batch() const { return batch_; }
  std::size_t context() const { return context_; }

  // One decode step: token[b] at position context-1 for each sequence; logits is
  // batch x vocab. Repeatable: a step rewrites the same cache position.
  void step(const std::int32_t* tokens, float* logits, int threads, StepTrace* trace = nullptr);

  // The reference, written plainly: weights regenerated row by row from the seed, no
  // packing or tiles, double-precision dot products and attention; the past positions
  // come from the cache. Several sequences share one pass over the weights.
  //
  // The whole step from the tokens. Fast and reference paths round activations to int8
  // or bf16 at slightly different points, so over many layers they drift apart by about
  // the precision's rounding noise (1-10% for int8 at 16 layers): exact on small models.
  std::vector<std::vector<float>> reference_logits(const std::vector<std::size_t>& sequences,
                                                   const std::vector<std::int32_t>& tokens, int threads) const;
  // Layer by layer from the fast path's own residual stream (a traced step): every
  // layer's update, the embedding and the logits against the reference; the drift does
  // not compound, so this bound is tight (~1e-3) at any depth.
  StepCheck check_step(const StepTrace& trace, const std::vector<std::int32_t>& tokens, int threads) const;

 private:
  struct Layer;
  void embed(std::int32_t token, float* out) const;
  std::vector<std::vector<float>> reference_linear(int layer, int matrix, std::size_t rows, std::size_t k,
                                                   const std::vector<std::vector<float>>& x, int threads) const;
  void reference_layer(int layer, const std::vector<std::size_t>& sequences, std::vector<std::vector<float>>& x,
                       int threads) const;
  void project(const DecodeWeights& w, const float* x, std::size_t batch, float* y, int threads);
  std::uint16_t* k_cache(int layer, std::size_t b, int kv_head);
  std::uint16_t* v_cache(int layer, std::size_t b, int kv_head);

  TransformerShape shape_;
  DecodeType type_;
  std::uint64_t seed_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::unique_ptr<DecodeWeights> output_;
  std::size_t batch_ = 0, context_ = 0;
  AlignedVector<std::uint16_t> kv_;  // [layer][sequence][kv head]: keys (blocked, see .cpp), values [context][head_dim]; bf16
  // Step scratch, sized by prepare().
  std::vector<float> x_, h_, qkv_, attn_, mlp_, act_;
  std::vector<std::int8_t> xq_;
  std::vector<float> xq_scale_;
  std::vector<std::uint16_t> xb_;
};

// The attention kernel of the step on its own: `group` query heads (group x head_dim)
// against n cached positions of one KV head, bf16 keys in blocks of 16 positions
// transposed within the block (element (t, i) at attention_key_offset(t, i, head_dim),
// attention_key_span(n) positions reserved) and bf16 values [n][head_dim]. scores is
// group x n scratch; out is group x head_dim. Scale 1/sqrt(head_dim).
std::size_t attention_key_offset(std::size_t t, std::size_t i, std::size_t head_dim);
std::size_t attention_key_span(std::size_t context);
void attend_bf16(const float* q, const std::uint16_t* keys, const std::uint16_t* values, std::size_t n, int group,
                 int head_dim, float* scores, float* out);
// The same in double precision, plainly.
void attend_reference(const float* q, const std::uint16_t* keys, const std::uint16_t* values, std::size_t n, int group,
                      int head_dim, float* out);

// RMSNorm gains: layer `layer`'s attention (which = 0) or MLP (1) norm, or the final
// norm (layer = layers); deterministic, near 1.
float transformer_norm_weight(int layer, int which, int i);

}  // namespace roofaudit::kernels
