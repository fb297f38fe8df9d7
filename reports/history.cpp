#include "reports/history.hpp"
#include "reports/format.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "reports/audit_report.hpp"

namespace roofaudit::reports {
namespace {

const HistoryChange* change_at(const MetricHistory& m, std::size_t index) {
  for (const auto& c : m.changes)
    if (c.index == index) return &c;
  return nullptr;
}

std::string change_text(const HistoryChange& c) { return fmt::format("{:+.1f}% (p={:.1g})", c.change * 100, c.p); }

std::string markers_at(const std::vector<FactMarker>& markers, std::int64_t run) {
  std::string out;
  for (const auto& f : markers)
    if (f.run == run) out += fmt::format("{}{}: {} -> {}", out.empty() ? "" : "; ", f.fact, f.from, f.to);
  return out;
}

std::string summary_line(const MetricHistory& m) {
  const auto& first = m.points.front();
  const auto& last = m.points.back();
  std::string changes;
  for (const auto& c : m.changes) changes += fmt::format("{}run {} {}", changes.empty() ? "" : ", ", c.run, change_text(c));
  return fmt::format("{}: {} run{}, {} -> {}{}", m.name, m.points.size(), m.points.size() == 1 ? "" : "s",
                     format_value(first.median, m.unit), format_value(last.median, m.unit),
                     changes.empty() ? std::string() : ", change at " + changes);
}

}  // namespace

Document history_document(const SeriesHistory& h, bool detailed) {
  Document d;
  d.title = fmt::format("history of {}: {} run{} ({})", h.machine, h.runs.size(), h.runs.size() == 1 ? "" : "s", h.settings);
  if (!h.markers.empty()) {
    List markers;
    for (const auto& f : h.markers) markers.items.push_back(fmt::format("marker: run {}: {} {} -> {}", f.run, f.fact, f.from, f.to));
    d.intro.push_back(markers);
  }
  for (const auto& m : h.metrics) {
    if (m.points.empty()) continue;
    if (!detailed) {
      d.intro.push_back(Paragraph(summary_line(m)));
      continue;
    }
    Table t;
    t.columns = {{"run", Align::right, 6, 6}, {"started", Align::left, 24, 24}, {"median", Align::right, 12, 12},
                 {"reps", Align::right, 4, 4}, {"", Align::left}};
    t.columns.back().elide_empty = true;
    t.text_gap = "  ";
    for (std::size_t i = 0; i < m.points.size(); ++i) {
      const auto& p = m.points[i];
      std::string note;
      if (const auto* c = change_at(m, i)) note = "<- change point " + change_text(*c);
      if (const auto facts = markers_at(h.markers, p.run); !facts.empty()) note += (note.empty() ? "[" : "  [") + facts + "]";
      t.rows.push_back({std::to_string(p.run), p.started_at, format_value(p.median, m.unit), std::to_string(p.repetitions), note});
    }
    d.section(fmt::format("{} ({}, {} is better)", m.name, m.unit, m.higher_is_better ? "higher" : "lower")).add(std::move(t));
  }
  return d;
}

Document history_summary_document(const SeriesHistory& h) {
  Document d;
  d.title = "roofaudit history: " + h.machine;
  d.title_level = 3;
  d.intro.push_back(Paragraph(fmt::format("{} runs ({}).", h.runs.size(), h.settings)));
  if (!h.markers.empty()) {
    List markers;
    for (const auto& f : h.markers) markers.items.push_back(fmt::format("run {}: {} changed from {} to {}", f.run, f.fact, f.from, f.to));
    d.intro.push_back(markers);
  }
  Table t;
  t.columns = {{"metric", Align::left}, {"runs"}, {"first"}, {"latest"}, {"change points", Align::left}};
  t.columns.front().code = true;
  for (const auto& m : h.metrics) {
    if (m.points.empty()) continue;
    std::string changes;
    for (const auto& c : m.changes) changes += fmt::format("{}run {} {}", changes.empty() ? "" : ", ", c.run, change_text(c));
    t.rows.push_back({m.name, std::to_string(m.points.size()), format_value(m.points.front().median, m.unit),
                      format_value(m.points.back().median, m.unit), changes.empty() ? "-" : changes});
  }
  d.intro.push_back(std::move(t));
  return d;
}

std::string render_history_text(const SeriesHistory& h, bool detailed) { return render_text(history_document(h, detailed)); }
std::string render_history_markdown(const SeriesHistory& h) { return render_markdown(history_summary_document(h)); }

nlohmann::json history_to_json(const SeriesHistory& h) {
  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& m : h.metrics) {
    nlohmann::json points = nlohmann::json::array(), changes = nlohmann::json::array();
    for (const auto& p : m.points)
      points.push_back({{"run", p.run}, {"uuid", p.uuid}, {"started_at", p.started_at}, {"median", p.median},
                        {"repetitions", p.repetitions}});
    for (const auto& c : m.changes) changes.push_back({{"run", c.run}, {"index", c.index}, {"p", c.p}, {"change", c.change}});
    metrics.push_back({{"metric", m.name}, {"unit", m.unit}, {"higher_is_better", m.higher_is_better}, {"points", points},
                       {"change_points", changes}});
  }
  nlohmann::json markers = nlohmann::json::array();
  for (const auto& f : h.markers) markers.push_back({{"run", f.run}, {"fact", f.fact}, {"from", f.from}, {"to", f.to}});
  return {{"machine", h.machine}, {"settings", h.settings}, {"runs", h.runs}, {"metrics", metrics}, {"markers", markers}};
}

std::string render_history_csv(const SeriesHistory& h) {
  std::string out = "metric,unit,run,uuid,started_at,median,repetitions,change\n";
  for (const auto& m : h.metrics)
    for (std::size_t i = 0; i < m.points.size(); ++i) {
      const auto& p = m.points[i];
      const auto* c = change_at(m, i);
      out += fmt::format("{},{},{},{},{},{:.9g},{},{}\n", csv_field(m.name), csv_field(m.unit), p.run, p.uuid, p.started_at,
                         p.median, p.repetitions, c ? fmt::format("{:.6g}", c->change) : "");
    }
  return out;
}

std::string history_svg(const MetricHistory& m, const std::vector<FactMarker>& markers, int id) {
  const double W = 500, H = 190, left = 70, right = W - 12, top = 34, bottom = H - 34;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"history-{}\" class=\"history\" viewBox=\"0 0 {} {}\" width=\"{}\" "
      "height=\"{}\" role=\"img\" aria-label=\"{}\">",
      id, W, H, W, H, html_escape("history of " + m.name));
  out += fmt::format("<text x=\"{}\" y=\"16\" class=\"label\">{}</text>", left, html_escape(m.name));
  if (m.points.empty()) return out + "</svg>";
  double lo = m.points.front().median, hi = lo;
  for (const auto& p : m.points) {
    lo = std::min(lo, p.median);
    hi = std::max(hi, p.median);
  }
  const double pad = std::max((hi - lo) * 0.1, std::fabs(hi) * 0.02 + 1e-300);
  lo -= pad;
  hi += pad;
  const std::size_t n = m.points.size();
  auto px = [&](std::size_t i) { return n == 1 ? (left + right) / 2 : left + (right - left) * double(i) / double(n - 1); };
  auto py = [&](double v) { return bottom - (bottom - top) * (v - lo) / (hi - lo); };
  out += fmt::format("<rect class=\"frame\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>", left, top,
                     right - left, bottom - top);
  for (double v : {lo + pad, hi - pad})
    out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" class=\"tick\">{}</text>", left - 4, py(v) + 4,
                       html_escape(format_value(v, m.unit)));
  out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"tick\">run {}</text>", left, bottom + 16, m.points.front().run);
  out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" class=\"tick\">run {}</text>", right, bottom + 16,
                     m.points.back().run);
  for (std::size_t i = 0; i < n; ++i) {
    for (const auto& f : markers)
      if (f.run == m.points[i].run)
        out += fmt::format("<path class=\"marker\" d=\"M{0:.1f} {1:.1f} l-4 -7 h8 z\"><title>{2}</title></path>", px(i), top,
                           html_escape(fmt::format("run {}: {} {} -> {}", f.run, f.fact, f.from, f.to)));
    if (const auto* c = change_at(m, i)) {
      const double x = (px(i) + px(i - 1)) / 2;
      out += fmt::format("<line class=\"change\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>", x, top, bottom);
      out += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"changelabel\">{}</text>", x + 3, top + 12,
                         html_escape(fmt::format("{:+.1f}%", c->change * 100)));
    }
  }
  std::string path;
  for (std::size_t i = 0; i < n; ++i) path += fmt::format("{}{:.1f} {:.1f}", i == 0 ? "M" : " L", px(i), py(m.points[i].median));
  out += "<path class=\"series\" d=\"" + path + "\"/>";
  for (std::size_t i = 0; i < n; ++i)
    out += fmt::format("<circle class=\"run\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\"><title>{}</title></circle>", px(i),
                       py(m.points[i].median),
                       html_escape(fmt::format("run {}: {}", m.points[i].run, format_value(m.points[i].median, m.unit))));
  return out + "</svg>";
}

}  // namespace roofaudit::reports
