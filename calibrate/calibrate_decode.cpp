// calibrate_device's decode steps: the decode sweep's knees, efficiencies and shape, and
// the flag on a knee whose kernel runs far below the device's own ceiling.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "calibrate/calibration_steps.hpp"
#include "calibrate/serving.hpp"

namespace roofaudit::calibrate {
namespace steps {

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
                                    peak_probe(s, *dt))};
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

}  // namespace steps

std::vector<DecodeKnee> device_decode_knees(const ChipSpec* with, const LocalDevice& d,
                                            const std::vector<Measurement>& measurements, const RoleMap& roles) {
  std::vector<Measurement> mine;
  std::map<std::string, double> memory;
  for (const auto& m : measurements)
    if (d.measured_by(m.device)) {
      mine.push_back(m);
      if (with && steps::reaches_device_memory(*with)) memory[m.device] = with->memory_bytes_per_s;
    }
  auto knees = fit_decode_knees(mine, memory, roles);
  if (!with || memory.empty()) return knees;
  const ChipSpec& chip = *with;
  const std::vector<store::FitRecord> no_fits;
  const steps::Step s{"", d.device.substr(0, d.device.find(':')), d, mine, no_fits, roles};
  const auto largest = steps::largest_batches(s);
  for (auto& k : knees) {
    const auto dt = steps::variant_dtype(k.variant);
    const auto l = largest.find(k.probe + "|" + k.device + "|" + k.variant);
    if (!dt || l == largest.end() || !chip.peak_ops_per_s.count(*dt)) continue;
    const double ceiling = chip.peak_ops_per_s.at(*dt), share = l->second.second / ceiling;
    if (share >= kKernelBoundShare) continue;
    k.bound = fmt::format(
        "kernel-bound: the decode kernel reaches {:.3g} {} at B = {:.0f}, {:.3f} of the device's measured {} peak ({:.3g}, "
        "{}), so its knee is the kernel's; the machine's knee is near the roofline's B* = {:.0f}",
        l->second.second, *dt == Dtype::int8 ? "OP/s" : "FLOP/s", l->second.first, share, dtype_name(*dt), ceiling,
        steps::peak_probe(s, *dt), ceiling * k.bytes_per_weight / (2 * chip.memory_bytes_per_s));
    k.peak_ops = ceiling;
    k.roofline_knee = ceiling * k.bytes_per_weight / (2 * chip.memory_bytes_per_s);
  }
  return knees;
}

}  // namespace roofaudit::calibrate
