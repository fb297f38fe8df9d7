#pragma once
// Everything stored about one run, as the reports consume it.
#include <optional>
#include <vector>

#include "values/measurement.hpp"
#include "values/records.hpp"

namespace roofaudit::reports {

struct RunView {
  store::RunRecord run;
  std::optional<store::MachineRecord> machine;
  std::vector<Measurement> measurements;
  std::vector<store::FitRecord> fits;
};

}  // namespace roofaudit::reports
