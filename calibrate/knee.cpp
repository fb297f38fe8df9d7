#include "calibrate/knee.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "probes/error.hpp"

namespace roofaudit::calibrate {

KneeFit fit_decode_knee(std::vector<KneePoint> points) {
  if (points.size() < 3) throw Error(fmt::format("a decode knee needs at least 3 batch sizes, not {}", points.size()));
  for (const auto& p : points)
    if (!(p.batch >= 1) || !(p.step_time_s > 0) || !std::isfinite(p.step_time_s))
      throw Error("decode knee: every point needs batch >= 1 and a positive step time");
  std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.batch < b.batch; });

  const double lo = std::log(points.front().batch / 4), hi = std::log(points.back().batch * 4);
  KneeFit best;
  double best_sse = std::numeric_limits<double>::infinity();
  constexpr int kGrid = 2000;  // 0.3% steps over a 64x range: finer than any measurement
  for (int g = 0; g <= kGrid; ++g) {
    const double knee = std::exp(lo + (hi - lo) * g / kGrid);
    // For a fixed knee the best log t_mem is the mean residual; the SSE follows.
    double mean = 0;
    for (const auto& p : points) mean += std::log(p.step_time_s) - std::log(std::max(1.0, p.batch / knee));
    mean /= double(points.size());
    double sse = 0;
    for (const auto& p : points) {
      const double r = std::log(p.step_time_s) - (mean + std::log(std::max(1.0, p.batch / knee)));
      sse += r * r;
    }
    if (sse < best_sse) {
      best_sse = sse;
      best.knee_batch = knee;
      best.memory_step_time_s = std::exp(mean);
    }
  }
  best.per_sequence_time_s = best.memory_step_time_s / best.knee_batch;
  // A flat (or linear) curve fits equally well with any knee past (before) its end; the
  // grid then stops at the end itself, which is a bound, not a measured knee.
  best.within_sweep = best.knee_batch > points.front().batch * 1.01 && best.knee_batch < points.back().batch / 1.01;
  best.rms_log_error = std::sqrt(best_sse / double(points.size()));
  return best;
}

}  // namespace roofaudit::calibrate
