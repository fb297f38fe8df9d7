#pragma once
// The audit report's plots, as inline SVG for its HTML form: the roofline (each measured
// device's roofs and peaks beside the catalogue's) and the cost-latency Pareto frontier.
#include <string>

#include <fmt/format.h>

#include "reports/audit_report.hpp"

namespace roofaudit::reports {

std::string roofline_svg(const AuditReport& r);
std::string pareto_svg(const AuditReport& r);

}  // namespace roofaudit::reports
