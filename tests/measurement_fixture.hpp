#pragma once
// A figure as a probe would emit it, for tests that store or judge measurements without
// running a probe.
#include <string>

#include <nlohmann/json.hpp>

#include "values/measurement.hpp"

namespace roofaudit::testing {

// A valid CPU figure with this identity and these parameters; samples and summary to add.
inline Measurement cpu_figure(std::string probe, std::string variant, std::string metric, std::string unit,
                              nlohmann::json params, std::string validation = "synthetic") {
  Measurement m;
  m.probe = std::move(probe);
  m.device = "cpu";
  m.variant = std::move(variant);
  m.metric = std::move(metric);
  m.unit = std::move(unit);
  m.params = std::move(params);
  m.valid = true;
  m.validation = std::move(validation);
  return m;
}

}  // namespace roofaudit::testing
