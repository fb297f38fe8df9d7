#include "probes/summary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "values/error.hpp"

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

void record_outcome(Measurement& m, const std::vector<double>& seconds, const std::string& problem,
                    const std::string& checked, const std::function<double(double)>& value_of) {
  const std::string why = problem.empty() && seconds.empty() ? "no timed repetition" : problem;
  if (!why.empty()) {
    m.valid = false;
    m.validation = "failed: " + why;
    return;
  }
  std::vector<double> values;
  for (double s : seconds) {
    values.push_back(value_of(s));
    m.samples.push_back({values.back(), s});
  }
  m.summary = summarize(values, m.higher_is_better);
  m.valid = true;
  m.validation = checked;
}

}  // namespace roofaudit
