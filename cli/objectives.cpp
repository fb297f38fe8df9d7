#include "cli/objectives.hpp"
#include "cli/validators.hpp"

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "values/error.hpp"

namespace roofaudit::cli {

void add_objective_options(CLI::App& cmd, std::optional<double>& tpot_ms, std::optional<double>& ttft_ms) {
  // From a microsecond to about three hours: beyond either a figure is a typo.
  cmd.add_option("--tpot-ms", tpot_ms, "objective: time per output token (the decode step) at most this, in ms")
      ->check(finite_within(1e-3, 1e7));
  cmd.add_option("--ttft-ms", ttft_ms, "objective: time to first token (the prefill, chunked by --chunk) at most this, in ms")
      ->check(finite_within(1e-3, 1e7));
}

calibrate::LatencyObjectives latency_objectives(const std::optional<double>& tpot_ms, const std::optional<double>& ttft_ms) {
  calibrate::LatencyObjectives o;
  auto seconds = [](const std::optional<double>& ms, const char* flag) -> std::optional<double> {
    if (!ms) return std::nullopt;
    if (!std::isfinite(*ms) || *ms <= 0) throw Error(fmt::format("{} must be a positive number of milliseconds, not {}", flag, *ms));
    return *ms * 1e-3;
  };
  o.tpot_s = seconds(tpot_ms, "--tpot-ms");
  o.ttft_s = seconds(ttft_ms, "--ttft-ms");
  return o;
}

std::string objectives_phrase(const calibrate::LatencyObjectives& o) {
  std::vector<std::string> parts;
  if (o.tpot_s) parts.push_back(fmt::format("TPOT <= {:g} ms", *o.tpot_s * 1e3));
  if (o.ttft_s) parts.push_back(fmt::format("TTFT <= {:g} ms", *o.ttft_s * 1e3));
  return fmt::format("{}", fmt::join(parts, " and "));
}

}  // namespace roofaudit::cli
