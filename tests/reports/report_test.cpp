// The audit report in every format, from a stored run (fixture), with hostile text in
// the machine's names; the HTML page rendered in headless Chromium.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "calibrate/catalog.hpp"
#include "reports/format.hpp"
#include "calibrate/serving.hpp"
#include "reports/audit_report.hpp"
#include "run_fixture.hpp"

namespace roofaudit::reports {
namespace {

using namespace roofaudit::calibrate;
using roofaudit::testing::fixture_cpu;
using roofaudit::testing::load_run_fixture;
using roofaudit::testing::read_all;
using roofaudit::testing::ScratchDir;
using roofaudit::testing::write_all;

const std::string kHostile = "<script>alert('x')</script> & \"quoted\", comma";

// Eight runs of a series: a peak that fell 20% at run 5 (a kernel update there) and a
// level whose name needs escaping.
SeriesHistory fixture_history() {
  SeriesHistory h;
  h.machine = "vm (abc)";
  h.settings = "Release|-O3|threads 0|quick true";
  MetricHistory peak{"cpu.peak/fp32/peak/threads:2", "FLOP/s", true, {}, {}};
  MetricHistory level{"cpu.bandwidth read <L2> & co", "B/s", true, {}, {}};
  for (int i = 0; i < 8; ++i) {
    h.runs.push_back(i + 1);
    peak.points.push_back({i + 1, "u", "2026-11-23", i < 4 ? 440e9 : 352e9, 5});
    level.points.push_back({i + 1, "u", "2026-11-23", 330e9 + i * 1e9, 5});
  }
  peak.changes.push_back({4, 5, 1e-6, -0.2});
  h.metrics = {level, peak};
  h.markers.push_back({5, "kernel", "6.1 <old>", "6.2"});
  return h;
}

AuditReport fixture_report() {
  AuditReport r;
  r.view = load_run_fixture("vm_turin_quick_run.json");
  r.view.machine->hostname = kHostile;
  r.view.machine->cpu_model = "CPU <b>bold</b> & co";
  LocalSection s;
  s.device = fixture_cpu(r.view);
  s.device.display_name = r.view.machine->cpu_model;
  s.chip = calibrate_device(r.view.run.id, s.device, r.view.measurements, r.view.fits, testing::probe_roles());
  s.checks = check_predictions(*s.chip, r.view.measurements, testing::probe_roles());
  s.knees.push_back({"int8", 10.3, 9.7, ""});
  r.local.push_back(s);
  LocalSection missing;
  missing.device.device = "gpu:0";
  missing.device.display_name = "GPU \"<evil>\"";
  missing.problem = "run 1 has no memory bandwidth fit for gpu:0: run gpu.bandwidth";
  r.local.push_back(missing);
  r.catalogue = catalog_chips();
  r.points.push_back({"local", "cpu.decode int8 B=16", 16.0, 1.0e12});
  r.model = "llama3-70b";
  r.deployment = "context 8192";
  std::vector<Deployment> bases(1);
  bases[0].weights = Dtype::int8;
  bases[0].kv = Dtype::int8;
  for (const ChipSpec& c : {*s.chip, find_chip("tpu-v5e"), find_chip("h100")}) {
    const auto best = cheapest_configuration(find_model("llama3-70b"), c, bases, -1);
    EXPECT_TRUE(best) << c.name;
    if (!best) continue;
    r.serving.push_back(*best);
    r.pareto.emplace_back(c.name, batch_frontier(find_model("llama3-70b"), c, best->deployment));
  }
  r.notes.push_back("note with <angle> & ampersand");
  r.history = fixture_history();
  return r;
}

TEST(ReportEscaping, HtmlAndCsv) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain"), "plain");
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

TEST(Report, TextShowsCeilingsKneeChecksAndTheServingTable) {
  const auto r = fixture_report();
  const std::string text = render_report_text(r);
  EXPECT_NE(text.find("measured ceilings"), std::string::npos);
  EXPECT_NE(text.find("read bandwidth DRAM"), std::string::npos);
  EXPECT_NE(text.find("decode knee int8: measured B* = 10.3, roofline predicts 9.7"), std::string::npos);
  EXPECT_NE(text.find("forward pass (model.decode)"), std::string::npos);
  EXPECT_NE(text.find("(fit)"), std::string::npos);
  EXPECT_NE(text.find("tpu-v5e"), std::string::npos);
  EXPECT_NE(text.find("gpu:0"), std::string::npos);
  EXPECT_NE(text.find("run gpu.bandwidth"), std::string::npos);
}

// Where two probes competed for a figure (two backends of one GPU), the report shows each
// beside the headline with its ratio, in text and JSON; a figure one probe measured, no line.
TEST(Report, CompetingCandidatesStandBesideTheHeadline) {
  auto r = fixture_report();
  EXPECT_EQ(render_report_text(r).find("the headline"), std::string::npos);
  r.local.front().candidates.push_back(
      {Role::gemm, calibrate::Dtype::fp16, {{"cuda.gemm fp16 (cuBLASLt)", 752e12}, {"gpu.gemm fp16", 31.5e12}}});
  const std::string text = render_report_text(r);
  EXPECT_NE(text.find("gemm fp16: cuda.gemm fp16 (cuBLASLt) 752 TFLOP/s, the headline; gpu.gemm fp16 31.5 TFLOP/s, "
                      "0.042 of it"),
            std::string::npos)
      << text;
  const auto j = report_to_json(r);
  EXPECT_EQ(j["local"][0]["competing_candidates"][0]["by_probe"][1]["value"].get<double>(), 31.5e12);
}

// Under objectives the report answers first: this machine's best configuration, beside
// the cheapest catalogue chip that meets the same objectives.
TEST(Report, OpensWithTheAnswerUnderTheObjectives) {
  auto r = fixture_report();
  r.objectives = {50e-3, std::nullopt};
  r.objectives_text = "TPOT <= 50 ms";
  for (auto& e : r.serving) check_objectives(e, r.objectives);
  rank_estimates(r.serving, r.objectives);
  for (const auto& e : r.serving) {
    if (e.chip == "local" && !r.answer.local) r.answer.local = e;
    if (e.chip != "local" && !r.answer.catalogue && *e.slo_met && e.usd_per_mtok) r.answer.catalogue = e;
  }
  ASSERT_TRUE(r.answer.local);
  ASSERT_TRUE(r.answer.catalogue);
  const std::string text = render_report_text(r);
  const auto answer = text.find("answer: llama3-70b under TPOT <= 50 ms");
  ASSERT_NE(answer, std::string::npos) << text;
  EXPECT_LT(answer, text.find("measured ceilings")) << "the answer comes first";
  EXPECT_NE(text.find("this machine: local x"), std::string::npos) << text;
  // This machine is owned: its price splits into capital and power.
  ASSERT_TRUE(r.answer.local->capital_usd);
  EXPECT_NE(text.find("(owned: capital "), std::string::npos) << text;
  EXPECT_NE(render_report_csv(r).find("capital USD per 1M tokens"), std::string::npos);
  EXPECT_NE(text.find("cheapest catalogue chip meeting TPOT <= 50 ms: " + r.answer.catalogue->chip), std::string::npos)
      << text;
  EXPECT_NE(text.find(" objectives"), std::string::npos) << "the serving table gains the objectives column";
  const auto j = report_to_json(r);
  EXPECT_EQ(j["objectives"]["tpot_s"], 50e-3);
  EXPECT_EQ(j["answer"]["catalogue"]["chip"], r.answer.catalogue->chip);
  EXPECT_TRUE(j["answer"]["catalogue"]["slo_met"].get<bool>());
  EXPECT_NE(render_report_html(r).find("<section id=\"answer\">"), std::string::npos);
}

TEST(Report, MarkdownTablesEscapeTheirCells) {
  const std::string md = render_report_markdown(fixture_report());
  EXPECT_NE(md.find("## roofaudit report: run 1"), std::string::npos);
  EXPECT_NE(md.find("|---|"), std::string::npos);
  EXPECT_EQ(md.find("<script>"), std::string::npos) << "raw HTML would render in a pull-request comment";
  EXPECT_NE(md.find("\\<script\\>"), std::string::npos);
}

TEST(Report, JsonAndCsvCarryEveryFigure) {
  const auto r = fixture_report();
  const auto j = report_to_json(r);
  EXPECT_EQ(j["run"]["id"], 1);
  EXPECT_EQ(j["machine"]["hostname"], kHostile);
  ASSERT_EQ(j["local"].size(), 2u);
  EXPECT_EQ(j["local"][0]["chip"]["name"], "local");
  EXPECT_EQ(j["local"][1]["problem"].get<std::string>().rfind("run 1 has no", 0), 0u);
  EXPECT_EQ(j["serving"].size(), r.serving.size());
  EXPECT_TRUE(j["pareto"].contains("tpu-v5e"));
  const auto& figures = j["figures"];
  ASSERT_GT(figures.size(), 20u);

  const std::string csv = render_report_csv(r);
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "section,subject,figure,value,unit,provenance");
  std::size_t rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    // Six fields: count separators outside quotes.
    int fields = 1;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      else if (c == ',' && !quoted) ++fields;
    }
    EXPECT_EQ(fields, 6) << line;
  }
  EXPECT_EQ(rows, figures.size()) << "CSV and JSON hold the same figures";
}

TEST(Report, HtmlIsSelfContainedAndEscaped) {
  const std::string html = render_report_html(fixture_report());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"roofline\""), std::string::npos);
  EXPECT_NE(html.find("id=\"pareto\""), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  std::size_t links = 0, svgs = 0;
  for (auto at = html.find("http"); at != std::string::npos; at = html.find("http", at + 1)) ++links;
  for (auto at = html.find("<svg "); at != std::string::npos; at = html.find("<svg ", at + 1)) ++svgs;
  EXPECT_EQ(svgs, 4u) << "roofline, Pareto and two history plots";
  EXPECT_NE(html.find("id=\"history-1\""), std::string::npos);
  EXPECT_NE(html.find("<line class=\"change\""), std::string::npos);
  EXPECT_NE(html.find(">-20.0%</text>"), std::string::npos);
  EXPECT_NE(html.find("<title>run 5: kernel 6.1 &lt;old&gt; -&gt; 6.2</title>"), std::string::npos);
  EXPECT_NE(html.find("cpu.bandwidth read &lt;L2&gt; &amp; co"), std::string::npos);
  EXPECT_EQ(links, svgs) << "nothing fetched: the only URLs are the SVG namespace names";
  EXPECT_EQ(html.find("<b>bold</b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"), std::string::npos);
  EXPECT_NE(html.find("GPU &quot;&lt;evil&gt;&quot;"), std::string::npos);
  EXPECT_NE(html.find("arithmetic intensity"), std::string::npos);
  EXPECT_NE(html.find("USD per 1M output tokens"), std::string::npos);
}

TEST(History, EveryFormatShowsTheChangeAndTheMarker) {
  const auto h = fixture_history();
  const std::string detailed = render_history_text(h, true);
  EXPECT_NE(detailed.find("352 GFLOP/s     5  <- change point -20.0% (p=1e-06)  [kernel: 6.1 <old> -> 6.2]"),
            std::string::npos)
      << detailed;
  const std::string brief = render_history_text(h, false);
  EXPECT_NE(brief.find("cpu.peak/fp32/peak/threads:2: 8 runs, 440 GFLOP/s -> 352 GFLOP/s, change at run 5 -20.0% (p=1e-06)"),
            std::string::npos)
      << brief;
  const std::string md = render_history_markdown(h);
  // A metric name is a code span: shown as it stands (a code span is never markup), its
  // pipe escaped for the table.
  EXPECT_NE(md.find("| `cpu.bandwidth read <L2> & co` | 8 | 330 GB/s | 337 GB/s | - |"), std::string::npos) << md;
  const auto j = history_to_json(h);
  EXPECT_EQ(j["metrics"][1]["change_points"][0]["run"], 5);
  EXPECT_EQ(j["markers"][0]["to"], "6.2");
  const std::string csv = render_history_csv(h);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 16);
  EXPECT_NE(csv.find("cpu.peak/fp32/peak/threads:2,FLOP/s,5,u,2026-11-23,3.52e+11,5,-0.2\n"), std::string::npos) << csv;
  const std::string text = render_report_text(fixture_report());
  EXPECT_NE(text.find("history: 8 runs of this series"), std::string::npos);
  EXPECT_NE(text.find("cpu.peak/fp32/peak/threads:2: change point at run 5: -20.0% (p=1e-06)"), std::string::npos) << text;
  EXPECT_EQ(format_value(85.1e-9, "s"), "85.1 ns");
  EXPECT_EQ(format_value(1.79e12, "OP/s"), "1.79 TOP/s");
}

// Headless Chromium loads the page and lays out both plots; the screenshot is not blank.
TEST(Report, HtmlRendersInHeadlessChromium) {
  const char* candidates[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"};
  std::string chromium;
  for (const char* c : candidates)
    if (access(c, X_OK) == 0) chromium = c;
  ASSERT_FALSE(chromium.empty()) << "Chromium is not installed (.ci/install-deps.sh installs Debian's chromium)";
  ScratchDir dir;
  write_all(dir.file("report.html"), render_report_html(fixture_report()));
  // The geometry of each plot's first element, as the browser laid it out.
  const std::string flags = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                            "--disable-background-networking --disable-component-update --disable-sync "
                            "--user-data-dir=" + dir.file("profile");
  const std::string dom_cmd = chromium + " " + flags + " --dump-dom file://" + dir.file("report.html") + " > " +
                              dir.file("dom.html") + " 2> " + dir.file("chromium.log");
  ASSERT_EQ(std::system(dom_cmd.c_str()), 0) << read_all(dir.file("chromium.log"));
  const std::string dom = read_all(dir.file("dom.html"));
  EXPECT_NE(dom.find("id=\"roofline\""), std::string::npos);
  EXPECT_NE(dom.find("id=\"pareto\""), std::string::npos);
  EXPECT_NE(dom.find("<polyline class=\"roof\""), std::string::npos);
  EXPECT_NE(dom.find("<polyline class=\"frontier\""), std::string::npos);
  EXPECT_NE(dom.find("<path class=\"series\""), std::string::npos);
  EXPECT_NE(dom.find("roofaudit report: run 1"), std::string::npos);
  EXPECT_EQ(dom.find("<script"), std::string::npos) << "escaped text stayed text";

  const std::string shot_cmd = chromium + " " + flags + " --window-size=1000,1400 --screenshot=" + dir.file("shot.png") +
                               " file://" + dir.file("report.html") + " > " + dir.file("chromium2.log") + " 2>&1";
  ASSERT_EQ(std::system(shot_cmd.c_str()), 0) << read_all(dir.file("chromium2.log"));
  const std::string png = read_all(dir.file("shot.png"));
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_GT(png.size(), 20000u) << "a page with two plots compresses to more than a blank one";
}

}  // namespace
}  // namespace roofaudit::reports
