#include "reports/document.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "values/error.hpp"

namespace roofaudit::reports {
namespace {

constexpr std::array<Format, 5> kFormats = {Format::text, Format::markdown, Format::json, Format::csv, Format::html};

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

std::string pad(const std::string& cell, std::size_t width, Align align) {
  return align == Align::left ? fmt::format("{:<{}}", cell, width) : fmt::format("{:>{}}", cell, width);
}

// ---------------------------------------------------------------------------------
// text

std::string text_spans(const Paragraph& p, const std::string& indent) {
  std::string out;
  for (const auto& s : p.spans) out += s.kind == Span::Kind::line_break ? "\n" + indent : s.text;
  return out;
}

std::string text_table(const Table& t) {
  const std::size_t n = t.columns.size();
  std::vector<std::size_t> width(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    width[i] = t.columns[i].name.size();
    for (const auto& r : t.rows)
      if (i < r.size()) width[i] = std::max(width[i], r[i].size());
    width[i] = std::clamp(width[i], t.columns[i].min_width, std::max(t.columns[i].min_width, t.columns[i].max_width));
  }
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::size_t used = std::min(cells.size(), n);
    if (header)  // a header's empty trailing cells name nothing
      while (used > 0 && cells[used - 1].empty()) --used;
    std::string out = t.text_indent;
    for (std::size_t i = 0; i < used; ++i) {
      const Column& c = t.columns[i];
      if (c.elide_empty && cells[i].empty()) continue;
      if (i > 0) out += t.text_gap;
      const bool last = i + 1 == n;
      out += c.align == Align::left && last ? cells[i] : pad(cells[i], width[i], c.align);
    }
    return out + "\n";
  };
  std::vector<std::string> header;
  for (const auto& c : t.columns) header.push_back(c.name);
  std::string out = line(header, true);
  for (const auto& r : t.rows) out += line(r, false);
  return out;
}

struct TextSink {
  const Document& d;
  std::string out;

  void block(const Block& b) {
    std::visit(Overloaded{
                   [&](const Paragraph& p) { out += d.text_indent + text_spans(p, d.text_indent) + "\n"; },
                   [&](const List& l) {
                     for (const auto& item : l.items) out += "  " + item + "\n";
                   },
                   [&](const Table& t) { out += text_table(t); },
                   [&](const Figure&) {},
                   [&](const Heading& h) { out += "\n" + h.text + "\n"; },
               },
               b);
  }
};

// ---------------------------------------------------------------------------------
// Markdown

std::string markdown_code(const std::string& text) {
  // A code span shows its contents literally; a fence longer than any run of backticks in
  // them keeps it closed, and a table cell's pipe still needs its backslash.
  std::size_t run = 0, longest = 0;
  std::string body;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
    if (c == '|') body += '\\';
    body += c;
  }
  const std::string fence(longest + 1, '`');
  const bool spaced = !body.empty() && (body.front() == '`' || body.back() == '`');
  return spaced ? fence + " " + body + " " + fence : fence + body + fence;
}

// How a sink writes inline text: its escaper, the markup around strong and code runs,
// and its line break.
struct InlineMarkup {
  std::string (*escape)(const std::string&);
  std::string (*code)(const std::string&);
  const char* strong_open;
  const char* strong_close;
  const char* line_break;
};

std::string spans(const Paragraph& p, const InlineMarkup& m) {
  std::string out;
  for (const auto& s : p.spans) {
    switch (s.kind) {
      case Span::Kind::text: out += m.escape(s.text); break;
      case Span::Kind::strong: out += m.strong_open + m.escape(s.text) + m.strong_close; break;
      case Span::Kind::code: out += m.code(s.text); break;
      case Span::Kind::line_break: out += m.line_break; break;
      case Span::Kind::prose: out += s.text; break;
    }
  }
  return out;
}

std::string markdown_spans(const Paragraph& p) {
  return spans(p, {markdown_escape, markdown_code, "**", "**", "  \n"});
}

std::string markdown_table(const Table& t) {
  std::string out = "|";
  for (const auto& c : t.columns) out += c.name.empty() ? std::string(" |") : fmt::format(" {} |", markdown_escape(c.name));
  out += "\n|";
  for (const auto& c : t.columns) out += c.align == Align::left ? "---|" : "---:|";
  out += "\n";
  for (const auto& r : t.rows) {
    out += "|";
    for (std::size_t i = 0; i < r.size() && i < t.columns.size(); ++i)
      out += fmt::format(" {} |", t.columns[i].code ? markdown_code(r[i]) : markdown_escape(r[i]));
    out += "\n";
  }
  return out;
}

struct MarkdownSink {
  const Document& d;
  std::string out;

  // Blocks are separated by one blank line.
  void separate() {
    if (!out.empty() && !out.ends_with("\n\n")) out += "\n";
  }
  void heading(int level, const std::string& text) {
    separate();
    out += std::string(std::size_t(std::clamp(level, 1, 6)), '#') + " " + markdown_escape(text) + "\n";
  }
  void block(const Block& b) {
    if (std::holds_alternative<Figure>(b)) return;
    if (const auto* h = std::get_if<Heading>(&b)) return heading(d.title_level + 2, h->text);
    separate();
    std::visit(Overloaded{
                   [&](const Paragraph& p) { out += markdown_spans(p) + "\n"; },
                   [&](const List& l) {
                     for (const auto& item : l.items) out += "- " + markdown_escape(item) + "\n";
                   },
                   [&](const Table& t) { out += markdown_table(t); },
                   [&](const auto&) {},
               },
               b);
  }
};

// ---------------------------------------------------------------------------------
// HTML

std::string html_code(const std::string& text) { return "<code>" + html_escape(text) + "</code>"; }

std::string html_spans(const Paragraph& p) { return spans(p, {html_escape, html_code, "<strong>", "</strong>", "<br>"}); }

std::string html_table(const Table& t) {
  std::string out = "<table><thead><tr>";
  for (const auto& c : t.columns) out += "<th>" + html_escape(c.name) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (std::size_t i = 0; i < row.size() && i < t.columns.size(); ++i) {
      const std::string cell = t.columns[i].code ? html_code(row[i]) : html_escape(row[i]);
      out += (t.columns[i].align == Align::left ? "<td>" : "<td class=\"num\">") + cell + "</td>";
    }
    out += "</tr>";
  }
  return out + "</tbody></table>";
}

std::string html_block(const Block& b) {
  return std::visit(Overloaded{
                        [](const Paragraph& p) { return "<p>" + html_spans(p) + "</p>"; },
                        [](const List& l) {
                          std::string out = "<ul>";
                          for (const auto& item : l.items) out += "<li>" + html_escape(item) + "</li>";
                          return out + "</ul>";
                        },
                        [](const Table& t) { return html_table(t); },
                        [](const Figure& f) {
                          std::string out = f.row ? "<div class=\"plots\">" : "";
                          for (const auto& svg : f.svg) out += svg;
                          return f.row ? out + "</div>" : out;
                        },
                        [](const Heading& h) { return "<h3>" + html_escape(h.text) + "</h3>"; },
                    },
                    b);
}

}  // namespace

std::string format_name(Format f) {
  switch (f) {
    case Format::text: return "text";
    case Format::markdown: return "markdown";
    case Format::json: return "json";
    case Format::csv: return "csv";
    case Format::html: return "html";
  }
  return "?";
}

std::string format_list(std::initializer_list<Format> accepted) {
  std::string out;
  std::size_t i = 0;
  for (Format f : accepted) {
    out += (i == 0 ? "" : i + 1 == accepted.size() ? " or " : ", ") + format_name(f);
    ++i;
  }
  return out;
}

Format parse_format(std::string_view text, std::initializer_list<Format> accepted) {
  for (Format f : accepted)
    if (format_name(f) == text) return f;
  throw Error(fmt::format("--format takes {}, not '{}'", format_list(accepted), text));
}

std::string render_text(const Document& d) {
  TextSink sink{d, {}};
  if (!d.title.empty()) sink.out += d.title + "\n";
  for (const auto& b : d.intro) sink.block(b);
  for (const auto& s : d.sections) {
    if (!s.heading.empty()) sink.out += "\n" + s.heading + "\n";
    for (const auto& b : s.blocks) sink.block(b);
  }
  return sink.out;
}

std::string render_markdown(const Document& d) {
  MarkdownSink sink{d, {}};
  if (!d.title.empty()) sink.heading(d.title_level, d.title);
  for (const auto& b : d.intro) sink.block(b);
  for (const auto& s : d.sections) {
    if (!s.heading.empty()) sink.heading(d.title_level + 1, s.heading);
    for (const auto& b : s.blocks) sink.block(b);
  }
  return sink.out;
}

std::string render_html(const Document& d) {
  std::string body = "<h1>" + html_escape(d.title) + "</h1>";
  for (const auto& b : d.intro) body += html_block(b);
  for (const auto& s : d.sections) {
    body += s.id.empty() ? "<section>" : "<section id=\"" + html_escape(s.id) + "\">";
    if (!s.heading.empty()) body += "<h2>" + html_escape(s.heading) + "</h2>";
    for (const auto& b : s.blocks) body += html_block(b);
    body += "</section>";
  }
  return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(d.title) +
         "</title><style>" + d.stylesheet + "</style></head><body>" + body + "</body></html>\n";
}

std::string render(const Document& d, Format f) {
  switch (f) {
    case Format::text: return render_text(d);
    case Format::markdown: return render_markdown(d);
    case Format::html: return render_html(d);
    case Format::json:
    case Format::csv: break;
  }
  throw Error(fmt::format("{} is data, not a document: it has its own writer", format_name(f)));
}

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

}  // namespace roofaudit::reports
