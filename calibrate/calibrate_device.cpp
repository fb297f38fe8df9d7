// calibrate_device: one device's measurements become a chip, one named step per figure.
// The contract: every figure is found by the role its probe declares (values/roles.hpp),
// over every backend's view of the device; per role and precision the best validated
// candidate is taken and named; a figure whose kernel runs far below the device's own
// measured ceiling is the kernel's, and says so instead of standing for the machine.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "calibrate/local_chip.hpp"
#include "calibrate/memory_levels.hpp"
#include "calibrate/plateaus.hpp"
#include "calibrate/serving.hpp"
#include "values/error.hpp"

namespace roofaudit::calibrate {

bool LocalDevice::measured_by(const std::string& key) const {
  return views.empty() ? key == device : std::find(views.begin(), views.end(), key) != views.end();
}

// The steps that turn one device's measurements into a chip, one figure (or family of
// figures) each, in the order calibrate_device runs them: later steps read what earlier
// ones set (the decode curve needs the peaks and the bandwidth efficiencies).
namespace {

// A probe variant's dtype on the serving model's scale; nothing for fp64 and the like.
std::optional<Dtype> variant_dtype(const std::string& variant) {
  const std::string base = variant.substr(0, variant.find('_'));
  for (Dtype d : {Dtype::fp32, Dtype::bf16, Dtype::fp16, Dtype::fp8, Dtype::int8})
    if (dtype_name(d) == base) return d;
  return std::nullopt;
}

// The best validated figure of a role for one precision, and what reached it.
struct Candidate {
  double value = 0;
  std::string probe;
  std::string how;  // "cpu.peak fp32 (instruction)": probe, variant, library or instruction
};

struct Step {
  std::string run;     // "run N", as provenance cites it
  std::string family;  // the device key's prefix ("cpu", "gpu"), for what to run
  const LocalDevice& device;
  const std::vector<Measurement>& measurements;
  const std::vector<store::FitRecord>& fits;
  const RoleMap& roles;

  bool takes(const Measurement& m, Role role) const {
    return m.valid && m.summary && device.measured_by(m.device) && role_of(roles, m.probe) == role;
  }
};

// The best valid figure per dtype of one role on the device, with the candidate it came from.
std::map<Dtype, Candidate> best_by_dtype(const Step& s, Role role, const std::string& metric) {
  std::map<Dtype, Candidate> out;
  for (const auto& m : s.measurements) {
    if (!s.takes(m, role) || m.metric != metric) continue;
    const auto d = variant_dtype(m.variant);
    if (!d) continue;
    auto& slot = out[*d];
    // Named by what reached it: the library or the instruction sequence.
    std::string how = m.probe + " " + m.variant;
    for (const char* key : {"library", "instruction"})
      if (m.params.contains(key) && m.params[key].is_string()) how += " (" + m.params[key].get<std::string>() + ")";
    if (m.summary->best > slot.value) slot = {m.summary->best, m.probe, how};
  }
  return out;
}

// The probe that gave the chip's peak for a dtype (its provenance names it first).
std::string peak_probe(const ChipSpec& c, Dtype d, const std::string& fallback) {
  const auto it = c.provenance.find("flops." + dtype_name(d));
  if (it == c.provenance.end()) return fallback;
  const std::string& src = it->second.source;
  const auto comma = src.find(", ");
  if (comma == std::string::npos) return fallback;
  const auto end = src.find(' ', comma + 2);
  return src.substr(comma + 2, end == std::string::npos ? std::string::npos : end - comma - 2);
}

// Memory: a CPU's read curve's plateaus per level (the last is what decode streams from);
// a GPU's levels from its own facts (L2 size) and its sweep's largest working sets.
void memory_levels(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  std::string probe = family + ".bandwidth";
  std::vector<Plateau> plateaus;
  for (const auto& f : fits) {
    if (!d.measured_by(f.device) || role_of(roles, f.probe) != Role::memory_sweep || f.variant != "read" ||
        f.kind != "plateaus")
      continue;
    plateaus = plateaus_from_json(f.result);
    probe = f.probe;
  }
  if (d.id.is_gpu()) {
    std::vector<CurvePoint> read;
    bool reaches = false;
    for (const auto& m : ms)
      if (s.takes(m, Role::memory_sweep) && m.variant == "read" && m.params.contains("working_set_bytes")) {
        read.push_back({m.params["working_set_bytes"].get<double>(), m.summary->best});
        reaches = reaches || m.params.value("sweep_reaches_memory", false);
        probe = m.probe;
      }
    const double l2 = d.facts ? d.facts->l2_bytes : 0;
    const auto levels = gpu_memory_levels(read, l2, d.facts ? d.facts->l2_source : "", plateaus, reaches,
                                          fmt::format("{}, {} read", run, probe));
    for (const auto& l : levels) {
      c.memory_levels.push_back(l.level);
      c.provenance["bandwidth." + l.level.level] = l.provenance;
    }
    if (!levels.empty()) {
      c.memory_bytes_per_s = levels.back().level.bytes_per_s;
      c.provenance["bandwidth"] = levels.back().provenance;
      return;
    }
  }
  for (const auto& p : plateaus) c.memory_levels.push_back({p.level, p.value, p.from_bytes, p.to_bytes});
  if (c.memory_levels.empty())
    throw Error(fmt::format("{} has no memory bandwidth fit for {}: run {}.bandwidth", run, d.device, family));
  for (const auto& l : c.memory_levels)
    c.provenance["bandwidth." + l.level] = {"measured", fmt::format("{}, {} read, {} plateau over {:.0f}..{:.0f} bytes", run,
                                                                    probe, l.level, l.from_bytes, l.to_bytes)};
  const MemoryLevel& memory = c.memory_levels.back();
  c.memory_bytes_per_s = memory.bytes_per_s;
  c.provenance["bandwidth"] = {
      "measured", memory.level == "DRAM"
                      ? fmt::format("{}, {} read, {} plateau", run, probe, memory.level)
                      : fmt::format("{}, {} read, largest working sets measured ({}): the sweep did not "
                                    "reach device memory, so this is an upper bound",
                                    run, probe, memory.level)};
}

bool reaches_device_memory(const ChipSpec& c) {
  return !c.memory_levels.empty() &&
         (c.memory_levels.back().level == "DRAM" || c.memory_levels.back().level == "device memory");
}

// Peak per dtype from the device's peak probes, the matrix units included.
void peaks(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  for (const auto& [dtype, v] : best_by_dtype(s, Role::peak, "peak")) {
    c.peak_ops_per_s[dtype] = v.value;
    c.provenance["flops." + dtype_name(dtype)] = {"measured", fmt::format("{}, {}", run, v.how)};
  }
  if (c.peak_ops_per_s.empty()) throw Error(fmt::format("{} has no peak figures for {}: run {}.peak", run, d.device, family));
  if (!c.peak_ops_per_s.count(Dtype::bf16)) {
    // No bf16 measured: 16-bit weights run at the fp16 rate (Vulkan) or the fp32 rate.
    const Dtype stand_in = c.peak_ops_per_s.count(Dtype::fp16) ? Dtype::fp16 : Dtype::fp32;
    const std::string why = d.reports_bf16
                                ? "the device reports bf16 types that this run did not measure"
                                : "no bf16 arithmetic on this device";
    if (c.peak_ops_per_s.count(stand_in)) {
      c.peak_ops_per_s[Dtype::bf16] = c.peak_ops_per_s[stand_in];
      c.provenance["flops.bf16"] = {"measured", fmt::format("{}, the {} rate ({})", run, dtype_name(stand_in), why)};
    } else {
      c.peak_ops_per_s[Dtype::bf16] = c.peak_ops_per_s.begin()->second;
      c.provenance["flops.bf16"] = {"measured", fmt::format("{}, the {} rate (no bf16 or fp16 figure)", run,
                                                            dtype_name(c.peak_ops_per_s.begin()->first))};
    }
  }
  c.provenance["flops"] = c.provenance["flops.bf16"];
}

// Matmul rate per dtype from the GEMM candidates; its share of peak is the prefill MFU,
// unless the GEMM is the kernel's limit rather than the machine's.
void gemm(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  std::map<Dtype, Candidate> best = best_by_dtype(s, Role::gemm, "gemm");
  for (const auto& [dtype, v] : best) {
    c.matmul_ops_per_s[dtype] = v.value;
    c.provenance["matmul." + dtype_name(dtype)] = {"measured", fmt::format("{}, {}", run, v.how)};
    if (c.peak_ops_per_s.count(dtype) && v.value < kKernelBoundShare * c.peak_ops_per_s[dtype])
      c.provenance["matmul." + dtype_name(dtype)] = {
          "kernel", fmt::format("{}, {}: {:.3f} of the device's measured {} peak, kernel-bound (the kernel's figure, not "
                                "the machine's)",
                                run, v.how, v.value / c.peak_ops_per_s[dtype], dtype_name(dtype))};
  }
  // Prefill runs the 16-bit weights' matmul: bf16 (or fp16) where it was measured, else fp32.
  Dtype prefill_dtype = Dtype::fp32;
  for (Dtype dt : {Dtype::bf16, Dtype::fp16})
    if (c.matmul_ops_per_s.count(dt) && c.peak_ops_per_s.count(dt)) {
      prefill_dtype = dt;
      break;
    }
  if (c.matmul_ops_per_s.count(prefill_dtype) && c.peak_ops_per_s.count(prefill_dtype)) {
    const double share = c.matmul_ops_per_s[prefill_dtype] / c.peak_ops_per_s[prefill_dtype];
    const std::string gemm_probe = best[prefill_dtype].probe;
    if (share < kKernelBoundShare) {
      c.provenance["efficiency.prefill_mfu"] = {
          "assumed", fmt::format("{:.1f}: {}'s {} GEMM reaches {:.3f} of {}'s {} peak, kernel-bound (the kernel's figure, "
                                 "not the machine's)",
                                 c.efficiency.prefill_mfu, gemm_probe, dtype_name(prefill_dtype), share,
                                 peak_probe(c, prefill_dtype, family + ".peak"), dtype_name(prefill_dtype))};
      return;
    }
    c.efficiency.prefill_mfu = std::min(1.0, share);
    c.provenance["efficiency.prefill_mfu"] = {
        "measured", fmt::format("{}, {} {} over {}", run, gemm_probe, dtype_name(prefill_dtype),
                                peak_probe(c, prefill_dtype, family + ".peak"))};
  } else {
    c.provenance["efficiency.prefill_mfu"] = {"assumed", "0.4 (no GEMM measured for this device)"};
  }
}

// The largest batch of each decode-sweep variant: (batch, rate).
std::map<std::string, std::pair<double, double>> largest_batches(const Step& s) {
  std::map<std::string, std::pair<double, double>> largest;
  for (const auto& m : s.measurements) {
    if (!s.takes(m, Role::decode_sweep) || m.metric != "throughput") continue;
    const double batch = m.params.value("batch", 0.0);
    if (batch > largest[m.probe + "|" + m.device + "|" + m.variant].first)
      largest[m.probe + "|" + m.device + "|" + m.variant] = {batch, m.summary->best};
  }
  return largest;
}

// Decode efficiency per weight dtype from the decode sweep's knees: B = 1's weight
// bandwidth over memory bandwidth, and the largest batch's rate over peak, unless the
// kernel is the limit there.
void decode_efficiencies(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  const auto largest = largest_batches(s);
  for (const auto& k : device_decode_knees(&c, d, ms, roles)) {
    const auto dt = variant_dtype(k.variant);
    const double fraction = k.batch1_fraction.value_or(0.0);
    if (!dt || !(fraction > 0)) continue;
    std::vector<Dtype> targets = {*dt};
    if (*dt == Dtype::fp16 && !c.efficiency.bandwidth_by_dtype.count(Dtype::bf16)) targets.push_back(Dtype::bf16);
    for (Dtype t : targets) {
      c.efficiency.bandwidth_by_dtype[t] = std::min(1.0, fraction);
      c.provenance["efficiency.bandwidth." + dtype_name(t)] = {
          "measured", fmt::format("{}, {} {} at B = 1 over the memory bandwidth", run, k.probe, k.variant)};
      if (!k.bound.empty()) {
        c.provenance["efficiency.matmul." + dtype_name(t)] = {"assumed", "1.0 of the measured peak: " + k.bound};
        c.provenance["knee." + dtype_name(t)] = {
            "kernel", fmt::format("{}, {} {}: B* = {:.1f}; {}", run, k.probe, k.variant, k.fit.knee_batch, k.bound)};
        continue;
      }
      if (const auto l = largest.find(k.probe + "|" + k.device + "|" + k.variant);
          l != largest.end() && c.peak_ops_per_s.count(*dt)) {
        c.efficiency.matmul_by_dtype[t] = std::min(1.0, l->second.second / c.peak_ops_per_s[*dt]);
        c.provenance["efficiency.matmul." + dtype_name(t)] = {
            "measured", fmt::format("{}, {} {} at B = {:.0f} over {}", run, k.probe, k.variant, l->second.first,
                                    peak_probe(c, *dt, family + ".peak"))};
      }
      c.provenance["knee." + dtype_name(t)] = {
          "measured", fmt::format("{}, {} {}: B* = {:.1f}", run, k.probe, k.variant, k.fit.knee_batch)};
    }
  }
}

// The decode sweep's measured shape between its ends (not where its kernel is the limit).
void decode_curve(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  // The sweep's shape between its ends: measured step over the roofline's max(t_flops, t_param)
  // with the efficiencies just found, per batch.
  std::string probe = family + ".decode";
  for (const auto& m : ms) {
    if (!s.takes(m, Role::decode_sweep) || m.metric != "step_time") continue;
    const auto dt = variant_dtype(m.variant);
    if (!dt || !c.efficiency.bandwidth_by_dtype.count(*dt) || !c.peak_ops_per_s.count(*dt)) continue;
    if (c.provenance.count("knee." + dtype_name(*dt)) && c.provenance["knee." + dtype_name(*dt)].kind == "kernel") continue;
    const double batch = m.params.value("batch", 0.0), bytes = m.params.value("weight_bytes", 0.0);
    const double ops = 2.0 * batch * m.params.value("rows", 0.0) * m.params.value("k", 0.0);
    if (!(batch >= 1) || !(bytes > 0) || !(ops > 0)) continue;
    probe = m.probe;
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
        "measured", fmt::format("{}, {} {} step times over the roofline's, B = {:.0f}..{:.0f}", run, probe,
                                dtype_name(dt), curve.front().first, curve.back().first)};
  }
}

// Attention's KV read rate; the efficiencies' fallbacks where a probe did not run.
void attention(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  // Attention's KV read rate: the attention probe at its longest context.
  double longest = 0;
  for (const auto& m : ms) {
    if (!s.takes(m, Role::attention)) continue;
    const double context = m.params.value("context", 0.0);
    if (context <= longest) continue;
    longest = context;
    c.efficiency.kv_bandwidth = std::min(1.0, m.summary->best / c.memory_bytes_per_s);
    c.provenance["efficiency.kv_bandwidth"] = {
        "measured", fmt::format("{}, {} at context {:.0f} over the memory bandwidth", run, m.probe, context)};
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
  const auto& [run, family, d, ms, fits, roles] = s;
  c.memory_bytes = d.memory_bytes;
  if (!(c.memory_bytes > 0)) throw Error(fmt::format("{}: the memory capacity of {} is unknown", run, d.device));
  c.provenance["memory"] = {"measured", d.memory_source};
}

// A GPU's link to its host: the host-link role's copies each way, the slower. A copy
// faster than the link's signalling rate cannot have happened as counted: it is left out.
void host_link(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  double h2d = 0, d2h = 0;
  std::string probe;
  const double limit = d.facts ? d.facts->host_link_bytes_per_s : 0;
  int impossible = 0;
  for (const auto& m : ms) {
    if (!s.takes(m, Role::host_link)) continue;
    if (limit > 0 && m.summary->best > limit) {
      ++impossible;
      continue;
    }
    if (m.variant == "h2d_copy") h2d = std::max(h2d, m.summary->best);
    if (m.variant == "d2h_copy") d2h = std::max(d2h, m.summary->best);
    probe = m.probe;
  }
  if (h2d > 0 && d2h > 0) {
    c.link_bytes_per_s = std::min(h2d, d2h);
    c.link_topology = "network";  // full duplex: a ring collective uses both ways
    c.provenance["link"] = {"measured", fmt::format("{}, {} h2d_copy / d2h_copy, the slower way (host "
                                                    "link; a single-GPU machine reaches other chips through it)",
                                                    run, probe)};
    if (impossible > 0)
      c.provenance["link"].source += fmt::format("; {} figure{} above the link's {:.1f} GB/s ({}) left out as impossible",
                                                 impossible, impossible == 1 ? "" : "s", limit / 1e9,
                                                 d.facts->host_link_source);
  }
}

// The link between machines: the network-link role's collectives over two hosts or more.
void network_link(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  // Per message size the slower of all-gather and reduce-scatter bus bandwidth (the
  // tensor-parallel term's pattern); the link's rate is the best size's (the beta of
  // alpha + bytes / beta: at small sizes latency dominates, and the latency is its own
  // figure). A GPU's chips reach the network through the host link, so the slower of the
  // two counts (the host link as a collective sees it: both ways). The figure is the
  // collective's own. A fleet's links belong to every device of the node.
  std::map<double, std::map<std::string, double>> by_size;  // bytes -> variant -> busbw
  int nodes = 0;
  std::string probe;
  for (const auto& m : ms) {
    if (role_of(roles, m.probe) != Role::network_link || m.metric != "bus_bandwidth" || !m.valid || !m.summary) continue;
    if (m.params.value("nodes", 1) < 2 || (m.variant != "allgather" && m.variant != "reduce_scatter")) continue;
    by_size[m.params.value("bytes", 0.0)][m.variant] = m.summary->median;
    nodes = std::max(nodes, m.params.value("nodes", 1));
    probe = m.probe;
  }
  double network = 0, at_bytes = 0;
  for (const auto& [bytes, v] : by_size)
    if (v.size() == 2 && std::min(v.at("allgather"), v.at("reduce_scatter")) > network) {
      network = std::min(v.at("allgather"), v.at("reduce_scatter"));
      at_bytes = bytes;
    }
  if (network > 0) {
    const std::string source = fmt::format(
        "{}, {} all-gather / reduce-scatter bus bandwidth over {} hosts, the slower of the two at {}, the best size", run,
        probe, nodes,
        at_bytes >= 1048576 ? fmt::format("{:.0f} MiB", at_bytes / 1048576) : fmt::format("{:.0f} KiB", at_bytes / 1024));
    if (c.link_bytes_per_s <= 0 || network < 2 * c.link_bytes_per_s) {
      c.provenance["link"] = {"measured", c.link_bytes_per_s > 0 ? source + " (slower than the host link)" : source};
      c.link_bytes_per_s = network;
      c.link_topology = "collective";
    }
  }
}

// The link's latency (the fleet's ping-pong), and the assumed link where none was measured.
void link_latency(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  // The fleet's 8-byte ping-pong between two hosts.
  for (const auto& m : ms)
    if (role_of(roles, m.probe) == Role::network_link && m.variant == "p2p_latency" && m.valid && m.summary &&
        m.params.value("bytes", 0) == 8 && !m.params.value("same_host", true) &&
        (c.link_latency_s == 0 || m.summary->median > c.link_latency_s)) {
      c.link_latency_s = m.summary->median;
      c.provenance["link_latency"] = {"measured", fmt::format("{}, {} 8-byte ping-pong with rank {} on {}, one way "
                                                              "(the slowest peer)",
                                                              run, m.probe, m.params.value("peer_rank", 0),
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
  const auto& [run, family, d, ms, fits, roles] = s;
  // Fixed cost per layer (fork/join around every projection, norms, the ramp of each
  // smaller matrix's stream): one parameter fitted on the forward pass's B = 1 step at
  // its shortest context, per weight dtype, averaged. The other shapes validate it.
  std::vector<double> overheads;
  std::string fitted_on;
  for (const auto& p : check_predictions(c, ms, roles)) {
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

std::vector<DecodeKnee> device_decode_knees(const ChipSpec* with, const LocalDevice& d,
                                            const std::vector<Measurement>& measurements, const RoleMap& roles) {
  std::vector<Measurement> mine;
  std::map<std::string, double> memory;
  for (const auto& m : measurements)
    if (d.measured_by(m.device)) {
      mine.push_back(m);
      if (with && reaches_device_memory(*with)) memory[m.device] = with->memory_bytes_per_s;
    }
  auto knees = fit_decode_knees(mine, memory, roles);
  if (!with || memory.empty()) return knees;
  const ChipSpec& chip = *with;
  const std::vector<store::FitRecord> no_fits;
  const Step s{"", "", d, mine, no_fits, roles};
  const auto largest = largest_batches(s);
  for (auto& k : knees) {
    const auto dt = variant_dtype(k.variant);
    const auto l = largest.find(k.probe + "|" + k.device + "|" + k.variant);
    if (!dt || l == largest.end() || !chip.peak_ops_per_s.count(*dt)) continue;
    const double ceiling = chip.peak_ops_per_s.at(*dt), share = l->second.second / ceiling;
    if (share >= kKernelBoundShare) continue;
    k.bound = fmt::format(
        "kernel-bound: the decode kernel reaches {:.3g} {} at B = {:.0f}, {:.3f} of the device's measured {} peak ({:.3g}, "
        "{}), so its knee is the kernel's; the machine's knee is near the roofline's B* = {:.0f}",
        l->second.second, *dt == Dtype::int8 ? "OP/s" : "FLOP/s", l->second.first, share, dtype_name(*dt), ceiling,
        peak_probe(chip, *dt, "peak"), ceiling * k.bytes_per_weight / (2 * chip.memory_bytes_per_s));
    k.peak_ops = ceiling;
    k.roofline_knee = ceiling * k.bytes_per_weight / (2 * chip.memory_bytes_per_s);
  }
  return knees;
}

ChipSpec calibrate_device(std::int64_t run_id, const LocalDevice& d, const std::vector<Measurement>& ms,
                          const std::vector<store::FitRecord>& fits, const RoleMap& roles, const LocalPrice& price) {
  const Step step{fmt::format("run {}", run_id), d.device.substr(0, d.device.find(':')), d, ms, fits, roles};
  ChipSpec c;
  c.name = local_chip_name(d.device);
  c.display_name = d.display_name;
  c.kind = d.id.is_gpu() ? "gpu" : "cpu";
  for (const auto calibrate : {memory_levels, peaks, gemm, decode_efficiencies, decode_curve, attention, capacity,
                               host_link, network_link, link_latency})
    calibrate(step, c);
  apply_local_price(c, d, price);
  layer_overhead(step, c);  // on the priced chip: check_predictions runs the serving model
  return c;
}

}  // namespace roofaudit::calibrate
