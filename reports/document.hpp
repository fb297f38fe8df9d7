#pragma once
// One output model for every reading verb. A verb builds a Document (headings, paragraphs,
// lists, tables, figures) from plain strings; a sink lays it out as text, Markdown or HTML
// and escapes every string for its format, so no verb can forget to. JSON and CSV are data,
// not documents: their writers sit beside the sinks (json_text.hpp, csv_field).
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace roofaudit::reports {

enum class Format { text, markdown, json, csv, html };

std::string format_name(Format f);
// The --format option of every verb: `text` must be one of `accepted`, else Error with one
// line naming them ("--format takes text, markdown or json, not 'yaml'").
Format parse_format(std::string_view text, std::initializer_list<Format> accepted);
// "text, markdown or json": the help text of a verb's --format.
std::string format_list(std::initializer_list<Format> accepted);

// Text the program itself wrote (a string literal, checked at compile time): the sinks emit
// it as it stands. Everything that is not Prose is escaped by the sink.
struct Prose {
  consteval Prose(const char* literal) : text(literal) {}  // NOLINT: implicit from a literal on purpose
  const char* text;
};

// A run of inline text.
struct Span {
  enum class Kind { text, strong, code, line_break, prose };
  Kind kind = Kind::text;
  std::string text;
};

struct Paragraph {
  std::vector<Span> spans;
  Paragraph() = default;
  explicit Paragraph(std::string text) { spans.push_back({Span::Kind::text, std::move(text)}); }
  Paragraph& text(std::string t) { return add(Span::Kind::text, std::move(t)); }
  Paragraph& strong(std::string t) { return add(Span::Kind::strong, std::move(t)); }
  Paragraph& prose(Prose p) { return add(Span::Kind::prose, p.text); }
  Paragraph& line_break() { return add(Span::Kind::line_break, ""); }

 private:
  Paragraph& add(Span::Kind k, std::string t) {
    spans.push_back({k, std::move(t)});
    return *this;
  }
};

struct List {
  std::vector<std::string> items;
};

enum class Align { left, right };

struct Column {
  std::string name;
  Align align = Align::right;
  // The text sink pads a column to its widest cell, kept within these bounds (a wider cell
  // still shows whole). A left-aligned last column is never padded.
  std::size_t min_width = 0;
  std::size_t max_width = std::numeric_limits<std::size_t>::max();
  bool code = false;         // Markdown: a code span (metric names)
  bool elide_empty = false;  // text: an empty cell drops its separator too (trailing notes)
};

struct Table {
  std::vector<Column> columns;
  std::vector<std::vector<std::string>> rows;
  // The text sink's layout: before each line, and between cells.
  std::string text_indent = "  ";
  std::string text_gap = " ";
};

// A figure's markup (SVG, built and escaped by reports/plots and history_svg), shown by
// the HTML sink only; a row of them sits in one flowing box.
struct Figure {
  std::vector<std::string> svg;
  bool row = false;
};

struct Heading {
  std::string text;
};

using Block = std::variant<Paragraph, List, Table, Figure, Heading>;

struct Section {
  std::string heading;
  std::string id;  // HTML: the section's anchor; none when empty
  std::vector<Block> blocks;
  Section& add(Block b) {
    blocks.push_back(std::move(b));
    return *this;
  }
};

struct Document {
  std::string title;
  std::vector<Block> intro;  // before the first section
  std::vector<Section> sections;
  // Markdown: the title's heading level, 2 for "##" (sections one below, headings in them
  // two below), so that a document reads as part of a larger page (a CI summary, a pull
  // request). HTML: the title is the page's h1, sections h2, headings h3.
  int title_level = 2;
  // Text: paragraphs are indented by this (list items by two spaces, always).
  std::string text_indent;
  // HTML: the page's stylesheet (the program's own).
  const char* stylesheet = "";

  Section& section(std::string heading, std::string id = "") {
    sections.push_back(Section{std::move(heading), std::move(id), {}});
    return sections.back();
  }
};

std::string render_text(const Document& d);
std::string render_markdown(const Document& d);
// One self-contained page: inline CSS and figures, no script, no network.
std::string render_html(const Document& d);
// text, markdown or html; Error for the data formats (json, csv), which have writers.
std::string render(const Document& d, Format f);

// The escapers, for markup built outside a Document (SVG in plots): HTML text and
// attribute contexts (& < > " '); Markdown text and table cells (| * _ ` < > [ ] get a
// backslash); a CSV field (quoted when it holds a comma, quote or line break).
std::string html_escape(const std::string& text);
std::string markdown_escape(const std::string& text);
std::string csv_field(const std::string& text);

}  // namespace roofaudit::reports
