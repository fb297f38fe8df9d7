#pragma once
// The audit report's plots, as inline SVG for its HTML form: the roofline (each measured
// device's roofs and peaks beside the catalogue's) and the cost-latency Pareto frontier.
#include <string>

#include <fmt/format.h>

#include "reports/audit_report.hpp"

namespace roofaudit::reports {

// Shared by the report's renderings: a step time in milliseconds, a rate's unit by dtype.
inline std::string step_ms(double s) { return fmt::format("{:.2f}", s * 1e3); }
inline const char* ops_unit(calibrate::Dtype d) { return d == calibrate::Dtype::int8 ? "OP/s" : "FLOP/s"; }

std::string roofline_svg(const AuditReport& r);
std::string pareto_svg(const AuditReport& r);

}  // namespace roofaudit::reports
