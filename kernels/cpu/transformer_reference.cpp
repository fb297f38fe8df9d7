// The plain reference of the step: every weight row regenerated, every product in double
// precision, under the fast path's arithmetic contract; and the check of a traced step
// against it, layer by layer.
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

using namespace detail;

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

// Every weight row r < rows regenerated into per-thread scratch by fill(r, w), then
// use(r, w), rows split over the threads.
template <typename T, typename Fill, typename Use>
void over_rows(std::size_t rows, std::size_t k, int threads, const Fill& fill, const Use& use) {
  std::vector<T> scratch(std::size_t(std::max(threads, 1)) * k);  // per thread, before the region
#pragma omp parallel num_threads(threads)
  {
    T* w = &scratch[std::size_t(omp_get_thread_num()) * k];
#pragma omp for schedule(static)
    for (std::size_t r = 0; r < rows; ++r) {
      fill(r, w);
      use(r, w);
    }
  }
}

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
    over_rows<std::int8_t>(
        rows, k, threads, [&](std::size_t r, std::int8_t* w) { int8_row(row_seed(seed_, layer, m, r), k, w); },
        [&](std::size_t r, const std::int8_t* w) {
          for (std::size_t j = 0; j < n; ++j) {
            std::int64_t dot = 0;
            for (std::size_t i = 0; i < k; ++i) dot += std::int64_t(w[i]) * q[j][i];
            y[j][r] = float(double(dot) * qs[j] * int8_scale(k, r));
          }
        });
    return y;
  }
  Vectors xb(n, std::vector<float>(k));
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < k; ++i) xb[j][i] = bf16_to_float(round_bf16(x[j][i]));
  over_rows<std::uint16_t>(
      rows, k, threads, [&](std::size_t r, std::uint16_t* w) { bf16_row(row_seed(seed_, layer, m, r), k, w); },
      [&](std::size_t r, const std::uint16_t* w) {
        for (std::size_t j = 0; j < n; ++j) {
          double dot = 0;
          for (std::size_t i = 0; i < k; ++i) dot += double(bf16_to_float(w[i])) * xb[j][i];
          y[j][r] = float(dot);
        }
      });
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
        return t == pos ? bf16_to_float(round_bf16(k_new[i])) : bf16_to_float(kc[key_index(t, i, H)]);
      };
      auto value = [&](std::size_t t, std::size_t i) { return t == pos ? bf16_to_float(round_bf16(v_new[i])) : bf16_to_float(vc[t * H + i]); };
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
