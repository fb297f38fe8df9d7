#pragma once
// Turns a run's working-set sweeps into memory levels: one plateau fit per
// (probe, variant) curve.
#include <string>
#include <vector>

#include "calibrate/plateaus.hpp"
#include "values/measurement.hpp"

namespace roofaudit::calibrate {

struct CurveFit {
  std::string device;
  std::string probe;
  std::string variant;
  std::vector<Plateau> plateaus;
};

// Every curve of valid measurements that carry params.working_set_bytes, fitted on
// each point's best repetition.
std::vector<CurveFit> fit_memory_levels(const std::vector<Measurement>& measurements,
                                        const PlateauOptions& options = {});

// One row per level of a reference curve (read bandwidth, say), with every variant's
// median best value over that level's working-set range: one table where the
// variants' own segmentations would disagree on where levels start.
struct LevelRow {
  Plateau level;                                       // from the reference curve
  std::vector<std::pair<std::string, double>> values;  // variant -> value, in first-seen order
};
std::vector<LevelRow> level_table(const std::vector<Measurement>& measurements, const std::string& probe,
                                  const std::vector<Plateau>& reference);

}  // namespace roofaudit::calibrate
