#pragma once
// Everything stored about one run, as the reports consume it.
#include <optional>
#include <vector>

#include "probes/measurement.hpp"
#include "store/records.hpp"

namespace roofaudit::reports {

struct RunView {
  store::RunRecord run;
  std::optional<store::MachineRecord> machine;
  std::vector<Measurement> measurements;
  std::vector<store::FitRecord> fits;
};

}  // namespace roofaudit::reports
