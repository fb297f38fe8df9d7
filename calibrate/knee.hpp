#pragma once
// The decode knee: where a step over a batch of B sequences stops being bound by
// streaming the weights (flat in B) and becomes bound by arithmetic (linear in B).
// Fitted from measured step times, it is the measured critical batch that the serving
// model predicts as C * bytes_w / (2 W).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "values/measurement.hpp"
#include "values/roles.hpp"

namespace roofaudit::calibrate {

struct KneePoint {
  double batch = 0;        // B >= 1
  double step_time_s = 0;  // > 0
};

struct KneeFit {
  double knee_batch = 0;          // B* of the fitted roofline
  double memory_step_time_s = 0;  // the flat part: t(B) for B <= B*
  double per_sequence_time_s = 0; // the slope of the compute part: t(B) = B * this
  bool within_sweep = false;      // false: the curve is flat (or linear) throughout, and
                                  // knee_batch is only a bound past (or before) the sweep
  double rms_log_error = 0;       // fit quality, in natural-log units
};

// Least squares in log space of t(B) = t_mem * max(1, B / B*), over B* on a fine
// logarithmic grid from a quarter of the smallest batch to four times the largest.
// Needs at least three points; throws Error otherwise.
KneeFit fit_decode_knee(std::vector<KneePoint> points);

// A run's decode sweep (cpu.decode step times) against the run's own ceilings.
struct DecodeKnee {
  std::string probe;                 // "cpu.decode", "gpu.decode"
  std::string device;                // "cpu", "gpu:0"
  std::string variant;               // "int8", "bf16", "fp16"
  KneeFit fit;
  double bytes_per_weight = 0;       // streamed bytes per weight (int8 includes its row scales)
  double batch1_bandwidth = 0;       // best effective weight bandwidth at B = 1, B/s
  // From other probes of the same run, when they ran:
  std::optional<double> memory_bandwidth;  // device-memory read bandwidth (the bandwidth probe's read
                                           // curve, last level)
  std::optional<double> peak_ops;          // the device's peak probe for the precision the kernel computes
                                           // in (params.peak_variant, else the variant), all threads
  std::optional<double> roofline_knee;     // peak_ops * bytes_per_weight / (2 * memory_bandwidth)
  std::optional<double> batch1_fraction;   // batch1_bandwidth / memory_bandwidth
  // Set by calibration: where the kernel's largest batch runs far below the device's own
  // measured ceiling for the weights' precision (its fastest peak candidate), the knee is
  // the kernel's, not the machine's; `bound` says so, with the figures.
  std::string bound;
};

// One knee per (decode-sweep probe, device, variant) with at least three valid batch
// sizes; `memory_bandwidth` maps a device ("cpu", "gpu:0") to its fitted read bandwidth of
// device memory in this run, where it has one. The peak beside it is the device's peak
// probe for the precision the kernel computes in.
std::vector<DecodeKnee> fit_decode_knees(const std::vector<Measurement>& measurements,
                                         const std::map<std::string, double>& memory_bandwidth, const RoleMap& roles);
nlohmann::json decode_knee_to_json(const DecodeKnee& k);
DecodeKnee decode_knee_from_json(const std::string& probe, const std::string& variant, const nlohmann::json& j);

}  // namespace roofaudit::calibrate
