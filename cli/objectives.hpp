#pragma once
// Latency objectives on the command line: --tpot-ms and --ttft-ms, shared by predict and
// report.
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "calibrate/serving_types.hpp"

namespace roofaudit::cli {

void add_objective_options(CLI::App& cmd, std::optional<double>& tpot_ms, std::optional<double>& ttft_ms);
// In seconds; Error for a bound that is not a positive number of milliseconds.
calibrate::LatencyObjectives latency_objectives(const std::optional<double>& tpot_ms, const std::optional<double>& ttft_ms);
// "TPOT <= 50 ms and TTFT <= 2000 ms".
std::string objectives_phrase(const calibrate::LatencyObjectives& o);

}  // namespace roofaudit::cli
