#include "measurement_fixture.hpp"
#include "calibrate/knee.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "calibrate/catalog.hpp"
#include "calibrate/serving.hpp"
#include "values/error.hpp"

namespace roofaudit::calibrate {
namespace {

// B = 1, 2, 4, ..., 512 on a roofline with its knee at `knee`, optionally noisy and with
// a rounded corner (real steps blend the two limits near the knee).
std::vector<KneePoint> decode_curve(double knee, double noise, unsigned seed, bool rounded = false) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0, noise);
  std::vector<KneePoint> out;
  const double t_mem = 2e-3;
  for (double b = 1; b <= 512; b *= 2) {
    const double compute = t_mem * b / knee;
    const double t = rounded ? std::sqrt(t_mem * t_mem + compute * compute) : std::max(t_mem, compute);
    out.push_back({b, t * std::exp(gauss(rng))});
  }
  return out;
}

TEST(DecodeKnee, RecoversAnExactRoofline) {
  const auto fit = fit_decode_knee(decode_curve(64, 0, 1));
  EXPECT_NEAR(fit.knee_batch / 64, 1.0, 0.01);
  EXPECT_NEAR(fit.memory_step_time_s / 2e-3, 1.0, 1e-3);
  EXPECT_NEAR(fit.per_sequence_time_s, 2e-3 / 64, 1e-6);
  EXPECT_TRUE(fit.within_sweep);
  EXPECT_LT(fit.rms_log_error, 1e-3);
}

TEST(DecodeKnee, NoisyAndRoundedCurvesForManySeeds) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const auto fit = fit_decode_knee(decode_curve(100, 0.05, seed, true));
    EXPECT_GT(fit.knee_batch, 100 / 1.5) << seed;
    EXPECT_LT(fit.knee_batch, 100 * 1.5) << seed;
  }
}

TEST(DecodeKnee, FlatCurveHasItsKneeBeyondTheSweep) {
  std::vector<KneePoint> flat;
  for (double b = 1; b <= 64; b *= 2) flat.push_back({b, 1e-3});
  const auto fit = fit_decode_knee(flat);
  EXPECT_GE(fit.knee_batch, 64 / 1.01);
  EXPECT_FALSE(fit.within_sweep);
  EXPECT_NEAR(fit.memory_step_time_s, 1e-3, 1e-9);
}

TEST(DecodeKnee, LinearCurveHasItsKneeBeforeTheSweep) {
  std::vector<KneePoint> linear;
  for (double b = 1; b <= 64; b *= 2) linear.push_back({b, 1e-4 * b});
  const auto fit = fit_decode_knee(linear);
  EXPECT_LE(fit.knee_batch, 1.01);
  EXPECT_FALSE(fit.within_sweep);
  EXPECT_NEAR(fit.per_sequence_time_s / 1e-4, 1.0, 0.01);
}

// The measured knee and the serving model speak of the same thing: fitted to the model's
// own idealised step times (no KV cache, and no link cost: exposed tensor-parallel
// communication grows with the batch and would bend the curve), the knee is the critical
// batch, 120 for int8 weights on a TPU v5e.
TEST(DecodeKnee, FitOfTheServingModelsCurveIsItsCriticalBatch) {
  const auto& model = find_model("llama3-70b");
  ChipSpec chip = find_chip("tpu-v5e");
  chip.link_bytes_per_s = 0;
  Deployment d;
  d.chips = 8;
  d.weights = d.kv = Dtype::int8;
  d.context = 1;
  std::vector<KneePoint> curve;
  for (std::int64_t b = 1; b <= 1024; b *= 2) {
    d.batch = b;
    curve.push_back({double(b), decode_step(model, chip, d).total_s});
  }
  EXPECT_NEAR(fit_decode_knee(curve).knee_batch / critical_batch(chip, Dtype::int8), 1.0, 0.02);
}

TEST(DecodeKnee, RefusesTooFewOrBadPoints) {
  EXPECT_THROW(fit_decode_knee({{1, 1e-3}, {2, 1e-3}}), Error);
  EXPECT_THROW(fit_decode_knee({{1, 1e-3}, {2, -1}, {4, 1e-3}}), Error);
  EXPECT_THROW(fit_decode_knee({{0, 1e-3}, {2, 1e-3}, {4, 1e-3}}), Error);
}

}  // namespace
}  // namespace roofaudit::calibrate

namespace roofaudit::calibrate {
namespace {

Measurement decode_point(const std::string& variant, int batch, const std::string& metric, double best) {
  Measurement m = roofaudit::testing::cpu_figure(
      "cpu.decode", variant, metric, "",
      {{"batch", batch}, {"rows", 1000}, {"k", 1000}, {"weight_bytes", variant == "int8" ? 1004000 : 2000000}}, "");
  m.summary = Summary{best, best, best, best, best, 0, 0};
  return m;
}

// The roles of the probes these fixtures name, as their registrations declare them.
const RoleMap kRoles = {{"cpu.decode", Role::decode_sweep}, {"cpu.peak", Role::peak}};

Measurement peak(const std::string& variant, int threads, double best) {
  Measurement m;
  m.probe = "cpu.peak";
  m.device = "cpu";
  m.variant = variant;
  m.metric = "peak";
  m.valid = true;
  m.summary = Summary{best, best, best, best, best, 0, 0};
  m.params = {{"threads", threads}};
  return m;
}

// A run's decode sweep on an exact roofline, with the run's peak and DRAM bandwidth:
// the fitted knee, the roofline's prediction and the B = 1 fraction all follow.
TEST(DecodeKnees, FromARunsMeasurementsWithItsCeilings) {
  std::vector<Measurement> ms;
  const double t_mem = 1e-3, knee = 16;
  for (int b = 1; b <= 512; b *= 2) {
    const double t = std::max(t_mem, t_mem * b / knee);
    ms.push_back(decode_point("int8", b, "step_time", t));
    if (b == 1) ms.push_back(decode_point("int8", b, "weight_bandwidth", 1004000 / t));
  }
  ms.push_back(decode_point("bf16", 1, "step_time", 1e-3));  // too few points for a knee
  ms.push_back(peak("int8", 1, 5e11));
  ms.push_back(peak("int8", 2, 1e12));  // the all-thread figure is the ceiling
  Measurement broken = decode_point("int8", 1024, "step_time", 1.0);
  broken.valid = false;  // a failed point never enters the fit
  ms.push_back(broken);

  const auto knees = fit_decode_knees(ms, {{"cpu", 2e9}, {"gpu:0", 1e12}}, kRoles);
  ASSERT_EQ(knees.size(), 1u);
  const auto& k = knees[0];
  EXPECT_EQ(k.variant, "int8");
  EXPECT_NEAR(k.fit.knee_batch / knee, 1.0, 0.01);
  EXPECT_NEAR(k.bytes_per_weight, 1.004, 1e-12);
  ASSERT_TRUE(k.roofline_knee && k.batch1_fraction);
  EXPECT_NEAR(*k.roofline_knee, 1e12 * 1.004 / (2 * 2e9), 1e-6);
  EXPECT_NEAR(*k.batch1_fraction, (1004000 / t_mem) / 2e9, 1e-12);

  const auto back = decode_knee_from_json(k.probe, k.variant, decode_knee_to_json(k));
  EXPECT_EQ(back.fit.knee_batch, k.fit.knee_batch);
  EXPECT_EQ(back.roofline_knee, k.roofline_knee);
  EXPECT_EQ(back.peak_ops, k.peak_ops);

  // Without the run's DRAM figure there is a knee but no prediction.
  const auto alone = fit_decode_knees(ms, {}, kRoles);
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_FALSE(alone[0].roofline_knee);
  EXPECT_FALSE(alone[0].batch1_fraction);
  EXPECT_FALSE(decode_knee_to_json(alone[0]).contains("roofline_knee"));
}

}  // namespace
}  // namespace roofaudit::calibrate
