#include "reports/format.hpp"

#include <cmath>

#include <fmt/format.h>

#include "values/units.hpp"

namespace roofaudit::reports {

std::string format_value(double v, const std::string& unit) {
  if (!std::isfinite(v)) return "-";
  if (unit == "s") {
    const double a = std::fabs(v);
    if (a == 0) return "0 s";
    if (a < 1e-6) return fmt::format("{:.3g} ns", v * 1e9);
    if (a < 1e-3) return fmt::format("{:.3g} us", v * 1e6);
    if (a < 1) return fmt::format("{:.3g} ms", v * 1e3);
    return fmt::format("{:.3g} s", v);
  }
  const char* prefixes[] = {"", "k", "M", "G", "T", "P", "E"};
  int i = 0;
  while (std::fabs(v) >= 1000 && i < 6) {
    v /= 1000;
    ++i;
  }
  return fmt::format("{:.3g} {}{}", v, prefixes[i], unit);
}

std::string format_bytes(double bytes) { return human_bytes(bytes); }

std::string step_ms(double s) { return fmt::format("{:.2f}", s * 1e3); }

const char* ops_unit(calibrate::Dtype d) { return d == calibrate::Dtype::int8 ? "OP/s" : "FLOP/s"; }

}  // namespace roofaudit::reports
