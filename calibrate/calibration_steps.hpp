#pragma once
// The steps of calibrate_device (calibrate_device.cpp, calibrate_decode.cpp,
// calibrate_links.cpp): what a step sees of one device's run, and the helpers they share.
// Internal to calibrate/.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "calibrate/local_chip.hpp"

namespace roofaudit::calibrate::steps {

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

// A probe variant's dtype on the serving model's scale; nothing for fp64 and the like.
std::optional<Dtype> variant_dtype(const std::string& variant);
// The best valid figure per dtype of one role on the device, with the candidate it came from.
std::map<Dtype, Candidate> best_by_dtype(const Step& s, Role role, const std::string& metric);
// The same, per probe: where two probes (two backends' views, say) compete for a figure.
std::map<Dtype, std::map<std::string, Candidate>> best_by_dtype_and_probe(const Step& s, Role role,
                                                                          const std::string& metric);
// The probe whose figure is the device's peak for a dtype (the family's peak probe where
// none measured it).
std::string peak_probe(const Step& s, Dtype d);
// The chip's last memory level is device memory (DRAM, or a GPU's device memory).
bool reaches_device_memory(const ChipSpec& c);
// The largest batch of each decode-sweep variant, by "probe|device|variant": (batch, rate).
std::map<std::string, std::pair<double, double>> largest_batches(const Step& s);

// Steps, each setting its figures and their provenance.
void decode_efficiencies(const Step& s, ChipSpec& c);
void decode_curve(const Step& s, ChipSpec& c);
void host_link(const Step& s, ChipSpec& c);
void chip_link(const Step& s, ChipSpec& c);
void network_link(const Step& s, ChipSpec& c);
void link_latency(const Step& s, ChipSpec& c);

}  // namespace roofaudit::calibrate::steps
