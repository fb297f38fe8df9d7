#include "calibrate/local_chip.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "calibrate/plateaus.hpp"
#include "calibrate/serving.hpp"
#include "values/error.hpp"

namespace roofaudit::calibrate {
namespace {

std::string family_of(const std::string& device) { return device.substr(0, device.find(':')); }

// A probe variant's dtype on the serving model's scale; nothing for fp64 and the like.
std::optional<Dtype> variant_dtype(const std::string& variant) {
  const std::string base = variant.substr(0, variant.find('_'));
  for (Dtype d : {Dtype::fp32, Dtype::bf16, Dtype::fp16, Dtype::fp8, Dtype::int8})
    if (dtype_name(d) == base) return d;
  return std::nullopt;
}

// The best valid figure per dtype of one probe on one device, with the variant it came from.
std::map<Dtype, std::pair<double, std::string>> best_by_dtype(const std::vector<Measurement>& ms,
                                                              const std::string& probe, const std::string& device,
                                                              const std::string& metric) {
  std::map<Dtype, std::pair<double, std::string>> out;
  for (const auto& m : ms) {
    if (m.probe != probe || m.device != device || m.metric != metric || !m.valid || !m.summary) continue;
    const auto d = variant_dtype(m.variant);
    if (!d) continue;
    auto& slot = out[*d];
    // Named by what reached it: the library or the instruction sequence.
    std::string how = m.variant;
    for (const char* key : {"library", "instruction"})
      if (m.params.contains(key) && m.params[key].is_string()) how += " (" + m.params[key].get<std::string>() + ")";
    if (m.summary->best > slot.first) slot = {m.summary->best, how};
  }
  return out;
}

double gib(double bytes) { return bytes / double(1ull << 30); }

}  // namespace

OwnedCost default_owned_cost(const LocalDevice& d) {
  OwnedCost c;
  if (d.device == "cpu") {
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
    if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0)
      throw Error(fmt::format("{}: '{}' must be a non-negative number", origin, key));
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

ChipSpec calibrate_device(std::int64_t run_id, const LocalDevice& d, const std::vector<Measurement>& ms,
                          const std::vector<store::FitRecord>& fits, const LocalPrice& price) {
  const std::string family = family_of(d.device);
  const std::string run = fmt::format("run {}", run_id);
  ChipSpec c;
  c.name = d.device == "cpu" ? "local" : "local:" + d.device;
  c.display_name = d.display_name;
  c.kind = family;

  // Memory: the read curve's plateaus; the last is what decode streams from.
  for (const auto& f : fits) {
    if (f.device != d.device || f.probe != family + ".bandwidth" || f.variant != "read" || f.kind != "plateaus") continue;
    for (const auto& p : plateaus_from_json(f.result)) c.memory_levels.push_back({p.level, p.value, p.from_bytes, p.to_bytes});
  }
  if (c.memory_levels.empty())
    throw Error(fmt::format("{} has no memory bandwidth fit for {}: run {}.bandwidth", run, d.device, family));
  for (const auto& l : c.memory_levels)
    c.provenance["bandwidth." + l.level] = {"measured", fmt::format("{}, {}.bandwidth read, {} plateau over {:.0f}..{:.0f} bytes", run,
                                                                    family, l.level, l.from_bytes, l.to_bytes)};
  const MemoryLevel& memory = c.memory_levels.back();
  c.memory_bytes_per_s = memory.bytes_per_s;
  c.provenance["bandwidth"] = {
      "measured", memory.level == "DRAM"
                      ? fmt::format("{}, {}.bandwidth read, {} plateau", run, family, memory.level)
                      : fmt::format("{}, {}.bandwidth read, largest working sets measured ({}): the sweep did not "
                                    "reach device memory, so this is an upper bound",
                                    run, family, memory.level)};

  // Peak per dtype: the device's peak probe, the matrix units included.
  for (const auto& [dtype, v] : best_by_dtype(ms, family + ".peak", d.device, "peak")) {
    c.peak_ops_per_s[dtype] = v.first;
    c.provenance["flops." + dtype_name(dtype)] = {"measured", fmt::format("{}, {}.peak {}", run, family, v.second)};
  }
  if (c.peak_ops_per_s.empty()) throw Error(fmt::format("{} has no peak figures for {}: run {}.peak", run, d.device, family));
  if (!c.peak_ops_per_s.count(Dtype::bf16)) {
    // No bf16 arithmetic: 16-bit weights run at the fp16 rate (Vulkan) or the fp32 rate.
    const Dtype stand_in = c.peak_ops_per_s.count(Dtype::fp16) ? Dtype::fp16 : Dtype::fp32;
    if (c.peak_ops_per_s.count(stand_in)) {
      c.peak_ops_per_s[Dtype::bf16] = c.peak_ops_per_s[stand_in];
      c.provenance["flops.bf16"] = {"measured", fmt::format("{}, the {} rate (no bf16 arithmetic on this device)", run,
                                                            dtype_name(stand_in))};
    } else {
      c.peak_ops_per_s[Dtype::bf16] = c.peak_ops_per_s.begin()->second;
      c.provenance["flops.bf16"] = {"measured", fmt::format("{}, the {} rate (no bf16 or fp16 figure)", run,
                                                            dtype_name(c.peak_ops_per_s.begin()->first))};
    }
  }
  c.provenance["flops"] = c.provenance["flops.bf16"];

  // Matmul: the GEMM probe per dtype; its share of peak is the prefill MFU.
  for (const auto& [dtype, v] : best_by_dtype(ms, family + ".gemm", d.device, "gemm")) {
    c.matmul_ops_per_s[dtype] = v.first;
    c.provenance["matmul." + dtype_name(dtype)] = {"measured", fmt::format("{}, {}.gemm {}", run, family, v.second)};
  }
  // Prefill runs the 16-bit weights' matmul: bf16 (or fp16) where it was measured, else fp32.
  Dtype prefill_dtype = Dtype::fp32;
  for (Dtype dt : {Dtype::bf16, Dtype::fp16})
    if (c.matmul_ops_per_s.count(dt) && c.peak_ops_per_s.count(dt)) {
      prefill_dtype = dt;
      break;
    }
  if (c.matmul_ops_per_s.count(prefill_dtype) && c.peak_ops_per_s.count(prefill_dtype)) {
    c.efficiency.prefill_mfu = std::min(1.0, c.matmul_ops_per_s[prefill_dtype] / c.peak_ops_per_s[prefill_dtype]);
    c.provenance["efficiency.prefill_mfu"] = {
        "measured", fmt::format("{}, {}.gemm {} over {}.peak", run, family, dtype_name(prefill_dtype), family)};
  } else {
    c.provenance["efficiency.prefill_mfu"] = {"assumed", "0.4 (no GEMM measured for this device)"};
  }

  // Decode efficiency per weight dtype: B = 1's weight bandwidth over memory bandwidth
  // (the knee fit), and the largest batch's arithmetic rate over peak.
  std::map<Dtype, std::pair<double, double>> largest;  // dtype -> (batch, rate)
  for (const auto& m : ms) {
    if (m.probe != family + ".decode" || m.device != d.device || m.metric != "throughput" || !m.valid || !m.summary)
      continue;
    const auto dt = variant_dtype(m.variant);
    const double batch = m.params.value("batch", 0.0);
    if (dt && batch > largest[*dt].first) largest[*dt] = {batch, m.summary->best};
  }
  for (const auto& f : fits) {
    if (f.device != d.device || f.probe != family + ".decode" || f.kind != "decode_knee") continue;
    const auto dt = variant_dtype(f.variant);
    const double fraction = f.result.value("batch1_fraction", 0.0);
    if (!dt || !(fraction > 0)) continue;
    std::vector<Dtype> targets = {*dt};
    if (*dt == Dtype::fp16 && !c.efficiency.bandwidth_by_dtype.count(Dtype::bf16)) targets.push_back(Dtype::bf16);
    for (Dtype t : targets) {
      c.efficiency.bandwidth_by_dtype[t] = std::min(1.0, fraction);
      c.provenance["efficiency.bandwidth." + dtype_name(t)] = {
          "measured", fmt::format("{}, {}.decode {} at B = 1 over the memory bandwidth", run, family, f.variant)};
      if (const auto l = largest.find(*dt); l != largest.end() && c.peak_ops_per_s.count(*dt)) {
        c.efficiency.matmul_by_dtype[t] = std::min(1.0, l->second.second / c.peak_ops_per_s[*dt]);
        c.provenance["efficiency.matmul." + dtype_name(t)] = {
            "measured", fmt::format("{}, {}.decode {} at B = {:.0f} over {}.peak", run, family, f.variant,
                                    l->second.first, family)};
      }
      if (f.result.contains("knee_batch"))
        c.provenance["knee." + dtype_name(t)] = {
            "measured", fmt::format("{}, {}.decode {}: B* = {:.1f}", run, family, f.variant,
                                    f.result.value("knee_batch", 0.0))};
    }
  }
  // The sweep's shape between its ends: measured step over the roofline's max(t_flops, t_param)
  // with the efficiencies just found, per batch.
  for (const auto& m : ms) {
    if (m.probe != family + ".decode" || m.device != d.device || m.metric != "step_time" || !m.valid || !m.summary) continue;
    const auto dt = variant_dtype(m.variant);
    if (!dt || !c.efficiency.bandwidth_by_dtype.count(*dt) || !c.peak_ops_per_s.count(*dt)) continue;
    const double batch = m.params.value("batch", 0.0), bytes = m.params.value("weight_bytes", 0.0);
    const double ops = 2.0 * batch * m.params.value("rows", 0.0) * m.params.value("k", 0.0);
    if (!(batch >= 1) || !(bytes > 0) || !(ops > 0)) continue;
    const double t_param = bytes / (c.memory_bytes_per_s * c.efficiency.bandwidth_by_dtype[*dt]);
    const double mm = c.efficiency.matmul_by_dtype.count(*dt) ? c.efficiency.matmul_by_dtype[*dt] : 1.0;
    const double t_flops = ops / (c.peak_ops_per_s[*dt] * mm);
    std::vector<Dtype> targets = {*dt};
    if (*dt == Dtype::fp16 && !c.efficiency.decode_curve.count(Dtype::bf16)) targets.push_back(Dtype::bf16);
    for (Dtype t : targets) c.efficiency.decode_curve[t].push_back({batch, m.summary->best / std::max(t_param, t_flops)});
  }
  for (auto& [dt, curve] : c.efficiency.decode_curve) {
    std::sort(curve.begin(), curve.end());
    c.provenance["efficiency.decode_curve." + dtype_name(dt)] = {
        "measured", fmt::format("{}, {}.decode {} step times over the roofline's, B = {:.0f}..{:.0f}", run, family,
                                dtype_name(dt), curve.front().first, curve.back().first)};
  }
  // Attention's KV read rate: the attention probe at its longest context.
  double longest = 0;
  for (const auto& m : ms) {
    if (m.probe != family + ".attention" || m.device != d.device || !m.valid || !m.summary) continue;
    const double context = m.params.value("context", 0.0);
    if (context <= longest) continue;
    longest = context;
    c.efficiency.kv_bandwidth = std::min(1.0, m.summary->best / c.memory_bytes_per_s);
    c.provenance["efficiency.kv_bandwidth"] = {
        "measured", fmt::format("{}, {}.attention at context {:.0f} over the memory bandwidth", run, family, context)};
  }
  if (longest == 0) c.provenance["efficiency.kv_bandwidth"] = {"assumed", "as the weights' bandwidth (no attention probe)"};
  if (c.efficiency.bandwidth_by_dtype.empty()) {
    c.provenance["efficiency.bandwidth"] = {"assumed", "1.0 (no decode sweep measured for this device)"};
  } else {
    c.efficiency.bandwidth = c.efficiency.bandwidth_by_dtype.begin()->second;
  }
  if (!c.efficiency.matmul_by_dtype.empty()) c.efficiency.decode_matmul = c.efficiency.matmul_by_dtype.begin()->second;

  // Capacity.
  c.memory_bytes = d.memory_bytes;
  if (!(c.memory_bytes > 0)) throw Error(fmt::format("{}: the memory capacity of {} is unknown", run, d.device));
  c.provenance["memory"] = {"measured", d.memory_source};

  // Interconnect.
  if (family == "gpu") {
    double h2d = 0, d2h = 0;
    for (const auto& m : ms) {
      if (m.probe != "gpu.transfer" || m.device != d.device || !m.valid || !m.summary) continue;
      if (m.variant == "h2d_copy") h2d = std::max(h2d, m.summary->best);
      if (m.variant == "d2h_copy") d2h = std::max(d2h, m.summary->best);
    }
    if (h2d > 0 && d2h > 0) {
      c.link_bytes_per_s = std::min(h2d, d2h);
      c.provenance["link"] = {"measured", fmt::format("{}, gpu.transfer h2d_copy / d2h_copy, the slower way (host "
                                                      "link; a single-GPU machine reaches other chips through it)",
                                                      run)};
    }
  }
  // Between machines: link.mpi's collectives over two hosts or more. Per message size the
  // slower of all-gather and reduce-scatter bus bandwidth (the tensor-parallel term's
  // pattern); the link's rate is the best size's (the beta of alpha + bytes / beta: at
  // small sizes latency dominates, and the latency is its own figure). A GPU's chips
  // reach the network through the host link, so the slower of the two counts.
  {
    std::map<double, std::map<std::string, double>> by_size;  // bytes -> variant -> busbw
    int nodes = 0;
    for (const auto& m : ms) {
      if (m.probe != "link.mpi" || m.metric != "bus_bandwidth" || !m.valid || !m.summary) continue;
      if (m.params.value("nodes", 1) < 2 || (m.variant != "allgather" && m.variant != "reduce_scatter")) continue;
      by_size[m.params.value("bytes", 0.0)][m.variant] = m.summary->median;
      nodes = std::max(nodes, m.params.value("nodes", 1));
    }
    double network = 0, at_bytes = 0;
    for (const auto& [bytes, v] : by_size)
      if (v.size() == 2 && std::min(v.at("allgather"), v.at("reduce_scatter")) > network) {
        network = std::min(v.at("allgather"), v.at("reduce_scatter"));
        at_bytes = bytes;
      }
    if (network > 0) {
      const std::string source = fmt::format(
          "{}, link.mpi all-gather / reduce-scatter bus bandwidth over {} hosts, the slower of the two at {}, the best size",
          run, nodes, at_bytes >= 1048576 ? fmt::format("{:.0f} MiB", at_bytes / 1048576) : fmt::format("{:.0f} KiB", at_bytes / 1024));
      if (c.link_bytes_per_s <= 0 || network < c.link_bytes_per_s) {
        c.provenance["link"] = {"measured", c.link_bytes_per_s > 0 ? source + " (slower than the host link)" : source};
        c.link_bytes_per_s = network;
      }
    }
  }
  // And its latency: the fleet's 8-byte ping-pong between two hosts.
  for (const auto& m : ms)
    if (m.probe == "link.mpi" && m.variant == "p2p_latency" && m.valid && m.summary && m.params.value("bytes", 0) == 8 &&
        !m.params.value("same_host", true) && (c.link_latency_s == 0 || m.summary->median > c.link_latency_s)) {
      c.link_latency_s = m.summary->median;
      c.provenance["link_latency"] = {"measured", fmt::format("{}, link.mpi 8-byte ping-pong with rank {} on {}, one way "
                                                              "(the slowest peer)",
                                                              run, m.params.value("peer_rank", 0),
                                                              m.params.value("peer_host", std::string("?")))};
    }
  if (c.link_bytes_per_s <= 0) {
    c.link_bytes_per_s = kAssumedNetworkBytesPerS;
    c.provenance["link"] = {"assumed", "100 Gb/s Ethernet between machines (12.5 GB/s per direction; not measured)"};
  }

  apply_local_price(c, d, price);

  // Fixed cost per layer (fork/join around every projection, norms, the ramp of each
  // smaller matrix's stream): one parameter fitted on the forward pass's B = 1 step at
  // its shortest context, per weight dtype, averaged. The other shapes validate it.
  std::vector<double> overheads;
  std::string fitted_on;
  for (const auto& p : check_predictions(c, ms)) {
    if (p.batch != 1 || !p.calibration_point) continue;
    const double layers = p.layers > 0 ? p.layers : 1;
    overheads.push_back((1.0 / p.measured_tokens_per_s - 1.0 / p.predicted_tokens_per_s) / layers);
    fitted_on += fmt::format("{}{} context {}", fitted_on.empty() ? "" : ", ", p.variant, p.context);
  }
  if (!overheads.empty()) {
    double sum = 0;
    for (double o : overheads) sum += o;
    c.efficiency.layer_overhead_s = std::max(0.0, sum / double(overheads.size()));
    c.provenance["efficiency.layer_overhead"] = {
        "fitted", fmt::format("{}, model.decode at B = 1 ({}): the step time the streaming model leaves unexplained, "
                              "per layer",
                              run, fitted_on)};
  } else {
    c.provenance["efficiency.layer_overhead"] = {"assumed", "0 (no forward pass measured)"};
  }
  return c;
}

void apply_local_price(ChipSpec& c, const LocalDevice& d, const LocalPrice& price) {
  if (price.usd_per_hour) {
    c.usd_per_hour = *price.usd_per_hour;
    c.provenance["price"] = {"given", fmt::format("USD {:.4g} per hour, as given", *price.usd_per_hour)};
  } else if (price.owned) {
    c.usd_per_hour = owned_usd_per_hour(*price.owned);
    c.provenance["price"] = {
        "given", fmt::format("owned cost as given: USD {:.0f}, {:.0f} W, {:.1f} years at {:.0f}%, PUE {:.2f}, USD {:.3f}/kWh",
                             price.owned->purchase_usd, price.owned->watts, price.owned->lifetime_h / 8766.0,
                             price.owned->utilisation * 100, price.owned->pue, price.owned->usd_per_kwh)};
  } else {
    c.usd_per_hour = owned_usd_per_hour(default_owned_cost(d));
    c.provenance["price"] = {"assumed", describe_default_owned_cost(d)};
  }
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
          {"link_latency_s", c.link_latency_s},
          {"usd_per_hour", c.usd_per_hour ? nlohmann::json(*c.usd_per_hour) : nlohmann::json(nullptr)},
          {"efficiency",
           {{"bandwidth", c.efficiency.bandwidth}, {"decode_matmul", c.efficiency.decode_matmul},
            {"prefill_mfu", c.efficiency.prefill_mfu}, {"layer_overhead_s", c.efficiency.layer_overhead_s},
            {"bandwidth_by_dtype", bw}, {"matmul_by_dtype", mm}, {"decode_curve", curves},
            {"kv_bandwidth", c.efficiency.kv_bandwidth}}},
          {"provenance", provenance}};
}

ChipSpec chip_spec_from_json(const nlohmann::json& j) {
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
  return c;
}

std::vector<PredictionCheck> check_predictions(const ChipSpec& chip, const std::vector<Measurement>& ms) {
  std::vector<PredictionCheck> out;
  for (const auto& m : ms) {
    if (m.probe != "model.decode" || m.metric != "throughput" || !m.valid || !m.summary) continue;
    if (chip.name != (m.device == "cpu" ? "local" : "local:" + m.device)) continue;
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
    p.predicted_tokens_per_s = e.tokens_per_s;
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
}

}  // namespace roofaudit::calibrate
