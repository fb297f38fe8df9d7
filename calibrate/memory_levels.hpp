#pragma once
// Turns a run's working-set sweeps into memory levels: one plateau fit per
// (probe, variant) curve.
#include <string>
#include <vector>

#include "calibrate/plateaus.hpp"
#include "probes/measurement.hpp"

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

}  // namespace roofaudit::calibrate
