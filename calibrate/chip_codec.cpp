#include "calibrate/chip_codec.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "values/error.hpp"
#include "values/stored.hpp"

namespace roofaudit::calibrate {

namespace {

double positive(const nlohmann::json& j, const char* key, const std::string& origin) {
  if (!j.contains(key)) throw Error(fmt::format("{}: missing field '{}'", origin, key));
  if (!j[key].is_number()) throw Error(fmt::format("{}: field '{}' is not a number", origin, key));
  const double v = j[key].get<double>();
  if (!std::isfinite(v) || v <= 0) throw Error(fmt::format("{}: field '{}' must be positive, not {}", origin, key, v));
  // Bytes, bytes per second: a petabyte (per second) is beyond any chip of this decade,
  // and a megabyte (per second) below any that could hold or stream a model.
  if (v > 1e15) throw Error(fmt::format("{}: field '{}' is {:g}, beyond any real chip (at most 1e15)", origin, key, v));
  if (v < 1e6) throw Error(fmt::format("{}: field '{}' is {:g}, below any real chip (at least 1e6)", origin, key, v));
  return v;
}

// An optional number of `j` in [low, high] (low excluded when `low_open`), else `fallback`.
double number_in(const nlohmann::json& j, const char* key, double fallback, double low, double high, bool low_open,
                 const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  const auto& v = j[key];
  const bool inside = v.is_number() && std::isfinite(v.get<double>()) &&
                      (low_open ? v.get<double>() > low : v.get<double>() >= low) && v.get<double>() <= high;
  if (!inside)
    throw Error(fmt::format("{}: field '{}' must be a number in {}{:g}, {:g}], not {}", where, key, low_open ? "(" : "[",
                            low, high, v.dump()));
  return v.get<double>();
}

// An optional string field of `j`, else `fallback`.
std::string text_in(const nlohmann::json& j, const char* key, const std::string& fallback, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_string()) throw Error(fmt::format("{}: field '{}' must be a string, not {}", where, key, j[key].dump()));
  return j[key].get<std::string>();
}

// An optional whole number of `j` in [low, high], else `fallback`.
int whole_in(const nlohmann::json& j, const char* key, int fallback, int low, int high, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  const auto& v = j[key];
  if (!v.is_number_integer() || v.get<long long>() < low || v.get<long long>() > high ||
      (v.is_number_unsigned() && v.get<unsigned long long>() > static_cast<unsigned long long>(high)))
    throw Error(fmt::format("{}: field '{}' must be a whole number from {} to {}, not {}", where, key, low, high, v.dump()));
  return v.get<int>();
}

// The link's topology (see ChipSpec::link_topology), checked.
void link_topology_from(const nlohmann::json& j, const std::string& where, ChipSpec& c) {
  c.link_topology = text_in(j, "link_topology", "network", where);
  if (c.link_topology != "torus" && c.link_topology != "switch" && c.link_topology != "network" &&
      c.link_topology != "collective")
    throw Error(fmt::format("{}: link_topology takes torus, switch, network or collective, not '{}'", where,
                            c.link_topology));
  c.link_axes = whole_in(j, "link_axes", c.link_topology == "torus" ? 2 : 1, 1, 3, where);
  c.link_domain = whole_in(j, "link_domain", 0, 0, 1'000'000, where);
  if (j.contains("network_bytes_per_s")) c.network_bytes_per_s = positive(j, "network_bytes_per_s", where);
}

}  // namespace

ChipSpec chip_from_json(const nlohmann::json& j, const std::string& origin) {
  ChipSpec c;
  if (!j.is_object()) throw Error(fmt::format("{}: a chip is a JSON object, not {}", origin, j.type_name()));
  if (!j.contains("name") || !j["name"].is_string() || j["name"].get<std::string>().empty())
    throw Error(fmt::format("{}: missing field 'name'", origin));
  c.name = j["name"].get<std::string>();
  const std::string where = fmt::format("{} ({})", origin, c.name);
  c.display_name = text_in(j, "display_name", c.name, where);
  c.kind = text_in(j, "kind", "gpu", where);
  if (c.kind != "gpu" && c.kind != "tpu" && c.kind != "cpu" && c.kind != "accelerator")
    throw Error(fmt::format("{}: kind takes gpu, tpu, cpu or accelerator, not '{}'", where, c.kind));
  if (!j.contains("flops_per_s") || !j["flops_per_s"].is_object() || j["flops_per_s"].empty())
    throw Error(fmt::format("{}: missing field 'flops_per_s'", where));
  for (const auto& item : j["flops_per_s"].items()) {
    const std::string& dtype = item.key();
    const auto& value = item.value();
    if (!value.is_number() || !(value.get<double>() > 0) || !std::isfinite(value.get<double>()))
      throw Error(fmt::format("{}: flops_per_s.{} must be a positive number", where, dtype));
    if (value.get<double>() > 1e18)
      throw Error(fmt::format("{}: flops_per_s.{} is {:g}, beyond any real chip (at most 1e18)", where, dtype,
                              value.get<double>()));
    if (value.get<double>() < 1e6)
      throw Error(fmt::format("{}: flops_per_s.{} is {:g}, below any real chip (at least 1e6)", where, dtype,
                              value.get<double>()));
    c.peak_ops_per_s[parse_dtype(dtype)] = value.get<double>();
  }
  if (!c.peak_ops_per_s.count(Dtype::bf16) && !c.peak_ops_per_s.count(Dtype::fp16))
    throw Error(fmt::format("{}: flops_per_s needs a bf16 (or fp16) rate", where));
  if (!c.peak_ops_per_s.count(Dtype::bf16)) c.peak_ops_per_s[Dtype::bf16] = c.peak_ops_per_s[Dtype::fp16];
  c.memory_bytes = positive(j, "hbm_bytes", where);
  c.memory_bytes_per_s = positive(j, "hbm_bytes_per_s", where);
  if (j.contains("link_bytes_per_s")) c.link_bytes_per_s = positive(j, "link_bytes_per_s", where);
  link_topology_from(j, where, c);
  // A chip-hour above a million dollars is a typo, not a price.
  if (j.contains("usd_per_hour") && !j["usd_per_hour"].is_null())
    c.usd_per_hour = number_in(j, "usd_per_hour", 0, 0, 1e6, false, where);
  if (j.contains("topologies")) {
    if (!j["topologies"].is_array()) throw Error(fmt::format("{}: topologies must be a list of chip counts", where));
    for (const auto& t : j["topologies"]) {
      if (!t.is_number_integer() || t.get<long long>() < 1 || t.get<long long>() > 1'000'000 ||
          (t.is_number_unsigned() && t.get<unsigned long long>() > 1'000'000))
        throw Error(fmt::format("{}: topologies must be chip counts from 1 to 1000000, not {}", where, t.dump()));
      c.topologies.push_back(t.get<int>());
    }
    std::sort(c.topologies.begin(), c.topologies.end());
  }
  // A board one can buy: its price and rated power, for owned comparisons.
  c.list_purchase_usd = number_in(j, "purchase_usd", 0, 0, 1e9, false, where);
  c.board_watts = number_in(j, "board_watts", 0, 0, 1e6, false, where);
  if (j.contains("efficiency")) {
    const auto& e = j["efficiency"];
    if (!e.is_object()) throw Error(fmt::format("{}: efficiency must be an object of fractions", where));
    c.efficiency.bandwidth = number_in(e, "bandwidth", c.efficiency.bandwidth, 0, 1, true, where);
    c.efficiency.decode_matmul = number_in(e, "decode_matmul", c.efficiency.decode_matmul, 0, 1, true, where);
    c.efficiency.prefill_mfu = number_in(e, "prefill_mfu", c.efficiency.prefill_mfu, 0, 1, true, where);
    c.efficiency.layer_overhead_s = number_in(e, "layer_overhead_s", c.efficiency.layer_overhead_s, 0, 1, false, where);
    // Per weight dtype, (batch, measured step / modelled step) pairs, ascending in batch.
    if (e.contains("decode_curve") && !e["decode_curve"].is_null()) {
      if (!e["decode_curve"].is_object()) throw Error(fmt::format("{}: efficiency.decode_curve must map dtypes to [batch, ratio] lists", where));
      for (const auto& [name, points] : e["decode_curve"].items()) {
        const Dtype d = parse_dtype(name);
        if (!points.is_array()) throw Error(fmt::format("{}: efficiency.decode_curve.{} must be a list of [batch, ratio]", where, name));
        auto& curve = c.efficiency.decode_curve[d];
        for (const auto& point : points) {
          if (!point.is_array() || point.size() != 2 || !point[0].is_number() || !point[1].is_number())
            throw Error(fmt::format("{}: efficiency.decode_curve.{} takes [batch, ratio] pairs, not {}", where, name, point.dump()));
          const double batch = point[0].get<double>(), ratio = point[1].get<double>();
          if (!(batch >= 1 && batch <= 1e7) || !(ratio > 0 && ratio <= 100) || (!curve.empty() && batch <= curve.back().first))
            throw Error(fmt::format("{}: efficiency.decode_curve.{}: batches ascending from 1, ratios in (0, 100], not {}", where,
                                    name, point.dump()));
          curve.push_back({batch, ratio});
        }
      }
    }
  }
  if (j.contains("collectives_overlap")) {
    if (!j["collectives_overlap"].is_boolean())
      throw Error(fmt::format("{}: collectives_overlap takes true or false", where));
    c.collectives_overlap = j["collectives_overlap"].get<bool>();
  }
  // A collective slower than 10 ms is a unit slip (microseconds given as seconds).
  c.link_latency_s = number_in(j, "collective_latency_s", 0, 0, 1e-2, false, where);
  const std::string provenance = text_in(j, "provenance", "spec", where);
  nlohmann::json sources = nlohmann::json::object();
  if (j.contains("sources") && !j["sources"].is_null()) {
    if (!j["sources"].is_object()) throw Error(fmt::format("{}: sources must be an object of strings", where));
    sources = j["sources"];
  }
  for (const char* figure : {"flops", "memory", "link", "price"})
    c.provenance[figure] = {provenance, text_in(sources, figure, origin, where)};
  if (c.list_purchase_usd > 0) c.provenance["purchase"] = {provenance, text_in(sources, "purchase", origin, where)};
  if (c.board_watts > 0) c.provenance["power"] = {provenance, text_in(sources, "power", origin, where)};
  // Efficiencies and a collective's latency are solved from published engine measurements
  // (or a user's), not read off a spec sheet; "efficiency_kind": "assumed" where a chip
  // borrows another's fit.
  if (j.contains("efficiency") || c.link_latency_s > 0) {
    const std::string kind = text_in(j, "efficiency_kind", "fitted", where);
    if (kind != "fitted" && kind != "assumed")
      throw Error(fmt::format("{}: efficiency_kind takes 'fitted' or 'assumed', not '{}'", where, kind));
    c.provenance["efficiency"] = {kind, text_in(sources, "efficiency", origin, where)};
  }
  return c;
}

ChipSpec chip_from_file_json(const nlohmann::json& j, const std::string& origin) {
  if (j.is_object() && j.contains("chips")) {
    if (!j["chips"].is_array() || j["chips"].size() != 1) throw Error(fmt::format("{}: give exactly one chip", origin));
    return chip_from_json(j["chips"][0], origin);
  }
  return chip_from_json(j, origin);
}

nlohmann::json chip_to_catalogue_json(const ChipSpec& c) {
  nlohmann::json flops, curves = nlohmann::json::object();
  for (const auto& [d, curve] : c.efficiency.decode_curve)
    for (const auto& [batch, ratio] : curve) curves[dtype_name(d)].push_back({batch, ratio});
  for (const auto& [d, v] : c.peak_ops_per_s) flops[dtype_name(d)] = v;
  auto source = [&](const char* figure) {
    const auto p = c.provenance.find(figure);
    return p == c.provenance.end() ? std::string() : p->second.source;
  };
  return {{"name", c.name}, {"display_name", c.display_name}, {"kind", c.kind}, {"flops_per_s", flops},
          {"hbm_bytes", c.memory_bytes}, {"hbm_bytes_per_s", c.memory_bytes_per_s},
          {"link_bytes_per_s", c.link_bytes_per_s}, {"link_topology", c.link_topology}, {"link_axes", c.link_axes},
          {"link_domain", c.link_domain}, {"network_bytes_per_s", c.network_bytes_per_s},
          {"usd_per_hour", c.usd_per_hour ? nlohmann::json(*c.usd_per_hour) : nlohmann::json(nullptr)},
          {"topologies", c.topologies}, {"collectives_overlap", c.collectives_overlap},
          {"collective_latency_s", c.link_latency_s},
          {"efficiency", {{"bandwidth", c.efficiency.bandwidth}, {"decode_matmul", c.efficiency.decode_matmul},
                          {"prefill_mfu", c.efficiency.prefill_mfu}, {"layer_overhead_s", c.efficiency.layer_overhead_s},
                          {"decode_curve", curves}}},
          {"purchase_usd", c.list_purchase_usd}, {"board_watts", c.board_watts},
          {"efficiency_kind", c.provenance.count("efficiency") ? c.provenance.at("efficiency").kind : std::string("fitted")},
          {"sources", {{"flops", source("flops")}, {"memory", source("memory")}, {"link", source("link")},
                       {"price", source("price")}, {"efficiency", source("efficiency")}, {"purchase", source("purchase")},
                       {"power", source("power")}}}};
}

nlohmann::json chip_spec_to_json(const ChipSpec& c) {
  nlohmann::json flops = nlohmann::json::object(), matmul = nlohmann::json::object(), bw = nlohmann::json::object(),
                 mm = nlohmann::json::object(), provenance = nlohmann::json::object(), levels = nlohmann::json::array();
  for (const auto& [d, v] : c.peak_ops_per_s) flops[dtype_name(d)] = v;
  for (const auto& [d, v] : c.matmul_ops_per_s) matmul[dtype_name(d)] = v;
  for (const auto& [d, v] : c.efficiency.bandwidth_by_dtype) bw[dtype_name(d)] = v;
  for (const auto& [d, v] : c.efficiency.matmul_by_dtype) mm[dtype_name(d)] = v;
  for (const auto& [k, p] : c.provenance) provenance[k] = {{"kind", p.kind}, {"source", p.source}};
  nlohmann::json curves = nlohmann::json::object();
  for (const auto& [d, curve] : c.efficiency.decode_curve) {
    nlohmann::json points = nlohmann::json::array();
    for (const auto& [b, r] : curve) points.push_back({b, r});
    curves[dtype_name(d)] = points;
  }
  for (const auto& l : c.memory_levels)
    levels.push_back({{"level", l.level}, {"bytes_per_s", l.bytes_per_s}, {"from_bytes", l.from_bytes}, {"to_bytes", l.to_bytes}});
  return {{"name", c.name},
          {"display_name", c.display_name},
          {"kind", c.kind},
          {"flops_per_s", flops},
          {"matmul_flops_per_s", matmul},
          {"hbm_bytes", c.memory_bytes},
          {"hbm_bytes_per_s", c.memory_bytes_per_s},
          {"memory_levels", levels},
          {"link_bytes_per_s", c.link_bytes_per_s},
          {"link_latency_s", c.link_latency_s}, {"collectives_overlap", c.collectives_overlap},
          {"link_topology", c.link_topology},
          {"link_axes", c.link_axes},
          {"link_domain", c.link_domain},
          {"network_bytes_per_s", c.network_bytes_per_s},
          {"usd_per_hour", c.usd_per_hour ? nlohmann::json(*c.usd_per_hour) : nlohmann::json(nullptr)},
          {"purchase_usd", c.purchase_usd},
          {"capital_usd_per_hour", c.capital_usd_per_hour},
          {"power_usd_per_hour", c.power_usd_per_hour},
          {"efficiency",
           {{"bandwidth", c.efficiency.bandwidth}, {"decode_matmul", c.efficiency.decode_matmul},
            {"prefill_mfu", c.efficiency.prefill_mfu}, {"layer_overhead_s", c.efficiency.layer_overhead_s},
            {"bandwidth_by_dtype", bw}, {"matmul_by_dtype", mm}, {"decode_curve", curves},
            {"kv_bandwidth", c.efficiency.kv_bandwidth}}},
          {"provenance", provenance}};
}

ChipSpec chip_spec_from_json(const nlohmann::json& j) {
  return read_stored("calibrated chip (chip_spec fit)", [&] {
    ChipSpec c;
    c.name = j.at("name").get<std::string>();
    c.display_name = j.value("display_name", c.name);
    c.kind = j.value("kind", "");
    for (const auto& [k, v] : j.at("flops_per_s").items()) c.peak_ops_per_s[parse_dtype(k)] = v.get<double>();
    const auto empty = nlohmann::json::object();
    for (const auto& [k, v] : j.contains("matmul_flops_per_s") ? j["matmul_flops_per_s"].items() : empty.items())
      c.matmul_ops_per_s[parse_dtype(k)] = v.get<double>();
    c.memory_bytes = j.at("hbm_bytes").get<double>();
    c.memory_bytes_per_s = j.at("hbm_bytes_per_s").get<double>();
    const auto none = nlohmann::json::array();
    for (const auto& l : j.contains("memory_levels") ? j["memory_levels"] : none)
      c.memory_levels.push_back({l.at("level").get<std::string>(), l.at("bytes_per_s").get<double>(),
                                 l.value("from_bytes", 0.0), l.value("to_bytes", 0.0)});
    c.link_bytes_per_s = j.value("link_bytes_per_s", 0.0);
    c.link_latency_s = j.value("link_latency_s", 0.0);
    c.collectives_overlap = j.value("collectives_overlap", true);
    c.link_topology = j.value("link_topology", "");
    c.link_axes = j.value("link_axes", 1);
    c.link_domain = j.value("link_domain", 0);
    c.network_bytes_per_s = j.value("network_bytes_per_s", 0.0);
    c.purchase_usd = j.value("purchase_usd", 0.0);
    c.capital_usd_per_hour = j.value("capital_usd_per_hour", 0.0);
    c.power_usd_per_hour = j.value("power_usd_per_hour", 0.0);
    if (j.contains("usd_per_hour") && !j["usd_per_hour"].is_null()) c.usd_per_hour = j["usd_per_hour"].get<double>();
    const auto& e = j.at("efficiency");
    c.efficiency.bandwidth = e.value("bandwidth", 1.0);
    c.efficiency.decode_matmul = e.value("decode_matmul", 1.0);
    c.efficiency.prefill_mfu = e.value("prefill_mfu", 0.4);
    c.efficiency.layer_overhead_s = e.value("layer_overhead_s", 0.0);
    c.efficiency.kv_bandwidth = e.value("kv_bandwidth", 0.0);
    for (const auto& [k, v] : e.contains("bandwidth_by_dtype") ? e["bandwidth_by_dtype"].items() : empty.items())
      c.efficiency.bandwidth_by_dtype[parse_dtype(k)] = v.get<double>();
    for (const auto& [k, v] : e.contains("matmul_by_dtype") ? e["matmul_by_dtype"].items() : empty.items())
      c.efficiency.matmul_by_dtype[parse_dtype(k)] = v.get<double>();
    for (const auto& [k, v] : e.contains("decode_curve") ? e["decode_curve"].items() : empty.items())
      for (const auto& point : v) c.efficiency.decode_curve[parse_dtype(k)].push_back({point.at(0).get<double>(), point.at(1).get<double>()});
    for (const auto& [k, v] : j.contains("provenance") ? j["provenance"].items() : empty.items())
      c.provenance[k] = {v.value("kind", ""), v.value("source", "")};
    // Stored before the link had a topology: link.mpi's figure is a collective's own, every
    // other a link's per direction.
    if (c.link_topology.empty()) {
      const auto link = c.provenance.find("link");
      c.link_topology = link != c.provenance.end() && link->second.source.find("link.mpi") != std::string::npos
                            ? "collective"
                            : "network";
    }
    return c;
  });
}

}  // namespace roofaudit::calibrate
