#pragma once
// What an accepted input must give: every figure the serving model derives from it
// finite and non-negative (a parser that lets 2^31 layers through prints "needs
// -70058437 chips"), at a deployment the figures themselves choose.
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "calibrate/serving.hpp"
#include "fuzz/targets.hpp"
#include "values/error.hpp"

namespace roofaudit::fuzz {

inline void require_figure(double v, const char* what) {
  require(std::isfinite(v) && v >= 0, fmt::format("{} is {}", what, v));
}

inline void require_sane(const calibrate::ServingEstimate& e) {
  require_figure(e.param_bytes, "param_bytes");
  require_figure(e.kv_bytes_per_token, "kv_bytes_per_token");
  require_figure(e.kv_bytes_per_seq, "kv_bytes_per_seq");
  require(e.min_chips >= 1, fmt::format("min_chips is {}", e.min_chips));
  require_figure(e.critical_batch, "critical_batch");
  require_figure(e.t_param_s, "t_param_s");
  require_figure(e.t_kv_s, "t_kv_s");
  require_figure(e.t_flops_s, "t_flops_s");
  require_figure(e.t_comm_s, "t_comm_s");
  require_figure(e.t_overhead_s, "t_overhead_s");
  require(std::isfinite(e.step_time_s) && e.step_time_s > 0, fmt::format("step_time_s is {}", e.step_time_s));
  require_figure(e.tokens_per_s, "tokens_per_s");
  require_figure(e.t_prefill_s, "t_prefill_s");
  require_figure(e.prefill_wall_s, "prefill_wall_s");
  if (e.usd_per_hour) require_figure(*e.usd_per_hour, "usd_per_hour");
  if (e.usd_per_mtok) require_figure(*e.usd_per_mtok, "usd_per_mtok");
}

// The estimate of `m` on `c` at the fewest chips that hold the weights (the chip count
// `predict --chips min` takes), int8 weights and KV, 8K context, batch 8. A refusal
// (Error: say, more chips than any deployment) is an answer; nonsense figures are not.
inline void require_sane_prediction(const calibrate::ModelSpec& m, const calibrate::ChipSpec& c) {
  calibrate::Deployment d;
  d.weights = calibrate::Dtype::int8;
  d.kv = calibrate::Dtype::int8;
  d.batch = 8;
  try {
    d.chips = calibrate::min_chips(m, c, d.weights);
    require(d.chips >= 1, fmt::format("min_chips is {}", d.chips));
    require_sane(calibrate::estimate(m, c, d));
  } catch (const Error&) {
  }
}

}  // namespace roofaudit::fuzz
