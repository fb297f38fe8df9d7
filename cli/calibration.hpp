#pragma once
// A stored run's devices as calibrated chips: the fits stored with the run, or fitted
// now for runs stored before calibration existed (nothing is written then).
#include <optional>
#include <string>
#include <vector>

#include "calibrate/local_chip.hpp"
#include "reports/run_view.hpp"

namespace roofaudit::store {
class Store;
}

namespace roofaudit::cli {

struct DeviceCalibration {
  calibrate::LocalDevice device;
  std::optional<calibrate::ChipSpec> chip;  // empty: `problem` says why
  std::string problem;
  std::vector<calibrate::PredictionCheck> checks;  // model.decode against the prediction
  bool stored = false;                              // read from the run's fits
};

// Every device the run measured. A given price replaces the stored one.
std::vector<DeviceCalibration> calibrate_run(store::Store& db, const reports::RunView& view,
                                             const std::optional<calibrate::LocalPrice>& price = std::nullopt);

// Fits every device of a finished run and stores each chip ("chip_spec") and its
// prediction checks ("model_prediction") with the run.
void store_calibration(store::Store& db, const reports::RunView& view);

// "local" or "local:gpu:0" (also "local:cpu"): the device a --chip local names.
std::string local_device_of(const std::string& chip_name);

}  // namespace roofaudit::cli
