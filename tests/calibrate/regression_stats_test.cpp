// Regression statistics against known answers (SciPy 1.10's mannwhitneyu and t
// distribution) and against synthetic series with known changes.
#include <gtest/gtest.h>

#include <random>

#include "calibrate/regression_stats.hpp"
#include "values/error.hpp"

namespace roofaudit::calibrate {
namespace {

TEST(MannWhitney, ExactSmallSamplesMatchScipy) {
  // scipy.stats.mannwhitneyu(candidate, baseline, alternative='less'); SciPy's statistic
  // counts the pairs where the candidate is larger: U here is n1 n2 minus it.
  auto r = mann_whitney_lower({1, 2, 3}, {4, 5, 6});
  EXPECT_TRUE(r.exact);
  EXPECT_DOUBLE_EQ(r.u, 9);
  EXPECT_NEAR(r.p, 0.05, 1e-12);
  r = mann_whitney_lower({1.1, 2.2, 3.3, 4.4}, {2.5, 5.5, 6.6, 7.7, 8.8});
  EXPECT_DOUBLE_EQ(r.u, 18);
  EXPECT_NEAR(r.p, 0.031746031746031744, 1e-12);
  r = mann_whitney_lower({3, 1, 4, 6}, {2, 5, 7, 8, 9});
  EXPECT_DOUBLE_EQ(r.u, 16);
  EXPECT_NEAR(r.p, 0.09523809523809523, 1e-12);
  // The other direction is not significant.
  EXPECT_GT(mann_whitney_lower({4, 5, 6}, {1, 2, 3}).p, 0.9);
}

TEST(MannWhitney, TiesUseTheCorrectedNormalApproximation) {
  const auto r = mann_whitney_lower({1, 2, 2, 3, 4, 5}, {3, 4, 5, 5, 6, 7, 8});
  EXPECT_FALSE(r.exact);
  EXPECT_DOUBLE_EQ(r.u, 42 - 5);
  EXPECT_NEAR(r.p, 0.012679521083175258, 1e-9);
  EXPECT_THROW(mann_whitney_lower({}, {1.0}), Error);
}

TEST(MannWhitney, FalseAlarmsStayAtAlphaAndATenPercentDropIsFound) {
  // Repetitions with 3% noise: 10 candidate values against 50 pooled baseline values.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 0.03);
  const int trials = 2000;
  int false_alarms = 0, found = 0;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> base(50), same(10), drop(10);
    for (auto& v : base) v = 100 * (1 + noise(rng));
    for (auto& v : same) v = 100 * (1 + noise(rng));
    for (auto& v : drop) v = 90 * (1 + noise(rng));
    false_alarms += mann_whitney_lower(same, base).p <= 0.01;
    found += mann_whitney_lower(drop, base).p <= 0.01;
  }
  EXPECT_LE(false_alarms, int(0.01 * trials * 1.5)) << "false-alarm rate " << double(false_alarms) / trials;
  EXPECT_GE(found, int(0.99 * trials));
}

TEST(StudentT, TwoSidedPValuesMatchScipy) {
  EXPECT_NEAR(student_t_p_two_sided(2.5, 7), 0.040992218585752874, 1e-10);
  EXPECT_NEAR(student_t_p_two_sided(0.3, 30), 0.7662461052843528, 1e-10);
  EXPECT_NEAR(student_t_p_two_sided(10, 3), 0.0021283990584141494, 1e-10);
  EXPECT_NEAR(student_t_p_two_sided(-1.2, 4.5), 0.2894770548419645, 1e-10);
  EXPECT_DOUBLE_EQ(student_t_p_two_sided(0, 5), 1.0);
}

TEST(RobustCv, IgnoresAnOutlier) {
  EXPECT_NEAR(robust_cv({1, 2, 3, 4, 100}), 1.4826 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(robust_cv({5, 5, 5}), 0);
  EXPECT_DOUBLE_EQ(robust_cv({}), 0);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
}

TEST(RunSpread, UpperBoundOfTheCvFollowsTheChiSquareQuantiles) {
  // 100 +- 5 around the mean: sample CV sqrt(250 / 4) / 100 = 0.0791 (numpy's std, ddof=1).
  const std::vector<double> five = {95, 100, 105, 90, 110};
  EXPECT_NEAR(sample_cv(five), 0.07905694150420949, 1e-12);
  // x sqrt(4 / chi2.ppf(0.1, 4)) = x sqrt(4 / 1.0636232) (scipy); Wilson-Hilferty within 0.5%.
  EXPECT_NEAR(cv_upper_bound(five, 0.9) / sample_cv(five), std::sqrt(4 / 1.0636232), 0.005);
  std::vector<double> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back(100 + (i % 2 ? 3 : -3) * (i / 2));
  EXPECT_NEAR(cv_upper_bound(eleven, 0.9) / sample_cv(eleven), std::sqrt(10 / 4.8651820), 0.005);  // chi2.ppf(0.1, 10)
  EXPECT_NEAR(cv_upper_bound(eleven, 0.99) / sample_cv(eleven), std::sqrt(10 / 2.5582122), 0.025);  // chi2.ppf(0.01, 10); WH 1% high
  EXPECT_DOUBLE_EQ(cv_upper_bound({7}), 0);
  EXPECT_DOUBLE_EQ(sample_cv({}), 0);
  // The run-to-run spread widens the threshold; without it the repetitions' noise rules.
  const std::vector<double> base = {100, 100.5, 99.5, 100.2, 99.8}, cand = {90, 90.4, 89.6, 90.1, 89.9};
  EXPECT_EQ(judge(cand, base, true, 0.03, 0.01).kind, Verdict::Kind::regression);
  const Verdict wide = judge(cand, base, true, 0.03, 0.01, 0.05);
  EXPECT_EQ(wide.kind, Verdict::Kind::unchanged);
  EXPECT_DOUBLE_EQ(wide.threshold, 0.15);
}

std::vector<double> noisy(std::mt19937_64& rng, std::vector<std::pair<int, double>> segments, double cv) {
  std::normal_distribution<double> noise(0, cv);
  std::vector<double> out;
  for (const auto& [n, level] : segments)
    for (int i = 0; i < n; ++i) out.push_back(level * (1 + noise(rng)));
  return out;
}

TEST(ChangePoints, FindsKnownBreaks) {
  std::mt19937_64 rng(11);
  const auto x = noisy(rng, {{30, 100}, {30, 90}, {30, 95}}, 0.01);
  const auto cps = detect_change_points(x);
  ASSERT_EQ(cps.size(), 2u);
  EXPECT_NEAR(double(cps[0].index), 30, 1);
  EXPECT_NEAR(double(cps[1].index), 60, 1);
  EXPECT_NEAR(cps[0].relative_change, -0.10, 0.01);
  EXPECT_NEAR(cps[1].relative_change, 0.055, 0.01);
  for (const auto& c : cps) EXPECT_LE(c.p, 0.001);
}

TEST(ChangePoints, ShortSeriesAndEdgesRespectTheMinimumSegment) {
  std::mt19937_64 rng(3);
  // A break three points from the end is found where it is; one two points from the end
  // cannot be placed there: no segment is shorter than three points.
  auto x = noisy(rng, {{20, 100}, {3, 80}}, 0.005);
  auto cps = detect_change_points(x);
  ASSERT_EQ(cps.size(), 1u);
  EXPECT_EQ(cps[0].index, 20u);
  x = noisy(rng, {{20, 100}, {2, 80}}, 0.005);
  for (const auto& c : detect_change_points(x)) {
    EXPECT_GE(c.index, 3u);
    EXPECT_LE(c.index, x.size() - 3);
  }
  EXPECT_TRUE(detect_change_points({1, 2, 3, 4, 5}).empty());
}

TEST(ChangePoints, NoiseAloneAndSmallStepsAreNotChanges) {
  int false_changes = 0;
  for (int seed = 0; seed < 100; ++seed) {
    std::mt19937_64 rng(seed);
    false_changes += int(detect_change_points(noisy(rng, {{40, 100}}, 0.02)).size());
  }
  EXPECT_LE(false_changes, 2) << "p <= 0.001 and 2% magnitude: noise alone almost never splits";
  // A 1% step, however clean, is below the minimum magnitude.
  std::mt19937_64 rng(5);
  EXPECT_TRUE(detect_change_points(noisy(rng, {{20, 100}, {20, 101}}, 0.0005)).empty());
  ChangePointOptions loose;
  loose.min_magnitude = 0.005;
  EXPECT_EQ(detect_change_points(noisy(rng, {{20, 100}, {20, 101}}, 0.0005), loose).size(), 1u);
}

}  // namespace
}  // namespace roofaudit::calibrate

namespace roofaudit::calibrate {
namespace {

TEST(Judge, TenPercentDropIsARegressionAndNoiseIsNot) {
  // 1.5% repetition noise (the VM's cpu.peak and cpu.bandwidth plateaus): the bar is then
  // max(3%, 3 x 1.5%) = 4.5%, and a 10% move clears it.
  std::mt19937_64 rng(21);
  std::normal_distribution<double> noise(0, 0.015);
  int alarms = 0, caught = 0, improvements = 0;
  const int trials = 1000;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> base(50), same(10), drop(10), faster(10);
    for (auto& v : base) v = 100 * (1 + noise(rng));
    for (auto& v : same) v = 100 * (1 + noise(rng));
    for (auto& v : drop) v = 90 * (1 + noise(rng));
    for (auto& v : faster) v = 112 * (1 + noise(rng));
    alarms += judge(same, base, true, 0.03, 0.01).kind != Verdict::Kind::unchanged;
    caught += judge(drop, base, true, 0.03, 0.01).kind == Verdict::Kind::regression;
    improvements += judge(faster, base, true, 0.03, 0.01).kind == Verdict::Kind::improvement;
  }
  EXPECT_LE(alarms, int(0.01 * trials)) << "false alarms";
  EXPECT_GE(caught, int(0.98 * trials));
  EXPECT_GE(improvements, int(0.98 * trials));
  // Lower is better (latency): a rise is the regression.
  const std::vector<double> base = {10, 10.1, 9.9, 10.05, 9.95, 10.02, 9.98};
  EXPECT_EQ(judge({11, 11.1, 10.9, 11.05, 11.02}, base, false, 0.03, 0.01).kind, Verdict::Kind::regression);
  EXPECT_EQ(judge({9, 9.1, 8.9, 9.05, 9.02}, base, false, 0.03, 0.01).kind, Verdict::Kind::improvement);
}

TEST(Judge, RunToRunDriftIsNoAlarmOnceTheHistoryMeasuresIt) {
  // Two levels of noise, as on a shared VM: each run's level drifts by 5%, its
  // repetitions agree to 1%. Baseline: the previous run; history: the 10 runs before.
  std::mt19937_64 rng(5);
  std::normal_distribution<double> drift(0, 0.05), rep(0, 0.01);
  auto run = [&](double level) {
    const double l = level * (1 + drift(rng));
    std::vector<double> v(5);
    for (auto& x : v) x = l * (1 + rep(rng));
    return v;
  };
  int naive_alarms = 0, alarms = 0, caught = 0;
  const int trials = 1000;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> medians;
    for (int i = 0; i < 10; ++i) medians.push_back(median(run(100)));
    const auto baseline = run(100), same = run(100), drop = run(50);
    const double spread = cv_upper_bound(medians) * std::sqrt(2.0);  // two runs' difference
    naive_alarms += judge(same, baseline, true, 0.03, 0.01).kind == Verdict::Kind::regression;
    alarms += judge(same, baseline, true, 0.03, 0.01, spread).kind == Verdict::Kind::regression;
    caught += judge(drop, baseline, true, 0.03, 0.01, spread).kind == Verdict::Kind::regression;
  }
  EXPECT_GE(naive_alarms, int(0.2 * trials)) << "repetitions alone cannot see the drift";
  EXPECT_LE(alarms, int(0.01 * trials)) << "false alarms";
  EXPECT_GE(caught, int(0.95 * trials)) << "a 50% drop";
}

TEST(Judge, SignificanceAloneOrMagnitudeAloneIsNotEnough) {
  // Tight samples 1% apart: significant, but under the 3% threshold.
  const std::vector<double> base = {100, 100.01, 99.99, 100.02, 99.98, 100.01, 99.99, 100};
  const auto small = judge({99, 99.01, 98.99, 99.02, 98.98}, base, true, 0.03, 0.01);
  EXPECT_LE(small.p, 0.01);
  EXPECT_EQ(small.kind, Verdict::Kind::unchanged);
  // A noisy baseline (robust CV 10%) raises the bar to 30%: a 20% move does not count.
  const std::vector<double> noisy_base = {100, 90, 110, 95, 105, 85, 115, 100, 92, 108};
  const auto noisy = judge({80, 79, 81, 80, 80, 79, 81}, noisy_base, true, 0.03, 0.01);
  EXPECT_GT(noisy.threshold, 0.1);
  EXPECT_EQ(noisy.kind, Verdict::Kind::unchanged);
  // Two repetitions each side cannot reach p <= 0.01 however far apart.
  EXPECT_EQ(judge({50, 51}, {100, 101}, true, 0.03, 0.01).kind, Verdict::Kind::unchanged);
}

}  // namespace
}  // namespace roofaudit::calibrate
