#pragma once
// How the reports write a figure for people: one place for every number's form, so each
// renderer composes text and never formats a unit itself.
#include <string>

#include "calibrate/serving_types.hpp"

namespace roofaudit::reports {

// 4.27e12, "B/s" -> "4.27 TB/s"; seconds as ns / us / ms / s; "-" for a non-finite value.
std::string format_value(double v, const std::string& unit);
// Binary units, as values/units.hpp writes them ("1.50 KiB").
std::string format_bytes(double bytes);
// A step time in milliseconds, two decimals.
std::string step_ms(double s);
// A rate's unit by dtype: OP/s for the integer types, FLOP/s for the rest.
const char* ops_unit(calibrate::Dtype d);

}  // namespace roofaudit::reports
