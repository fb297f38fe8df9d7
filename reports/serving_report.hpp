#pragma once
// Renderings of serving-model estimates: text for terminals, JSON with the field names
// the CLI documents.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "calibrate/serving.hpp"
#include "calibrate/simulate.hpp"

namespace roofaudit::reports {

nlohmann::json estimate_to_json(const calibrate::ServingEstimate& e);
// Against the objectives: "met", or "misses TPOT 15.29 s > 50.00 ms (+30480%)"; empty
// when there were none. The JSON of the misses: bound, limit_s, value_s, over_by.
std::string objectives_text(const calibrate::ServingEstimate& e);
nlohmann::json misses_json(const calibrate::ServingEstimate& e);
std::string render_estimate_text(const calibrate::ServingEstimate& e, const calibrate::ChipSpec& chip);
std::string render_frontier_text(const std::vector<calibrate::ServingEstimate>& frontier);
std::string render_compare_text(const std::vector<calibrate::ServingEstimate>& rows);
// A load plan's fields (replicas, chips_total, usd_per_hour_total, usd_per_day,
// replicas_with_prefill, prefill_replicas), added to an estimate's JSON; and in words.
void add_load_json(nlohmann::json& j, const calibrate::LoadPlan& p);
std::string render_load_text(const calibrate::LoadPlan& p, const calibrate::ServingEstimate& e);
nlohmann::json simulation_to_json(const calibrate::SimulationResult& s, const calibrate::SimulationSpec& spec);
std::string render_simulation_text(const calibrate::SimulationResult& s, const calibrate::SimulationSpec& spec);
std::string render_speculative_text(const calibrate::SpeculativeEstimate& s);

}  // namespace roofaudit::reports
