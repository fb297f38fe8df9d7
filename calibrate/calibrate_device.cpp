// calibrate_device: one device's measurements become a chip, one named step per figure.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "calibrate/local_chip.hpp"
#include "calibrate/plateaus.hpp"
#include "calibrate/serving.hpp"
#include "values/error.hpp"

namespace roofaudit::calibrate {

// The steps that turn one device's measurements into a chip, one figure (or family of
// figures) each, in the order calibrate_device runs them: later steps read what earlier
// ones set (the decode curve needs the peaks and the bandwidth efficiencies).
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

struct Step {
  std::string run;     // "run N", as provenance cites it
  std::string family;  // "cpu", "gpu"
  const LocalDevice& device;
  const std::vector<Measurement>& measurements;
  const std::vector<store::FitRecord>& fits;
};

// Memory: the read curve's plateaus per level; the last is what decode streams from.
void memory_levels(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits] = s;
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
}

// Peak per dtype from the device's peak probe, the matrix units included.
void peaks(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits] = s;
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
}

// Matmul rate per dtype from the GEMM probe; its share of peak is the prefill MFU.
void gemm(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits] = s;
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
}

// Decode efficiency per weight dtype from the decode sweep and its knee fit.
void decode_efficiencies(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits] = s;
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
}

// The decode sweep's measured shape between its ends.
void decode_curve(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits] = s;
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
}

// Attention's KV read rate; the efficiencies' fallbacks where a probe did not run.
void attention(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits] = s;
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
}

// Memory capacity, as the run found it.
void capacity(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits] = s;
  // Capacity.
  c.memory_bytes = d.memory_bytes;
  if (!(c.memory_bytes > 0)) throw Error(fmt::format("{}: the memory capacity of {} is unknown", run, d.device));
  c.provenance["memory"] = {"measured", d.memory_source};
}

// A GPU's link to its host (gpu.transfer).
void host_link(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits] = s;
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
      c.link_topology = "network";  // full duplex: a ring collective uses both ways
      c.provenance["link"] = {"measured", fmt::format("{}, gpu.transfer h2d_copy / d2h_copy, the slower way (host "
                                                      "link; a single-GPU machine reaches other chips through it)",
                                                      run)};
    }
  }
}

// The link between machines: link.mpi over two hosts or more.
void network_link(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits] = s;
  // Between machines: link.mpi's collectives over two hosts or more. Per message size the
  // slower of all-gather and reduce-scatter bus bandwidth (the tensor-parallel term's
  // pattern); the link's rate is the best size's (the beta of alpha + bytes / beta: at
  // small sizes latency dominates, and the latency is its own figure). A GPU's chips
  // reach the network through the host link, so the slower of the two counts (the host
  // link as a collective sees it: both ways). The figure is the collective's own.
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
      if (c.link_bytes_per_s <= 0 || network < 2 * c.link_bytes_per_s) {
        c.provenance["link"] = {"measured", c.link_bytes_per_s > 0 ? source + " (slower than the host link)" : source};
        c.link_bytes_per_s = network;
        c.link_topology = "collective";
      }
    }
  }
}

// The link's latency (link.mpi), and the assumed link where none was measured.
void link_latency(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits] = s;
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
    c.link_topology = "network";
    c.provenance["link"] = {"assumed", "100 Gb/s Ethernet between machines (12.5 GB/s per direction, both ways in a "
                                       "ring collective; not measured)"};
  }
}

// The fixed cost per layer, fitted on the forward pass.
void layer_overhead(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits] = s;
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
}

}  // namespace

ChipSpec calibrate_device(std::int64_t run_id, const LocalDevice& d, const std::vector<Measurement>& ms,
                          const std::vector<store::FitRecord>& fits, const LocalPrice& price) {
  const Step step{fmt::format("run {}", run_id), family_of(d.device), d, ms, fits};
  ChipSpec c;
  c.name = d.device == "cpu" ? "local" : "local:" + d.device;
  c.display_name = d.display_name;
  c.kind = step.family;
  for (const auto calibrate : {memory_levels, peaks, gemm, decode_efficiencies, decode_curve, attention, capacity,
                               host_link, network_link, link_latency})
    calibrate(step, c);
  apply_local_price(c, d, price);
  layer_overhead(step, c);  // on the priced chip: check_predictions runs the serving model
  return c;
}

}  // namespace roofaudit::calibrate
