#pragma once
// The statistics of regression tracking: a one-sided Mann-Whitney U test between a
// baseline's and a candidate's raw repetitions, the robust coefficient of variation that
// scales the noise threshold, and change points in a series of run medians (E-divisive
// means with a Student's t-test on the segments, as Apache Otava does). Pure computation.
#include <cstddef>
#include <vector>

namespace roofaudit::calibrate {

struct UTest {
  double u = 0;        // U statistic of the candidate: pairs (c, b) with c < b, ties counting 1/2
  double p = 1;        // one-sided p-value of "the candidate tends to be lower"
  bool exact = false;  // exact null distribution (small samples without ties), else normal
                       // approximation with tie and continuity correction
};

// H1: values of `candidate` tend to be lower than those of `baseline`. Exact when both
// samples have no ties and n1 * n2 <= 2500; normal approximation otherwise. Throws Error
// on an empty sample.
UTest mann_whitney_lower(const std::vector<double>& candidate, const std::vector<double>& baseline);

// 1.4826 * median absolute deviation / median: the coefficient of variation of a normal
// sample, undisturbed by outliers. 0 for an empty sample or a zero median.
double robust_cv(const std::vector<double>& values);
double median(std::vector<double> values);
// Mean and sample standard deviation (0 for fewer than two values); throws Error on
// an empty sample.
struct MeanStddev {
  double mean = 0, stddev = 0;
};
MeanStddev mean_stddev(const std::vector<double>& values);
// Sample standard deviation / mean: 0 for fewer than two values or a zero mean.
double sample_cv(const std::vector<double>& values);
// The upper `confidence` bound of the coefficient of variation that `values` (normal)
// were drawn with: sample_cv x sqrt((n - 1) / chi2 quantile(1 - confidence, n - 1)), the
// quantile by the Wilson-Hilferty approximation. A few runs' spread understates the
// spread of the next run; the bound says how much it may, and shrinks as runs accrue.
// 0 for fewer than two values.
double cv_upper_bound(const std::vector<double>& values, double confidence = 0.9);

// Two-sided p-value of Student's t with `df` degrees of freedom.
double student_t_p_two_sided(double t, double df);

// A metric's candidate repetitions against its baseline's.
struct Verdict {
  enum class Kind { unchanged, regression, improvement };
  Kind kind = Kind::unchanged;
  double change = 0;     // median(candidate) / median(baseline) - 1
  double p = 1;          // one-sided U test in the direction the median moved
  double threshold = 0;  // max(threshold, 3 x the noise): the smallest move that counts
};
// A regression needs both: the U test rejects at `alpha` in the bad direction, and the
// median moved the bad way by more than max(threshold, 3 x the baseline repetitions'
// robust CV, between_run_multiplier x between_run_cv), the last being the spread of
// earlier runs' medians (0: unknown). Repetitions within one run share the machine's
// state of that minute; on a shared machine runs differ by more than repetitions do,
// and only the series' history can tell by how much. Improvements likewise the good way.
// Needs at least one value each side.
Verdict judge(const std::vector<double>& candidate, const std::vector<double>& baseline, bool higher_is_better,
              double threshold, double alpha, double between_run_cv = 0, double between_run_multiplier = 3);

// The standard normal quantile: P(Z <= normal_quantile(p)) = p, for p in (0, 1).
double normal_quantile(double p);

// How many run-to-run standard deviations a move must exceed when `metrics` are checked
// at once: max(3, the normal quantile at 1 - alpha / metrics), so that a run whose
// every metric drifted by its normal run-to-run spread trips none of them with
// probability 1 - alpha (Bonferroni). 3 for a handful of metrics, 3.9 for 236 at 0.01.
double family_multiplier(std::size_t metrics, double alpha);

struct ChangePoint {
  std::size_t index = 0;  // first point of the new segment
  double p = 1;           // Student's t-test between the segments either side
  double mean_before = 0, mean_after = 0;
  double relative_change = 0;  // (after - before) / |before|
};

struct ChangePointOptions {
  std::size_t min_segment = 3;   // points each side of a change, at least
  double min_magnitude = 0.02;   // |relative change| at least
  double max_p = 0.001;          // t-test p-value at most
};

// Hierarchical E-divisive means: the split of a segment maximising the energy-distance
// divergence between its two sides is a candidate; it is kept when the t-test between
// the sides passes and the means differ by the minimum magnitude; segments are split
// again until no candidate is kept. Finally every change is measured between its
// neighbouring changes and dropped if it no longer passes. Returned in index order.
std::vector<ChangePoint> detect_change_points(const std::vector<double>& series, const ChangePointOptions& options = {});

}  // namespace roofaudit::calibrate
