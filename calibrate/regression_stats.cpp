#include "calibrate/regression_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "values/error.hpp"

namespace roofaudit::calibrate {
namespace {

// Regularized incomplete beta I_x(a, b) by its continued fraction (modified Lentz).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x > (a + 1) / (a + b + 2)) return 1 - incomplete_beta(b, a, 1 - x);
  constexpr double tiny = 1e-300;
  double f = 1, c = 1, d = 0;
  for (int i = 0; i <= 400; ++i) {
    const int m = i / 2;
    double numerator;
    if (i == 0) numerator = 1;
    else if (i % 2 == 0) numerator = (m * (b - m) * x) / ((a + 2.0 * m - 1) * (a + 2.0 * m));
    else numerator = -((a + m) * (a + b + m) * x) / ((a + 2.0 * m) * (a + 2.0 * m + 1));
    d = 1 + numerator * d;
    if (std::fabs(d) < tiny) d = tiny;
    d = 1 / d;
    c = 1 + numerator / c;
    if (std::fabs(c) < tiny) c = tiny;
    const double cd = c * d;
    f *= cd;
    if (std::fabs(1 - cd) < 1e-14) break;
  }
  return front * (f - 1) / a;
}

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double mean_of(const double* x, std::size_t n) { return std::accumulate(x, x + n, 0.0) / double(n); }

double variance_of(const double* x, std::size_t n, double mean) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += (x[i] - mean) * (x[i] - mean);
  return n > 1 ? s / double(n - 1) : 0;
}

// Student's t-test (pooled variance) between x[a, b) and x[b, c). Pooling keeps a short
// segment that happens to be tight from looking certain.
double t_test_p(const std::vector<double>& x, std::size_t a, std::size_t b, std::size_t c) {
  const std::size_t n1 = b - a, n2 = c - b;
  const double m1 = mean_of(&x[a], n1), m2 = mean_of(&x[b], n2);
  const double df = double(n1 + n2 - 2);
  const double pooled = ((n1 - 1) * variance_of(&x[a], n1, m1) + (n2 - 1) * variance_of(&x[b], n2, m2)) / df;
  if (pooled <= 0) return m1 == m2 ? 1.0 : 0.0;  // no noise at all: any difference is certain
  const double t = (m1 - m2) / std::sqrt(pooled * (1.0 / double(n1) + 1.0 / double(n2)));
  return student_t_p_two_sided(t, df);
}

// The E-divisive statistic of splitting x[a, c) at b (Matteson and James): the scaled
// energy distance between the two sides.
double divergence(const std::vector<double>& x, std::size_t a, std::size_t b, std::size_t c) {
  const double n1 = double(b - a), n2 = double(c - b);
  double between = 0, left = 0, right = 0;
  for (std::size_t i = a; i < b; ++i)
    for (std::size_t j = b; j < c; ++j) between += std::fabs(x[i] - x[j]);
  for (std::size_t i = a; i < b; ++i)
    for (std::size_t j = i + 1; j < b; ++j) left += std::fabs(x[i] - x[j]);
  for (std::size_t i = b; i < c; ++i)
    for (std::size_t j = i + 1; j < c; ++j) right += std::fabs(x[i] - x[j]);
  const double e = 2 * between / (n1 * n2) - (n1 > 1 ? left / (n1 * (n1 - 1) / 2) : 0) -
                   (n2 > 1 ? right / (n2 * (n2 - 1) / 2) : 0);
  return n1 * n2 / (n1 + n2) * e;
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  if (v.size() % 2) return v[mid];
  const double upper = v[mid];
  return (upper + *std::max_element(v.begin(), v.begin() + mid)) / 2;
}

double robust_cv(const std::vector<double>& values) {
  if (values.empty()) return 0;
  const double m = median(values);
  if (m == 0) return 0;
  std::vector<double> dev;
  for (double v : values) dev.push_back(std::fabs(v - m));
  return 1.4826 * median(dev) / std::fabs(m);
}

double student_t_p_two_sided(double t, double df) {
  if (!std::isfinite(t)) return 0;
  return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

UTest mann_whitney_lower(const std::vector<double>& candidate, const std::vector<double>& baseline) {
  if (candidate.empty() || baseline.empty()) throw Error("the U test needs at least one value on each side");
  const std::size_t n1 = candidate.size(), n2 = baseline.size();
  UTest r;
  bool ties = false;
  for (double c : candidate)
    for (double b : baseline) {
      if (c < b) r.u += 1;
      else if (c == b) {
        r.u += 0.5;
        ties = true;
      }
    }
  std::vector<double> all(candidate);
  all.insert(all.end(), baseline.begin(), baseline.end());
  std::sort(all.begin(), all.end());
  ties = ties || std::adjacent_find(all.begin(), all.end()) != all.end();

  if (!ties && n1 * n2 <= 2500) {
    // Exact: the number of arrangements with U' = k, where U' counts pairs with c > b
    // (U' = n1 n2 - U); P(U >= u) = P(U' <= n1 n2 - u). Counts by the classic recurrence
    // over sample sizes, in doubles (exact for these sizes).
    const std::size_t max_u = n1 * n2;
    std::vector<std::vector<std::vector<double>>> f(n1 + 1, std::vector<std::vector<double>>(n2 + 1));
    for (std::size_t i = 0; i <= n1; ++i)
      for (std::size_t j = 0; j <= n2; ++j) {
        f[i][j].assign(i * j + 1, 0.0);
        if (i == 0 || j == 0) {
          f[i][j][0] = 1;
          continue;
        }
        // The largest value is a candidate (adding j to U') or a baseline value.
        for (std::size_t k = 0; k <= i * j; ++k) {
          double v = 0;
          if (k >= j && k - j < f[i - 1][j].size()) v += f[i - 1][j][k - j];
          if (k < f[i][j - 1].size()) v += f[i][j - 1][k];
          f[i][j][k] = v;
        }
      }
    const auto& dist = f[n1][n2];
    const double total = std::accumulate(dist.begin(), dist.end(), 0.0);
    const auto limit = std::size_t(std::llround(double(max_u) - r.u));
    double at_most = 0;
    for (std::size_t k = 0; k <= limit && k < dist.size(); ++k) at_most += dist[k];
    r.p = at_most / total;
    r.exact = true;
    return r;
  }
  // Normal approximation with the tie-corrected variance and a continuity correction.
  const double n = double(n1 + n2), mean = double(n1) * double(n2) / 2;
  double tie_term = 0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j] == all[i]) ++j;
    const double t = double(j - i);
    tie_term += t * t * t - t;
    i = j;
  }
  const double var = double(n1) * double(n2) / 12 * ((n + 1) - tie_term / (n * (n - 1)));
  if (var <= 0) {
    r.p = 1;
    return r;
  }
  const double z = (r.u - mean - 0.5) / std::sqrt(var);
  r.p = 1 - normal_cdf(z);
  return r;
}

MeanStddev mean_stddev(const std::vector<double>& values) {
  if (values.empty()) throw Error("mean of an empty sample");
  MeanStddev out;
  out.mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
  double ss = 0;
  for (double v : values) ss += (v - out.mean) * (v - out.mean);
  out.stddev = values.size() > 1 ? std::sqrt(ss / double(values.size() - 1)) : 0.0;
  return out;
}

double sample_cv(const std::vector<double>& values) {
  if (values.size() < 2) return 0;
  const auto [mean, stddev] = mean_stddev(values);
  return mean != 0 ? stddev / std::fabs(mean) : 0;
}

double normal_quantile(double p) {
  // Bisection on the CDF: 200 halvings of [-40, 40] reach double precision.
  double lo = -40, hi = 40;
  for (int i = 0; i < 200 && hi - lo > 1e-15; ++i) {
    const double mid = (lo + hi) / 2;
    (normal_cdf(mid) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

double family_multiplier(std::size_t metrics, double alpha) {
  return std::max(3.0, normal_quantile(1 - alpha / double(std::max<std::size_t>(metrics, 1))));
}

double cv_upper_bound(const std::vector<double>& values, double confidence) {
  if (values.size() < 2) return 0;
  const double k = double(values.size() - 1);
  const double z = normal_quantile(1 - confidence);  // negative for confidence > 0.5
  const double c = 1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k));
  const double quantile = k * std::max(c, 1e-3) * std::max(c, 1e-3) * std::max(c, 1e-3);
  return sample_cv(values) * std::sqrt(k / quantile);
}

Verdict judge(const std::vector<double>& candidate, const std::vector<double>& baseline, bool higher_is_better,
              double threshold, double alpha, double between_run_cv, double between_run_multiplier) {
  Verdict v;
  const double mb = median(baseline), mc = median(candidate);
  v.change = mb != 0 ? mc / mb - 1 : 0;
  v.threshold = std::max({threshold, 3 * robust_cv(baseline), between_run_multiplier * between_run_cv});
  const bool lower = v.change < 0;
  v.p = lower ? mann_whitney_lower(candidate, baseline).p : mann_whitney_lower(baseline, candidate).p;
  if (v.p <= alpha && std::fabs(v.change) > v.threshold)
    v.kind = lower == higher_is_better ? Verdict::Kind::regression : Verdict::Kind::improvement;
  return v;
}

std::vector<ChangePoint> detect_change_points(const std::vector<double>& x, const ChangePointOptions& o) {
  const std::size_t min_seg = std::max<std::size_t>(o.min_segment, 2);
  if (x.size() < 2 * min_seg) return {};
  std::vector<std::size_t> cuts = {0, x.size()};            // segment boundaries, sorted
  std::vector<std::pair<std::size_t, std::size_t>> settled;  // segments whose best split failed
  std::vector<ChangePoint> found;
  for (;;) {
    // The strongest split over every segment still open.
    double best_q = -std::numeric_limits<double>::infinity();
    std::size_t best = 0, a = 0, c = 0;
    for (std::size_t s = 0; s + 1 < cuts.size(); ++s) {
      const std::size_t lo = cuts[s], hi = cuts[s + 1];
      if (hi - lo < 2 * min_seg) continue;
      if (std::find(settled.begin(), settled.end(), std::make_pair(lo, hi)) != settled.end()) continue;
      for (std::size_t b = lo + min_seg; b + min_seg <= hi; ++b) {
        const double q = divergence(x, lo, b, hi);
        if (q > best_q) {
          best_q = q;
          best = b;
          a = lo;
          c = hi;
        }
      }
    }
    if (best == 0) break;
    ChangePoint cp;
    cp.index = best;
    cp.mean_before = mean_of(&x[a], best - a);
    cp.mean_after = mean_of(&x[best], c - best);
    cp.relative_change = cp.mean_before != 0 ? (cp.mean_after - cp.mean_before) / std::fabs(cp.mean_before) : 0;
    cp.p = t_test_p(x, a, best, c);
    if (cp.p <= o.max_p && std::fabs(cp.relative_change) >= o.min_magnitude) {
      found.push_back(cp);
      cuts.insert(std::upper_bound(cuts.begin(), cuts.end(), best), best);
    } else {
      settled.emplace_back(a, c);
    }
  }
  // Each change measured between its final neighbours; one that no longer passes is
  // dropped and the rest measured again, until all pass.
  for (bool changed = true; changed;) {
    changed = false;
    std::sort(found.begin(), found.end(), [](const auto& l, const auto& r) { return l.index < r.index; });
    for (std::size_t i = 0; i < found.size(); ++i) {
      const std::size_t lo = i == 0 ? 0 : found[i - 1].index, hi = i + 1 == found.size() ? x.size() : found[i + 1].index;
      ChangePoint& cp = found[i];
      cp.mean_before = mean_of(&x[lo], cp.index - lo);
      cp.mean_after = mean_of(&x[cp.index], hi - cp.index);
      cp.relative_change = cp.mean_before != 0 ? (cp.mean_after - cp.mean_before) / std::fabs(cp.mean_before) : 0;
      cp.p = t_test_p(x, lo, cp.index, hi);
    }
    for (std::size_t i = 0; i < found.size(); ++i)
      if (!(found[i].p <= o.max_p && std::fabs(found[i].relative_change) >= o.min_magnitude)) {
        found.erase(found.begin() + std::ptrdiff_t(i));
        changed = true;
        break;
      }
  }
  return found;
}

}  // namespace roofaudit::calibrate
