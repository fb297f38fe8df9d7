#pragma once
// Option checks with one-line messages that name the value (CLI11's own number checks
// print the type's whole range, 300 digits of it for a double, and let NaN through).
#include <CLI/CLI.hpp>

namespace roofaudit::cli {

// A whole number >= min (no sign tricks, no fraction).
CLI::Validator whole_at_least(long long min);
// A finite number in (low, high].
CLI::Validator finite_in(double low_exclusive, double high_inclusive);

}  // namespace roofaudit::cli
