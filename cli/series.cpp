#include "cli/series.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "calibrate/regression_stats.hpp"
#include "cli/command.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "reports/gbench_json.hpp"
#include "store/store.hpp"
#include "values/stored.hpp"

namespace roofaudit::cli {

std::string series_settings(const store::RunRecord& r) {
  const auto& e = r.environment;
  const auto& s = r.settings;
  return fmt::format("{}|{}|threads {}|quick {}", e.value("build_type", "?"), e.value("build_flags", "?"),
                     s.value("threads", 0), s.value("quick", false));
}

std::vector<std::array<std::string, 3>> differing_facts(const store::RunRecord& first, const store::RunRecord& second) {
  std::set<std::string> facts = {"kernel", "microcode", "governor", "compiler", "roofaudit_commit", "os"};
  for (const auto* env : {&first.environment, &second.environment})
    if (env->is_object())
      for (auto it = env->begin(); it != env->end(); ++it)
      if (it.key().rfind("driver ", 0) == 0) facts.insert(it.key());
  std::vector<std::array<std::string, 3>> out;
  for (const auto& fact : facts) {
    const auto was = first.environment.value(fact, std::string("?")), now = second.environment.value(fact, std::string("?"));
    if (was != now) out.push_back({fact, was, now});
  }
  return out;
}

std::vector<store::RunRecord> series_runs(store::Store& db, const store::RunRecord& run, bool include_self) {
  std::vector<store::RunRecord> out;
  const std::string settings = series_settings(run);
  for (auto& r : db.runs()) {
    if (r.status != "complete" || r.machine_id != run.machine_id || series_settings(r) != settings) continue;
    if (r.id < run.id || (include_self && r.id == run.id)) out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const auto& l, const auto& r) { return l.id < r.id; });
  return out;
}

std::vector<LevelRange> level_ranges(store::Store& db, std::int64_t run_id) {
  std::vector<LevelRange> out;
  for (const auto& f : db.fits(run_id)) {
    if (f.kind != "plateaus") continue;
    read_stored("plateaus fit", [&] {
      for (const auto& level : f.result)
        out.push_back({f.device, f.probe, f.variant, level.value("level", "?"), level.value("from_bytes", 0.0),
                       level.value("to_bytes", 0.0)});
    });
  }
  return out;
}

std::map<std::string, Metric> collect_metrics(store::Store& db, std::int64_t run_id, const std::set<std::string>& probes,
                                              const std::vector<LevelRange>& levels) {
  std::map<std::string, Metric> out;
  for (const auto& m : db.measurements(run_id)) {
    if (!m.valid || m.samples.empty() || (!probes.empty() && !probes.count(m.probe))) continue;
    std::string key, name;
    if (m.params.contains("working_set_bytes")) {
      const double ws = m.params.value("working_set_bytes", 0.0);
      for (const auto& l : levels) {
        if (l.device != m.device || l.probe != m.probe || l.variant != m.variant || ws < l.from_bytes || ws > l.to_bytes)
          continue;
        name = fmt::format("{} {} {}{}", m.probe, m.variant, l.level, m.device == "cpu" ? "" : " on " + m.device);
        key = fmt::format("{} v{} {} {} {} {}", m.device, m.probe_version, m.probe, m.variant, m.metric, l.level);
        break;
      }
      if (key.empty()) continue;  // between levels
    } else {
      name = reports::gbench_name(m);
      key = fmt::format("{} v{} {}", m.device, m.probe_version, name);
    }
    auto& metric = out[key];
    metric.name = name;
    metric.unit = m.unit;
    metric.higher_is_better = m.higher_is_better;
    for (const auto& s : m.samples) metric.values.push_back(s.value);
  }
  return out;
}

std::set<std::string> selected_probes(const std::vector<std::string>& filters) {
  std::set<std::string> names;
  if (!filters.empty())
    for (const auto& p : ProbeRegistry::instance().select(filters)) names.emplace(p->name());
  return names;
}

reports::SeriesHistory build_history(store::Store& db, const store::RunRecord& newest, const std::set<std::string>& probes,
                                     const std::function<bool(const std::string&)>& keep, std::size_t max_runs) {
  reports::SeriesHistory h;
  const auto machine = db.machine(newest.machine_id);
  h.machine = machine ? fmt::format("{} ({})", machine->hostname, machine->fingerprint) : "?";
  h.settings = series_settings(newest);
  auto runs = series_runs(db, newest, true);
  if (max_runs > 0 && runs.size() > max_runs) runs.erase(runs.begin(), runs.end() - std::ptrdiff_t(max_runs));
  // Every sweep cut at the levels of the newest run that measured it.
  std::vector<LevelRange> levels;
  std::set<std::string> swept;
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    std::set<std::string> here;
    for (auto& l : level_ranges(db, it->id)) {
      const std::string sweep = l.device + "|" + l.probe + "|" + l.variant;
      if (swept.count(sweep)) continue;
      here.insert(sweep);
      levels.push_back(std::move(l));
    }
    swept.insert(here.begin(), here.end());
  }
  std::map<std::string, reports::MetricHistory> by_key;
  const store::RunRecord* previous = nullptr;
  for (const auto& r : runs) {
    h.runs.push_back(r.id);
    if (previous)
      for (auto& [fact, was, now] : differing_facts(*previous, r)) h.markers.push_back({r.id, fact, was, now});
    previous = &r;
    for (auto& [key, metric] : collect_metrics(db, r.id, probes, levels)) {
      if (keep && !keep(metric.name)) continue;
      auto& mh = by_key[key];
      mh.name = metric.name;
      mh.unit = metric.unit;
      mh.higher_is_better = metric.higher_is_better;
      mh.points.push_back({r.id, r.uuid, r.started_at, calibrate::median(metric.values), metric.values.size()});
    }
  }
  for (auto& [key, mh] : by_key) {
    std::vector<double> medians;
    for (const auto& p : mh.points) medians.push_back(p.median);
    for (const auto& c : calibrate::detect_change_points(medians))
      mh.changes.push_back({c.index, mh.points[c.index].run, c.p, c.relative_change});
    h.metrics.push_back(std::move(mh));
  }
  std::sort(h.metrics.begin(), h.metrics.end(), [](const auto& l, const auto& r) { return l.name < r.name; });
  return h;
}

}  // namespace roofaudit::cli
