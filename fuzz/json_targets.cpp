// The JSON files a user gives predict and report: a Hugging Face config.json, a chip
// file, an owned-cost file. Input that is not JSON at all is read_json_file's refusal and
// is dropped here; what the fuzzer explores is JSON of the wrong shape, type and size.
#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

#include "calibrate/catalog.hpp"
#include "calibrate/local_chip.hpp"
#include "fuzz/invariants.hpp"
#include "values/error.hpp"

namespace roofaudit::fuzz {
namespace {

// What `decode` makes of the input as JSON: nothing where it is not JSON, or where the
// decoder refuses it with Error (its answer to bad input, which is not a finding).
template <typename Decode>
auto accepted(const std::uint8_t* data, std::size_t size, Decode decode)
    -> std::optional<decltype(decode(nlohmann::json()))> {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  try {
    return decode(j);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

void hf_config(const std::uint8_t* data, std::size_t size) {
  const auto m = accepted(data, size, [](const auto& j) { return calibrate::model_from_hf_config(j, "config.json"); });
  if (!m) return;
  require(m->total_params() > 0 && std::isfinite(m->total_params()), "total_params not positive");
  require(m->active_params() > 0 && m->active_params() <= m->total_params(), "active_params outside (0, total]");
  for (const char* chip : {"tpu-v5e", "h100"}) require_sane_prediction(*m, calibrate::find_chip(chip));
}

void chip_json(const std::uint8_t* data, std::size_t size) {
  const auto c = accepted(data, size, [](const auto& j) { return calibrate::chip_from_file_json(j, "chip.json"); });
  if (!c) return;
  require(!c->name.empty(), "a chip without a name");
  for (const char* model : {"llama3-8b", "llama3-70b"}) require_sane_prediction(calibrate::find_model(model), *c);
}

void price_config(const std::uint8_t* data, std::size_t size) {
  const auto p = accepted(data, size, [](const auto& j) { return calibrate::price_from_json(j, "price.json"); });
  if (!p) return;
  require(p->usd_per_hour.has_value() != p->owned.has_value(), "a price both given and owned, or neither");
  const double usd = p->usd_per_hour ? *p->usd_per_hour : calibrate::owned_usd_per_hour(*p->owned);
  require_figure(usd, "usd_per_hour");
  calibrate::ChipSpec c = calibrate::find_chip("tpu-v5e");
  c.usd_per_hour = usd;
  require_sane_prediction(calibrate::find_model("llama3-70b"), c);
}

}  // namespace roofaudit::fuzz
