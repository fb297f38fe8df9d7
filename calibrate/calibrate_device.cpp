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

#include "calibrate/calibration_steps.hpp"
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
namespace steps {
namespace {

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
                                 peak_probe(s, prefill_dtype), dtype_name(prefill_dtype))};
      return;
    }
    c.efficiency.prefill_mfu = std::min(1.0, share);
    c.provenance["efficiency.prefill_mfu"] = {
        "measured", fmt::format("{}, {} {} over {}", run, gemm_probe, dtype_name(prefill_dtype),
                                peak_probe(s, prefill_dtype))};
  } else {
    c.provenance["efficiency.prefill_mfu"] = {"assumed", "0.4 (no GEMM measured for this device)"};
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
}  // namespace steps

std::vector<CompetingCandidates> competing_candidates(const LocalDevice& d, const std::vector<Measurement>& ms,
                                                      const RoleMap& roles) {
  const std::vector<store::FitRecord> no_fits;
  const steps::Step step{"", "", d, ms, no_fits, roles};
  std::vector<CompetingCandidates> out;
  for (const auto& [role, metric] : {std::pair{Role::peak, "peak"}, std::pair{Role::gemm, "gemm"}})
    for (const auto& [dtype, by_probe] : steps::best_by_dtype_and_probe(step, role, metric)) {
      if (by_probe.size() < 2) continue;
      CompetingCandidates c{role, dtype, {}};
      for (const auto& [probe, candidate] : by_probe) c.by_probe.emplace_back(candidate.how, candidate.value);
      std::sort(c.by_probe.begin(), c.by_probe.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
      out.push_back(std::move(c));
    }
  return out;
}

ChipSpec calibrate_device(std::int64_t run_id, const LocalDevice& d, const std::vector<Measurement>& ms,
                          const std::vector<store::FitRecord>& fits, const RoleMap& roles, const LocalPrice& price) {
  using namespace steps;
  const Step step{fmt::format("run {}", run_id), d.device.substr(0, d.device.find(':')), d, ms, fits, roles};
  ChipSpec c;
  c.name = local_chip_name(d.device);
  c.display_name = d.display_name;
  c.kind = d.id.is_gpu() ? "gpu" : "cpu";
  for (const auto calibrate : {memory_levels, peaks, gemm, decode_efficiencies, decode_curve, attention, capacity,
                               host_link, chip_link, network_link, link_latency})
    calibrate(step, c);
  apply_local_price(c, d, price);
  layer_overhead(step, c);  // on the priced chip: check_predictions runs the serving model
  return c;
}

}  // namespace roofaudit::calibrate
