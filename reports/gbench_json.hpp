#pragma once
// A stored run in Google Benchmark's JSON output format, so its tools (compare.py) work
// on roofaudit results: one benchmark per measurement, one entry per repetition (the
// repetition's timed duration as real and CPU time, the measured value as a counter),
// plus mean, median and stddev aggregates.
#include <string>

#include <nlohmann/json.hpp>

#include "reports/run_view.hpp"

namespace roofaudit::reports {

nlohmann::json run_to_gbench_json(const RunView& view);

// The benchmark name of a measurement: probe/variant/metric, then its identifying
// parameters as key:value (sorted; adaptive repetition counts and validation
// diagnostics left out), so the same measurement in two runs has the same name.
std::string gbench_name(const Measurement& m);

}  // namespace roofaudit::reports
