#include "probes/cpu/model_shape.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "values/error.hpp"

namespace roofaudit {

kernels::TransformerShape transformer_shape(const nlohmann::json& m, std::string_view probe) {
  kernels::TransformerShape s;
  try {
    s.layers = m.at("layers").get<int>();
    s.d_model = m.at("d_model").get<int>();
    s.d_ff = m.at("d_ff").get<int>();
    s.q_heads = m.at("q_heads").get<int>();
    s.kv_heads = m.at("kv_heads").get<int>();
    s.head_dim = m.at("head_dim").get<int>();
    s.vocab = m.at("vocab").get<int>();
    s.tied_embeddings = m.value("tied_embeddings", false);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{} needs a model shape (layers, d_model, d_ff, q_heads, kv_heads, head_dim, vocab): {}",
                            probe, e.what()));
  }
  try {
    s.check();
  } catch (const std::invalid_argument& e) {
    throw Error(fmt::format("{}: {}", probe, e.what()));
  }
  return s;
}

}  // namespace roofaudit
