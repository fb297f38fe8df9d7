#include "calibrate/plateaus.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

namespace roofaudit::calibrate {
namespace {

struct Level {
  double bytes_end;  // the level holds working sets up to here
  double value;
};

// A memory hierarchy curve: flat levels joined by smooth transitions one size step wide
// on each side, like real caches whose replacement is not perfectly LRU.
std::vector<CurvePoint> synthetic_curve(const std::vector<Level>& levels, double noise, unsigned seed,
                                        double slope_within_level = 0.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0.0, noise);
  std::vector<CurvePoint> points;
  for (double ws = 4096; ws <= 4.0 * 1024 * 1024 * 1024; ws *= 1.2) {
    double log_v = std::log(levels.back().value);
    for (std::size_t i = 0; i < levels.size(); ++i) {
      const double start = i == 0 ? 4096.0 : levels[i - 1].bytes_end;
      if (ws > levels[i].bytes_end * 1.2 && i + 1 < levels.size()) continue;
      const double here = std::log(levels[i].value) - slope_within_level * std::log(ws / start);
      if (i + 1 < levels.size() && ws > levels[i].bytes_end) {
        const double t = std::log(ws / levels[i].bytes_end) / std::log(1.2);  // 0..1 across the step
        log_v = (1 - t) * here + t * std::log(levels[i + 1].value);
      } else {
        log_v = here;
      }
      break;
    }
    points.push_back({ws, std::exp(log_v + gauss(rng))});
  }
  return points;
}

const std::vector<Level> kFourLevels = {
    {64 * 1024.0, 800e9}, {1 * 1024 * 1024.0, 330e9}, {32 * 1024 * 1024.0, 190e9}, {1e30, 60e9}};

void expect_levels(const std::vector<Plateau>& found, const std::vector<Level>& expected, double tolerance) {
  ASSERT_EQ(found.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(found[i].value / expected[i].value, 1.0, tolerance) << "level " << i;
}

TEST(PlateauDetector, FindsFourLevelsInCleanCurve) {
  const auto found = detect_plateaus(synthetic_curve(kFourLevels, 0.0, 1));
  expect_levels(found, kFourLevels, 0.01);
  EXPECT_EQ(found[0].level, "L1");
  EXPECT_EQ(found[2].level, "L3");
  EXPECT_EQ(found[3].level, "DRAM");
  // Capacities come out of the curve: within one 1.2x step of the true sizes.
  for (std::size_t i = 0; i + 1 < kFourLevels.size(); ++i) {
    EXPECT_GT(found[i].boundary_bytes, kFourLevels[i].bytes_end / 1.2);
    EXPECT_LT(found[i].boundary_bytes, kFourLevels[i].bytes_end * 1.44);
  }
  EXPECT_EQ(found[3].boundary_bytes, 0.0);
}

TEST(PlateauDetector, FindsFourLevelsInNoisyCurveForManySeeds) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const auto found = detect_plateaus(synthetic_curve(kFourLevels, 0.03, seed));
    expect_levels(found, kFourLevels, 0.05);
  }
}

TEST(PlateauDetector, SlopedLevelStaysOneLevel) {
  // Each level loses 4% per doubling of the working set, as a victim L3 does in a VM.
  const auto found = detect_plateaus(synthetic_curve(kFourLevels, 0.01, 7, 0.06));
  ASSERT_EQ(found.size(), 4u);
}

TEST(PlateauDetector, BumpAboveThePreviousLevelIsNotALevel) {
  auto points = synthetic_curve(kFourLevels, 0.0, 1);
  for (auto& p : points)  // a 35% rise over a few sizes inside L2
    if (p.working_set_bytes > 400e3 && p.working_set_bytes < 700e3) p.value *= 1.35;
  const auto found = detect_plateaus(points);
  expect_levels(found, kFourLevels, 0.03);
}

TEST(PlateauDetector, LatencyCurveRisesThroughTheLevels) {
  const std::vector<Level> latency = {
      {48 * 1024.0, 1.1e-9}, {1024 * 1024.0, 4e-9}, {32 * 1024 * 1024.0, 15e-9}, {1e30, 90e-9}};
  const auto found = detect_plateaus(synthetic_curve(latency, 0.02, 3));
  expect_levels(found, latency, 0.05);
  EXPECT_EQ(found.back().level, "DRAM");
}

TEST(PlateauDetector, MaxLevelsDropsTheNarrowestInnerLevel) {
  PlateauOptions options;
  options.max_levels = 3;
  const auto found = detect_plateaus(synthetic_curve(kFourLevels, 0.0, 1), options);
  ASSERT_EQ(found.size(), 3u);
  // L2 spans 16x in size, L3 32x: L2 goes; L1 and DRAM are anchored.
  EXPECT_NEAR(found[0].value / 800e9, 1.0, 0.01);
  EXPECT_NEAR(found[1].value / 190e9, 1.0, 0.01);
  EXPECT_NEAR(found[2].value / 60e9, 1.0, 0.01);
}

TEST(PlateauDetector, ShoulderInALongTransitionIsNotALevel) {
  // L3 -> DRAM over 8x in size, with a flat shoulder halfway down.
  std::vector<CurvePoint> points = synthetic_curve(kFourLevels, 0.0, 1);
  for (auto& p : points) {
    const double ws = p.working_set_bytes;
    if (ws > 32 * 1048576.0 && ws < 48 * 1048576.0) p.value = 150e9;
    if (ws >= 48 * 1048576.0 && ws < 128 * 1048576.0) p.value = 120e9;
    if (ws >= 128 * 1048576.0 && ws < 256 * 1048576.0) p.value = 90e9;
  }
  PlateauOptions options;
  options.max_levels = 4;
  expect_levels(detect_plateaus(points, options), kFourLevels, 0.02);
}

TEST(PlateauDetector, NamesNoDramWhenTheSweepStoppedInCache) {
  PlateauOptions options;
  options.last_is_memory = false;
  const auto found = detect_plateaus(synthetic_curve(kFourLevels, 0.0, 1), options);
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found.back().level, "L4");
}

TEST(PlateauDetector, TooFewPointsGiveNoPlateau) {
  EXPECT_TRUE(detect_plateaus({{4096, 1e9}, {8192, 1e9}}).empty());
  EXPECT_TRUE(detect_plateaus({}).empty());
}

TEST(PlateauDetector, JsonRoundTrip) {
  const auto found = detect_plateaus(synthetic_curve(kFourLevels, 0.0, 1));
  const auto back = plateaus_from_json(plateaus_to_json(found));
  ASSERT_EQ(back.size(), found.size());
  for (std::size_t i = 0; i < found.size(); ++i) {
    EXPECT_EQ(back[i].level, found[i].level);
    EXPECT_DOUBLE_EQ(back[i].value, found[i].value);
    EXPECT_DOUBLE_EQ(back[i].boundary_bytes, found[i].boundary_bytes);
  }
}

std::vector<CurvePoint> recorded(const std::string& name) {
  std::ifstream in(std::string(ROOFAUDIT_TEST_DATA_DIR) + "/calibrate/data/" + name);
  EXPECT_TRUE(in) << name;
  const auto j = nlohmann::json::parse(in);
  std::vector<CurvePoint> points;
  for (const auto& e : j) points.push_back({e["working_set_bytes"].get<double>(), e["value"].get<double>()});
  return points;
}

// Curves recorded by `roofaudit run --quick` on a 2-core AMD Zen 5 VM (48 KiB L1d and
// 1 MiB L2 per core, an L3 that loses bandwidth with size, hwloc claiming 2 x 508 MB L3).
TEST(PlateauDetector, RecordedVmReadCurveHasL1L2L3Dram) {
  PlateauOptions options;
  options.max_levels = 4;  // three reported cache levels + memory
  const auto found = detect_plateaus(recorded("vm_turin_quick_read.json"), options);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_GT(found[0].value, 700e9);  // two cores' L1
  EXPECT_NEAR(found[1].value / 330e9, 1.0, 0.1);
  EXPECT_LT(found[3].value, 80e9);   // DRAM
  // L1 ends near 2 x 48 KiB, L2 well before the 2 x 508 MB hwloc claims for L3.
  EXPECT_NEAR(found[0].boundary_bytes / (96 * 1024.0), 1.0, 0.2);
  EXPECT_LT(found[2].boundary_bytes, 100e6);
}

// A full run on the same VM during a noisy minute: L3 fades into DRAM between 35 MB and
// 500 MB with a shoulder near 120 GB/s.
TEST(PlateauDetector, RecordedVmCurveWithShoulderKeepsL2AndL3Apart) {
  PlateauOptions options;
  options.max_levels = 4;
  const auto found = detect_plateaus(recorded("vm_turin_full_read_shoulder.json"), options);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_NEAR(found[1].value / 330e9, 1.0, 0.1);
  EXPECT_NEAR(found[2].value / 200e9, 1.0, 0.1);
  EXPECT_LT(found[3].value, 80e9);
  EXPECT_GT(found[3].from_bytes, 200e6);
}

TEST(PlateauDetector, RecordedVmLatencyCurveEndsInDram) {
  const auto found = detect_plateaus(recorded("vm_turin_quick_chase.json"));
  ASSERT_GE(found.size(), 3u);
  EXPECT_LT(found.front().value, 2e-9);  // L1 hit: a few cycles
  EXPECT_GT(found.back().value, 50e-9);  // DRAM
}

}  // namespace
}  // namespace roofaudit::calibrate
