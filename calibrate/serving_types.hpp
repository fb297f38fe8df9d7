#pragma once
// Value types of the serving model (../shared/serving-model.md): a chip, a model, a
// deployment, and what the model predicts for them. Plain data; the logic lives in
// serving.cpp (the model), catalog.cpp (catalogues, chip and config files) and
// local_chip.cpp (measured devices).
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace roofaudit::calibrate {

// Appended only: stored runs and chip files name dtypes by their names, never by number.
enum class Dtype { fp32, bf16, fp16, fp8, int8, int4, fp4 };

double bytes_per_element(Dtype d);
std::string dtype_name(Dtype d);
// Throws Error for an unknown name (lists the known ones).
Dtype parse_dtype(const std::string& name);

// Where a figure came from: a spec sheet (with its source) or a measurement (run/probe).
struct Provenance {
  // "spec" (a datasheet, or the provenance a chip file states), "measured" (a run and its
  // probe), "fitted" (solved from measurements: the layer overhead), "assumed" (a stated
  // default: the link, the MFU), "given" (an option or a price file), "owned" (from a
  // purchase price and power), "default" (the default owned cost), "catalogue" (the device
  // catalogue's figure for a known board, with its source and date), "kernel" (measured,
  // but by a kernel far below the device's own ceiling: the kernel's figure, not the
  // machine's).
  std::string kind = "spec";
  std::string source;
};

// Fractions of the ideal the chip reaches per regime, plus a fixed cost per layer.
// All 1 and 0 reproduce the idealised roofline of the book; measured devices fill them.
struct Efficiency {
  double bandwidth = 1.0;       // achieved / peak memory bandwidth when streaming weights
  double decode_matmul = 1.0;   // achieved / peak matmul rate at decode shapes
  double prefill_mfu = 0.4;     // model FLOP utilisation during prefill
  double layer_overhead_s = 0;  // fixed time per layer per step (launches, norms, sync)
  // Measured devices: per weight dtype where it was measured (the decode sweep streams
  // int8 and bf16 weights at different fractions of the bandwidth); others use the above.
  std::map<Dtype, double> bandwidth_by_dtype;
  std::map<Dtype, double> matmul_by_dtype;
  // Measured decode sweeps: (batch, measured step / max(t_flops, t_param)) per weight
  // dtype, ascending in batch. Near the knee neither bound holds alone and the step is
  // slower than both; the weights' term is scaled by this ratio, interpolated in log B
  // (1 outside the sweep's range, and where nothing was measured).
  std::map<Dtype, std::vector<std::pair<double, double>>> decode_curve;
  // Achieved / peak memory bandwidth when attention reads the KV cache (0: as the
  // weights). On CPUs attention is bound by arithmetic well before memory.
  double kv_bandwidth = 0;
};

// One measured memory level of a device: read bandwidth over a working-set range.
struct MemoryLevel {
  std::string level;  // "L1", ..., "DRAM"
  double bytes_per_s = 0;
  double from_bytes = 0, to_bytes = 0;
};

struct ChipSpec {
  std::string name;          // catalogue key, e.g. "tpu-v5e"
  std::string display_name;
  std::string kind;          // "tpu", "gpu", "cpu"
  // Dense peak matmul rate per compute dtype: FLOP/s for the float types, OP/s for int8
  // and int4. (In chip files and stored JSON: "flops_per_s".)
  std::map<Dtype, double> peak_ops_per_s;
  // Memory per chip, and its bandwidth: HBM on a TPU or GPU, DRAM on a CPU. (In chip files
  // and stored JSON: "hbm_bytes", "hbm_bytes_per_s".)
  double memory_bytes = 0;
  double memory_bytes_per_s = 0;
  double link_bytes_per_s = 0;          // chip-to-chip, per direction (0: unknown)
  double link_latency_s = 0;            // per collective, the alpha of t_ici = alpha + bytes / W_ici
                                        // (0: not modelled, as for catalogue chips)
  // How the tensor-parallel collective sees the links (ici_bytes_per_s gives its W_ici):
  //   "torus"      link_bytes_per_s per link and direction; a group spans up to link_axes
  //                axes of the torus, each with links both ways (TPU ICI: v5e 2, v5p 3);
  //   "switch"     link_bytes_per_s per chip and direction into a switch (NVLink), both
  //                ways, within link_domain chips; past them, network_bytes_per_s;
  //   "network"    one full-duplex link per chip (PCIe, Ethernet), both ways;
  //   "collective" link_bytes_per_s is a collective's own measured bus bandwidth (link.mpi).
  std::string link_topology = "network";
  // Whether a tensor-parallel collective hides under the matmuls beside it (the book's TPU
  // model: only what exceeds them is exposed), or runs between them, as NCCL's all-reduces
  // do in GPU engines: then each is exposed whole, link_latency_s + bytes / W_ici.
  bool collectives_overlap = true;
  int link_axes = 1;
  int link_domain = 0;              // "switch": chips on one switch (0: every chip)
  double network_bytes_per_s = 0;   // "switch": per chip and direction past the domain
  std::optional<double> usd_per_hour;   // per chip
  // Owned hardware: the price split into capital (purchase over its paid hours) and power,
  // per chip and hour, and the purchase itself (all 0 for a rented chip).
  double purchase_usd = 0, capital_usd_per_hour = 0, power_usd_per_hour = 0;
  // A board's published purchase price and rated power (catalogue GPUs; 0: not sold, as TPUs
  // are not), from which --owned prices the chip as owned hardware.
  double list_purchase_usd = 0, board_watts = 0;
  std::vector<int> topologies;          // legal chip counts, ascending; empty: any
  Efficiency efficiency;
  std::map<std::string, Provenance> provenance;  // per figure: "flops", "hbm", "price", ...
  // Measured devices only: read bandwidth per memory level (the last is memory_bytes_per_s)
  // and the measured matmul rate per dtype (GEMM), beside the peaks above.
  std::vector<MemoryLevel> memory_levels;
  std::map<Dtype, double> matmul_ops_per_s;

  // The peak rate for a dtype: its own entry, else bf16's (no faster path).
  double peak_ops(Dtype d) const;
};

struct ModelSpec {
  std::string name;
  int layers = 0;          // L
  int d_model = 0;         // D
  int d_ff = 0;            // F
  int q_heads = 0;         // N_q
  int kv_heads = 0;        // K
  int head_dim = 0;        // H
  int vocab = 0;           // V
  bool tied_embeddings = false;
  int experts = 0;         // 0: dense
  int active_experts = 0;

  double expert_params() const;  // one expert's MLP (SwiGLU: gate, up, down): 3 D F
  double total_params() const;   // P, derived
  double active_params() const;  // P_active: the experts a token uses
};

// Latency objectives a configuration must meet; none given, every configuration does.
struct LatencyObjectives {
  std::optional<double> tpot_s;  // time per output token: the decode step
  std::optional<double> ttft_s;  // time to first token: the prefill, chunked where the deployment chunks it
  bool any() const { return tpot_s.has_value() || ttft_s.has_value(); }
};

// A bound a configuration misses: "tpot" or "ttft", the limit and what it gets.
struct ObjectiveMiss {
  std::string bound;
  double limit_s = 0, value_s = 0;
};

// Speculative decoding: a drafter proposes g tokens a step, the verifier checks all g + 1
// positions in one pass, and each drafted token is accepted with probability a (until the
// first rejection). Both models live on the deployment's chips, with their weights and
// their KV caches; a step then yields (1 - a^(g+1)) / (1 - a) tokens per sequence.
struct Speculation {
  ModelSpec drafter;
  int draft_len = 4;        // g
  double acceptance = 0.8;  // a
  double expected_tokens() const;
};

struct Deployment {
  int chips = 1;                 // N
  Dtype weights = Dtype::bf16;
  Dtype kv = Dtype::bf16;
  std::int64_t context = 8192;   // S
  std::int64_t batch = 1;        // B
  std::int64_t decode_len = 512;   // T_dec
  std::int64_t prompt_len = 8192;  // S_p
  double usable = 0.9;           // u
  std::int64_t prefill_chunk = 512;  // c
  int tp_degree = 0;             // Y for the tensor-parallel check (0: chips / P)
  // P: pipeline stages, each holding L / P layers on N / P chips (tensor-parallel within a
  // stage). Decode keeps min(B, P) micro-batches in flight; a prompt's chunks are its
  // micro-batches. 0: free, for the configuration search to choose (1 elsewhere).
  int pp_degree = 1;
  // Expert parallelism over every chip (E: MoE models only): each chip holds E / N whole
  // experts and the attention and other weights entire, serving B / N of the sequences
  // (attention data-parallel); each expert layer sends the tokens to their experts and back,
  // two all-to-alls. 1: experts split tensor-parallel like the rest. 0: free, as pp_degree.
  int ep_degree = 1;
  // The KV read overlaps the matmuls (t_step = max(t_flops, t_param + t_kv)), as the book's
  // cost tables take it (attention of one micro-batch beside the matmuls of another);
  // false: the specification's max(t_flops, t_param) + t_kv, attention after the matmuls.
  bool overlap_kv = false;
  std::optional<Speculation> speculation;  // empty: one token per sequence a step

  int pp() const { return pp_degree > 0 ? pp_degree : 1; }
  int ep() const { return ep_degree > 0 ? ep_degree : 1; }
  // Y: the tensor-parallel group (tp_degree, else every chip of a stage).
  int tp_group() const { return tp_degree > 0 ? tp_degree : std::max(chips / pp(), 1); }
};

// The prompt a request brings when none is given: what its decoded tokens leave of the
// context (at least one token).
inline std::int64_t default_prompt_len(std::int64_t context, std::int64_t decode_len) {
  return context - decode_len > 1 ? context - decode_len : 1;
}

struct ServingEstimate {
  std::string model, chip;
  Deployment deployment;
  // What the chips hold: the verifier's weights and KV, and a drafter's beside them.
  double param_bytes = 0;
  double kv_bytes_per_token = 0;
  double drafter_param_bytes = 0, drafter_kv_bytes_per_token = 0;
  double kv_bytes_per_seq = 0;
  std::int64_t min_chips = 0;
  std::int64_t max_batch = 0;
  double critical_batch = 0;
  bool fits = false;
  double t_param_s = 0, t_kv_s = 0, t_flops_s = 0, t_comm_s = 0, t_overhead_s = 0;
  double step_time_s = 0;
  // Output tokens a step yields per sequence: 1, or a speculative step's expected tokens
  // (its step_time_s then the drafter's g steps and the verifier's pass over g + 1).
  double tokens_per_step = 1;
  // The headline: served at full load, prefill included. Per request the deployment's chips
  // spend its prefill, S_p x 2 P_active / (N C mfu), and its share of the decode steps,
  // T_dec x t_step / (B E) (the step at the mean KV length, served_step_s; E tokens a step,
  // tokens_per_step); so qps = 1 / (t_prefill + T_dec t_step / (B E)) per N chips, and
  // tokens_per_s = qps x T_dec output tokens. Prefill on the same chips (chunked into the
  // steps) and on a pool of its own cost the same chip-seconds; the modes differ in what a
  // user waits (serving_mode, tpot_s, ttft_s below).
  double tokens_per_s = 0, tokens_per_s_per_chip = 0, qps = 0;
  std::optional<double> usd_per_hour, usd_per_mtok;
  // Decode alone, the specification's figures (the book's tables): B E / t_step.
  double decode_tokens_per_s = 0, decode_tokens_per_s_per_chip = 0, decode_qps = 0;
  std::optional<double> decode_usd_per_mtok;
  double prefill_share = 0;  // of the chips' time, spent on prefill at full load
  double served_step_s = 0;  // the decode step at the mean KV length, prompt + T_dec / 2
  // Owned chips: usd_per_hour as capital and power, per hour and per 1M tokens, and the
  // hardware's purchase price (empty for rented chips).
  std::optional<double> capex_usd_per_hour, opex_usd_per_hour, capex_usd_per_mtok, opex_usd_per_mtok, capital_usd;
  double t_prefill_s = 0;
  double prefill_decode_ratio = 0;  // prefill servers per decode server
  double t_chunk_s = 0, prefill_wall_s = 0;
  // Tensor parallelism over Y chips, per MLP matmul
  double t_ici_s = 0, t_hbm_s = 0, t_math_s = 0;
  double ici_bytes_per_s = 0;  // W_ici: what the collective over the group sees
  bool comm_hidden = true;
  int useful_tp_degree = 0;
  bool splits_kv_heads = false;
  // The latencies a user waits: per output token (the step) and to the first token (the
  // prefill, chunked when prefill_chunk > 0); against objectives, when there are any.
  double tpot_s = 0, ttft_s = 0;
  // "aggregated": prefill chunked into the decode steps of the same chips; each step at full
  // load also carries its share of prompts, so TPOT = t_step / E + B S_p t_prefill_token / T_dec
  // and TTFT the chunked prefill. "disaggregated": a prefill pool beside the decode chips;
  // TPOT = t_step / E, TTFT = t_prefill + the prompt's KV sent over the link. Equal in cost, so
  // the aggregated one unless only the disaggregated one meets the objectives, or the chunk
  // cannot carry the B S_p E / T_dec prompt tokens a full batch needs each step.
  std::string serving_mode = "aggregated";
  double tpot_aggregated_s = 0, ttft_aggregated_s = 0, tpot_disaggregated_s = 0, ttft_disaggregated_s = 0;
  double t_kv_transfer_s = 0;  // disaggregated: the prompt's KV to the decode chips (0: no link known)
  // Pipeline parallelism (P > 1): the idle fraction of a decode round, 1 - min(B, P) / P,
  // and of one prompt's prefill, (P - 1) / (k + P - 1) over its k chunks (GPipe's bubble);
  // t_pp_s: the step's sends from stage to stage.
  double decode_bubble = 0, prefill_bubble = 0, t_pp_s = 0;
  // Expert parallelism: the experts a layer's busiest chip reads in a step (the step waits
  // for it), and the step's all-to-alls (inside t_comm_s).
  double busiest_chip_experts = 0, t_all_to_all_s = 0;
  int experts_per_chip = 0;
  std::optional<bool> slo_met;        // empty: no objectives
  std::vector<ObjectiveMiss> misses;  // the bounds it fails
};

}  // namespace roofaudit::calibrate
