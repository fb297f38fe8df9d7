#pragma once
// Finds the flat stretches of a bandwidth- or latency-versus-working-set curve: the
// memory levels the hardware really has, whatever the topology claims.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace roofaudit::calibrate {

struct CurvePoint {
  double working_set_bytes = 0;
  double value = 0;  // bandwidth or latency, > 0
};

struct Plateau {
  std::string level;        // "L1", "L2", ..., "DRAM"
  double value = 0;         // median of the plateau's points
  double from_bytes = 0;    // smallest working set on the plateau
  double to_bytes = 0;      // largest working set on the plateau
  int points = 0;
  double spread = 0;        // (max - min) / value over the plateau's points
  double boundary_bytes = 0;  // where the curve crosses halfway (in log) to the next
                              // plateau: the measured capacity; 0 for the last one
};

struct PlateauOptions {
  int min_points = 3;           // a plateau needs at least this many sizes
  double min_step = 1.15;       // levels closer than this ratio are one level
  double max_slope = 0.15;      // |d ln(value) / d ln(size)| above this is a transition
  double penalty = 3.0;         // segmentation penalty, in units of noise variance x ln(n)
  double min_noise = 0.01;      // floor of the relative noise estimate
  int max_levels = 0;           // at most this many plateaus (0: no limit); the inner
                                // level spanning the narrowest size range goes first
  bool last_is_memory = true;   // name the last plateau DRAM (the sweep reached memory)
};

// 1. Piecewise-constant segmentation of log(value) by dynamic programming, with a
//    penalty from a robust noise estimate and from the smallest step worth a level.
// 2. Segments with enough points and a flat fit are plateau candidates; the rest are
//    transitions.
// 3. Walking up the sizes, a candidate that moves the curve's way (down for bandwidth,
//    up for latency) by min_step is a new level; one within min_step extends the
//    current level; one that moves back is an anomaly, not a level, and is dropped.
std::vector<Plateau> detect_plateaus(std::vector<CurvePoint> points, const PlateauOptions& options = {});

nlohmann::json plateaus_to_json(const std::vector<Plateau>& plateaus);
std::vector<Plateau> plateaus_from_json(const nlohmann::json& j);

}  // namespace roofaudit::calibrate
