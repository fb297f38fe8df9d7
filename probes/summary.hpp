#pragma once
#include <functional>
#include <string>
#include <vector>

#include "values/measurement.hpp"

namespace roofaudit {

// Statistics over repetitions. Throws Error on an empty sample set.
Summary summarize(const std::vector<double>& values, bool higher_is_better);
double median_of(std::vector<double> values);

// A probe's outcome into its Measurement. With `problem` set: the failure and no figure.
// Otherwise every timed repetition becomes a sample worth value_of(seconds), in the
// measurement's unit, with the summary (best by m.higher_is_better) and what was checked.
void record_outcome(Measurement& m, const std::vector<double>& seconds, const std::string& problem,
                    const std::string& checked, const std::function<double(double)>& value_of);

}  // namespace roofaudit
