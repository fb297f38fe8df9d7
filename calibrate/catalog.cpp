#include "calibrate/catalog.hpp"

#include <algorithm>
#include <stdexcept>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "values/error.hpp"
#include "values/user_file.hpp"

namespace roofaudit::calibrate {

extern const char* const kChipsJson;
extern const char* const kModelsJson;

namespace {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

template <typename T>
const T& find_named(const std::vector<T>& items, const std::string& name, const char* what) {
  for (const auto& item : items)
    if (item.name == name) return item;
  std::vector<std::string> names;
  for (const auto& item : items) names.push_back(item.name);
  auto close = close_names(name, names);
  throw Error(fmt::format("unknown {} '{}'; {} {}", what, name, close.empty() ? "known:" : "did you mean",
                          fmt::join(close.empty() ? names : close, ", ")));
}

}  // namespace

std::vector<std::string> close_names(const std::string& wanted, const std::vector<std::string>& names) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& n : names) {
    const std::size_t d = edit_distance(wanted, n);
    const bool substring = !wanted.empty() && (n.find(wanted) != std::string::npos || wanted.find(n) != std::string::npos);
    if (d <= 3 || substring) scored.emplace_back(substring ? 0 : d, n);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (const auto& [d, n] : scored) out.push_back(n);
  return out;
}

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  const std::string text = read_user_file(path, what);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(fmt::format("the {} {} is not valid JSON: {}", what, path, e.what()));
  }
}

ModelSpec model_from_hf_config(const nlohmann::json& j, const std::string& name, const std::string& origin) {
  const std::string where = origin.empty() ? name + ": config.json" : origin;
  // Every field bounded by what a real model could have (the largest published ones are
  // well inside), so the sizes computed from them cannot overflow or go negative.
  auto field = [&](const char* key, long long most) -> int {
    if (!j.contains(key) || j[key].is_null()) throw Error(fmt::format("{} lacks '{}'", where, key));
    if (!j[key].is_number_integer() || j[key].get<long long>() <= 0)
      throw Error(fmt::format("{} field '{}' must be a positive integer", where, key));
    if (j[key].is_number_unsigned() ? j[key].get<unsigned long long>() > (unsigned long long)(most)
                                    : j[key].get<long long>() > most)
      throw Error(fmt::format("{} field '{}' is {}, beyond any real model (at most {})", where, key,
                              j[key].dump(), most));
    return int(j[key].get<long long>());
  };
  ModelSpec m;
  m.name = name;
  m.layers = field("num_hidden_layers", 1024);
  m.d_model = field("hidden_size", 1 << 17);
  m.d_ff = field("intermediate_size", 1 << 20);
  m.q_heads = field("num_attention_heads", 1024);
  m.kv_heads = j.contains("num_key_value_heads") ? field("num_key_value_heads", 1024) : m.q_heads;
  const bool given_head_dim = j.contains("head_dim") && !j["head_dim"].is_null();
  if (!given_head_dim && m.d_model % m.q_heads != 0)
    throw Error(fmt::format("{}: hidden_size {} is not a multiple of num_attention_heads {} (and no head_dim is "
                            "given)",
                            where, m.d_model, m.q_heads));
  m.head_dim = given_head_dim ? field("head_dim", 4096) : m.d_model / m.q_heads;
  m.vocab = field("vocab_size", 1 << 24);
  if (j.contains("tie_word_embeddings") && !j["tie_word_embeddings"].is_null()) {
    if (!j["tie_word_embeddings"].is_boolean())
      throw Error(fmt::format("{} field 'tie_word_embeddings' must be true or false, not {}", where,
                              j["tie_word_embeddings"].dump()));
    m.tied_embeddings = j["tie_word_embeddings"].get<bool>();
  }
  if (m.kv_heads > m.q_heads || m.q_heads % m.kv_heads != 0)
    throw Error(fmt::format("{} has {} query heads over {} KV heads: each KV head must serve a whole "
                            "group of query heads",
                            where, m.q_heads, m.kv_heads));
  if (m.head_dim < 1) throw Error(fmt::format("{} gives a head dimension below 1", where));
  // Experts: Mixtral's names, or Qwen's (num_experts, each expert moe_intermediate_size wide).
  const auto given = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
  const char* experts_key = given("num_local_experts") ? "num_local_experts" : given("num_experts") ? "num_experts" : nullptr;
  if (experts_key) {
    m.experts = field(experts_key, 4096);
    m.active_experts = field("num_experts_per_tok", 4096);
    if (m.active_experts > m.experts)
      throw Error(fmt::format("{} routes {} experts per token out of {}", where, m.active_experts,
                              m.experts));
    if (given("moe_intermediate_size")) m.d_ff = field("moe_intermediate_size", 1 << 20);
    // Every layer an expert layer: dense layers between them are not modelled.
    const bool some_dense = (given("decoder_sparse_step") && j["decoder_sparse_step"] != 1) ||
                            (given("mlp_only_layers") && j["mlp_only_layers"].is_array() && !j["mlp_only_layers"].empty());
    if (some_dense)
      throw Error(fmt::format("{} mixes dense and expert layers (decoder_sparse_step, mlp_only_layers): only models whose "
                              "every layer routes to experts are modelled",
                              where));
  }
  return m;
}

ModelSpec model_from_json(const nlohmann::json& e) {
  ModelSpec m;
  m.name = e.at("name").get<std::string>();
  m.layers = e.at("layers");
  m.d_model = e.at("d_model");
  m.d_ff = e.at("d_ff");
  m.q_heads = e.at("q_heads");
  m.kv_heads = e.at("kv_heads");
  m.head_dim = e.at("head_dim");
  m.vocab = e.at("vocab");
  m.tied_embeddings = e.value("tied_embeddings", false);
  m.experts = e.value("experts", 0);
  m.active_experts = e.value("active_experts", 0);
  return m;
}

nlohmann::json model_to_json(const ModelSpec& m) {
  return {{"name", m.name}, {"layers", m.layers}, {"d_model", m.d_model}, {"d_ff", m.d_ff}, {"q_heads", m.q_heads},
          {"kv_heads", m.kv_heads}, {"head_dim", m.head_dim}, {"vocab", m.vocab},
          {"tied_embeddings", m.tied_embeddings}, {"experts", m.experts}, {"active_experts", m.active_experts}};
}

const std::vector<ChipSpec>& catalog_chips() {
  static const std::vector<ChipSpec> chips = [] {
    std::vector<ChipSpec> out;
    const auto doc = nlohmann::json::parse(kChipsJson);  // kept alive: the loop refers into it
    for (const auto& e : doc.at("chips")) out.push_back(chip_from_json(e, "chip catalogue"));
    return out;
  }();
  return chips;
}

const std::vector<ModelSpec>& catalog_models() {
  static const std::vector<ModelSpec> models = [] {
    std::vector<ModelSpec> out;
    const auto doc = nlohmann::json::parse(kModelsJson);
    for (const auto& e : doc.at("models")) out.push_back(model_from_json(e));
    return out;
  }();
  return models;
}

const ChipSpec& find_chip(const std::string& name) { return find_named(catalog_chips(), name, "chip"); }
const ModelSpec& find_model(const std::string& name) { return find_named(catalog_models(), name, "model"); }

const PriceBound& price_bound(const std::string& field) {
  for (const auto& b : kPriceBounds)
    if (field == b.field) return b;
  throw std::invalid_argument("no price field " + field);
}

void check_price_field(const std::string& field, double v, const std::string& where) {
  const PriceBound& b = price_bound(field);
  if (!std::isfinite(v) || (b.low_open ? v <= b.low : v < b.low) || v > b.high)
    throw Error(fmt::format("{}: '{}' is {:g}, outside {}{:g}, {:g}]", where, field, v, b.low_open ? "(" : "[", b.low, b.high));
}

double owned_usd_per_hour(const OwnedCost& c) {
  check_price_field("purchase_usd", c.purchase_usd, "owned cost");
  check_price_field("lifetime_years", c.lifetime_h / 8766.0, "owned cost");  // stored in hours, given in years
  check_price_field("utilisation", c.utilisation, "owned cost");
  check_price_field("watts", c.watts, "owned cost");
  check_price_field("pue", c.pue, "owned cost");
  check_price_field("usd_per_kwh", c.usd_per_kwh, "owned cost");
  return c.capital_usd_per_hour() + c.power_usd_per_hour();
}

void set_owned_price(ChipSpec& chip, const OwnedCost& c) {
  chip.usd_per_hour = owned_usd_per_hour(c);
  chip.purchase_usd = c.purchase_usd;
  chip.capital_usd_per_hour = c.capital_usd_per_hour();
  chip.power_usd_per_hour = c.power_usd_per_hour();
}

}  // namespace roofaudit::calibrate
