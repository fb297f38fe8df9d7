// The helpers calibrate_device's steps share.
#include "calibrate/calibration_steps.hpp"

#include <fmt/format.h>

#include "calibrate/serving.hpp"

namespace roofaudit::calibrate::steps {

// A probe variant's dtype on the serving model's scale; nothing for fp64 and the like.
std::optional<Dtype> variant_dtype(const std::string& variant) {
  const std::string base = variant.substr(0, variant.find('_'));
  for (Dtype d : {Dtype::fp32, Dtype::bf16, Dtype::fp16, Dtype::fp8, Dtype::int8})
    if (dtype_name(d) == base) return d;
  return std::nullopt;
}

std::map<Dtype, std::map<std::string, Candidate>> best_by_dtype_and_probe(const Step& s, Role role,
                                                                          const std::string& metric) {
  std::map<Dtype, std::map<std::string, Candidate>> out;
  for (const auto& m : s.measurements) {
    if (!s.takes(m, role) || m.metric != metric) continue;
    const auto d = variant_dtype(m.variant);
    if (!d) continue;
    auto& slot = out[*d][m.probe];
    // Named by what reached it: the library or the instruction sequence.
    std::string how = m.probe + " " + m.variant;
    for (const char* key : {"library", "instruction"})
      if (m.params.contains(key) && m.params[key].is_string()) how += " (" + m.params[key].get<std::string>() + ")";
    if (m.summary->best > slot.value) slot = {m.summary->best, m.probe, how};
  }
  return out;
}

std::map<Dtype, Candidate> best_by_dtype(const Step& s, Role role, const std::string& metric) {
  std::map<Dtype, Candidate> out;
  for (const auto& [d, by_probe] : best_by_dtype_and_probe(s, role, metric))
    for (const auto& [probe, c] : by_probe)
      if (c.value > out[d].value) out[d] = c;
  return out;
}

std::string peak_probe(const Step& s, Dtype d) {
  const auto peaks = best_by_dtype(s, Role::peak, "peak");
  const auto it = peaks.find(d);
  return it == peaks.end() ? s.family + ".peak" : it->second.probe;
}

bool reaches_device_memory(const ChipSpec& c) {
  return !c.memory_levels.empty() &&
         (c.memory_levels.back().level == "DRAM" || c.memory_levels.back().level == "device memory");
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


}  // namespace roofaudit::calibrate::steps
