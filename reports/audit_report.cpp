#include "reports/audit_report.hpp"
#include "reports/chip_figures.hpp"
#include "reports/format.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "calibrate/serving.hpp"
#include "reports/json_text.hpp"
#include "reports/plots.hpp"
#include "reports/serving_report.hpp"
#include "reports/summary_table.hpp"

namespace roofaudit::reports {
namespace {

using calibrate::ChipSpec;
using calibrate::Dtype;
using calibrate::ServingEstimate;

std::string opt_usd(const std::optional<double>& v, int digits) {
  return v ? fmt::format("{:.{}f}", *v, digits) : std::string("-");
}

std::string fingerprint_line(const RunView& v) {
  std::string out;
  if (v.machine) {
    const auto& m = *v.machine;
    out = fmt::format("{} on {} ({} cores, {} threads, {} NUMA node{}), fingerprint {}", m.cpu_model, m.hostname, m.cores,
                      m.threads, m.numa_nodes, m.numa_nodes == 1 ? "" : "s", m.fingerprint);
  }
  return out;
}

std::string system_line(const RunView& v) {
  const auto& env = v.run.environment;
  if (!env.is_object() || !env.contains("kernel")) return "";
  return fmt::format("{}, kernel {}, {} {} build, roofaudit {} ({})", env.value("os", "?"), env.value("kernel", "?"),
                     env.value("compiler", "?"), env.value("build_type", "?"), env.value("roofaudit_version", "?"),
                     env.value("roofaudit_commit", "?"));
}

struct Row {
  std::string section, subject, figure;
  double value;
  std::string unit, provenance;
};

// Every figure of the report as rows (shared by CSV and JSON's flat view).
std::vector<Row> figure_rows(const AuditReport& r) {
  std::vector<Row> rows;
  for (const auto& s : r.local) {
    if (!s.chip) continue;
    const ChipSpec& c = *s.chip;
    for (const auto& f : chip_figures(c)) rows.push_back({f.section, c.name, f.figure, f.value, f.unit, f.provenance});
    for (const auto& k : s.knees) {
      rows.push_back({"knee", c.name, "decode knee " + k.variant, k.measured, "batch", k.bound.empty() ? "measured" : "kernel: " + k.bound});
      if (k.roofline) rows.push_back({"knee", c.name, "roofline knee " + k.variant, *k.roofline, "batch", "predicted"});
    }
    for (const auto& p : s.checks) {
      const std::string shape = fmt::format("{} B={} context={}", p.variant, p.batch, p.context);
      rows.push_back({"forward pass", c.name, "measured tokens/s " + shape, p.measured_tokens_per_s, "tokens/s",
                      "measured: model.decode"});
      rows.push_back({"forward pass", c.name, "predicted tokens/s " + shape, p.predicted_tokens_per_s, "tokens/s",
                      p.calibration_point ? "serving model (layer overhead fitted here)" : "serving model"});
    }
  }
  for (const auto& e : r.serving) {
    const std::string subject = fmt::format("{} x{} {} B={}", e.chip, e.deployment.chips,
                                            calibrate::dtype_name(e.deployment.weights), e.deployment.batch);
    rows.push_back({"serving " + r.model, subject, "step time", e.step_time_s, "s", "serving model"});
    rows.push_back({"serving " + r.model, subject, "tokens/s", e.tokens_per_s, "tokens/s", "serving model"});
    if (e.usd_per_mtok) rows.push_back({"serving " + r.model, subject, "USD per 1M tokens", *e.usd_per_mtok, "USD", "serving model"});
    if (e.capital_usd) {
      rows.push_back({"serving " + r.model, subject, "capital USD per 1M tokens", *e.capex_usd_per_mtok, "USD", "owned cost"});
      rows.push_back({"serving " + r.model, subject, "power USD per 1M tokens", *e.opex_usd_per_mtok, "USD", "owned cost"});
    }
  }
  for (const auto& c : r.catalogue) {
    rows.push_back({"catalogue", c.name, "peak bf16", c.peak_ops(Dtype::bf16), "FLOP/s", provenance_of(c, "flops")});
    rows.push_back({"catalogue", c.name, "memory bandwidth", c.memory_bytes_per_s, "B/s", provenance_of(c, "memory")});
  }
  return rows;
}

}  // namespace

// ---------------------------------------------------------------------------------
// text and Markdown

namespace {

// The report's tables: the first column and any provenance read as text (left), the
// figures as numbers (right).
Table report_table(std::initializer_list<const char*> names) {
  Table t;
  for (const char* n : names) {
    const bool left = t.columns.empty() || std::string(n) == "provenance";
    t.columns.push_back({n, left ? Align::left : Align::right});
  }
  return t;
}

Table ceilings_table(const ChipSpec& c) {
  Table t = report_table({"figure", "value", "provenance"});
  for (const auto& f : chip_figures(c)) t.rows.push_back({f.label, f.shown, f.provenance});
  return t;
}

Table serving_table(const AuditReport& r) {
  Table t = report_table({"chip", "chips", "weights", "batch", "step ms", "tokens/s", "tokens/s/chip", "USD/h", "USD/1M tok"});
  if (r.objectives.any()) t.columns.push_back({"objectives", Align::left});
  for (const auto& e : r.serving) {
    t.rows.push_back({e.chip, std::to_string(e.deployment.chips), calibrate::dtype_name(e.deployment.weights),
                      std::to_string(e.deployment.batch), step_ms(e.step_time_s), fmt::format("{:.0f}", e.tokens_per_s),
                      fmt::format("{:.1f}", e.tokens_per_s_per_chip), opt_usd(e.usd_per_hour, 2), opt_usd(e.usd_per_mtok, 3)});
    if (r.objectives.any()) t.rows.back().push_back(objectives_text(e));
  }
  return t;
}

// One configuration in a line: where, how, how fast, at what price.
std::string configuration_line(const ServingEstimate& e) {
  return fmt::format("{} x{}, {} weights, batch {}: {} ms per output token, first token in {:.2f} s, {:.0f} tokens/s, {}{}{}",
                     e.chip, e.deployment.chips, calibrate::dtype_name(e.deployment.weights), e.deployment.batch,
                     step_ms(e.tpot_s), e.ttft_s, e.tokens_per_s,
                     e.usd_per_mtok ? fmt::format("USD {:.3f} per 1M tokens", *e.usd_per_mtok) : "unpriced",
                     e.capital_usd ? fmt::format(" (owned: capital {:.3f} + power {:.3f}; USD {:.0f} of hardware)",
                                                 *e.capex_usd_per_mtok, *e.opex_usd_per_mtok, *e.capital_usd)
                                   : "",
                     e.slo_met ? "; " + objectives_text(e) : "");
}

// The answer first: this machine's best configuration beside the cheapest catalogue chip
// that meets the same objectives.
std::vector<std::string> answer_lines(const AuditReport& r) {
  std::vector<std::string> lines;
  // A price the machine's catalogue does not know is a stated default: the answer says so.
  std::string assumed;
  for (const auto& s : r.local)
    if (r.answer.local && s.chip && s.chip->name == r.answer.local->chip)
      if (const auto p = s.chip->provenance.find("price"); p != s.chip->provenance.end() && p->second.kind == "assumed")
        assumed = " (price assumed: see the price row, or give --price-per-hour)";
  lines.push_back(r.answer.local ? "this machine: " + configuration_line(*r.answer.local) + assumed
                                 : fmt::format("this machine: no calibrated device serves {}", r.model));
  const std::string meeting = r.objectives.any() ? " meeting " + r.objectives_text : "";
  lines.push_back(r.answer.catalogue ? fmt::format("cheapest catalogue chip{}: {}", meeting, configuration_line(*r.answer.catalogue))
                                     : fmt::format("no priced catalogue chip serves {}{}", r.model, meeting));
  return lines;
}

std::string answer_heading(const AuditReport& r) {
  return fmt::format("answer: {}{}", r.model, r.objectives.any() ? " under " + r.objectives_text : " (no latency objective)");
}

Table checks_table(const LocalSection& s) {
  Table t = report_table({"weights", "context", "batch", "measured tokens/s", "predicted", "error"});
  for (const auto& p : s.checks)
    t.rows.push_back({p.variant, std::to_string(p.context), std::to_string(p.batch), fmt::format("{:.4g}", p.measured_tokens_per_s),
                      fmt::format("{:.4g}", p.predicted_tokens_per_s),
                      p.calibration_point ? "(fit)" : fmt::format("{:+.1f}%", 100 * p.error)});
  return t;
}

std::string check_summary(const LocalSection& s) {
  const auto e = calibrate::prediction_error(s.checks);
  if (e.shapes == 0) return "";
  return fmt::format("predictor against the forward pass: median |error| {:.1f}%, worst {:.1f}% over {} shapes",
                     100 * e.median, 100 * e.worst, e.shapes);
}

std::string knee_line(const LocalSection::Knee& k) {
  if (!k.bound.empty()) return fmt::format("decode knee {}: the kernel's B* = {:.1f}, not the machine's ({})", k.variant, k.measured, k.bound);
  return k.roofline ? fmt::format("decode knee {}: measured B* = {:.1f}, roofline predicts {:.1f}", k.variant, k.measured, *k.roofline)
                    : fmt::format("decode knee {}: measured B* = {:.1f}", k.variant, k.measured);
}

// "gemm fp16: cuda.gemm fp16 (cuBLASLt) 752 TFLOP/s, the headline; gpu.gemm fp16 31.5
// TFLOP/s, 0.042 of it": what a user who deploys the other backend leaves behind.
std::string candidates_line(const calibrate::CompetingCandidates& c) {
  const char* unit = ops_unit(c.dtype);
  std::string out = fmt::format("{} {}: {} {}, the headline", role_name(c.role), calibrate::dtype_name(c.dtype),
                                c.by_probe.front().first, format_value(c.by_probe.front().second, unit));
  for (std::size_t i = 1; i < c.by_probe.size(); ++i)
    out += fmt::format("; {} {}, {:.3f} of it", c.by_probe[i].first, format_value(c.by_probe[i].second, unit),
                       c.by_probe[i].second / c.by_probe.front().second);
  return out;
}

std::vector<std::string> history_lines(const SeriesHistory& h) {
  std::vector<std::string> lines;
  for (const auto& m : h.metrics)
    for (const auto& c : m.changes)
      lines.push_back(fmt::format("{}: change point at run {}: {:+.1f}% (p={:.1g})", m.name, c.run, c.change * 100, c.p));
  for (const auto& f : h.markers) lines.push_back(fmt::format("run {}: {} {} -> {}", f.run, f.fact, f.from, f.to));
  if (lines.empty()) lines.push_back("no change point in the headline metrics, no environment change");
  return lines;
}

// The report as text and Markdown show it.
Document report_document(const AuditReport& r) {
  Document d;
  d.title = fmt::format("roofaudit report: run {}", r.view.run.id);
  d.text_indent = "  ";
  d.intro.push_back(List{{fingerprint_line(r.view), system_line(r.view),
                          fmt::format("run {} ({}), {} at {}", r.view.run.id, r.view.run.uuid.substr(0, 8), r.view.run.status,
                                      r.view.run.started_at)}});
  d.section(answer_heading(r)).add(List{answer_lines(r)});
  for (const auto& s : r.local) {
    if (!s.chip) {
      d.section(fmt::format("{} ({}): not calibrated", s.device.device, s.device.display_name)).add(Paragraph(s.problem));
      continue;
    }
    Section& ceilings = d.section(fmt::format("{}: {} - measured ceilings", s.chip->name, s.chip->display_name));
    ceilings.add(ceilings_table(*s.chip));
    for (const auto& k : s.knees) ceilings.add(Paragraph(knee_line(k)));
    for (const auto& c : s.candidates) ceilings.add(Paragraph(candidates_line(c)));
    if (!s.checks.empty()) {
      Section& checks = d.section(fmt::format("{}: forward pass (model.decode) against the serving model", s.chip->name));
      checks.add(checks_table(s));
      if (const std::string summary = check_summary(s); !summary.empty()) checks.add(Paragraph(summary));
    }
  }
  Section& serving = d.section(fmt::format("{}: {}; each chip at its cheapest fitting configuration", r.model, r.deployment));
  serving.add(serving_table(r));
  if (!r.notes.empty()) serving.add(List{r.notes});
  if (r.history && r.history->runs.size() >= 2)
    d.section(fmt::format("history: {} runs of this series (roofaudit history shows every metric)", r.history->runs.size()))
        .add(List{history_lines(*r.history)});
  return d;
}

constexpr const char* kStylesheet =
    "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:28px}table{border-collapse:collapse;font-size:13px;margin:8px 0}"
    "th,td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "svg{background:#fff;border:1px solid #eee}.grid{stroke:#eee;stroke-width:1}.frame{fill:none;stroke:#888}"
    ".tick{font-size:11px;fill:#555}.label{font-size:13px;fill:#222}.legend{font-size:11px;fill:#222}"
    ".roof{fill:none;stroke-width:2}.peak{stroke:#444;stroke-dasharray:2 3;stroke-width:1.2}"
    ".peaklabel{font-size:10px;fill:#444}.catalogue{fill:none;stroke-width:1;stroke-dasharray:6 4}"
    ".catlabel{font-size:10px;fill:#888}.frontier{fill:none;stroke-width:1.8}.point{stroke:#fff;stroke-width:0.8}"
    ".plots{display:flex;flex-wrap:wrap;gap:8px}.series{fill:none;stroke:#1f77b4;stroke-width:1.5}.run{fill:#1f77b4}"
    ".change{stroke:#d62728;stroke-dasharray:4 3;stroke-width:1.2}.changelabel{font-size:10px;fill:#d62728}"
    ".marker{fill:#888}";

// The report as one HTML page: the plots first, then the tables, then every figure's
// provenance.
Document report_page(const AuditReport& r) {
  Document d;
  d.title = fmt::format("roofaudit report: run {}", r.view.run.id);
  d.stylesheet = kStylesheet;
  d.section("Machine", "fingerprint")
      .add(List{{fingerprint_line(r.view), system_line(r.view),
                 fmt::format("run {} ({}), {}, started {}", r.view.run.id, r.view.run.uuid, r.view.run.status,
                             r.view.run.started_at)}});
  d.section("Answer", "answer").add(Paragraph(answer_heading(r))).add(List{answer_lines(r)});
  d.section("Roofline")
      .add(Paragraph().prose("Measured ceilings of this machine (solid: read bandwidth per memory level up to the highest "
                             "measured peak; dotted: peak per precision), the probes' measured points, and catalogue chips' "
                             "spec-sheet bf16 roofs (grey, dashed). Both axes logarithmic."))
      .add(Figure{{roofline_svg(r)}});
  d.section("Cost against latency: " + r.model)
      .add(Paragraph()
               .prose("Pareto frontier of USD per 1M output tokens against the decode step time (every sequence's "
                      "per-token latency), batch 1 up to the largest that fits, for each chip at its cheapest fitting "
                      "configuration. ")
               .text(r.deployment)
               .prose("."))
      .add(Figure{{pareto_svg(r)}});
  Section& serving = d.section("Serving " + r.model, "serving").add(serving_table(r));
  if (!r.notes.empty()) serving.add(List{r.notes});
  for (const auto& s : r.local) {
    if (!s.chip) {
      d.section(s.device.device + " (" + s.device.display_name + "): not calibrated").add(Paragraph(s.problem));
      continue;
    }
    Section& local = d.section(s.chip->name + ": " + s.chip->display_name).add(ceilings_table(*s.chip));
    for (const auto& c : s.candidates) local.add(Paragraph(candidates_line(c)));
    if (!s.checks.empty())
      local.add(Heading{"Forward pass against the serving model"}).add(checks_table(s)).add(Paragraph(check_summary(s)));
  }
  if (r.history && r.history->runs.size() >= 2) {
    Figure plots{{}, true};
    int id = 0;
    for (const auto& m : r.history->metrics)
      if (m.points.size() >= 2) plots.svg.push_back(history_svg(m, r.history->markers, id++));
    d.section("History", "history")
        .add(Paragraph(fmt::format("{} runs of this machine's series ({}), up to this run: the run medians of the headline "
                                   "metrics; dashed: change points (E-divisive, t-test p <= 0.001, at least 2%, at least 3 "
                                   "runs each side); triangles: runs whose kernel, driver, compiler or roofaudit differed "
                                   "from the run before.",
                                   r.history->runs.size(), r.history->settings)))
        .add(plots);
  }
  Table provenance = report_table({"subject", "figure", "value", "unit", "provenance"});
  for (const auto& row : figure_rows(r))
    provenance.rows.push_back({row.subject, row.figure, fmt::format("{:.4g}", row.value), row.unit, row.provenance});
  d.section("Every figure and where it came from", "provenance").add(provenance);
  return d;
}

}  // namespace

std::string render_report_text(const AuditReport& r) { return render_text(report_document(r)); }
std::string render_report_markdown(const AuditReport& r) { return render_markdown(report_document(r)); }
std::string render_report_html(const AuditReport& r) { return render_html(report_page(r)); }

std::string render_report(const AuditReport& r, Format f) {
  switch (f) {
    case Format::text: return render_report_text(r);
    case Format::markdown: return render_report_markdown(r);
    case Format::json: return json_text(report_to_json(r)) + "\n";
    case Format::csv: return render_report_csv(r);
    case Format::html: return render_report_html(r);
  }
  return "";
}

nlohmann::json report_to_json(const AuditReport& r) {
  nlohmann::json local = nlohmann::json::array();
  for (const auto& s : r.local) {
    nlohmann::json j = {{"device", s.device.device}, {"name", s.device.display_name}};
    if (s.chip) j["chip"] = calibrate::chip_spec_to_json(*s.chip);
    else j["problem"] = s.problem;
    j["prediction_checks"] = calibrate::prediction_checks_to_json(s.checks);
    nlohmann::json knees = nlohmann::json::array();
    for (const auto& k : s.knees)
      knees.push_back({{"variant", k.variant}, {"measured", k.measured},
                       {"roofline", k.roofline ? nlohmann::json(*k.roofline) : nlohmann::json(nullptr)}});
    for (std::size_t i = 0; i < s.knees.size(); ++i)
      if (!s.knees[i].bound.empty()) knees[i]["kernel_bound"] = s.knees[i].bound;
    j["decode_knees"] = knees;
    if (!s.candidates.empty()) {
      nlohmann::json candidates = nlohmann::json::array();
      for (const auto& c : s.candidates) {
        nlohmann::json by = nlohmann::json::array();
        for (const auto& [how, v] : c.by_probe) by.push_back({{"candidate", how}, {"value", v}});
        candidates.push_back({{"role", role_name(c.role)}, {"dtype", calibrate::dtype_name(c.dtype)}, {"by_probe", by}});
      }
      j["competing_candidates"] = candidates;
    }
    local.push_back(j);
  }
  nlohmann::json serving = nlohmann::json::array(), pareto = nlohmann::json::object(), points = nlohmann::json::array();
  for (const auto& e : r.serving) serving.push_back(estimate_to_json(e));
  for (const auto& [chip, pts] : r.pareto) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& p : pts) arr.push_back(estimate_to_json(p));
    pareto[chip] = arr;
  }
  for (const auto& p : r.points)
    points.push_back({{"chip", p.chip}, {"label", p.label}, {"intensity", p.intensity}, {"ops_per_s", p.ops_per_s}});
  nlohmann::json figures = nlohmann::json::array();
  for (const auto& row : figure_rows(r))
    figures.push_back({{"section", row.section}, {"subject", row.subject}, {"figure", row.figure}, {"value", row.value},
                       {"unit", row.unit}, {"provenance", row.provenance}});
  nlohmann::json machine = nullptr;
  if (r.view.machine)
    machine = {{"fingerprint", r.view.machine->fingerprint}, {"hostname", r.view.machine->hostname},
               {"cpu_model", r.view.machine->cpu_model}, {"cores", r.view.machine->cores},
               {"threads", r.view.machine->threads}, {"numa_nodes", r.view.machine->numa_nodes}};
  return {{"run", {{"id", r.view.run.id}, {"uuid", r.view.run.uuid}, {"status", r.view.run.status},
                   {"started_at", r.view.run.started_at}, {"environment", r.view.run.environment}}},
          {"machine", machine},
          {"model", r.model},
          {"deployment", r.deployment},
          {"local", local},
          {"roofline_points", points},
          {"serving", serving},
          {"pareto", pareto},
          {"notes", r.notes},
          {"objectives", {{"tpot_s", r.objectives.tpot_s ? nlohmann::json(*r.objectives.tpot_s) : nlohmann::json(nullptr)},
                          {"ttft_s", r.objectives.ttft_s ? nlohmann::json(*r.objectives.ttft_s) : nlohmann::json(nullptr)}}},
          {"answer", {{"local", r.answer.local ? estimate_to_json(*r.answer.local) : nlohmann::json(nullptr)},
                      {"catalogue", r.answer.catalogue ? estimate_to_json(*r.answer.catalogue) : nlohmann::json(nullptr)}}},
          {"history", r.history ? history_to_json(*r.history) : nlohmann::json(nullptr)},
          {"figures", figures}};
}

std::string render_report_csv(const AuditReport& r) {
  std::string out = "section,subject,figure,value,unit,provenance\n";
  for (const auto& row : figure_rows(r))
    out += fmt::format("{},{},{},{:.9g},{},{}\n", csv_field(row.section), csv_field(row.subject), csv_field(row.figure), row.value,
                       csv_field(row.unit), csv_field(row.provenance));
  return out;
}

}  // namespace roofaudit::reports
