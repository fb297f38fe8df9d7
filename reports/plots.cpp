#include "reports/plots.hpp"
#include "reports/format.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "calibrate/serving.hpp"
#include "reports/summary_table.hpp"

namespace roofaudit::reports {

namespace {

using calibrate::ChipSpec;
using calibrate::Dtype;

// ---------------------------------------------------------------------------------
// SVG plots

struct LogAxis {
  double lo, hi;      // data range (positive)
  double from, to;    // pixels
  double at(double v) const {
    return from + (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) * (to - from);
  }
};

const char* kPalette[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                          "#e377c2", "#17becf", "#7f7f7f", "#bcbd22", "#393b79", "#637939"};

std::string svg_text(double x, double y, const std::string& text, const std::string& extra = "") {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\"{}>{}</text>", x, y, extra.empty() ? "" : " " + extra,
                     html_escape(text));
}

std::string svg_open(const char* id, const char* label, double W, double H) {
  return fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{}\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" "
                     "role=\"img\" aria-label=\"{}\">",
                     id, W, H, W, H, label);
}

// Decade grid lines and labels on both axes.
std::string svg_axes(const LogAxis& x, const LogAxis& y, const std::string& x_label, const std::string& y_label,
                     const std::function<std::string(double)>& x_tick, const std::function<std::string(double)>& y_tick) {
  std::string out;
  const double left = x.from, right = x.to, top = y.to, bottom = y.from;
  for (double v = std::pow(10, std::ceil(std::log10(x.lo))); v <= x.hi * 1.0001; v *= 10) {
    const double px = x.at(v);
    out += fmt::format("<line class=\"grid\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>", px, top, bottom);
    out += svg_text(px, bottom + 16, x_tick(v), "text-anchor=\"middle\" class=\"tick\"");
  }
  for (double v = std::pow(10, std::ceil(std::log10(y.lo))); v <= y.hi * 1.0001; v *= 10) {
    const double py = y.at(v);
    out += fmt::format("<line class=\"grid\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\"/>", left, py, right);
    out += svg_text(left - 6, py + 4, y_tick(v), "text-anchor=\"end\" class=\"tick\"");
  }
  out += fmt::format("<rect class=\"frame\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>", left, top,
                     right - left, bottom - top);
  out += svg_text((left + right) / 2, bottom + 38, x_label, "text-anchor=\"middle\" class=\"label\"");
  out += svg_text(18, (top + bottom) / 2, y_label,
                  fmt::format("text-anchor=\"middle\" class=\"label\" transform=\"rotate(-90 18 {:.1f})\"", (top + bottom) / 2));
  return out;
}

// The roofline plot: each measured device's roofs (one per memory level) and peaks, the
// catalogue's bf16 roofs, and the run's measured points, with their legend.
class RooflinePlot {
 public:
  static constexpr double W = 860, H = 520, left = 90, right = W - 230, top = 30, bottom = H - 60;

  explicit RooflinePlot(const AuditReport& r) : r_(r), x_{1.0 / 16, 4096, left, right} {}

  std::string draw() {
    if (!vertical_axis()) return "<p>No ceilings measured: nothing to plot.</p>";
    std::string out = svg_open("roofline", "Roofline", W, H);
    out += svg_axes(x_, y_, "arithmetic intensity (operations per byte of memory traffic)", "operations per second",
                    [](double v) { return v < 1 ? fmt::format("1/{:.0f}", 1 / v) : fmt::format("{:.0f}", v); },
                    [](double v) { return format_value(v, "OP/s"); });
    out += fmt::format("<defs><clipPath id=\"plot\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs>",
                       left, top, right - left, bottom - top);
    out += "<g clip-path=\"url(#plot)\">";
    for (const auto& s : r_.local)
      if (s.chip) out += local_roofs(*s.chip);
    out += catalogue_roofs();
    out += points();
    return out + "</g>" + legend_ + "</svg>";
  }

 private:
  // From the lowest to the highest figure plotted, in decades.
  bool vertical_axis() {
    double lo = 1e300, hi = 0;
    auto widen = [&](double v) {
      if (v > 0 && std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    };
    for (const auto& s : r_.local)
      if (s.chip) {
        for (const auto& [d, v] : s.chip->peak_ops_per_s) widen(v);
        for (const auto& l : s.chip->memory_levels) widen(l.bytes_per_s * x_.lo);
      }
    for (const auto& c : r_.catalogue) {
      widen(c.peak_ops(Dtype::bf16));
      widen(c.memory_bytes_per_s * x_.lo);
    }
    for (const auto& p : r_.points) widen(p.ops_per_s);
    if (hi <= 0) return false;
    y_ = {std::pow(10, std::floor(std::log10(lo))), std::pow(10, std::ceil(std::log10(hi * 1.5))), bottom, top};
    return true;
  }

  // A roof: bandwidth x intensity up to the peak. Drawn as a polyline in data space.
  std::string roof(double bw, double peak, const std::string& cls, const std::string& colour) const {
    const double ridge = peak / bw;
    std::string pts = fmt::format("{:.1f},{:.1f} ", x_.at(x_.lo), y_.at(bw * x_.lo));
    if (ridge > x_.lo && ridge < x_.hi) pts += fmt::format("{:.1f},{:.1f} ", x_.at(ridge), y_.at(peak));
    pts += ridge < x_.hi ? fmt::format("{:.1f},{:.1f}", x_.at(x_.hi), y_.at(peak))
                         : fmt::format("{:.1f},{:.1f}", x_.at(x_.hi), y_.at(bw * x_.hi));
    return fmt::format("<polyline class=\"{}\" stroke=\"{}\" points=\"{}\"/>", cls, colour, pts);
  }

  void legend_entry(const std::string& colour_code, const std::string& cls, const std::string& text) {
    legend_ += fmt::format("<line class=\"{}\" stroke=\"{}\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>", cls,
                           colour_code, right + 12, ly_, right + 36, ly_);
    legend_ += svg_text(right + 42, ly_ + 4, text, "class=\"legend\"");
    ly_ += 16;
  }

  std::string local_roofs(const ChipSpec& c) {
    std::string out;
    double top_peak = 0;
    for (const auto& [d, v] : c.peak_ops_per_s) top_peak = std::max(top_peak, v);
    for (const auto& l : c.memory_levels) {
      const std::string col = kPalette[colour_++ % 12];
      out += roof(l.bytes_per_s, top_peak, "roof", col);
      const auto p = c.provenance.find("bandwidth." + l.level);
      const bool kernel = p != c.provenance.end() && p->second.kind == "kernel";
      legend_entry(col, "roof", fmt::format("{} {} {}{}", c.name, l.level, format_value(l.bytes_per_s, "B/s"),
                                            kernel ? " (the kernel's)" : ""));
    }
    int nth = 0;
    for (const auto& [d, v] : c.peak_ops_per_s) {
      const double ridge = v / c.memory_bytes_per_s;
      out += fmt::format("<line class=\"peak\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>",
                         x_.at(std::max(x_.lo, ridge / 8)), y_.at(v), x_.at(x_.hi), y_.at(v));
      // Labels of close peaks alternate above and below their lines, and step left.
      out += svg_text(x_.at(x_.hi) - 4 - 90.0 * (nth % 3), y_.at(v) + (nth % 2 ? 11 : -4),
                      fmt::format("{} {} {}", c.name, calibrate::dtype_name(d), format_value(v, ops_unit(d))),
                      "text-anchor=\"end\" class=\"peaklabel\"");
      ++nth;
    }
    return out;
  }

  std::string catalogue_roofs() {
    std::string out;
    for (const auto& c : r_.catalogue) {
      out += roof(c.memory_bytes_per_s, c.peak_ops(Dtype::bf16), "catalogue", "#999999");
      const double ridge = c.peak_ops(Dtype::bf16) / c.memory_bytes_per_s;
      if (ridge < x_.hi)
        out += svg_text(x_.at(x_.hi) - 4, y_.at(c.peak_ops(Dtype::bf16)) + 12, c.name, "text-anchor=\"end\" class=\"catlabel\"");
    }
    legend_entry("#999999", "catalogue", "catalogue chips, bf16 (spec)");
    return out;
  }

  // The run's measured points, one colour per probe and variant family.
  std::string points() {
    std::string out;
    std::map<std::string, std::string> point_colour;
    for (const auto& p : r_.points) {
      const std::string family = p.label.substr(0, p.label.find(' ', p.label.find(' ') + 1));
      if (!point_colour.count(family)) {
        point_colour[family] = kPalette[(colour_++) % 12];
        legend_ += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"/>", right + 24, ly_, point_colour[family]);
        legend_ += svg_text(right + 42, ly_ + 4, family, "class=\"legend\"");
        ly_ += 16;
      }
      if (p.intensity < x_.lo || p.intensity > x_.hi) continue;
      out += fmt::format(
          "<circle class=\"point\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"><title>{}: {} at {:.3g} op/B</title></circle>",
          x_.at(p.intensity), y_.at(p.ops_per_s), point_colour[family], html_escape(p.label),
          html_escape(format_value(p.ops_per_s, "OP/s")), p.intensity);
    }
    return out;
  }

  const AuditReport& r_;
  LogAxis x_;
  LogAxis y_{1, 10, bottom, top};
  std::string legend_;
  int colour_ = 0;
  double ly_ = top + 10;
};

}  // namespace

std::string roofline_svg(const AuditReport& r) { return RooflinePlot(r).draw(); }

std::string pareto_svg(const AuditReport& r) {
  const double W = 860, H = 480, left = 90, right = W - 200, top = 30, bottom = H - 60;
  double lat_lo = 1e300, lat_hi = 0, usd_lo = 1e300, usd_hi = 0;
  for (const auto& [chip, pts] : r.pareto)
    for (const auto& p : pts) {
      if (!p.usd_per_mtok || !(*p.usd_per_mtok > 0)) continue;
      lat_lo = std::min(lat_lo, p.step_time_s);
      lat_hi = std::max(lat_hi, p.step_time_s);
      usd_lo = std::min(usd_lo, *p.usd_per_mtok);
      usd_hi = std::max(usd_hi, *p.usd_per_mtok);
    }
  if (lat_hi <= 0) return "<p>No priced configuration fits: nothing to plot.</p>";
  const LogAxis x{std::pow(10, std::floor(std::log10(lat_lo))), std::pow(10, std::ceil(std::log10(lat_hi * 1.01))), left, right};
  const LogAxis y{std::pow(10, std::floor(std::log10(usd_lo))), std::pow(10, std::ceil(std::log10(usd_hi * 1.01))), bottom, top};
  std::string out = svg_open("pareto", "Pareto frontier", W, H);
  out += svg_axes(x, y, "per-token latency: decode step time (s)", "USD per 1M output tokens",
                  [](double v) { return v >= 1 ? fmt::format("{:.0f} s", v) : v >= 1e-3 ? fmt::format("{:.0f} ms", v * 1e3) : fmt::format("{:.0f} us", v * 1e6); },
                  [](double v) { return v >= 1 ? fmt::format("{:.0f}", v) : fmt::format("{:.2g}", v); });
  std::string legend;
  double ly = top + 10;
  int colour = 0;
  for (const auto& [chip, pts] : r.pareto) {
    const std::string col = chip == "local" ? "#d62728" : kPalette[1 + (colour++) % 11];
    std::string line;
    for (const auto& p : pts)
      if (p.usd_per_mtok && *p.usd_per_mtok > 0) line += fmt::format("{:.1f},{:.1f} ", x.at(p.step_time_s), y.at(*p.usd_per_mtok));
    if (line.empty()) continue;
    out += fmt::format("<polyline class=\"frontier\" stroke=\"{}\" points=\"{}\"/>", col, line);
    for (const auto& p : pts)
      if (p.usd_per_mtok && *p.usd_per_mtok > 0)
        out += fmt::format("<circle class=\"point\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{} x{} {} batch {}: "
                           "{} ms, USD {:.3g} per 1M tokens</title></circle>",
                           x.at(p.step_time_s), y.at(*p.usd_per_mtok), col, html_escape(chip), p.deployment.chips,
                           calibrate::dtype_name(p.deployment.weights), p.deployment.batch, step_ms(p.step_time_s),
                           *p.usd_per_mtok);
    legend += fmt::format("<line class=\"frontier\" stroke=\"{}\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>", col,
                          right + 12, ly, right + 36, ly);
    legend += svg_text(right + 42, ly + 4, fmt::format("{} x{} {}", chip, pts.front().deployment.chips,
                                                       calibrate::dtype_name(pts.front().deployment.weights)),
                       "class=\"legend\"");
    ly += 16;
  }
  out += legend + "</svg>";
  return out;
}

}  // namespace roofaudit::reports
