#pragma once
// Everything stored about one run, as the reports consume it (values/records.hpp).
#include "values/records.hpp"

namespace roofaudit::reports {

using RunView = store::RunView;

}  // namespace roofaudit::reports
