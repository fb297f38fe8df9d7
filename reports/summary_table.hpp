#pragma once
// Terminal renderings of stored runs.
#include <string>
#include <vector>

#include "reports/run_view.hpp"

namespace roofaudit::reports {

// The summary `run` and `show` print: the machine, each probe's levels, validation.
std::string render_run_text(const RunView& view);
// One line per stored run.
std::string render_runs_text(const std::vector<store::RunRecord>& runs);


}  // namespace roofaudit::reports
