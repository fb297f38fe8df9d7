#pragma once
// The serving-cost model of ../shared/serving-model.md: memory fit, batch limits, decode
// step time, throughput and cost, prefill, disaggregation, chunked prefill, tensor-
// parallel limits and speculative decoding. Pure computation; names follow the spec.
#include <cstdint>
#include <optional>
#include <vector>

#include "calibrate/serving_types.hpp"

namespace roofaudit::calibrate {

// Bytes of the weights and of one token's KV cache.
double param_bytes(const ModelSpec& m, Dtype weights);
double kv_bytes_token(const ModelSpec& m, Dtype kv);
// MoE: the experts per layer that `tokens` tokens reach, E (1 - (1 - k/E)^tokens) under
// uniform routing (k at one token, towards E as the batch grows); 0 for a dense model.
double expected_experts_touched(const ModelSpec& m, double tokens);
// Expert parallelism over `chips`: the expected largest number of experts any one chip's
// E / chips reach with `tokens` tokens, each expert reached independently with probability
// expected_experts_touched / E: E[max] = sum_j (1 - F(j - 1)^chips), F the binomial CDF
// over a chip's experts. One chip: expected_experts_touched.
double expected_busiest_chip_experts(const ModelSpec& m, double tokens, int chips);
// One expert-parallel all-to-all of `tokens` tokens over the deployment's chips: each chip
// sends its tokens' activations (bf16) to their k experts, (N - 1) / N of them elsewhere, at
// W_ici / 2 a direction, plus the link's latency.
double all_to_all_s(const ModelSpec& m, const ChipSpec& c, int chips, double tokens);
// The weight bytes one decode step reads: every weight of a dense model; of an MoE, all but
// the experts the step's tokens leave untouched.
double step_weight_bytes(const ModelSpec& m, Dtype weights, double tokens);

// The KV cache's dtype beside these weights when none is given: the weights' own, but an
// 8-bit cache beside 4-bit weights (int8 beside int4, fp8 beside fp4), as engines keep it.
Dtype default_kv_dtype(Dtype weights);

// The matmul rate decode uses for these weights: the weights' own dtype where the chip
// has a path for it, else bf16 (dequantized); int4 always at bf16's (weight-only).
double compute_ops_per_s(const ChipSpec& c, Dtype weights);

// The achieved fractions of memory bandwidth and matmul peak for these weights: the
// dtype's measured figure where there is one, else the chip-wide one.
double bandwidth_efficiency(const ChipSpec& c, Dtype weights);
double matmul_efficiency(const ChipSpec& c, Dtype weights);
// The measured decode curve's ratio at `batch` sequences (1 where none was measured).
double decode_curve_ratio(const ChipSpec& c, Dtype weights, double batch);

// Smallest legal topology with at least n chips; throws Error when the chip has none.
int round_up_topology(const ChipSpec& c, std::int64_t n);
bool is_legal_topology(const ChipSpec& c, int n);

// min_chips = ceil(param_bytes / HBM), rounded up to a legal topology.
int min_chips(const ModelSpec& m, const ChipSpec& c, Dtype weights);
// max_batch = floor((u * N * HBM - param_bytes) / kv_bytes_seq); negative when the
// weights alone do not fit.
std::int64_t max_batch(const ModelSpec& m, const ChipSpec& c, const Deployment& d);
// critical_batch = C * bytes_w / (2 * W): the batch where a decode step turns compute-bound.
double critical_batch(const ChipSpec& c, Dtype weights);
// Shortest possible decode step on a full chip: HBM / W.
double min_step_time_s(const ChipSpec& c);

// A drafter for the verifier: g tokens drafted a step, each accepted with probability a.
// Throws Error when g < 1, a is outside [0, 1), or the two models' vocabularies differ (the
// verifier scores the drafter's token ids: another tokenizer's ids mean other tokens).
Speculation make_speculation(const ModelSpec& verifier, const ModelSpec& drafter, int g, double a);

// What the deployment's chips hold: the model's weights (and a drafter's), and the KV bytes
// a token takes in the model's cache (and in the drafter's).
double held_weight_bytes(const ModelSpec& m, const Deployment& d);
double held_kv_bytes_token(const ModelSpec& m, const Deployment& d);

struct StepTime {
  double t_param_s = 0, t_kv_s = 0, t_flops_s = 0, t_comm_s = 0, t_overhead_s = 0;
  double t_pp_s = 0;  // pipeline stages' sends
  double total_s = 0;
  double tokens_per_seq = 1;  // output tokens the step yields per sequence (expected)
};
// One decode step: `tokens_per_seq` tokens for each of B sequences (1 for plain decode,
// g + 1 when verifying a draft). Parameter and KV bytes are read once per step. Over P
// pipeline stages the step is a round: m = min(B, P) micro-batches of B / m sequences each
// pass the P stages, so each stage of Y = N / P chips reads its weights m times and a round
// takes the weights over Y chips' bandwidth, the micro-batch's math over Y chips, and the
// P sends between stages.
StepTime decode_step(const ModelSpec& m, const ChipSpec& c, const Deployment& d, int tokens_per_seq = 1);
// One step of the deployment: decode_step, or with speculation the drafter's g steps and
// the verifier's pass over g + 1 tokens (each part summed), yielding expected_tokens.
StepTime decode_iteration(const ModelSpec& m, const ChipSpec& c, const Deployment& d);

// Throws Error for pipeline stages that do not divide the chips, outnumber the layers, or
// with the tensor-parallel degree do not make the chips; and for expert parallelism on a
// dense model, over other than every chip, over chips that do not divide the experts, or
// beside pipeline stages.
void check_parallelism(const ModelSpec& m, const Deployment& d);
// The pipeline depths to try on `chips` chips: the deployment's own where it fixes one (none
// where it does not divide them); where it is free, 1 and each power of two dividing the
// chips, up to the layers (and, with a tensor-parallel degree fixed, the one they make).
std::vector<int> pipeline_options(const ModelSpec& m, const Deployment& d, int chips);
// The expert-parallel degrees to try on `chips` chips: the deployment's own (where legal);
// where free, 1 and, for an MoE whose experts the chips divide, every chip.
std::vector<int> expert_options(const ModelSpec& m, const Deployment& d, int chips);

// Everything for one deployment. Does not throw for a deployment that does not fit:
// `fits` says so and max_batch tells by how much.
ServingEstimate estimate(const ModelSpec& m, const ChipSpec& c, const Deployment& d);

// Prefill per prompt token, compute bound: 2 P_active / (N C mfu) (t_prefill = this x S_p,
// t_chunk = this x c): the chips' time per token with the pipeline full.
// The stage-to-stage link: within a switch's domain its links, past it the network.
double pipeline_link_bytes_per_s(const ChipSpec& c, int chips);
double prefill_s_per_token(const ModelSpec& m, const ChipSpec& c, const Deployment& d);
// Tensor parallelism over Y chips: the largest Y whose per-matmul communication hides
// under the larger of its memory and compute time.
int useful_tp_degree(const ModelSpec& m, const ChipSpec& c, const Deployment& d);
// W_ici for a tensor-parallel group of Y chips: the bandwidth its ring collectives see
// (both directions of each link, times the torus axes the group spans; see
// ChipSpec::link_topology). 0 where the chip has no link.
double ici_bytes_per_s(const ChipSpec& c, int Y);
// A ring all-reduce of `bytes` over Y chips by bandwidth alone (no latency term): each chip
// sends and receives 2 (Y - 1) / Y of them at W_ici / 2 a direction. 0 for one chip.
double ring_all_reduce_s(const ChipSpec& c, int Y, double bytes);
// The torus axes a group of Y chips spans on a torus of `axes` dimensions: a 2x2 or 4x4
// slice two, a 2x2x2 three, a pair one.
int torus_axes_spanned(int Y, int axes);

struct SpeculativeEstimate {
  double expected_tokens = 0;   // per verifier step
  double t_iteration_s = 0;
  double t_plain_step_s = 0;    // the verifier alone
  double speedup = 0;
  std::int64_t max_batch = 0, plain_max_batch = 0;  // with the drafter's weights and KV, and without
};
// The deployment's speculation (d.speculation must be set) against the verifier alone at the
// same batch and chips.
SpeculativeEstimate speculative(const ModelSpec& verifier, const ChipSpec& c, const Deployment& d);

// Smallest legal chip count (powers of two where the chip lists no topologies) whose
// memory holds the weights and `batch` sequences of KV; throws Error "does not fit".
int chips_needed(const ModelSpec& m, const ChipSpec& c, Deployment d, std::int64_t batch);

// Chunked into the steps, a full batch needs B S_p E / T_dec prompt tokens each step (E
// tokens a step); a chunk smaller than that cannot keep the batch full.
double prompt_tokens_per_step(const ServingEstimate& e);
bool chunk_too_small(const ServingEstimate& e);

// Chooses how prefill is served (ServingEstimate::serving_mode) against the objectives and
// sets tpot_s and ttft_s from it.
void choose_serving_mode(ServingEstimate& e, const LatencyObjectives& o);
// Chooses the serving mode, then sets e.slo_met and e.misses against the objectives (nothing when there are none).
void check_objectives(ServingEstimate& e, const LatencyObjectives& o);
// How far the configuration is from its objectives: the largest value / limit (<= 1: met).
double objective_ratio(const ServingEstimate& e, const LatencyObjectives& o);
// The deployment at the largest batch that fits and meets the objectives (the step and the
// chunked prefill grow with the batch); at batch 1, failing them, where none does.
ServingEstimate largest_batch_meeting(const ModelSpec& m, const ChipSpec& c, Deployment d, const LatencyObjectives& o);

// The cheapest fitting configuration of the model on the chip: over the given base
// deployments (one per weight dtype, say) and chip counts from the smallest that fits
// up to 4x it (more chips pay off when the KV cache, not the weights, limits the batch),
// by USD per 1M tokens (tokens/s per chip when unpriced). batch < 0: the largest that
// fits each configuration. Empty when nothing fits.
//
// With objectives: the cheapest configuration that meets them, over chip counts up to 64x
// the smallest (a larger group cuts the step) and, where the batch is free, the largest
// batch that still meets them; where none does, the one closest to them (by
// objective_ratio), with slo_met false and what it misses.
//
// Each chip count is tried at every pipeline depth pipeline_options allows (tensor-parallel
// over the rest) and, for an MoE, with its experts spread (expert_options). only_chips > 0:
// that count alone.
std::optional<ServingEstimate> cheapest_configuration(const ModelSpec& m, const ChipSpec& c,
                                                      const std::vector<Deployment>& bases, std::int64_t batch,
                                                      const LatencyObjectives& objectives = {}, int only_chips = 0);

// Batch sizes 1, 2, 4, ... up to max_batch (and max_batch itself), keeping only the
// Pareto-efficient points of (step time, USD per 1M tokens) - or of (step time,
// tokens/s per chip) when the chip has no price.
// Those meeting the objectives first (cheapest first; unpriced after priced, by tokens/s per
// chip), then those missing them (nearest first).
void rank_estimates(std::vector<ServingEstimate>& rows, const LatencyObjectives& objectives);

// Each point checked against the objectives.
std::vector<ServingEstimate> batch_frontier(const ModelSpec& m, const ChipSpec& c, Deployment d,
                                            const LatencyObjectives& objectives = {});

}  // namespace roofaudit::calibrate
