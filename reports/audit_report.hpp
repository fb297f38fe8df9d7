#pragma once
// The audit report: a run's calibrated machine beside the catalogue, for one model.
// Assembled once (cli/report_command), rendered as text, Markdown, JSON, CSV or one
// self-contained HTML file with inline SVG plots.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "calibrate/local_chip.hpp"
#include "calibrate/serving_types.hpp"
#include "reports/document.hpp"
#include "reports/history.hpp"
#include "reports/run_view.hpp"

namespace roofaudit::reports {

// A measured point on the roofline: what a probe achieved at its arithmetic intensity.
struct RooflinePoint {
  std::string chip;       // local chip name
  std::string label;      // "cpu.decode int8 B=16"
  double intensity = 0;   // operations per byte of memory traffic
  double ops_per_s = 0;
};

struct LocalSection {
  calibrate::LocalDevice device;
  std::optional<calibrate::ChipSpec> chip;  // empty: `problem`
  std::string problem;
  std::vector<calibrate::PredictionCheck> checks;
  struct Knee {
    std::string variant;
    double measured = 0;
    std::optional<double> roofline;
    std::string bound;  // non-empty: the kernel's knee, not the machine's, and why
  };
  std::vector<Knee> knees;
  // Figures two probes competed for (two backends' views of one GPU): the headline first.
  std::vector<calibrate::CompetingCandidates> candidates;
};

struct AuditReport {
  RunView view;
  std::string model;          // the serving table's model
  std::string deployment;     // what the table holds fixed (context, usable fraction, ...)
  std::vector<LocalSection> local;
  std::vector<calibrate::ChipSpec> catalogue;
  std::vector<RooflinePoint> points;
  std::vector<calibrate::ServingEstimate> serving;  // each chip at its cheapest fitting configuration
  // Pareto frontier of USD per 1M tokens against per-token latency, per chip.
  std::vector<std::pair<std::string, std::vector<calibrate::ServingEstimate>>> pareto;
  std::vector<std::string> notes;  // chips that could not serve the model, and why
  // The latency objectives every configuration was held to (none: any()), and in words.
  calibrate::LatencyObjectives objectives;
  std::string objectives_text;
  // The answer first: this machine's best configuration, and the cheapest catalogue chip
  // meeting the same objectives.
  struct Answer {
    std::optional<calibrate::ServingEstimate> local, catalogue;
  } answer;
  // The run's series up to it (headline metrics: memory levels and peaks); plotted when
  // it holds two runs or more.
  std::optional<SeriesHistory> history;
};

// The report in any of its formats (text, markdown, json, csv, html).
std::string render_report(const AuditReport& r, Format f);
std::string render_report_text(const AuditReport& r);
std::string render_report_markdown(const AuditReport& r);
nlohmann::json report_to_json(const AuditReport& r);
// One row per figure: section, subject, figure, value, unit, provenance.
std::string render_report_csv(const AuditReport& r);
// One self-contained page: inline SVG and CSS, no script, no network.
std::string render_report_html(const AuditReport& r);

}  // namespace roofaudit::reports
