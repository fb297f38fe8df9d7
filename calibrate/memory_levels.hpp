#pragma once
// Turns a run's working-set sweeps into memory levels: one plateau fit per
// (probe, variant) curve.
#include <string>
#include <vector>

#include "calibrate/plateaus.hpp"
#include "calibrate/serving_types.hpp"
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

// A GPU's memory levels from its own facts and its read sweep. A GPU sweep's small
// working sets are launch-bound (a launch over a few MiB lasts microseconds), so plateaus
// found in the curve are the launches', not the caches'. Instead:
// - device memory: working sets of at least 4x the L2 (`l2_bytes`, from the device
//   catalogue), or where the L2 is not known the largest quarter of a sweep that reached
//   memory; its figure is the best of them, the largest working sets' plateau;
// - L2: working sets up to 3/4 of the L2, where it is known; the best of them.
// A cache level that reads slower than device memory was not measured (its launches were
// too short): its provenance says it is the kernel's figure ("kernel"), not the level's.
// `inner` are the plateaus fitted below device memory where the L2 is not known.
// Returns nothing where no working set reached device memory.
struct LevelFinding {
  MemoryLevel level;
  Provenance provenance;
};
std::vector<LevelFinding> gpu_memory_levels(std::vector<CurvePoint> read, double l2_bytes, const std::string& l2_source,
                                            const std::vector<Plateau>& inner, bool reaches_memory,
                                            const std::string& cite);

}  // namespace roofaudit::calibrate
