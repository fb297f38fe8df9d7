#pragma once
// Calibration: a stored run's measurements of one device become a ChipSpec the serving
// model takes like any catalogue chip. Every figure carries where it came from (the run
// and probe, or "assumed" with the assumption), and the model.decode forward passes of
// the same run are set beside what the serving model predicts for them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "calibrate/catalog.hpp"
#include "calibrate/device_facts.hpp"
#include "calibrate/knee.hpp"
#include "calibrate/serving_types.hpp"
#include "values/device_id.hpp"
#include "values/measurement.hpp"
#include "values/records.hpp"
#include "values/roles.hpp"

namespace roofaudit::calibrate {

// What the run knows of a device besides its measurements.
struct LocalDevice {
  std::string device;          // "cpu", "gpu:0": the key its chip is named by
  std::string display_name;    // CPU model or GPU name
  double memory_bytes = 0;     // capacity the serving model may fill (0: unknown)
  std::string memory_source;   // how memory_bytes was found
  int cores = 0;               // CPU cores (for the default owned cost)
  DeviceId id;                 // typed identity: backend, ordinal, physical UUID
  // Every backend's view of this silicon: the device keys whose measurements calibrate it
  // (empty: `device` alone). Two views share a physical UUID.
  std::vector<std::string> views;
  std::optional<DeviceFacts> facts;  // the device catalogue's entry (GPUs it knows)
  bool reports_bf16 = false;         // the driver reports bf16 types (an extension, a matrix type)

  bool measured_by(const std::string& key) const;
};

// Below this share of the device's own measured ceiling (its fastest peak candidate for
// the precision), a figure is the kernel's, not the machine's: real machines run their
// decode and matmul shapes at 0.2-0.9 of peak; a kernel an order of magnitude below it
// is not using the units that set the ceiling (fp32 FMA beside matrix units, say).
constexpr double kKernelBoundShare = 0.1;

// How the owned hardware's price per hour is found: given outright, from an owned
// cost, or from the stated defaults for the kind of device.
struct LocalPrice {
  std::optional<double> usd_per_hour;
  std::optional<OwnedCost> owned;
};

// Default owned cost of a device when none is given, and the sentence that states it.
OwnedCost default_owned_cost(const LocalDevice& d);
std::string describe_default_owned_cost(const LocalDevice& d);
// An owned-cost file: JSON with any of purchase_usd, lifetime_years, utilisation, watts,
// pue, usd_per_kwh, or usd_per_hour. Throws Error naming the file and the bad field.
LocalPrice price_from_json(const nlohmann::json& j, const std::string& origin);

// The link a machine would use to reach another of its kind when none was measured.
constexpr double kAssumedNetworkBytesPerS = 12.5e9;  // 100 Gb/s Ethernet, per direction

// One device of a run as a chip. Needs the device's memory read bandwidth (its
// bandwidth probe's plateau fit); throws Error saying which probe to run otherwise.
// Peak per dtype from the device's peak probe; matmul rate from its GEMM probe;
// efficiency from its decode sweep (B = 1 weight bandwidth over memory bandwidth, the
// largest batch's rate over peak); a fixed overhead per layer fitted on the run's
// model.decode B = 1 step at its shortest context, where it ran; capacity from `d`;
// link from gpu.transfer for GPUs, assumed for CPUs.
// Figures are found by the role their probe declares (`roles`), per role the best
// validated candidate over every view of the device, named in its provenance.
ChipSpec calibrate_device(std::int64_t run_id, const LocalDevice& d, const std::vector<Measurement>& measurements,
                          const std::vector<store::FitRecord>& fits, const RoleMap& roles, const LocalPrice& price = {});

// The device's decode knees; against the chip's device-memory bandwidth where there is a
// chip whose last level is device memory (else without a roofline), each flagged in
// `bound` where its kernel runs below kKernelBoundShare of the chip's measured peak for
// its precision.
std::vector<DecodeKnee> device_decode_knees(const ChipSpec* chip, const LocalDevice& d,
                                            const std::vector<Measurement>& measurements, const RoleMap& roles);

// Where two probes or more measured one role's figure for one precision on the device
// (Vulkan's GEMM beside a vendor library's, say): each probe's best, the headline first.
struct CompetingCandidates {
  Role role = Role::none;
  Dtype dtype = Dtype::fp32;
  std::vector<std::pair<std::string, double>> by_probe;  // how it was reached, its best value
};
std::vector<CompetingCandidates> competing_candidates(const LocalDevice& d, const std::vector<Measurement>& measurements,
                                                      const RoleMap& roles);

// Sets the chip's price per hour from `price`, or from the stated default owned cost.
void apply_local_price(ChipSpec& c, const LocalDevice& d, const LocalPrice& price);

// A model.decode point beside the serving model's prediction on the calibrated chip,
// for the same model and deployment (one chip, the point's weights, bf16 KV, its batch
// and context, every byte of memory usable).
struct PredictionCheck {
  std::string variant;  // weights
  std::int64_t batch = 0, context = 0;
  double measured_tokens_per_s = 0;
  double predicted_tokens_per_s = 0;
  double error = 0;  // (predicted - measured) / measured
  double t_param_s = 0, t_kv_s = 0, t_flops_s = 0, t_overhead_s = 0;
  int layers = 0;
  bool calibration_point = false;  // fitted the chip's layer overhead: its error is ~0 by construction
};
// The forward-pass role's points (model.decode) of the chip's device.
std::vector<PredictionCheck> check_predictions(const ChipSpec& chip, const std::vector<Measurement>& measurements,
                                               const RoleMap& roles);
// The name a run's device takes as a chip: "local" for the CPU, "local:gpu:0" for the rest.
std::string local_chip_name(const std::string& device_key);
// |error| over the checks that did not fit the layer overhead: the median (upper, for an
// even count), the worst, and how many; shapes == 0 when there are none.
struct PredictionError {
  double median = 0, worst = 0;
  std::size_t shapes = 0;
};
PredictionError prediction_error(const std::vector<PredictionCheck>& checks);

nlohmann::json prediction_checks_to_json(const std::vector<PredictionCheck>& checks);
std::vector<PredictionCheck> prediction_checks_from_json(const nlohmann::json& j);

}  // namespace roofaudit::calibrate
