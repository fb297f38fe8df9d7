#pragma once
// The run's model (RunSettings::model, a catalogue entry's fields) as the transformer
// kernels take it; shared by the probes that run parts of a model.
#include <string_view>

#include <nlohmann/json.hpp>

#include "kernels/cpu/transformer.hpp"

namespace roofaudit {

// Throws Error naming `probe` and the missing or inconsistent field.
kernels::TransformerShape transformer_shape(const nlohmann::json& model, std::string_view probe);

}  // namespace roofaudit
