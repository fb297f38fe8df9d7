// The audit report in every format, from a stored run (fixture), with hostile text in
// the machine's names; the HTML page rendered in headless Chromium.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "calibrate/catalog.hpp"
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

AuditReport fixture_report() {
  AuditReport r;
  r.view = load_run_fixture("vm_turin_quick_run.json");
  r.view.machine->hostname = kHostile;
  r.view.machine->cpu_model = "CPU <b>bold</b> & co";
  LocalSection s;
  s.device = fixture_cpu(r.view);
  s.device.display_name = r.view.machine->cpu_model;
  s.chip = calibrate_device(r.view.run.id, s.device, r.view.measurements, r.view.fits);
  s.checks = check_predictions(*s.chip, r.view.measurements);
  s.knees.push_back({"int8", 10.3, 9.7});
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
  EXPECT_EQ(svgs, 2u);
  EXPECT_EQ(links, svgs) << "nothing fetched: the only URLs are the SVG namespace names";
  EXPECT_EQ(html.find("<b>bold</b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"), std::string::npos);
  EXPECT_NE(html.find("GPU &quot;&lt;evil&gt;&quot;"), std::string::npos);
  EXPECT_NE(html.find("arithmetic intensity"), std::string::npos);
  EXPECT_NE(html.find("USD per 1M output tokens"), std::string::npos);
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
