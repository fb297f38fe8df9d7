#include "probes/summary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "probes/error.hpp"

namespace roofaudit {

double median_of(std::vector<double> values) {
  if (values.empty()) throw Error("median of an empty set");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

Summary summarize(const std::vector<double>& values, bool higher_is_better) {
  if (values.empty()) throw Error("cannot summarize zero samples");
  Summary s;
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  s.min = *lo;
  s.max = *hi;
  s.best = higher_is_better ? s.max : s.min;
  s.median = median_of(values);
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
  double ss = 0;
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  s.stddev = values.size() > 1 ? std::sqrt(ss / double(values.size() - 1)) : 0.0;
  s.cv = s.mean != 0 ? s.stddev / std::fabs(s.mean) : 0.0;
  return s;
}

}  // namespace roofaudit
