#include "reports/audit_report.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "calibrate/serving.hpp"
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

std::string provenance_of(const ChipSpec& c, const std::string& key) {
  const auto it = c.provenance.find(key);
  return it == c.provenance.end() ? "" : fmt::format("{}: {}", it->second.kind, it->second.source);
}

// Every figure of the report as rows (shared by CSV and JSON's flat view).
std::vector<Row> figure_rows(const AuditReport& r) {
  std::vector<Row> rows;
  for (const auto& s : r.local) {
    if (!s.chip) continue;
    const ChipSpec& c = *s.chip;
    for (const auto& l : c.memory_levels)
      rows.push_back({"ceiling", c.name, "read bandwidth " + l.level, l.bytes_per_s, "B/s", provenance_of(c, "bandwidth." + l.level)});
    for (const auto& [d, v] : c.peak_ops_per_s)
      rows.push_back({"ceiling", c.name, "peak " + calibrate::dtype_name(d), v, ops_unit(d),
                      provenance_of(c, "flops." + calibrate::dtype_name(d))});
    for (const auto& [d, v] : c.matmul_ops_per_s)
      rows.push_back({"ceiling", c.name, "matmul " + calibrate::dtype_name(d), v, ops_unit(d),
                      provenance_of(c, "matmul." + calibrate::dtype_name(d))});
    rows.push_back({"capacity", c.name, "memory", c.memory_bytes, "B", provenance_of(c, "memory")});
    rows.push_back({"interconnect", c.name, "link per direction", c.link_bytes_per_s, "B/s", provenance_of(c, "link")});
    if (c.link_latency_s > 0)
      rows.push_back({"interconnect", c.name, "link latency", c.link_latency_s, "s", provenance_of(c, "link_latency")});
    for (const auto& [d, v] : c.efficiency.bandwidth_by_dtype)
      rows.push_back({"efficiency", c.name, "bandwidth " + calibrate::dtype_name(d), v, "fraction",
                      provenance_of(c, "efficiency.bandwidth." + calibrate::dtype_name(d))});
    for (const auto& [d, v] : c.efficiency.matmul_by_dtype)
      rows.push_back({"efficiency", c.name, "decode matmul " + calibrate::dtype_name(d), v, "fraction",
                      provenance_of(c, "efficiency.matmul." + calibrate::dtype_name(d))});
    if (c.efficiency.kv_bandwidth > 0)
      rows.push_back({"efficiency", c.name, "attention KV bandwidth", c.efficiency.kv_bandwidth, "fraction",
                      provenance_of(c, "efficiency.kv_bandwidth")});
    rows.push_back({"efficiency", c.name, "prefill MFU", c.efficiency.prefill_mfu, "fraction",
                    provenance_of(c, "efficiency.prefill_mfu")});
    rows.push_back({"efficiency", c.name, "layer overhead", c.efficiency.layer_overhead_s, "s",
                    provenance_of(c, "efficiency.layer_overhead")});
    if (c.usd_per_hour) rows.push_back({"price", c.name, "USD per hour", *c.usd_per_hour, "USD/h", provenance_of(c, "price")});
    for (const auto& k : s.knees) {
      rows.push_back({"knee", c.name, "decode knee " + k.variant, k.measured, "batch", "measured"});
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
  }
  for (const auto& c : r.catalogue) {
    rows.push_back({"catalogue", c.name, "peak bf16", c.peak_ops(Dtype::bf16), "FLOP/s", provenance_of(c, "flops")});
    rows.push_back({"catalogue", c.name, "memory bandwidth", c.memory_bytes_per_s, "B/s", provenance_of(c, "memory")});
  }
  return rows;
}

}  // namespace

std::string markdown_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|' || c == '*' || c == '_' || c == '`' || c == '<' || c == '>' || c == '[' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// ---------------------------------------------------------------------------------
// text and Markdown

namespace {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

std::string text_table(const Table& t) {
  std::vector<std::size_t> width(t.header.size());
  for (std::size_t i = 0; i < t.header.size(); ++i) width[i] = t.header[i].size();
  for (const auto& r : t.rows)
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = " ";
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const bool left = i == 0 || t.header[i] == "provenance";
      const bool last = i + 1 == cells.size();
      out += left ? (last ? " " + cells[i] : fmt::format(" {:<{}}", cells[i], width[i])) : fmt::format(" {:>{}}", cells[i], width[i]);
    }
    return out + "\n";
  };
  std::string out = line(t.header);
  for (const auto& r : t.rows) out += line(r);
  return out;
}

std::string md_table(const Table& t) {
  std::string out = "|";
  for (const auto& h : t.header) out += fmt::format(" {} |", markdown_escape(h));
  out += "\n|";
  for (std::size_t i = 0; i < t.header.size(); ++i) out += i == 0 || t.header[i] == "provenance" ? "---|" : "---:|";
  out += "\n";
  for (const auto& r : t.rows) {
    out += "|";
    for (const auto& c : r) out += fmt::format(" {} |", markdown_escape(c));
    out += "\n";
  }
  return out;
}

Table ceilings_table(const ChipSpec& c) {
  Table t{{"figure", "value", "provenance"}, {}};
  for (const auto& l : c.memory_levels)
    t.rows.push_back({fmt::format("read bandwidth {} ({}..{})", l.level, format_bytes(l.from_bytes), format_bytes(l.to_bytes)),
                      format_value(l.bytes_per_s, "B/s"), provenance_of(c, "bandwidth." + l.level)});
  for (const auto& [d, v] : c.peak_ops_per_s)
    t.rows.push_back({"peak " + calibrate::dtype_name(d), format_value(v, ops_unit(d)), provenance_of(c, "flops." + calibrate::dtype_name(d))});
  for (const auto& [d, v] : c.matmul_ops_per_s)
    t.rows.push_back({"matmul " + calibrate::dtype_name(d), format_value(v, ops_unit(d)), provenance_of(c, "matmul." + calibrate::dtype_name(d))});
  t.rows.push_back({"memory capacity", format_value(c.memory_bytes, "B"), provenance_of(c, "memory")});
  t.rows.push_back({"link per direction", format_value(c.link_bytes_per_s, "B/s"), provenance_of(c, "link")});
  if (c.link_latency_s > 0) t.rows.push_back({"link latency", format_value(c.link_latency_s, "s"), provenance_of(c, "link_latency")});
  for (const auto& [d, v] : c.efficiency.bandwidth_by_dtype)
    t.rows.push_back({"decode bandwidth efficiency " + calibrate::dtype_name(d), fmt::format("{:.2f}", v),
                      provenance_of(c, "efficiency.bandwidth." + calibrate::dtype_name(d))});
  for (const auto& [d, v] : c.efficiency.matmul_by_dtype)
    t.rows.push_back({"decode matmul efficiency " + calibrate::dtype_name(d), fmt::format("{:.2f}", v),
                      provenance_of(c, "efficiency.matmul." + calibrate::dtype_name(d))});
  if (c.efficiency.kv_bandwidth > 0)
    t.rows.push_back({"attention KV bandwidth efficiency", fmt::format("{:.2f}", c.efficiency.kv_bandwidth),
                      provenance_of(c, "efficiency.kv_bandwidth")});
  t.rows.push_back({"prefill MFU", fmt::format("{:.2f}", c.efficiency.prefill_mfu), provenance_of(c, "efficiency.prefill_mfu")});
  t.rows.push_back({"layer overhead", fmt::format("{:.0f} us", c.efficiency.layer_overhead_s * 1e6),
                    provenance_of(c, "efficiency.layer_overhead")});
  if (c.usd_per_hour) t.rows.push_back({"price", fmt::format("USD {:.4f}/h", *c.usd_per_hour), provenance_of(c, "price")});
  return t;
}

Table serving_table(const AuditReport& r) {
  Table t{{"chip", "chips", "weights", "batch", "step ms", "tokens/s", "tokens/s/chip", "USD/h", "USD/1M tok"}, {}};
  for (const auto& e : r.serving)
    t.rows.push_back({e.chip, std::to_string(e.deployment.chips), calibrate::dtype_name(e.deployment.weights),
                      std::to_string(e.deployment.batch), step_ms(e.step_time_s), fmt::format("{:.0f}", e.tokens_per_s),
                      fmt::format("{:.1f}", e.tokens_per_s_per_chip), opt_usd(e.usd_per_hour, 2), opt_usd(e.usd_per_mtok, 3)});
  return t;
}

Table checks_table(const LocalSection& s) {
  Table t{{"weights", "context", "batch", "measured tokens/s", "predicted", "error"}, {}};
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

template <typename TableFn>
std::string render_common(const AuditReport& r, bool markdown, TableFn table) {
  std::string out;
  auto heading = [&](const std::string& h) { out += markdown ? "\n### " + markdown_escape(h) + "\n\n" : "\n" + h + "\n"; };
  out += markdown ? fmt::format("## roofaudit report: run {}\n\n", r.view.run.id) : fmt::format("roofaudit report: run {}\n", r.view.run.id);
  const std::string fp = fingerprint_line(r.view), sys = system_line(r.view);
  const std::string when = fmt::format("run {} ({}), {} at {}", r.view.run.id, r.view.run.uuid.substr(0, 8), r.view.run.status,
                                       r.view.run.started_at);
  if (markdown) {
    out += "- " + markdown_escape(fp) + "\n- " + markdown_escape(sys) + "\n- " + markdown_escape(when) + "\n";
  } else {
    out += "  " + fp + "\n  " + sys + "\n  " + when + "\n";
  }
  for (const auto& s : r.local) {
    if (!s.chip) {
      heading(fmt::format("{} ({}): not calibrated", s.device.device, s.device.display_name));
      out += (markdown ? markdown_escape(s.problem) : "  " + s.problem) + "\n";
      continue;
    }
    heading(fmt::format("{}: {} - measured ceilings", s.chip->name, s.chip->display_name));
    out += table(ceilings_table(*s.chip));
    for (const auto& k : s.knees) {
      const std::string line = k.roofline ? fmt::format("decode knee {}: measured B* = {:.1f}, roofline predicts {:.1f}", k.variant,
                                                        k.measured, *k.roofline)
                                          : fmt::format("decode knee {}: measured B* = {:.1f}", k.variant, k.measured);
      out += markdown ? "\n" + markdown_escape(line) + "\n" : "  " + line + "\n";
    }
    if (!s.checks.empty()) {
      heading(fmt::format("{}: forward pass (model.decode) against the serving model", s.chip->name));
      out += table(checks_table(s));
      const std::string summary = check_summary(s);
      if (!summary.empty()) out += markdown ? "\n" + markdown_escape(summary) + "\n" : "  " + summary + "\n";
    }
  }
  heading(fmt::format("{}: {}; each chip at its cheapest fitting configuration", r.model, r.deployment));
  out += table(serving_table(r));
  for (const auto& n : r.notes) out += markdown ? "\n- " + markdown_escape(n) : "  " + n + "\n";
  if (markdown && !r.notes.empty()) out += "\n";
  if (r.history && r.history->runs.size() >= 2) {
    heading(fmt::format("history: {} runs of this series (roofaudit history shows every metric)", r.history->runs.size()));
    std::vector<std::string> lines;
    for (const auto& m : r.history->metrics)
      for (const auto& c : m.changes)
        lines.push_back(fmt::format("{}: change point at run {}: {:+.1f}% (p={:.1g})", m.name, c.run, c.change * 100, c.p));
    for (const auto& f : r.history->markers) lines.push_back(fmt::format("run {}: {} {} -> {}", f.run, f.fact, f.from, f.to));
    if (lines.empty()) lines.push_back("no change point in the headline metrics, no environment change");
    for (const auto& l : lines) out += markdown ? "- " + markdown_escape(l) + "\n" : "  " + l + "\n";
  }
  return out;
}

}  // namespace

std::string render_report_text(const AuditReport& r) { return render_common(r, false, text_table); }
std::string render_report_markdown(const AuditReport& r) { return render_common(r, true, md_table); }

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
    j["decode_knees"] = knees;
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

std::string render_report_html(const AuditReport& r) {
  auto table = [](const Table& t) {
    std::string out = "<table><thead><tr>";
    for (const auto& h : t.header) out += "<th>" + html_escape(h) + "</th>";
    out += "</tr></thead><tbody>";
    for (const auto& row : t.rows) {
      out += "<tr>";
      for (std::size_t i = 0; i < row.size(); ++i)
        out += (i == 0 || t.header[i] == "provenance" ? "<td>" : "<td class=\"num\">") + html_escape(row[i]) + "</td>";
      out += "</tr>";
    }
    return out + "</tbody></table>";
  };
  std::string body;
  body += "<h1>roofaudit report: run " + std::to_string(r.view.run.id) + "</h1>";
  body += "<section id=\"fingerprint\"><h2>Machine</h2><ul>";
  body += "<li>" + html_escape(fingerprint_line(r.view)) + "</li>";
  body += "<li>" + html_escape(system_line(r.view)) + "</li>";
  body += "<li>" + html_escape(fmt::format("run {} ({}), {}, started {}", r.view.run.id, r.view.run.uuid, r.view.run.status,
                                           r.view.run.started_at)) +
          "</li></ul></section>";
  body += "<section><h2>Roofline</h2><p>Measured ceilings of this machine (solid: read bandwidth per memory level up to "
          "the highest measured peak; dotted: peak per precision), the probes' measured points, and catalogue chips' "
          "spec-sheet bf16 roofs (grey, dashed). Both axes logarithmic.</p>" +
          roofline_svg(r) + "</section>";
  body += "<section><h2>Cost against latency: " + html_escape(r.model) + "</h2><p>Pareto frontier of USD per 1M output "
          "tokens against the decode step time (every sequence's per-token latency), batch 1 up to the largest that fits, "
          "for each chip at its cheapest fitting configuration. " + html_escape(r.deployment) + ".</p>" + pareto_svg(r) + "</section>";
  body += "<section id=\"serving\"><h2>Serving " + html_escape(r.model) + "</h2>" + table(serving_table(r));
  if (!r.notes.empty()) {
    body += "<ul>";
    for (const auto& n : r.notes) body += "<li>" + html_escape(n) + "</li>";
    body += "</ul>";
  }
  body += "</section>";
  for (const auto& s : r.local) {
    if (!s.chip) {
      body += "<section><h2>" + html_escape(s.device.device + " (" + s.device.display_name + "): not calibrated") + "</h2><p>" +
              html_escape(s.problem) + "</p></section>";
      continue;
    }
    body += "<section><h2>" + html_escape(s.chip->name + ": " + s.chip->display_name) + "</h2>" + table(ceilings_table(*s.chip));
    if (!s.checks.empty())
      body += "<h3>Forward pass against the serving model</h3>" + table(checks_table(s)) + "<p>" + html_escape(check_summary(s)) + "</p>";
    body += "</section>";
  }
  if (r.history && r.history->runs.size() >= 2) {
    body += "<section id=\"history\"><h2>History</h2><p>" +
            html_escape(fmt::format("{} runs of this machine's series ({}), up to this run: the run medians of the headline "
                                    "metrics; dashed: change points (E-divisive, t-test p <= 0.001, at least 2%, at least 3 "
                                    "runs each side); triangles: runs whose kernel, driver, compiler or roofaudit differed "
                                    "from the run before.",
                                    r.history->runs.size(), r.history->settings)) +
            "</p><div class=\"plots\">";
    int id = 0;
    for (const auto& m : r.history->metrics)
      if (m.points.size() >= 2) body += history_svg(m, r.history->markers, id++);
    body += "</div></section>";
  }
  Table provenance{{"subject", "figure", "value", "unit", "provenance"}, {}};
  for (const auto& row : figure_rows(r))
    provenance.rows.push_back({row.subject, row.figure, fmt::format("{:.4g}", row.value), row.unit, row.provenance});
  body += "<section id=\"provenance\"><h2>Every figure and where it came from</h2>" + table(provenance) + "</section>";
  const char* style =
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
  return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         html_escape(fmt::format("roofaudit report: run {}", r.view.run.id)) + "</title><style>" + style +
         "</style></head><body>" + body + "</body></html>\n";
}

}  // namespace roofaudit::reports
