#pragma once
// A ChipSpec as JSON, both ways, in its two forms:
//   - the catalogue's, which a user's chip file also takes: the figures a datasheet gives
//     (peak per dtype, memory and its bandwidth, link, price, legal chip counts, sources),
//     read with every field checked and bounded;
//   - the stored form of a calibrated device (the run's `chip_spec` fit, docs/schema.md):
//     the same figures plus memory levels, matmul rates, link latency, every efficiency
//     and the provenance of each figure, written and read back exactly.
// JSON keys keep their file-format names ("flops_per_s", "hbm_bytes", ...).
#include <string>

#include <nlohmann/json.hpp>

#include "calibrate/serving_types.hpp"

namespace roofaudit::calibrate {

// A chip in the catalogue's format (one entry of "chips"). `origin` names the file in
// errors; throws Error naming the field that is missing, mistyped or implausible.
ChipSpec chip_from_json(const nlohmann::json& j, const std::string& origin);
// A chip file: one chip object, or a catalogue-shaped {"chips": [one chip]}.
ChipSpec chip_from_file_json(const nlohmann::json& j, const std::string& origin);
// The catalogue's format, as `catalog chips --json` prints it.
nlohmann::json chip_to_catalogue_json(const ChipSpec& c);

// The stored form of a calibrated chip, and back.
nlohmann::json chip_spec_to_json(const ChipSpec& c);
ChipSpec chip_spec_from_json(const nlohmann::json& j);

}  // namespace roofaudit::calibrate
