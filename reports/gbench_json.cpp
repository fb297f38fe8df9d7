#include "reports/gbench_json.hpp"

#include <fmt/format.h>

#include "calibrate/regression_stats.hpp"

#include <algorithm>

namespace roofaudit::reports {
namespace {

// Parameters that say what was measured name it; those that say how much work a sample
// needed to reach its target time (adaptive counts) or how validation went do not.
bool identifying(const std::string& key, const nlohmann::json& value) {
  static const char* adaptive[] = {"hops", "inner_passes", "iterations", "dispatches_per_sample", "transfers_per_sample"};
  for (const char* a : adaptive)
    if (key == a) return false;
  if (key.find("error") != std::string::npos) return false;
  return value.is_number() || value.is_string() || value.is_boolean();
}

std::string scalar(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:g}", v.get<double>());
  return v.dump();
}

struct Stats {
  double mean, median, stddev;
};
Stats stats_of(const std::vector<double>& v) {
  const auto [mean, stddev] = calibrate::mean_stddev(v);
  return {mean, calibrate::median(v), stddev};
}

}  // namespace

std::string gbench_name(const Measurement& m) {
  std::string name = fmt::format("{}/{}/{}", m.probe, m.variant, m.metric);
  if (m.device != "cpu") name += "/device:" + m.device;
  for (const auto& [key, value] : m.params.items())  // nlohmann::json objects iterate sorted by key
    if (identifying(key, value)) name += fmt::format("/{}:{}", key, scalar(value));
  return name;
}

nlohmann::json run_to_gbench_json(const RunView& v) {
  nlohmann::json context = {{"date", v.run.started_at},
                            {"executable", "roofaudit"},
                            {"library_build_type", v.run.environment.value("build_type", "unknown")},
                            {"roofaudit_run", v.run.id},
                            {"roofaudit_run_uuid", v.run.uuid},
                            {"roofaudit_commit", v.run.environment.value("roofaudit_commit", "unknown")},
                            {"cpu_scaling_enabled", v.run.environment.value("governor", "") == "performance" ? false : true},
                            {"mhz_per_cpu", 0},
                            {"caches", nlohmann::json::array()}};
  if (v.machine) {
    context["host_name"] = v.machine->hostname;
    context["num_cpus"] = v.machine->threads;
    context["roofaudit_machine"] = v.machine->fingerprint;
  }
  nlohmann::json benchmarks = nlohmann::json::array();
  int family = 0;
  for (const auto& m : v.measurements) {
    if (!m.valid || m.samples.empty()) continue;
    const std::string name = gbench_name(m);
    const int threads = m.params.value("threads", 1);
    const int reps = int(m.samples.size());
    auto entry = [&](const std::string& run_type) {
      return nlohmann::json{{"name", name},
                            {"family_index", family},
                            {"per_family_instance_index", 0},
                            {"run_name", name},
                            {"run_type", run_type},
                            {"repetitions", reps},
                            {"threads", threads},
                            {"iterations", 1},
                            {"time_unit", "ns"},
                            {"unit", m.unit}};
    };
    std::vector<double> seconds, values;
    for (int r = 0; r < reps; ++r) {
      auto e = entry("iteration");
      e["repetition_index"] = r;
      e["real_time"] = m.samples[r].seconds * 1e9;
      e["cpu_time"] = m.samples[r].seconds * 1e9;
      e["value"] = m.samples[r].value;
      seconds.push_back(m.samples[r].seconds);
      values.push_back(m.samples[r].value);
      benchmarks.push_back(e);
    }
    const Stats t = stats_of(seconds), val = stats_of(values);
    const std::pair<const char*, std::pair<double, double>> aggregates[] = {
        {"mean", {t.mean, val.mean}}, {"median", {t.median, val.median}}, {"stddev", {t.stddev, val.stddev}}};
    for (const auto& [agg, numbers] : aggregates) {
      auto e = entry("aggregate");
      e["name"] = fmt::format("{}_{}", name, agg);
      e["aggregate_name"] = agg;
      e["aggregate_unit"] = "time";
      e["real_time"] = numbers.first * 1e9;
      e["cpu_time"] = numbers.first * 1e9;
      e["value"] = numbers.second;
      benchmarks.push_back(e);
    }
    ++family;
  }
  return {{"context", context}, {"benchmarks", benchmarks}};
}

}  // namespace roofaudit::reports
