#pragma once
#include <nlohmann/json.hpp>

#include "reports/run_view.hpp"

namespace roofaudit::reports {

nlohmann::json run_to_json(const RunView& view);
nlohmann::json measurement_to_json(const Measurement& m);

}  // namespace roofaudit::reports
