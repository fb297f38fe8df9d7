#pragma once
// A request-level discrete-event simulation of one serving replica: Poisson arrivals,
// continuous batching (each step admits waiting requests while their KV cache fits and
// retires finished ones, as vLLM schedules), prefill chunked into the decode steps or on a
// separate prefill pool, and every step's time from the serving model (decode_step, with
// the chip's measured decode curve where it has one) at the batch and KV length it runs.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "calibrate/serving_types.hpp"

namespace roofaudit::calibrate {

// How request lengths are drawn: every request the median; exponential with that median;
// lognormal with that median and sigma; or pairs read from a trace, in order, cycled.
struct LengthDistribution {
  enum class Kind { fixed, exponential, lognormal, trace } kind = Kind::fixed;
  double sigma = 0;  // lognormal
};
// "fixed", "exponential", "lognormal:0.6"; a path otherwise (a trace). Error when unreadable.
LengthDistribution parse_length_distribution(const std::string& text, const char* flag);

// prompt,decode pairs, one a line (a header line and blank lines are skipped). Error naming
// the line that is not two positive whole numbers, or when none is.
std::vector<std::pair<std::int64_t, std::int64_t>> read_length_trace(const std::string& path);

// A workload: a trace of requests, and what the closed form takes of it: the mean prompt and
// decode lengths (rounded, at least 1) and the longest request (the context it needs).
struct Workload {
  std::vector<std::pair<std::int64_t, std::int64_t>> trace;
  std::int64_t prompt_len = 0, decode_len = 0, longest = 0;
};
Workload read_workload(const std::string& path);

// What N requests per second need, prefill included: with prefill on the same chips,
// replicas of qps / (requests a replica serves, ServingEstimate::qps); with a prefill pool,
// decode replicas from each one's decode capacity (B / (t_step x T_dec), the book's count)
// beside qps x t_prefill prefill replicas of the same size. Whole replicas make the two
// differ; the plan takes the estimate's serving mode where it was chosen for objectives,
// else the one with fewer chips.
struct LoadPlan {
  double qps = 0;
  std::string mode;                          // "aggregated" or "disaggregated"
  std::int64_t replicas = 0, chips_total = 0;  // the mode's, prefill included
  std::optional<double> usd_per_hour_total, usd_per_day;
  std::int64_t replicas_with_prefill = 0;      // aggregated
  std::int64_t decode_replicas = 0, prefill_replicas = 0;  // disaggregated
  std::optional<double> capital_usd_total;     // owned chips: the replicas' purchase
};
LoadPlan plan_load(const ServingEstimate& e, double qps);

struct SimulationSpec {
  double qps = 0;               // arrivals per second at this replica
  std::int64_t requests = 10000;
  std::uint64_t seed = 1;
  LengthDistribution prompt, decode;
  std::vector<std::pair<std::int64_t, std::int64_t>> trace;  // prompt, decode tokens (Kind::trace)
  bool disaggregated = false;   // prefill on its own pool instead of chunked into the steps
  int prefill_servers = 0;      // disaggregated: the pool's size (0: enough for the load)
};

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, mean = 0;
};

struct SimulationResult {
  std::int64_t requests = 0;
  double duration_s = 0;        // first arrival to last completion
  Percentiles ttft_s, tpot_s, e2e_s;
  double throughput_tokens_per_s = 0;  // decoded tokens over the duration
  double mean_batch = 0;        // sequences decoding, averaged over the duration
  double mean_in_system = 0;    // requests arrived and not finished, averaged over the duration
  double arrival_rate = 0;      // requests over the duration
  bool saturated = false;       // the queue grew without bound over the arrivals
  int prefill_servers = 0;
  std::int64_t kv_capacity_tokens = 0;
};

// Simulates the replica `d` describes (its chips, dtypes, context as the longest request,
// prefill chunk). Lengths are clamped so prompt + decode fits the context. Error when the
// weights leave no room for one request's KV cache.
SimulationResult simulate(const ModelSpec& m, const ChipSpec& c, const Deployment& d, const SimulationSpec& spec);

}  // namespace roofaudit::calibrate
