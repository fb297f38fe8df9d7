#pragma once
#include <vector>

#include "probes/measurement.hpp"

namespace roofaudit {

// Statistics over repetitions. Throws Error on an empty sample set.
Summary summarize(const std::vector<double>& values, bool higher_is_better);
double median_of(std::vector<double> values);

}  // namespace roofaudit
