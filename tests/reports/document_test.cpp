// The output model: one Format parser for every verb, and sinks that lay a document out and
// escape every string for their format.
#include <gtest/gtest.h>

#include "reports/document.hpp"
#include "values/error.hpp"

namespace roofaudit::reports {
namespace {

Document hostile_document() {
  Document d;
  d.title = "run <1> & *all*";
  d.intro.push_back(Paragraph("host <img src=x onerror=alert(1)> | a_b").line_break().strong("2 [regressions]"));
  Section& s = d.section("section `x`", "sec");
  Table t;
  t.columns = {{"name", Align::left}, {"value"}};
  t.columns[0].code = true;
  t.rows.push_back({"a|b`c`", "<b>"});
  s.add(std::move(t));
  s.add(List{{"note <script>", "plain"}});
  s.add(Figure{{"<svg></svg>"}});
  return d;
}

TEST(Format, OneParserNamesWhatEachVerbAccepts) {
  EXPECT_EQ(parse_format("csv", {Format::text, Format::csv}), Format::csv);
  EXPECT_EQ(format_list({Format::text, Format::markdown, Format::json}), "text, markdown or json");
  EXPECT_EQ(format_list({Format::html}), "html");
  try {
    parse_format("yaml", {Format::text, Format::markdown, Format::json});
    FAIL() << "an unknown format was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--format takes text, markdown or json, not 'yaml'");
  }
  // A format the verb does not offer is refused even though another verb has it.
  EXPECT_THROW(parse_format("html", {Format::text, Format::json}), Error);
  EXPECT_THROW(render(Document{}, Format::json), Error);
}

TEST(Document, MarkdownSinkEscapesEveryStoredString) {
  const std::string md = render_markdown(hostile_document());
  EXPECT_NE(md.find("## run \\<1\\> & \\*all\\*\n\n"), std::string::npos) << md;
  EXPECT_NE(md.find("host \\<img src=x onerror=alert(1)\\> \\| a\\_b  \n**2 \\[regressions\\]**\n"), std::string::npos) << md;
  EXPECT_NE(md.find("\n### section \\`x\\`\n\n"), std::string::npos) << md;
  // A code span is literal; its fence outgrows the backticks inside; a pipe keeps the table whole.
  // (a space each side when the contents end in a backtick, which the reader strips).
  EXPECT_NE(md.find("| `` a\\|b`c` `` | \\<b\\> |"), std::string::npos) << md;
  EXPECT_NE(md.find("\n- note \\<script\\>\n- plain\n"), std::string::npos) << md;
  EXPECT_EQ(md.find("<svg"), std::string::npos) << "figures are HTML only";
  EXPECT_EQ(md.find(" <img"), std::string::npos) << "every < is escaped";
}

TEST(Document, HtmlSinkEscapesTextAndKeepsProseAndFigures) {
  Document d = hostile_document();
  d.sections.front().add(Paragraph().prose("the program's own words").text(" and 'stored' ones"));
  const std::string html = render_html(d);
  EXPECT_EQ(html.find("<img"), std::string::npos) << html;
  EXPECT_EQ(html.find("<script"), std::string::npos) << html;
  EXPECT_NE(html.find("<title>run &lt;1&gt; &amp; *all*</title>"), std::string::npos) << html;
  EXPECT_NE(html.find("<section id=\"sec\"><h2>section `x`</h2>"), std::string::npos) << html;
  EXPECT_NE(html.find("<td><code>a|b`c`</code></td><td class=\"num\">&lt;b&gt;</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<br><strong>2 [regressions]</strong>"), std::string::npos) << html;
  EXPECT_NE(html.find("<p>the program's own words and &#39;stored&#39; ones</p>"), std::string::npos) << html;
  EXPECT_NE(html.find("<svg></svg>"), std::string::npos);
  EXPECT_TRUE(html.ends_with("</body></html>\n"));
}

TEST(Document, TextSinkLaysTablesOutByColumn) {
  Document d;
  d.title = "title";
  d.text_indent = "  ";
  Table t;
  t.columns = {{"metric", Align::left, 6, 10}, {"A", Align::right, 5, 5}, {"note", Align::left}};
  t.columns.back().elide_empty = true;
  t.text_indent = "";
  t.text_gap = "  ";
  t.rows.push_back({"short", "1.0", "see"});
  t.rows.push_back({"a very long metric", "123456", ""});
  d.section("heading").add(std::move(t)).add(Paragraph("para")).add(List{{"item"}});
  EXPECT_EQ(render_text(d),
            "title\n"
            "\nheading\n"
            "metric          A  note\n"
            "short         1.0  see\n"
            "a very long metric  123456\n"  // wider than the column's bound: shown whole; empty note elided
            "  para\n"
            "  item\n");
}

}  // namespace
}  // namespace roofaudit::reports
