#include "calibrate/local_chip.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "calibrate/plateaus.hpp"
#include "calibrate/serving.hpp"
#include "values/error.hpp"
#include "values/stored.hpp"

namespace roofaudit::calibrate {
namespace {

double gib(double bytes) { return bytes / double(1ull << 30); }

}  // namespace

OwnedCost default_owned_cost(const LocalDevice& d) {
  OwnedCost c;
  if (d.facts && d.facts->purchase_usd > 0 && d.facts->board_watts > 0) {
    c.purchase_usd = d.facts->purchase_usd;
    c.watts = d.facts->board_watts;
  } else if (d.device == "cpu") {
    const double cores = std::max(1, d.cores);
    c.purchase_usd = 200.0 * cores + 4.0 * gib(d.memory_bytes);
    c.watts = 8.0 * cores + 0.4 * gib(d.memory_bytes);
  } else {
    c.purchase_usd = 2000.0 + 20.0 * gib(d.memory_bytes);
    c.watts = 150.0 + 3.0 * gib(d.memory_bytes);
  }
  return c;
}

std::string describe_default_owned_cost(const LocalDevice& d) {
  const OwnedCost c = default_owned_cost(d);
  const std::string basis = d.device == "cpu" ? "USD 200 and 8 W per core, USD 4 and 0.4 W per GiB of RAM"
                                              : "USD 2000 + 20 per GiB and 150 W + 3 W per GiB of device memory";
  return fmt::format("assumed owned cost ({}): USD {:.0f}, {:.0f} W, over {:.0f} years at {:.0f}% utilisation, PUE {:.1f}, "
                     "USD {:.2f}/kWh; give --price-per-hour or --price-config for yours",
                     basis, c.purchase_usd, c.watts, c.lifetime_h / 8766.0, c.utilisation * 100, c.pue, c.usd_per_kwh);
}

LocalPrice price_from_json(const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object()) throw Error(fmt::format("{}: expected a JSON object of owned-cost fields", origin));
  static const char* known[] = {"usd_per_hour", "purchase_usd", "lifetime_years", "utilisation", "watts", "pue",
                                "usd_per_kwh"};
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    const auto& value = item.value();
    if (std::find_if(std::begin(known), std::end(known), [&](const char* k) { return key == k; }) == std::end(known))
      throw Error(fmt::format("{}: unknown field '{}' (known: usd_per_hour, purchase_usd, lifetime_years, utilisation, "
                              "watts, pue, usd_per_kwh)",
                              origin, key));
    if (!value.is_number()) throw Error(fmt::format("{}: '{}' must be a number", origin, key));
    check_price_field(key, value.get<double>(), origin);
  }
  LocalPrice p;
  if (j.contains("usd_per_hour")) {
    // Either a price per hour or what makes one, never both: one would be silently ignored.
    for (const char* key : {"purchase_usd", "lifetime_years", "utilisation", "watts", "pue", "usd_per_kwh"})
      if (j.contains(key))
        throw Error(fmt::format("{}: give usd_per_hour or the owned-cost fields, not both ('{}' would be ignored)",
                                origin, key));
    p.usd_per_hour = j["usd_per_hour"].get<double>();
    return p;
  }
  if (!j.contains("purchase_usd") && !j.contains("watts"))
    throw Error(fmt::format("{}: gives no price: set usd_per_hour, or purchase_usd (and watts) for owned hardware",
                            origin));
  OwnedCost c;
  c.purchase_usd = j.value("purchase_usd", 0.0);
  if (j.contains("lifetime_years")) c.lifetime_h = j["lifetime_years"].get<double>() * 8766.0;
  c.utilisation = j.value("utilisation", c.utilisation);
  c.watts = j.value("watts", c.watts);
  c.pue = j.value("pue", c.pue);
  c.usd_per_kwh = j.value("usd_per_kwh", c.usd_per_kwh);
  owned_usd_per_hour(c);  // refuses what makes no sense, naming the field
  p.owned = c;
  return p;
}

void apply_local_price(ChipSpec& c, const LocalDevice& d, const LocalPrice& price) {
  if (price.usd_per_hour) {
    c.usd_per_hour = *price.usd_per_hour;
    c.provenance["price"] = {"given", fmt::format("USD {:.4g} per hour, as given", *price.usd_per_hour)};
  } else if (price.owned) {
    set_owned_price(c, *price.owned);
    c.provenance["price"] = {
        "given", fmt::format("owned cost as given: USD {:.0f}, {:.0f} W, {:.1f} years at {:.0f}%, PUE {:.2f}, USD {:.3f}/kWh",
                             price.owned->purchase_usd, price.owned->watts, price.owned->lifetime_h / 8766.0,
                             price.owned->utilisation * 100, price.owned->pue, price.owned->usd_per_kwh)};
  } else if (d.facts && d.facts->purchase_usd > 0 && d.facts->board_watts > 0) {
    const OwnedCost cost = default_owned_cost(d);
    set_owned_price(c, cost);
    c.provenance["price"] = {
        "catalogue",
        fmt::format("owned {} (the device catalogue, by {}): USD {:.0f} ({}), {:.0f} W ({}), over {:.0f} years at {:.0f}% "
                    "utilisation, PUE {:.1f}, USD {:.2f}/kWh; give --price-per-hour or --price-config for yours",
                    d.facts->name, d.facts->matched_by, cost.purchase_usd, d.facts->price_source, cost.watts,
                    d.facts->power_source, cost.lifetime_h / 8766.0, cost.utilisation * 100, cost.pue, cost.usd_per_kwh)};
  } else {
    set_owned_price(c, default_owned_cost(d));
    c.provenance["price"] = {"assumed", describe_default_owned_cost(d)};
  }
}

std::string local_chip_name(const std::string& device_key) {
  return device_key == "cpu" ? "local" : "local:" + device_key;
}

std::vector<PredictionCheck> check_predictions(const ChipSpec& chip, const std::vector<Measurement>& ms,
                                               const RoleMap& roles) {
  std::vector<PredictionCheck> out;
  for (const auto& m : ms) {
    if (role_of(roles, m.probe) != Role::forward_pass || m.metric != "throughput" || !m.valid || !m.summary) continue;
    if (chip.name != local_chip_name(m.device)) continue;
    ModelSpec model;
    try {
      model = model_from_json(m.params.at("model"));
    } catch (const nlohmann::json::exception&) {
      continue;
    }
    Deployment d;
    d.chips = 1;
    d.weights = parse_dtype(m.params.value("weights", m.variant));
    d.kv = parse_dtype(m.params.value("kv", std::string("bf16")));
    d.context = m.params.value("context", 0);
    d.batch = m.params.value("batch", 0);
    d.usable = 1.0;
    if (d.context < 1 || d.batch < 1) continue;
    const ServingEstimate e = estimate(model, chip, d);
    PredictionCheck p;
    p.layers = model.layers;
    p.variant = m.variant;
    p.batch = d.batch;
    p.context = d.context;
    p.measured_tokens_per_s = m.summary->median;
    p.predicted_tokens_per_s = e.decode_tokens_per_s;  // the forward pass decodes; no prefill
    p.error = (p.predicted_tokens_per_s - p.measured_tokens_per_s) / p.measured_tokens_per_s;
    p.t_param_s = e.t_param_s;
    p.t_kv_s = e.t_kv_s;
    p.t_flops_s = e.t_flops_s;
    p.t_overhead_s = e.t_overhead_s;
    out.push_back(p);
  }
  // The shortest context's B = 1 point of each dtype fits the layer overhead.
  for (auto& p : out) {
    if (p.batch != 1) continue;
    bool shortest = true;
    for (const auto& q : out)
      if (q.variant == p.variant && q.batch == 1 && q.context < p.context) shortest = false;
    p.calibration_point = shortest;
  }
  return out;
}

PredictionError prediction_error(const std::vector<PredictionCheck>& checks) {
  std::vector<double> errors;
  for (const auto& p : checks)
    if (!p.calibration_point) errors.push_back(std::fabs(p.error));
  if (errors.empty()) return {};
  std::sort(errors.begin(), errors.end());
  return {errors[errors.size() / 2], errors.back(), errors.size()};
}

nlohmann::json prediction_checks_to_json(const std::vector<PredictionCheck>& checks) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& p : checks)
    arr.push_back({{"variant", p.variant}, {"batch", p.batch}, {"context", p.context},
                   {"measured_tokens_per_s", p.measured_tokens_per_s}, {"predicted_tokens_per_s", p.predicted_tokens_per_s},
                   {"error", p.error}, {"t_param_s", p.t_param_s}, {"t_kv_s", p.t_kv_s}, {"t_flops_s", p.t_flops_s},
                   {"t_overhead_s", p.t_overhead_s}, {"layers", p.layers}, {"calibration_point", p.calibration_point}});
  return arr;
}

std::vector<PredictionCheck> prediction_checks_from_json(const nlohmann::json& j) {
  return read_stored("model predictions fit", [&] {
    std::vector<PredictionCheck> out;
    for (const auto& e : j) {
      PredictionCheck p;
      p.variant = e.at("variant").get<std::string>();
      p.batch = e.at("batch").get<std::int64_t>();
      p.context = e.at("context").get<std::int64_t>();
      p.measured_tokens_per_s = e.at("measured_tokens_per_s").get<double>();
      p.predicted_tokens_per_s = e.at("predicted_tokens_per_s").get<double>();
      p.error = e.at("error").get<double>();
      p.t_param_s = e.value("t_param_s", 0.0);
      p.t_kv_s = e.value("t_kv_s", 0.0);
      p.t_flops_s = e.value("t_flops_s", 0.0);
      p.t_overhead_s = e.value("t_overhead_s", 0.0);
      p.layers = e.value("layers", 0);
      p.calibration_point = e.value("calibration_point", false);
      out.push_back(p);
    }
    return out;
  });
}

}  // namespace roofaudit::calibrate
