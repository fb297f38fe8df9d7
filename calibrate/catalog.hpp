#pragma once
// Catalogues of chips and models (data files embedded at build time), a user's own chip
// or Hugging Face config.json, and owned-hardware pricing.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "calibrate/chip_codec.hpp"
#include "calibrate/serving_types.hpp"

namespace roofaudit::calibrate {

const std::vector<ChipSpec>& catalog_chips();
const std::vector<ModelSpec>& catalog_models();

// By catalogue name; throws Error naming the close names when there is no such entry.
const ChipSpec& find_chip(const std::string& name);
const ModelSpec& find_model(const std::string& name);

// A Hugging Face config.json: num_hidden_layers, hidden_size, intermediate_size,
// num_attention_heads, num_key_value_heads, head_dim, vocab_size, tie_word_embeddings,
// num_local_experts, num_experts_per_tok. Throws Error naming a missing field.
// `origin` names the file in messages (default: NAME's config.json).
ModelSpec model_from_hf_config(const nlohmann::json& j, const std::string& name, const std::string& origin = "");
// A model in the catalogue's format (also how runs record a model's shape), and back.
// model_from_json throws nlohmann::json::exception on a missing field.
ModelSpec model_from_json(const nlohmann::json& j);
nlohmann::json model_to_json(const ModelSpec& m);
// Reads and parses a JSON file; throws Error with the path on failure.
// A user's JSON file (`what` it is, for messages): a regular file, bounded, parsed.
nlohmann::json read_json_file(const std::string& path, const std::string& what);

// "did you mean" list: names within a small edit distance or sharing a substring.
std::vector<std::string> close_names(const std::string& wanted, const std::vector<std::string>& names);

// Owned hardware: capital spread over the used hours, plus power at the wall.
// The physical bounds of every price input, from --price-per-hour and the owned-cost
// options to a price file's fields: beyond them a figure is a typo, not a machine.
struct PriceBound {
  const char* field;  // in a price file
  const char* flag;   // on the command line
  double low;
  bool low_open;      // (low, high] rather than [low, high]
  double high;
};
inline constexpr PriceBound kPriceBounds[] = {
    {"usd_per_hour", "--price-per-hour", 0, false, 1e6}, {"purchase_usd", "--purchase-usd", 0, false, 1e9},
    {"lifetime_years", "--lifetime-years", 0, true, 100}, {"utilisation", "--utilisation", 0, true, 1},
    {"watts", "--watts", 0, false, 1e6},                  {"pue", "--pue", 1, false, 5},
    {"usd_per_kwh", "--usd-per-kwh", 0, false, 100},
};
const PriceBound& price_bound(const std::string& field);
// Throws Error naming `where` and the field unless `v` is finite and within its bound.
void check_price_field(const std::string& field, double v, const std::string& where);

struct OwnedCost {
  double purchase_usd = 0;
  double lifetime_h = 5 * 8766.0;  // five years
  double utilisation = 0.7;        // fraction of hours doing paid work
  double watts = 0;
  double pue = 1.3;
  double usd_per_kwh = 0.15;
  // The two parts of the price, per hour (unchecked: owned_usd_per_hour checks the fields).
  double capital_usd_per_hour() const { return purchase_usd / (lifetime_h * utilisation); }
  double power_usd_per_hour() const { return watts / 1000.0 * pue * usd_per_kwh; }
};
// price = purchase_usd / (lifetime_h * utilisation) + watts/1000 * pue * usd_per_kwh.
// Throws Error on negative, zero or non-finite inputs where they make no sense.
double owned_usd_per_hour(const OwnedCost& cost);
// The chip's price as owned hardware: usd_per_hour, and its capital and power parts.
void set_owned_price(ChipSpec& c, const OwnedCost& cost);

}  // namespace roofaudit::calibrate
