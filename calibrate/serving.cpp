#include "calibrate/serving.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "values/error.hpp"

namespace roofaudit::calibrate {

double bytes_per_element(Dtype d) {
  switch (d) {
    case Dtype::fp32: return 4;
    case Dtype::bf16:
    case Dtype::fp16: return 2;
    case Dtype::fp8:
    case Dtype::int8: return 1;
    case Dtype::int4:
    case Dtype::fp4: return 0.5;
  }
  return 2;
}

std::string dtype_name(Dtype d) {
  switch (d) {
    case Dtype::fp32: return "fp32";
    case Dtype::bf16: return "bf16";
    case Dtype::fp16: return "fp16";
    case Dtype::fp8: return "fp8";
    case Dtype::int8: return "int8";
    case Dtype::int4: return "int4";
    case Dtype::fp4: return "fp4";
  }
  return "?";
}

Dtype parse_dtype(const std::string& name) {
  for (Dtype d : {Dtype::fp32, Dtype::bf16, Dtype::fp16, Dtype::fp8, Dtype::int8, Dtype::int4, Dtype::fp4})
    if (dtype_name(d) == name) return d;
  throw Error(fmt::format("unknown dtype '{}' (known: fp32, bf16, fp16, fp8, int8, int4, fp4)", name));
}

double ChipSpec::peak_ops(Dtype d) const {
  if (auto it = peak_ops_per_s.find(d); it != peak_ops_per_s.end()) return it->second;
  return peak_ops_per_s.at(Dtype::bf16);
}

double ModelSpec::expert_params() const { return 3.0 * double(d_model) * double(d_ff); }

double ModelSpec::total_params() const {
  const double D = d_model, H = head_dim;
  const double attention = D * (q_heads * H) + 2.0 * D * (kv_heads * H) + (q_heads * H) * D;
  const double expert_mlp = expert_params();
  const double mlp = experts > 0 ? experts * expert_mlp + D * experts /* router */ : expert_mlp;
  const double per_layer = attention + mlp + 2.0 * D;  // two RMSNorm weights
  const double embeddings = double(vocab) * D * (tied_embeddings ? 1 : 2);
  return layers * per_layer + embeddings + D;  // + final norm
}

double ModelSpec::active_params() const {
  if (experts == 0) return total_params();
  const double inactive = double(experts - active_experts) * expert_params();
  return total_params() - layers * inactive;
}

double param_bytes(const ModelSpec& m, Dtype weights) { return m.total_params() * bytes_per_element(weights); }

double Speculation::expected_tokens() const {
  // Drafted token i is kept when it and every one before it are accepted (a^i); the
  // verifier's own token follows: 1 + a + ... + a^g.
  return (1.0 - std::pow(acceptance, draft_len + 1)) / (1.0 - acceptance);
}

Speculation make_speculation(const ModelSpec& verifier, const ModelSpec& drafter, int g, double a) {
  if (g < 1) throw Error(fmt::format("draft length must be at least 1, not {}", g));
  if (!(a >= 0) || !(a < 1)) throw Error(fmt::format("acceptance rate must be in [0, 1), not {}", a));
  if (drafter.vocab != verifier.vocab)
    throw Error(fmt::format("drafter {} has a vocabulary of {} tokens, verifier {} one of {}: speculative decoding needs "
                            "the verifier's tokenizer",
                            drafter.name, drafter.vocab, verifier.name, verifier.vocab));
  return Speculation{drafter, g, a};
}

double held_weight_bytes(const ModelSpec& m, const Deployment& d) {
  // Under expert parallelism every chip holds the weights outside the experts whole.
  const double experts = double(m.experts) * m.layers * m.expert_params() * bytes_per_element(d.weights);
  const double replicated = d.ep() > 1 ? (d.ep() - 1) * (param_bytes(m, d.weights) - experts) : 0.0;
  return param_bytes(m, d.weights) + replicated +
         (d.speculation ? param_bytes(d.speculation->drafter, d.weights) : 0.0);
}

double expected_experts_touched(const ModelSpec& m, double tokens) {
  if (m.experts == 0) return 0;
  // Each token routes to k of E experts; under uniform routing an expert escapes one token
  // with probability 1 - k/E, and all of them with (1 - k/E)^tokens.
  const double E = m.experts, k = m.active_experts;
  return E * (1.0 - std::pow(1.0 - k / E, std::max(tokens, 0.0)));
}

double expected_busiest_chip_experts(const ModelSpec& m, double tokens, int chips) {
  if (m.experts == 0) return 0;
  if (chips <= 1) return expected_experts_touched(m, tokens);
  const int n = std::max(m.experts / chips, 1);  // experts per chip
  const double p = std::clamp(expected_experts_touched(m, tokens) / m.experts, 0.0, 1.0);
  // F(j) = P(a chip reaches at most j of its n experts), summed from the binomial pmf.
  double pmf = std::pow(1.0 - p, n), cdf = 0, busiest = 0;
  for (int j = 0; j < n; ++j) {
    cdf += pmf;
    busiest += 1.0 - std::pow(std::min(cdf, 1.0), chips);  // P(max > j)
    pmf = p < 1 ? pmf * double(n - j) / double(j + 1) * p / (1.0 - p) : 0.0;
  }
  return busiest;
}

double all_to_all_s(const ModelSpec& m, const ChipSpec& c, int chips, double tokens) {
  const double W_ici = ici_bytes_per_s(c, chips);
  if (chips <= 1 || W_ici <= 0) return 0;
  const double N = chips;
  const double bytes = tokens / N * m.active_experts * 2.0 * m.d_model * (N - 1) / N;
  return c.link_latency_s + bytes / (W_ici / 2.0);
}

double step_weight_bytes(const ModelSpec& m, Dtype weights, double tokens) {
  if (m.experts == 0) return param_bytes(m, weights);
  const double untouched = (m.experts - expected_experts_touched(m, tokens)) * m.expert_params() * m.layers;
  return (m.total_params() - untouched) * bytes_per_element(weights);
}

double kv_bytes_token(const ModelSpec& m, Dtype kv) {
  return 2.0 * m.kv_heads * m.head_dim * m.layers * bytes_per_element(kv);
}

double held_kv_bytes_token(const ModelSpec& m, const Deployment& d) {
  return kv_bytes_token(m, d.kv) + (d.speculation ? kv_bytes_token(d.speculation->drafter, d.kv) : 0.0);
}

Dtype default_kv_dtype(Dtype weights) {
  if (weights == Dtype::int4) return Dtype::int8;
  if (weights == Dtype::fp4) return Dtype::fp8;
  return weights;
}

double compute_ops_per_s(const ChipSpec& c, Dtype weights) {
  // int4 weights are weight-only quantization in serving engines (AWQ, GPTQ and their
  // Marlin kernels): dequantized and multiplied at the bf16 rate even where the matrix units
  // have an int4 path, which would need 4-bit activations. fp4 (NVFP4, MXFP4) quantizes the
  // activations too and runs at the fp4 rate where there is one. Matrix units with no path
  // for the weights' dtype (fp4 on Hopper, fp8 on Ampere or a TPU v5e) dequantize them: the
  // bf16 rate.
  if (weights == Dtype::int4) return c.peak_ops(Dtype::bf16);
  return c.peak_ops(weights);
}

namespace {

// The dtype whose measured efficiency stands for these weights: a 4-bit format streams like
// the 8-bit one of its kind.
Dtype measured_as(Dtype weights) {
  if (weights == Dtype::int4) return Dtype::int8;
  if (weights == Dtype::fp4) return Dtype::fp8;
  return weights;
}

}  // namespace

double bandwidth_efficiency(const ChipSpec& c, Dtype weights) {
  const auto it = c.efficiency.bandwidth_by_dtype.find(measured_as(weights));
  return it != c.efficiency.bandwidth_by_dtype.end() ? it->second : c.efficiency.bandwidth;
}

double matmul_efficiency(const ChipSpec& c, Dtype weights) {
  const auto it = c.efficiency.matmul_by_dtype.find(measured_as(weights));
  return it != c.efficiency.matmul_by_dtype.end() ? it->second : c.efficiency.decode_matmul;
}

double decode_curve_ratio(const ChipSpec& c, Dtype weights, double batch) {
  const auto it = c.efficiency.decode_curve.find(measured_as(weights));
  if (it == c.efficiency.decode_curve.end() || it->second.empty()) return 1.0;
  const auto& curve = it->second;
  if (batch <= curve.front().first) return curve.front().second;
  if (batch >= curve.back().first) return curve.back().second;
  for (std::size_t i = 1; i < curve.size(); ++i) {
    if (batch > curve[i].first) continue;
    const double f = std::log(batch / curve[i - 1].first) / std::log(curve[i].first / curve[i - 1].first);
    return curve[i - 1].second + f * (curve[i].second - curve[i - 1].second);
  }
  return curve.back().second;
}

bool is_legal_topology(const ChipSpec& c, int n) {
  if (n < 1) return false;
  return c.topologies.empty() || std::find(c.topologies.begin(), c.topologies.end(), n) != c.topologies.end();
}

namespace {

// A count from a real figure (chips, batch, degree), clamped into [lo, hi] before it
// becomes an integer: a figure beyond any count an integer holds (a tiny efficiency, a
// huge model) saturates instead of overflowing.
std::int64_t count_of(double v, std::int64_t lo, std::int64_t hi) {
  if (!(v >= double(lo))) return lo;  // NaN included
  if (v >= double(hi)) return hi;
  return std::int64_t(v);
}
constexpr std::int64_t kMostChips = std::int64_t{1} << 30;  // beyond any deployment, inside int

}  // namespace

int round_up_topology(const ChipSpec& c, std::int64_t n) {
  n = std::max<std::int64_t>(n, 1);
  if (n > kMostChips) throw Error(fmt::format("does not fit: needs {} chips of {}, more than any deployment", n, c.name));
  if (c.topologies.empty()) return int(n);
  for (int t : c.topologies)
    if (t >= n) return t;
  throw Error(fmt::format("does not fit: needs {} chips of {}, more than its largest topology ({})", n, c.name,
                          c.topologies.back()));
}

int min_chips(const ModelSpec& m, const ChipSpec& c, Dtype weights) {
  return round_up_topology(c, count_of(std::ceil(param_bytes(m, weights) / c.memory_bytes), 1, kMostChips + 1));
}

std::int64_t max_batch(const ModelSpec& m, const ChipSpec& c, const Deployment& d) {
  const double kv_bytes_seq = held_kv_bytes_token(m, d) * double(d.context);
  // Negative where the weights alone do not fit.
  return count_of(std::floor((d.usable * d.chips * c.memory_bytes - held_weight_bytes(m, d)) / kv_bytes_seq),
                  -(std::int64_t{1} << 62), std::int64_t{1} << 62);
}

double critical_batch(const ChipSpec& c, Dtype weights) {
  const double C = compute_ops_per_s(c, weights) * matmul_efficiency(c, weights);
  const double W = c.memory_bytes_per_s * bandwidth_efficiency(c, weights);
  return C * bytes_per_element(weights) / (2.0 * W);
}

double min_step_time_s(const ChipSpec& c) { return c.memory_bytes / c.memory_bytes_per_s; }

int torus_axes_spanned(int Y, int axes) {
  int spanned = 0;
  for (int reach = 1; reach < Y && spanned < axes; reach *= 2) ++spanned;
  return std::max(spanned, 1);
}

double ici_bytes_per_s(const ChipSpec& c, int Y) {
  if (c.link_bytes_per_s <= 0) return 0;
  if (c.link_topology == "collective") return c.link_bytes_per_s;
  if (c.link_topology == "torus") return 2.0 * c.link_bytes_per_s * torus_axes_spanned(Y, c.link_axes);
  if (c.link_topology == "switch" && c.link_domain > 0 && Y > c.link_domain && c.network_bytes_per_s > 0)
    return 2.0 * c.network_bytes_per_s;
  return 2.0 * c.link_bytes_per_s;
}

namespace {

// Per MLP matmul under tensor parallelism over Y chips, activations in bf16.
struct TpTimes {
  double W_ici, t_ici, t_hbm, t_math;
};
TpTimes tp_times(const ModelSpec& m, const ChipSpec& c, double batch, int Y) {
  const double D = m.d_model, F = m.d_ff;
  const double W = c.memory_bytes_per_s * c.efficiency.bandwidth;
  const double C = c.peak_ops(Dtype::bf16) * c.efficiency.decode_matmul;
  TpTimes t{};
  // A measured link adds its latency to every collective (catalogue chips carry none, so
  // their t_ici is the specification's 2 B D / W_ici exactly).
  t.W_ici = ici_bytes_per_s(c, Y);
  t.t_ici = t.W_ici > 0 ? c.link_latency_s + 2.0 * batch * D / t.W_ici : 0.0;
  t.t_hbm = 2.0 * D * F / (Y * W);
  t.t_math = 2.0 * batch * D * F / (Y * C);
  return t;
}

}  // namespace

double ring_all_reduce_s(const ChipSpec& c, int Y, double bytes) {
  const double W_ici = ici_bytes_per_s(c, Y);
  if (Y <= 1 || W_ici <= 0) return 0;
  // A ring all-reduce sends 2 (Y - 1) / Y of the buffer each way; a chip's links carry
  // W_ici / 2 in each direction (nccl-tests' bus bandwidth convention).
  return 2.0 * (Y - 1) / Y * bytes / (W_ici / 2.0);
}

double pipeline_link_bytes_per_s(const ChipSpec& c, int chips) {
  if (c.link_topology == "switch" && c.link_domain > 0 && chips > c.link_domain && c.network_bytes_per_s > 0)
    return c.network_bytes_per_s;
  return c.link_bytes_per_s;
}

namespace {

// Expert parallelism: each chip serves B / N sequences through the whole attention and reads
// its own experts the step's tokens reach; the step waits for the busiest chip and for two
// all-to-alls an expert layer.
StepTime expert_parallel_step(const ModelSpec& m, const ChipSpec& c, const Deployment& d, int tokens_per_seq) {
  const double N = d.chips, tokens = double(d.batch) * tokens_per_seq;
  const double W = c.memory_bytes_per_s * bandwidth_efficiency(c, d.weights);
  const double C = compute_ops_per_s(c, d.weights) * matmul_efficiency(c, d.weights);
  const double bpe = bytes_per_element(d.weights);
  const double outside_experts = m.total_params() - double(m.experts) * m.layers * m.expert_params();
  StepTime s;
  s.t_param_s = (outside_experts + m.layers * expected_busiest_chip_experts(m, tokens, d.chips) * m.expert_params()) * bpe / W;
  s.t_flops_s = 2.0 * m.active_params() * tokens / (N * C);
  const double W_kv = c.efficiency.kv_bandwidth > 0 ? c.memory_bytes_per_s * c.efficiency.kv_bandwidth : W;
  s.t_kv_s = double(d.batch) / N * double(d.context) * kv_bytes_token(m, d.kv) / W_kv;
  s.t_comm_s = m.layers * 2.0 * all_to_all_s(m, c, d.chips, tokens);
  s.t_overhead_s = m.layers * c.efficiency.layer_overhead_s;
  const double curve = decode_curve_ratio(c, d.weights, tokens / N);
  const double memory_and_math = d.overlap_kv ? std::max(s.t_flops_s * curve, s.t_param_s * curve + s.t_kv_s)
                                              : std::max(s.t_flops_s, s.t_param_s) * curve + s.t_kv_s;
  s.total_s = memory_and_math + s.t_comm_s + s.t_overhead_s;
  return s;
}

}  // namespace

StepTime decode_step(const ModelSpec& m, const ChipSpec& c, const Deployment& d, int tokens_per_seq) {
  if (d.ep() > 1) return expert_parallel_step(m, c, d, tokens_per_seq);
  const int P = d.pp();
  // A stage of Y chips sees m micro-batches of b sequences each round (P = 1: one of B on N).
  const double micro = double(std::clamp<std::int64_t>(d.batch, 1, P));
  const double b = double(d.batch) / micro;
  const double Y_chips = double(d.chips) / P;
  const double W = c.memory_bytes_per_s * bandwidth_efficiency(c, d.weights);
  const double C = compute_ops_per_s(c, d.weights) * matmul_efficiency(c, d.weights);
  StepTime s;
  // A round is P ticks; in each a stage runs one micro-batch over its L / P layers. A
  // micro-batch's round thus reads every stage's weights (over Y chips each) and does its
  // b sequences' math and KV reads; P = 1: the whole batch on N chips. MoE: only the
  // experts a micro-batch reaches.
  s.t_param_s = step_weight_bytes(m, d.weights, b * tokens_per_seq) / (Y_chips * W);
  s.t_flops_s = 2.0 * m.active_params() * b * tokens_per_seq / (Y_chips * C);
  const double W_kv = c.efficiency.kv_bandwidth > 0 ? c.memory_bytes_per_s * c.efficiency.kv_bandwidth : W;
  s.t_kv_s = b * double(d.context) * kv_bytes_token(m, d.kv) / (Y_chips * W_kv);
  // Communication that does not hide under the matmuls it feeds: two collectives per
  // layer (after attention and after the MLP), each exposed by t_ici - max(t_hbm, t_math).
  // A micro-batch meets every layer's collectives in its round.
  const int Y = d.tp_group();
  if (Y > 1) {
    const double tokens = b * tokens_per_seq;
    const auto t = tp_times(m, c, tokens, Y);
    s.t_comm_s = m.layers * 2.0 *
                 (c.collectives_overlap ? std::max(0.0, t.t_ici - std::max(t.t_hbm, t.t_math))
                                        : c.link_latency_s + ring_all_reduce_s(c, Y, tokens * 2.0 * m.d_model));
  }
  // A round passes a micro-batch's activations (bf16) from each stage to the next, P times.
  if (P > 1) {
    const double link = pipeline_link_bytes_per_s(c, d.chips);
    s.t_pp_s = link > 0 ? P * (c.link_latency_s + b * tokens_per_seq * 2.0 * m.d_model / link) : 0.0;
  }
  s.t_overhead_s = m.layers * c.efficiency.layer_overhead_s;
  const double curve = decode_curve_ratio(c, d.weights, b * tokens_per_seq);
  // Each tick is a stage's max; the P ticks sum to the max of the round's totals. Fewer
  // micro-batches than stages leave stages idle (the decode bubble), not the round shorter.
  const double memory_and_math = d.overlap_kv ? std::max(s.t_flops_s * curve, s.t_param_s * curve + s.t_kv_s)
                                              : std::max(s.t_flops_s, s.t_param_s) * curve + s.t_kv_s;
  s.total_s = memory_and_math + s.t_comm_s + s.t_pp_s + s.t_overhead_s;
  return s;
}

StepTime decode_iteration(const ModelSpec& m, const ChipSpec& c, const Deployment& d) {
  if (!d.speculation) return decode_step(m, c, d);
  const Speculation& sp = *d.speculation;
  const double g = sp.draft_len;
  const StepTime draft = decode_step(sp.drafter, c, d);
  StepTime s = decode_step(m, c, d, sp.draft_len + 1);
  s.t_param_s += g * draft.t_param_s;
  s.t_kv_s += g * draft.t_kv_s;
  s.t_flops_s += g * draft.t_flops_s;
  s.t_comm_s += g * draft.t_comm_s;
  s.t_pp_s += g * draft.t_pp_s;
  s.t_overhead_s += g * draft.t_overhead_s;
  s.total_s += g * draft.total_s;
  s.tokens_per_seq = sp.expected_tokens();
  return s;
}

int useful_tp_degree(const ModelSpec& m, const ChipSpec& c, const Deployment& d) {
  if (c.link_bytes_per_s <= 0) return 1;
  // t_ici <= max(t_hbm, t_math)  <=>  Y <= max(F W_ici / (B W), F W_ici / C), where W_ici
  // itself depends on Y (the axes a torus group spans, a switch's domain): the largest Y
  // of the bound taken at its own W_ici (the book's Ymax = F x M_Y / 2200 on v5e).
  const double W = c.memory_bytes_per_s * c.efficiency.bandwidth;
  const double C = c.peak_ops(Dtype::bf16) * c.efficiency.decode_matmul;
  const double F = m.d_ff, B = double(std::max<std::int64_t>(d.batch, 1));
  // W_ici is constant between the breaks: powers of two (the torus axes a group spans)
  // and a switch's domain. Per stretch (lo, hi], the bound at its W_ici, within it.
  std::vector<std::int64_t> breaks;
  for (std::int64_t y = 1; y <= kMostChips; y *= 2) breaks.push_back(y);
  if (c.link_domain > 1) breaks.push_back(c.link_domain);
  std::sort(breaks.begin(), breaks.end());
  std::int64_t best = 1;
  for (std::size_t i = 1; i < breaks.size(); ++i) {
    const std::int64_t lo = breaks[i - 1], hi = breaks[i];
    if (hi == lo) continue;
    const double W_ici = ici_bytes_per_s(c, int(hi));
    const double bound = std::floor(std::max(F * W_ici / (B * W), F * W_ici / C));
    if (bound > double(lo)) best = std::max(best, std::min(hi, count_of(bound, 1, kMostChips)));
  }
  return int(best);
}

namespace {

double model_prefill_s_per_token(const ModelSpec& m, const ChipSpec& c, const Deployment& d) {
  const double math = 2.0 * m.active_params() / (d.chips * compute_ops_per_s(c, d.weights) * c.efficiency.prefill_mfu);
  // Expert parallelism: a token's two all-to-alls an expert layer, bandwidth alone (a
  // chunk's tokens share the latency).
  if (d.ep() > 1 && m.experts > 0)
    return math + m.layers * 2.0 * std::max(0.0, all_to_all_s(m, c, d.chips, 1.0) - c.link_latency_s);
  const int Y = d.tp_group();
  if (c.collectives_overlap || Y <= 1) return math;
  // Collectives between the matmuls: each token's activations (bf16) all-reduced twice a
  // layer of its stage, the P stages at work on other tokens meanwhile.
  return math + double(m.layers) / d.pp() * 2.0 * ring_all_reduce_s(c, Y, 2.0 * m.d_model);
}

}  // namespace

double prefill_s_per_token(const ModelSpec& m, const ChipSpec& c, const Deployment& d) {
  // A drafter prefills the prompt too: its KV cache is built from it.
  return model_prefill_s_per_token(m, c, d) +
         (d.speculation ? model_prefill_s_per_token(d.speculation->drafter, c, d) : 0.0);
}

void check_parallelism(const ModelSpec& m, const Deployment& d) {
  const int ep = d.ep();
  if (ep > 1) {
    if (m.experts == 0) throw Error(fmt::format("--ep {}: {} has no experts to spread", ep, m.name));
    if (ep != d.chips) throw Error(fmt::format("--ep {} must be the {} chips: experts spread over every chip", ep, d.chips));
    if (m.experts % ep != 0) throw Error(fmt::format("--ep {} does not divide {}'s {} experts", ep, m.name, m.experts));
    if (d.pp() > 1) throw Error("--ep and --pp together are not modelled: experts spread over every chip of one stage");
    if (d.tp_degree > 1) throw Error("--ep and --tp together are not modelled: attention is data-parallel under --ep");
  }
  const int P = d.pp();
  if (P == 1) return;
  if (d.chips % P != 0) throw Error(fmt::format("--pp {} does not divide the {} chips", P, d.chips));
  if (P > m.layers) throw Error(fmt::format("--pp {} is more stages than {}'s {} layers", P, m.name, m.layers));
  if (d.tp_degree > 0 && d.tp_degree * P != d.chips)
    throw Error(fmt::format("--tp {} x --pp {} is not the {} chips", d.tp_degree, P, d.chips));
}

std::vector<int> pipeline_options(const ModelSpec& m, const Deployment& d, int chips) {
  if (d.pp_degree > 0) return chips % d.pp_degree == 0 ? std::vector<int>{d.pp_degree} : std::vector<int>{};
  std::vector<int> out;
  for (int P = 1; P <= chips && P <= m.layers; P *= 2) {
    if (chips % P != 0) break;
    if (d.tp_degree > 0 && d.tp_degree * P != chips) continue;
    out.push_back(P);
  }
  return out;
}

std::vector<int> expert_options(const ModelSpec& m, const Deployment& d, int chips) {
  if (d.ep_degree > 0)
    return d.ep_degree == 1 || (d.ep_degree == chips && m.experts % chips == 0) ? std::vector<int>{d.ep_degree}
                                                                               : std::vector<int>{};
  if (chips > 1 && m.experts > 0 && m.experts % chips == 0 && d.tp_degree <= 1) return {1, chips};
  return {1};
}

ServingEstimate estimate(const ModelSpec& m, const ChipSpec& c, const Deployment& d) {
  ServingEstimate e;
  e.model = m.name;
  e.chip = c.name;
  e.deployment = d;
  e.param_bytes = held_weight_bytes(m, d);
  e.kv_bytes_per_token = held_kv_bytes_token(m, d);
  if (d.speculation) {
    e.drafter_param_bytes = param_bytes(d.speculation->drafter, d.weights);
    e.drafter_kv_bytes_per_token = kv_bytes_token(d.speculation->drafter, d.kv);
  }
  e.kv_bytes_per_seq = e.kv_bytes_per_token * double(d.context);
  e.min_chips = count_of(std::ceil(e.param_bytes / c.memory_bytes), 1, kMostChips + 1);
  if (!c.topologies.empty() && e.min_chips <= c.topologies.back()) e.min_chips = round_up_topology(c, e.min_chips);
  e.max_batch = max_batch(m, c, d);
  e.critical_batch = critical_batch(c, d.weights);
  e.fits = e.max_batch >= d.batch && d.batch >= 1;

  const StepTime s = decode_iteration(m, c, d);
  const double E = s.tokens_per_seq;
  e.tokens_per_step = E;
  e.t_param_s = s.t_param_s;
  e.t_kv_s = s.t_kv_s;
  e.t_flops_s = s.t_flops_s;
  e.t_comm_s = s.t_comm_s;
  e.t_overhead_s = s.t_overhead_s;
  e.step_time_s = s.total_s;
  e.decode_tokens_per_s = double(d.batch) * E / e.step_time_s;
  e.decode_tokens_per_s_per_chip = e.decode_tokens_per_s / d.chips;
  e.decode_qps = e.decode_tokens_per_s / double(d.decode_len);

  const double s_per_token = prefill_s_per_token(m, c, d);
  e.t_prefill_s = s_per_token * double(d.prompt_len);
  // Served at full load: each request holds the chips for its prefill and its share of the
  // decode steps.
  // Over a request's decode its KV grows from the prompt to prompt + T_dec: the served steps
  // read the mean, prompt + T_dec / 2 (the specification's step reads the whole context,
  // the longest step).
  Deployment mean_kv = d;
  mean_kv.context = std::min<std::int64_t>(d.context, d.prompt_len + (d.decode_len + 1) / 2);
  e.served_step_s = decode_iteration(m, c, mean_kv).total_s;
  const double decode_share_s = double(d.decode_len) * e.served_step_s / (double(d.batch) * E);
  e.qps = 1.0 / (e.t_prefill_s + decode_share_s);
  e.tokens_per_s = e.qps * double(d.decode_len);
  e.tokens_per_s_per_chip = e.tokens_per_s / d.chips;
  e.prefill_share = e.t_prefill_s * e.qps;
  // usd_per_mtok = usd_per_s / tokens_per_s * 1e6, for the price and each of its parts.
  const auto per_mtok = [&](double usd_per_hour) { return usd_per_hour / 3600.0 / e.tokens_per_s * 1e6; };
  if (c.usd_per_hour) {
    e.usd_per_hour = d.chips * *c.usd_per_hour;
    e.usd_per_mtok = per_mtok(*e.usd_per_hour);
    e.decode_usd_per_mtok = *e.usd_per_hour / 3600.0 / e.decode_tokens_per_s * 1e6;
  }
  if (c.capital_usd_per_hour > 0 || c.power_usd_per_hour > 0) {
    e.capex_usd_per_hour = d.chips * c.capital_usd_per_hour;
    e.opex_usd_per_hour = d.chips * c.power_usd_per_hour;
    e.capex_usd_per_mtok = per_mtok(*e.capex_usd_per_hour);
    e.opex_usd_per_mtok = per_mtok(*e.opex_usd_per_hour);
    e.capital_usd = d.chips * c.purchase_usd;
  }

  e.prefill_decode_ratio = e.decode_qps * e.t_prefill_s;
  // A chunk carries at most the prompt: a 256-token prompt under an 8192-token budget is one
  // 256-token chunk.
  e.t_chunk_s = d.prefill_chunk > 0 ? s_per_token * double(std::min(d.prefill_chunk, d.prompt_len)) : 0.0;
  // One prompt's k chunks are its micro-batches through P stages: k + P - 1 chunk times
  // (GPipe), the pipeline's fill and drain idle, (P - 1) / (k + P - 1) of it.
  const int P = d.pp();
  const double chunks = d.prefill_chunk > 0 ? std::ceil(double(d.prompt_len) / double(d.prefill_chunk)) : 1.0;
  e.prefill_bubble = (P - 1.0) / (chunks + P - 1.0);
  e.decode_bubble = 1.0 - double(std::clamp<std::int64_t>(d.batch, 1, P)) / P;
  e.t_pp_s = s.t_pp_s;
  if (d.ep() > 1) {
    e.busiest_chip_experts = expected_busiest_chip_experts(m, double(d.batch), d.chips);
    e.experts_per_chip = m.experts / d.chips;
    e.t_all_to_all_s = m.layers * 2.0 * all_to_all_s(m, c, d.chips, double(d.batch));
  }
  e.prefill_wall_s = d.prefill_chunk > 0 ? chunks * e.step_time_s + (chunks + P - 1) * e.t_chunk_s
                                         : e.t_prefill_s * P;
  // Per output token: the step's share (E tokens a step) and the prompts a full batch
  // brings in over a request's T_dec tokens.
  e.tpot_aggregated_s = e.served_step_s / E + double(d.batch) * e.t_prefill_s / double(d.decode_len);
  e.ttft_aggregated_s = e.prefill_wall_s;
  const double kv_link = c.network_bytes_per_s > 0 ? c.network_bytes_per_s : c.link_bytes_per_s;
  e.t_kv_transfer_s = kv_link > 0 ? double(d.prompt_len) * e.kv_bytes_per_token / kv_link : 0.0;
  e.tpot_disaggregated_s = e.served_step_s / E;
  e.ttft_disaggregated_s = e.t_prefill_s * (chunks + P - 1) / chunks + e.t_kv_transfer_s;
  choose_serving_mode(e, {});

  if (d.tp_degree > d.chips)
    throw Error(fmt::format("--tp {} is more than the {} chips of the deployment", d.tp_degree, d.chips));
  check_parallelism(m, d);
  const int Y = d.tp_group();
  const auto tp = tp_times(m, c, double(d.batch), Y);
  e.t_ici_s = tp.t_ici;
  e.t_hbm_s = tp.t_hbm;
  e.t_math_s = tp.t_math;
  e.ici_bytes_per_s = tp.W_ici;
  e.comm_hidden = c.collectives_overlap && tp.t_ici <= std::max(tp.t_hbm, tp.t_math);
  e.useful_tp_degree = useful_tp_degree(m, c, d);
  e.splits_kv_heads = Y > m.kv_heads;
  return e;
}

SpeculativeEstimate speculative(const ModelSpec& verifier, const ChipSpec& c, const Deployment& d) {
  if (!d.speculation) throw Error("speculative: the deployment has no drafter");
  Deployment plain = d;
  plain.speculation.reset();
  SpeculativeEstimate s;
  const StepTime it = decode_iteration(verifier, c, d);
  s.expected_tokens = it.tokens_per_seq;
  s.t_iteration_s = it.total_s;
  s.t_plain_step_s = decode_step(verifier, c, plain).total_s;
  s.speedup = s.expected_tokens * s.t_plain_step_s / s.t_iteration_s;
  s.max_batch = max_batch(verifier, c, d);
  s.plain_max_batch = max_batch(verifier, c, plain);
  return s;
}

int chips_needed(const ModelSpec& m, const ChipSpec& c, Deployment d, std::int64_t batch) {
  std::vector<int> candidates = c.topologies;
  if (candidates.empty())
    for (int n = 1; n <= 4096; n *= 2) candidates.push_back(n);
  for (int n : candidates) {
    d.chips = n;
    if (max_batch(m, c, d) >= batch) return n;
  }
  const double per_chip = d.usable * c.memory_bytes;
  const auto needed = count_of(
      std::ceil((held_weight_bytes(m, d) + double(batch) * held_kv_bytes_token(m, d) * double(d.context)) / per_chip), 1,
      kMostChips + 1);
  throw Error(fmt::format("does not fit: {} needs {} chips of {}, more than its largest topology ({})", m.name, needed,
                          c.name, candidates.back()));
}

namespace {

// The largest latency / its limit (<= 1: every objective met; 0 without objectives).
double latency_ratio(double tpot_s, double ttft_s, const LatencyObjectives& o) {
  double r = 0;
  if (o.tpot_s) r = std::max(r, tpot_s / *o.tpot_s);
  if (o.ttft_s) r = std::max(r, ttft_s / *o.ttft_s);
  return r;
}

}  // namespace

double prompt_tokens_per_step(const ServingEstimate& e) {
  const auto& d = e.deployment;
  return double(d.batch) * double(d.prompt_len) * e.tokens_per_step / double(d.decode_len);
}

bool chunk_too_small(const ServingEstimate& e) {
  return e.deployment.prefill_chunk > 0 && prompt_tokens_per_step(e) > double(e.deployment.prefill_chunk);
}

void choose_serving_mode(ServingEstimate& e, const LatencyObjectives& o) {
  const double aggregated = latency_ratio(e.tpot_aggregated_s, e.ttft_aggregated_s, o);
  const double disaggregated = latency_ratio(e.tpot_disaggregated_s, e.ttft_disaggregated_s, o);
  // Equal in cost: one pool and no KV to send unless only a prefill pool meets the
  // objectives (or, none meeting them, comes nearer).
  // A chunk too small for the prompts a full batch needs each step leaves only the pool.
  const bool pool = chunk_too_small(e) || (aggregated > 1 && disaggregated < aggregated);
  e.serving_mode = pool ? "disaggregated" : "aggregated";
  e.tpot_s = pool ? e.tpot_disaggregated_s : e.tpot_aggregated_s;
  e.ttft_s = pool ? e.ttft_disaggregated_s : e.ttft_aggregated_s;
}

void check_objectives(ServingEstimate& e, const LatencyObjectives& o) {
  choose_serving_mode(e, o);
  e.misses.clear();
  e.slo_met.reset();
  if (!o.any()) return;
  if (o.tpot_s && e.tpot_s > *o.tpot_s) e.misses.push_back({"tpot", *o.tpot_s, e.tpot_s});
  if (o.ttft_s && e.ttft_s > *o.ttft_s) e.misses.push_back({"ttft", *o.ttft_s, e.ttft_s});
  e.slo_met = e.misses.empty();
}

double objective_ratio(const ServingEstimate& e, const LatencyObjectives& o) {
  return latency_ratio(e.tpot_s, e.ttft_s, o);
}

namespace {

double cost_key(const ServingEstimate& x) { return x.usd_per_mtok ? *x.usd_per_mtok : 1.0 / x.tokens_per_s_per_chip; }

}  // namespace

ServingEstimate largest_batch_meeting(const ModelSpec& m, const ChipSpec& c, Deployment d, const LatencyObjectives& o) {
  const std::int64_t fit = max_batch(m, c, d);
  std::int64_t lo = 1, hi = std::max<std::int64_t>(fit, 1);
  d.batch = 1;
  ServingEstimate at = estimate(m, c, d);
  check_objectives(at, o);
  if (!*at.slo_met) return at;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo + 1) / 2;
    d.batch = mid;
    ServingEstimate e = estimate(m, c, d);
    check_objectives(e, o);
    if (*e.slo_met) {
      lo = mid;
      at = e;
    } else {
      hi = mid - 1;
    }
  }
  return at;
}

std::optional<ServingEstimate> cheapest_configuration(const ModelSpec& m, const ChipSpec& c,
                                                      const std::vector<Deployment>& bases, std::int64_t batch,
                                                      const LatencyObjectives& objectives, int only_chips) {
  std::optional<ServingEstimate> best, closest;
  const int reach = objectives.any() ? 64 : 4;  // how far past the smallest fitting count to look
  for (const Deployment& base : bases) {
    Deployment d = base;
    int first = 0;
    try {
      first = only_chips > 0 ? only_chips : chips_needed(m, c, d, std::max<std::int64_t>(batch, 1));
    } catch (const Error&) {
      continue;
    }
    std::vector<int> counts = c.topologies;
    if (only_chips > 0) counts = {only_chips};
    else if (counts.empty())
      for (std::int64_t n = first; n <= std::int64_t(reach) * first && n <= kMostChips; n *= 2) counts.push_back(int(n));
    struct Split {
      int chips, stages, experts;
    };
    std::vector<Split> options;
    for (int n : counts) {
      if (n < first || std::int64_t(n) > std::int64_t(reach) * first) continue;
      for (int P : pipeline_options(m, base, n))
        for (int ep : expert_options(m, base, n))
          if (P == 1 || ep == 1) options.push_back({n, P, ep});
    }
    for (const auto& [n, P, ep] : options) {
      d.chips = n;
      d.pp_degree = P;
      d.ep_degree = ep;
      const std::int64_t fit = max_batch(m, c, d);
      if (fit < 1 || (batch >= 0 && batch > fit)) continue;
      ServingEstimate e;
      if (batch < 0 && objectives.any()) {
        e = largest_batch_meeting(m, c, d, objectives);
      } else {
        d.batch = batch < 0 ? fit : batch;
        e = estimate(m, c, d);
        check_objectives(e, objectives);
      }
      if (e.slo_met.value_or(true)) {
        if (!best || cost_key(e) < cost_key(*best)) best = e;
      } else if (!closest || objective_ratio(e, objectives) < objective_ratio(*closest, objectives)) {
        closest = e;
      }
    }
  }
  return best ? best : closest;
}

void rank_estimates(std::vector<ServingEstimate>& rows, const LatencyObjectives& objectives) {
  std::stable_sort(rows.begin(), rows.end(), [&](const ServingEstimate& a, const ServingEstimate& b) {
    const bool ma = a.slo_met.value_or(true), mb = b.slo_met.value_or(true);
    if (ma != mb) return ma;
    if (!ma) return objective_ratio(a, objectives) < objective_ratio(b, objectives);
    if (a.usd_per_mtok.has_value() != b.usd_per_mtok.has_value()) return a.usd_per_mtok.has_value();
    if (a.usd_per_mtok) return *a.usd_per_mtok < *b.usd_per_mtok;
    return a.tokens_per_s_per_chip > b.tokens_per_s_per_chip;
  });
}

std::vector<ServingEstimate> batch_frontier(const ModelSpec& m, const ChipSpec& c, Deployment d,
                                            const LatencyObjectives& objectives) {
  const std::int64_t top = max_batch(m, c, d);
  if (top < 1) return {};
  std::vector<std::int64_t> batches;
  for (std::int64_t b = 1; b < top; b *= 2) batches.push_back(b);
  batches.push_back(top);
  std::vector<ServingEstimate> points;
  for (std::int64_t b : batches) {
    d.batch = b;
    points.push_back(estimate(m, c, d));
    check_objectives(points.back(), objectives);
  }
  // Sorted by step time (it grows with the batch); a point stays if it is cheaper (or,
  // unpriced, more productive per chip) than every faster point.
  std::vector<ServingEstimate> frontier;
  double best = std::numeric_limits<double>::infinity();
  for (const auto& p : points) {
    const double cost = p.usd_per_mtok ? *p.usd_per_mtok : 1.0 / p.tokens_per_s_per_chip;
    if (cost < best) {
      frontier.push_back(p);
      best = cost;
    }
  }
  return frontier;
}

}  // namespace roofaudit::calibrate
