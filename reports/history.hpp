#pragma once
// A series' history: each metric's run medians over the series' runs, the change points
// found in them, and the annotating facts (kernel, driver, compiler, ...) that changed
// between runs. Rendered by `roofaudit history` and plotted in the HTML report.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/document.hpp"

namespace roofaudit::reports {

struct HistoryPoint {
  std::int64_t run = 0;
  std::string uuid;
  std::string started_at;
  double median = 0;  // of the run's repetitions
  std::size_t repetitions = 0;
};

struct HistoryChange {
  std::size_t index = 0;  // into points: the first point of the new segment
  std::int64_t run = 0;
  double p = 1;
  double change = 0;  // relative change of the segment means
};

struct MetricHistory {
  std::string name;
  std::string unit;
  bool higher_is_better = true;
  std::vector<HistoryPoint> points;  // oldest first
  std::vector<HistoryChange> changes;
};

// An annotating fact that differs from the previous run of the series.
struct FactMarker {
  std::int64_t run = 0;
  std::string fact, from, to;
};

struct SeriesHistory {
  std::string machine;      // "hostname (fingerprint)"
  std::string settings;     // the series' build and settings
  std::vector<std::int64_t> runs;
  std::vector<MetricHistory> metrics;
  std::vector<FactMarker> markers;
};

// The series as a document. Detailed: a table of runs per metric; otherwise one line per
// metric. The summary: one table row per metric (first, latest, change points), the view
// for a page (Markdown, HTML).
Document history_document(const SeriesHistory& h, bool detailed);
Document history_summary_document(const SeriesHistory& h);
std::string render_history_text(const SeriesHistory& h, bool detailed);
std::string render_history_markdown(const SeriesHistory& h);
nlohmann::json history_to_json(const SeriesHistory& h);
// One row per metric and run: metric, unit, run, uuid, started_at, median, repetitions,
// change (the relative change when a change point starts at this run, else empty).
std::string render_history_csv(const SeriesHistory& h);
// A small plot of one metric over the runs: points joined in run order, change points
// as dashed verticals labelled with the change, fact markers as grey ticks on the top.
std::string history_svg(const MetricHistory& m, const std::vector<FactMarker>& markers, int id);


}  // namespace roofaudit::reports
