#include "calibrate/plateaus.hpp"
#include "values/stored.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace roofaudit::calibrate {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Noise of log(value) from first differences: MAD is robust to the few large steps
// between levels, and a difference carries twice the variance of one point.
double noise_sigma(const std::vector<double>& y, double floor) {
  if (y.size() < 3) return floor;
  std::vector<double> d;
  for (std::size_t i = 1; i < y.size(); ++i) d.push_back(y[i] - y[i - 1]);
  const double med = median(d);
  std::vector<double> dev;
  for (double x : d) dev.push_back(std::fabs(x - med));
  return std::max(floor, 1.4826 * median(dev) / std::sqrt(2.0));
}

struct Segment {
  std::size_t begin, end;  // [begin, end)
};

std::vector<Segment> segment(const std::vector<double>& y, double beta) {
  const std::size_t n = y.size();
  std::vector<double> s1(n + 1, 0), s2(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    s1[i + 1] = s1[i] + y[i];
    s2[i + 1] = s2[i] + y[i] * y[i];
  }
  auto sse = [&](std::size_t b, std::size_t e) {
    const double k = double(e - b);
    const double sum = s1[e] - s1[b];
    return (s2[e] - s2[b]) - sum * sum / k;
  };
  std::vector<double> best(n + 1, std::numeric_limits<double>::infinity());
  std::vector<std::size_t> from(n + 1, 0);
  best[0] = -beta;
  for (std::size_t e = 1; e <= n; ++e) {
    for (std::size_t b = 0; b < e; ++b) {
      const double c = best[b] + sse(b, e) + beta;
      if (c < best[e]) {
        best[e] = c;
        from[e] = b;
      }
    }
  }
  std::vector<Segment> segs;
  for (std::size_t e = n; e > 0; e = from[e]) segs.push_back({from[e], e});
  std::reverse(segs.begin(), segs.end());
  return segs;
}

// A level under construction: the points it owns (transitions between merged
// candidates are not its points, but its range spans them).
struct Level {
  std::vector<std::size_t> idx;
};

double level_value(const std::vector<CurvePoint>& p, const Level& l) {
  std::vector<double> v;
  for (std::size_t i : l.idx) v.push_back(p[i].value);
  return median(v);
}

// Least-squares slope of log(value) on log(size) over [b, e).
double log_slope(const std::vector<CurvePoint>& p, std::size_t b, std::size_t e) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double n = double(e - b);
  for (std::size_t i = b; i < e; ++i) {
    const double x = std::log(p[i].working_set_bytes), y = std::log(p[i].value);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double den = n * sxx - sx * sx;
  return den > 0 ? (n * sxy - sx * sy) / den : 0.0;
}

Plateau make_plateau(const std::vector<CurvePoint>& p, const Level& l) {
  std::vector<double> values;
  for (std::size_t i : l.idx) values.push_back(p[i].value);
  Plateau out;
  out.value = median(values);
  out.from_bytes = p[l.idx.front()].working_set_bytes;
  out.to_bytes = p[l.idx.back()].working_set_bytes;
  out.points = int(l.idx.size());
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  out.spread = (*hi - *lo) / out.value;
  return out;
}

// First working set past `a` where log(value) crosses halfway between the two levels,
// interpolated in log-log space.
double crossing(const std::vector<CurvePoint>& p, const Plateau& a, const Plateau& b) {
  const double mid = 0.5 * (std::log(a.value) + std::log(b.value));
  const bool falling = b.value < a.value;
  for (std::size_t i = 1; i < p.size(); ++i) {
    if (p[i - 1].working_set_bytes < a.to_bytes || p[i].working_set_bytes > b.from_bytes) continue;
    const double y0 = std::log(p[i - 1].value), y1 = std::log(p[i].value);
    const bool crossed = falling ? (y0 >= mid && y1 <= mid) : (y0 <= mid && y1 >= mid);
    if (!crossed) continue;
    const double x0 = std::log(p[i - 1].working_set_bytes), x1 = std::log(p[i].working_set_bytes);
    const double t = y1 == y0 ? 0.5 : (mid - y0) / (y1 - y0);
    return std::exp(x0 + t * (x1 - x0));
  }
  return std::sqrt(a.to_bytes * b.from_bytes);
}

}  // namespace

std::vector<Plateau> detect_plateaus(std::vector<CurvePoint> points, const PlateauOptions& options) {
  points.erase(std::remove_if(points.begin(), points.end(),
                              [](const CurvePoint& c) { return !(c.value > 0) || !(c.working_set_bytes > 0); }),
               points.end());
  std::sort(points.begin(), points.end(),
            [](const CurvePoint& a, const CurvePoint& b) { return a.working_set_bytes < b.working_set_bytes; });
  const std::size_t min_points = std::size_t(std::max(1, options.min_points));
  if (points.size() < min_points) return {};

  std::vector<double> y;
  for (const auto& c : points) y.push_back(std::log(c.value));
  const double sigma = noise_sigma(y, options.min_noise);
  // Splitting m + m points at a step d lowers the squared error by m d^2 / 2: a step of
  // min_step between two minimal plateaus must pay for its segment.
  const double step = std::log(options.min_step);
  const double beta = std::max(options.penalty * sigma * sigma * std::log(double(y.size())),
                               0.5 * double(min_points) * step * step);

  std::vector<Level> candidates;
  for (const Segment& s : segment(y, beta)) {
    if (s.end - s.begin < min_points) continue;
    if (std::fabs(log_slope(points, s.begin, s.end)) > options.max_slope) continue;
    Level l;
    for (std::size_t i = s.begin; i < s.end; ++i) l.idx.push_back(i);
    candidates.push_back(std::move(l));
  }
  if (candidates.empty()) return {};

  // The curve's direction: bandwidth falls with size, latency rises.
  const bool falling = y.back() < y.front();
  std::vector<Level> levels;
  for (Level& c : candidates) {
    if (levels.empty()) {
      levels.push_back(std::move(c));
      continue;
    }
    const double move = std::log(level_value(points, c) / level_value(points, levels.back()));
    const double along = falling ? -move : move;
    if (along >= step) {
      levels.push_back(std::move(c));
    } else if (std::fabs(move) < step) {
      levels.back().idx.insert(levels.back().idx.end(), c.idx.begin(), c.idx.end());
    }  // else: the curve went back by more than a step; an anomaly, not a level
  }
  // Over the cap, the inner level spanning the narrowest range of sizes goes first: a
  // shoulder inside a long transition is narrow, a real cache level spans its size.
  // The first and last levels are anchored by the ends of the sweep.
  while (options.max_levels > 0 && levels.size() > std::size_t(std::max(2, options.max_levels))) {
    std::size_t narrowest = 1;
    double narrowest_span = std::numeric_limits<double>::infinity();
    for (std::size_t i = 1; i + 1 < levels.size(); ++i) {
      const double span = std::log(points[levels[i].idx.back()].working_set_bytes /
                                   points[levels[i].idx.front()].working_set_bytes);
      if (span < narrowest_span) {
        narrowest_span = span;
        narrowest = i;
      }
    }
    levels.erase(levels.begin() + std::ptrdiff_t(narrowest));
  }
  std::vector<Plateau> out;
  for (const Level& l : levels) out.push_back(make_plateau(points, l));
  for (std::size_t i = 0; i + 1 < out.size(); ++i) out[i].boundary_bytes = crossing(points, out[i], out[i + 1]);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool memory = options.last_is_memory && out.size() > 1 && i + 1 == out.size();
    out[i].level = memory ? "DRAM" : fmt::format("L{}", i + 1);
  }
  return out;
}

nlohmann::json plateaus_to_json(const std::vector<Plateau>& plateaus) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& p : plateaus) {
    arr.push_back({{"level", p.level}, {"value", p.value}, {"from_bytes", p.from_bytes},
                   {"to_bytes", p.to_bytes}, {"points", p.points}, {"spread", p.spread},
                   {"boundary_bytes", p.boundary_bytes}});
  }
  return arr;
}

std::vector<Plateau> plateaus_from_json(const nlohmann::json& j) {
  return read_stored("memory levels (plateaus fit)", [&] {
    std::vector<Plateau> out;
    for (const auto& e : j) {
      Plateau p;
      p.level = e.at("level").get<std::string>();
      p.value = e.at("value").get<double>();
      p.from_bytes = e.at("from_bytes").get<double>();
      p.to_bytes = e.at("to_bytes").get<double>();
      p.points = e.at("points").get<int>();
      p.spread = e.value("spread", 0.0);
      p.boundary_bytes = e.value("boundary_bytes", 0.0);
      out.push_back(p);
    }
    return out;
  });
}

}  // namespace roofaudit::calibrate
