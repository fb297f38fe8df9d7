#pragma once
// A stored run's devices as calibrated chips, and the fits a finished run stores. Plain
// data in (the run's records, its devices, the probes' declared roles), plain data out:
// the store writes the fits, the reports render the chips.
#include <optional>
#include <string>
#include <vector>

#include "calibrate/knee.hpp"
#include "calibrate/local_chip.hpp"
#include "values/records.hpp"
#include "values/roles.hpp"

namespace roofaudit::calibrate {

// Bumped when calibration changes what it makes of the same measurements: a stored chip
// of an older version is fitted again on reading (nothing is written then).
// 2: GPU levels from the device's facts, decode knees refitted against device memory,
// kernel-bound figures flagged, catalogue prices for known boards.
constexpr int kCalibrationVersion = 2;

struct DeviceCalibration {
  LocalDevice device;
  std::optional<ChipSpec> chip;  // empty: `problem` says why
  std::string problem;
  std::vector<PredictionCheck> checks;  // model.decode against the prediction
  std::vector<DecodeKnee> knees;        // against the chip's device memory, kernel-bound ones flagged
  std::vector<CompetingCandidates> candidates;  // figures two probes competed for
  bool stored = false;                  // read from the run's fits
};

// Every physical device the run measured (the views of one UUID together), as the run
// stored it where its calibration is current, else fitted now. A given price replaces
// the stored one.
std::vector<DeviceCalibration> calibrate_run(const store::RunView& view, const std::vector<DeviceInfo>& devices,
                                             const RoleMap& roles, const std::optional<LocalPrice>& price = std::nullopt);

// A finished run's fits, per device key: each device's decode knees ("decode_knee"), its
// chip ("chip_spec", with kCalibrationVersion) and its prediction checks ("model_prediction").
std::vector<store::FitRecord> calibration_fits(const store::RunView& view, const std::vector<DeviceInfo>& devices,
                                               const RoleMap& roles);

// Plateau fits ("plateaus") of every working-set curve in `measurements`, per device:
// a CPU's capped at `cpu_cache_levels` caches plus memory (0: no cap), its last level
// named DRAM when `cpu_reached_memory`; a GPU's at four levels, its last named device
// memory when the sweep says it reached it.
std::vector<store::FitRecord> plateau_fits(std::int64_t run_id, const std::vector<Measurement>& measurements,
                                           int cpu_cache_levels, bool cpu_reached_memory);

// "local" or "local:gpu:0" (also "local:cpu"): the device a --chip local names.
std::string local_device_of(const std::string& chip_name);

}  // namespace roofaudit::calibrate
