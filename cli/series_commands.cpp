// roofaudit history (a series over runs, with change points), compare (two runs side by
// side) and merge (runs from other databases).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "calibrate/regression_stats.hpp"
#include "reports/format.hpp"
#include "cli/command.hpp"
#include "cli/validators.hpp"
#include "cli/series.hpp"
#include "values/error.hpp"
#include "reports/audit_report.hpp"
#include "reports/history.hpp"
#include "store/paths.hpp"
#include "store/store.hpp"
#include "reports/json_text.hpp"

namespace roofaudit::cli {
namespace {

using reports::Format;
constexpr auto kSeriesFormats = {Format::text, Format::markdown, Format::json, Format::csv};

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct HistoryOptions {
  std::vector<std::string> probes;
  std::string metric;
  std::string machine;
  std::string run;
  std::string format = "text";
  std::size_t last = 0;
};

// Metrics that a per-run table is printed for, at most; more get one line each.
constexpr std::size_t kDetailedMetrics = 8;

int run_history(const GlobalOptions& global, const HistoryOptions& o) {
  const Format format = reports::parse_format(o.format, kSeriesFormats);
  if (!o.machine.empty() && !o.run.empty()) throw Error("history takes --machine or --run, not both");
  const auto probes = selected_probes(o.probes);
  const auto store = open_existing_store(global);
  const auto newest = !o.machine.empty() ? resolve_machine(*store, o.machine) : resolve_run(*store, o.run.empty() ? "latest" : o.run);
  const std::string needle = lower(o.metric);
  auto h = build_history(*store, newest, probes,
                         [&](const std::string& name) { return needle.empty() || lower(name).find(needle) != std::string::npos; });
  if (h.metrics.empty())
    throw Error(fmt::format("no metric of run {}'s series matches{}{}", newest.id,
                            o.metric.empty() ? "" : fmt::format(" --metric '{}'", o.metric),
                            o.probes.empty() ? "" : " the selected probes"));
  if (o.last > 0 && h.runs.size() > o.last) {
    // Change points were found over the whole series; the view keeps the last runs.
    const std::int64_t first = h.runs[h.runs.size() - o.last];
    h.runs.erase(h.runs.begin(), h.runs.end() - std::ptrdiff_t(o.last));
    for (auto& m : h.metrics) {
      const auto keep_from = std::find_if(m.points.begin(), m.points.end(), [&](const auto& p) { return p.run >= first; });
      const auto dropped = std::size_t(keep_from - m.points.begin());
      m.points.erase(m.points.begin(), keep_from);
      std::vector<reports::HistoryChange> kept;
      for (auto c : m.changes)
        if (c.index > dropped) {
          c.index -= dropped;
          kept.push_back(c);
        }
      m.changes = kept;
    }
    std::erase_if(h.markers, [&](const auto& f) { return f.run < first; });
  }
  if (format == Format::json) std::cout << reports::json_text(reports::history_to_json(h)) << "\n";
  else if (format == Format::csv) std::cout << reports::render_history_csv(h);
  else if (format == Format::markdown) std::cout << reports::render_markdown(reports::history_summary_document(h));
  else std::cout << reports::render_text(reports::history_document(h, h.metrics.size() <= kDetailedMetrics));
  return 0;
}

struct CompareOptions {
  std::string a, b;
  std::vector<std::string> probes;
  std::string format = "text";
};

std::string run_label(store::Store& db, const store::RunRecord& r) {
  const auto m = db.machine(r.machine_id);
  return fmt::format("run {} ({}, {})", r.id, m ? m->hostname : "?", r.started_at.substr(0, 16));
}

// One metric of two runs (a series key names device, probe version and metric: a metric
// matches only the same probe version).
struct CompareRow {
  std::string name, unit;
  bool higher_is_better = true;
  std::optional<double> va, vb;

  std::string verdict() const {
    if (!va || !vb) return va ? "only in A" : "only in B";
    if (*va == 0) return "";
    const double ratio = *vb / *va;
    if (std::fabs(ratio - 1) < 0.005) return "same";
    return (ratio > 1) == higher_is_better ? "B better" : "A better";
  }
  std::optional<double> ratio() const {
    return va && vb && *va != 0 ? std::optional<double>(*vb / *va) : std::nullopt;
  }
  std::string ratio_text() const { return ratio() ? fmt::format("{:.3f}", *ratio()) : std::string("-"); }
};

// Every metric of either run, by name, with each run's median.
std::vector<CompareRow> compare_rows(store::Store& db, const store::RunRecord& a, const store::RunRecord& b,
                                     const std::set<std::string>& probes) {
  // Two machines: each run cut at its own memory levels ("L2" is each one's L2). One
  // machine: both at B's, so that the same working sets are compared.
  const bool same_machine = a.machine_id == b.machine_id;
  const auto ma = collect_metrics(db, a.id, probes, level_ranges(db, same_machine ? b.id : a.id));
  const auto mb = collect_metrics(db, b.id, probes, level_ranges(db, b.id));
  std::map<std::string, CompareRow> rows;
  for (const auto* side : {&ma, &mb})
    for (const auto& [key, m] : *side) {
      auto& row = rows[key];
      row.name = m.name;
      row.unit = m.unit;
      row.higher_is_better = m.higher_is_better;
      (side == &ma ? row.va : row.vb) = calibrate::median(m.values);
    }
  std::vector<CompareRow> sorted;
  for (auto& [key, row] : rows) sorted.push_back(row);
  std::sort(sorted.begin(), sorted.end(), [](const CompareRow& l, const CompareRow& r) { return l.name < r.name; });
  return sorted;
}

std::string value_text(const std::optional<double>& v, const std::string& unit) {
  return v ? reports::format_value(*v, unit) : std::string("-");
}

reports::Document compare_document(const std::vector<CompareRow>& rows, const std::string& la, const std::string& lb,
                                   Format format) {
  using reports::Align;
  reports::Document d;
  if (format == Format::markdown) d.title = "roofaudit compare";
  d.title_level = 3;
  d.intro.push_back(reports::Paragraph("A: " + la).line_break().text("B: " + lb));
  reports::Table t;
  t.columns = {{"metric", Align::left, 6, 70}, {"A", Align::right, 12, 12}, {"B", Align::right, 12, 12},
               {"B/A", Align::right, 7, 7}, {"", Align::left}};
  t.columns.front().code = true;
  t.text_indent = "";
  t.text_gap = "  ";
  for (const auto& r : rows)
    t.rows.push_back({r.name, value_text(r.va, r.unit), value_text(r.vb, r.unit), r.ratio_text(), r.verdict()});
  d.intro.push_back(std::move(t));
  return d;
}

int run_compare(const GlobalOptions& global, const CompareOptions& o) {
  const Format format = reports::parse_format(o.format, kSeriesFormats);
  const auto probes = selected_probes(o.probes);
  const auto store = open_existing_store(global);
  store::Store& db = *store;
  const auto a = resolve_run(db, o.a), b = resolve_run(db, o.b);
  if (a.id == b.id) throw Error(fmt::format("'{}' and '{}' are the same run ({})", o.a, o.b, a.id));
  const auto rows = compare_rows(db, a, b, probes);
  if (rows.empty())
    throw Error(fmt::format("runs {} and {} have no valid measurement{}", a.id, b.id, o.probes.empty() ? "" : " of the selected probes"));
  const std::string la = run_label(db, a), lb = run_label(db, b);
  if (format == Format::json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : rows)
      arr.push_back({{"metric", r.name}, {"unit", r.unit}, {"higher_is_better", r.higher_is_better},
                     {"a", r.va ? nlohmann::json(*r.va) : nlohmann::json(nullptr)},
                     {"b", r.vb ? nlohmann::json(*r.vb) : nlohmann::json(nullptr)},
                     {"ratio", r.ratio() ? nlohmann::json(*r.ratio()) : nlohmann::json(nullptr)}, {"verdict", r.verdict()}});
    std::cout << reports::json_text(nlohmann::json{{"a", {{"run", a.id}, {"uuid", a.uuid}, {"label", la}}},
                                                   {"b", {{"run", b.id}, {"uuid", b.uuid}, {"label", lb}}},
                                                   {"metrics", arr}})
              << "\n";
  } else if (format == Format::csv) {
    std::cout << "metric,unit,higher_is_better,a,b,ratio\n";
    for (const auto& r : rows)
      std::cout << fmt::format("{},{},{},{},{},{}\n", reports::csv_field(r.name), reports::csv_field(r.unit),
                               r.higher_is_better ? 1 : 0, r.va ? fmt::format("{:.9g}", *r.va) : "",
                               r.vb ? fmt::format("{:.9g}", *r.vb) : "", r.ratio() ? r.ratio_text() : "");
  } else {
    std::cout << reports::render(compare_document(rows, la, lb, format), format);
  }
  return 0;
}

int run_merge(const GlobalOptions& global, const std::vector<std::string>& files) {
  store::Store db(store::resolve_database_path(global.db), {global.busy_timeout_ms});
  const auto results = db.merge_files(files);  // every file checked first: one bad file merges nothing
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string& file = files[i];
    const auto& r = results[i];
    std::string ids;
    if (!r.new_run_ids.empty())
      ids = r.new_run_ids.size() == 1 ? fmt::format(" (run {})", r.new_run_ids.front())
                                      : fmt::format(" (runs {}-{})", r.new_run_ids.front(), r.new_run_ids.back());
    std::cout << fmt::format("{}: {} run{} added{}, {} already here", file, r.runs_added, r.runs_added == 1 ? "" : "s", ids,
                             r.runs_present);
    if (r.runs_running) std::cout << fmt::format(", {} still running there left out", r.runs_running);
    if (r.machines_added) std::cout << fmt::format(", {} new machine{}", r.machines_added, r.machines_added == 1 ? "" : "s");
    std::cout << fmt::format(", {} measurements\n", r.measurements_added);
    if (!r.tags_added.empty()) std::cout << fmt::format("  tags added: {}\n", fmt::join(r.tags_added, ", "));
    if (!r.tags_kept.empty())
      std::cout << fmt::format("  tags already naming another run here, kept as they were: {}\n", fmt::join(r.tags_kept, ", "));
  }
  return 0;
}

}  // namespace

void add_series_verbs(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* history = app.add_subcommand("history", "a series of runs: every metric's run medians, with change points");
  auto ho = std::make_shared<HistoryOptions>();
  history->add_option("--probes,--probe", ho->probes, "probes, comma-separated; 'cpu.' selects a family")->delimiter(',');
  history->add_option("--metric", ho->metric, "only metrics whose name contains this (case-insensitive)");
  history->add_option("--machine", ho->machine, "a machine (hostname or fingerprint prefix): its newest run's series");
  history->add_option("--run", ho->run, "the series of this run (id or tag), up to it");
  history->add_option("--last", ho->last, "show the last N runs (change points are found over all of them)")
      ->check(whole_at_least(1));
  history->add_option("--format", ho->format, reports::format_list(kSeriesFormats))->capture_default_str();
  history->callback([&action, &global, ho] { action = [&global, ho] { return run_history(global, *ho); }; });

  auto* compare = app.add_subcommand("compare", "two runs side by side: every metric, with ratios");
  auto co = std::make_shared<CompareOptions>();
  compare->add_option("A", co->a, "a run id, tag, 'latest', or a machine (its newest complete run)")->required();
  compare->add_option("B", co->b, "the same for the other side")->required();
  compare->add_option("--probes", co->probes, "probes, comma-separated; 'cpu.' selects a family")->delimiter(',');
  compare->add_option("--format", co->format, reports::format_list(kSeriesFormats))->capture_default_str();
  compare->callback([&action, &global, co] { action = [&global, co] { return run_compare(global, *co); }; });

  auto* merge = app.add_subcommand("merge", "copy runs from other roofaudit databases into this one (no duplicates)");
  auto files = std::make_shared<std::vector<std::string>>();
  merge->add_option("FILES", *files, "other databases, read-only")->required();
  merge->callback([&action, &global, files] { action = [&global, files] { return run_merge(global, *files); }; });
}

}  // namespace roofaudit::cli
