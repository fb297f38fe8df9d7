#pragma once
// Runs as series: which runs are comparable (same machine, build and settings), the
// metrics a run contributes to its series, and the run a command-line reference names.
// Shared by check, history, compare and the report's history plots.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cli/run_reference.hpp"
#include "reports/history.hpp"
#include "values/records.hpp"

namespace roofaudit::store {
class Store;
}

namespace roofaudit::cli {

// What makes two runs' figures comparable besides the machine: how roofaudit was built
// and the settings that change what a probe measures.
std::string series_settings(const store::RunRecord& run);

// The complete runs of `run`'s series (same machine and settings), oldest first, up to
// and including `run` itself when `include_self`, and only those before it otherwise.
std::vector<store::RunRecord> series_runs(store::Store& db, const store::RunRecord& run, bool include_self);

// Where each memory level of a working-set sweep lies, as one run's plateau fit found it.
struct LevelRange {
  std::string device, probe, variant, level;
  double from_bytes = 0, to_bytes = 0;
};
std::vector<LevelRange> level_ranges(store::Store& db, std::int64_t run_id);

struct Metric {
  std::string name;  // as printed: "cpu.bandwidth read DRAM", or Google Benchmark's name
  std::string unit;
  bool higher_is_better = true;
  std::vector<double> values;  // every repetition
};

// A run's comparable metrics by series key (device, probe version, name). The points of
// a working-set sweep are pooled per memory level given by `levels` (usually the newest
// run's own fit, so every run of a series is cut at the same working sets): single sweep
// points move with the machine's mood far more than a level does, and the points between
// levels are left out. `probes` empty: every probe.
std::map<std::string, Metric> collect_metrics(store::Store& db, std::int64_t run_id, const std::set<std::string>& probes,
                                              const std::vector<LevelRange>& levels);

// The probe names --probes selects, as `run --probes` reads them ("cpu." a family);
// empty: every probe.
std::set<std::string> selected_probes(const std::vector<std::string>& filters);

// The series of `newest` up to and including it (its last `max_runs` runs; 0: all), each
// metric's run medians with change points, and the annotating facts that changed between
// consecutive runs. `keep` selects metrics by name (empty: all).
reports::SeriesHistory build_history(store::Store& db, const store::RunRecord& newest, const std::set<std::string>& probes,
                                     const std::function<bool(const std::string&)>& keep = {}, std::size_t max_runs = 0);

// The annotating facts two runs' environments differ in (kernel, microcode, governor,
// compiler, commit, OS, each GPU's driver) as (fact, first's value, second's value):
// shown as markers in a history and warned about by check, never a reason to refuse a
// comparison.
std::vector<std::array<std::string, 3>> differing_facts(const store::RunRecord& first, const store::RunRecord& second);

}  // namespace roofaudit::cli
