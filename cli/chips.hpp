#pragma once
// Where the chip or model a verb names comes from: a catalogue name, a JSON file (a chip
// file or a Hugging Face config.json), or a device of a run this database holds.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "calibrate/run_calibration.hpp"
#include "calibrate/serving_types.hpp"

namespace roofaudit::store {
class Store;
}

namespace roofaudit::cli {

struct GlobalOptions;

// A path (a '/', a .json ending, or an existing file) rather than a catalogue name.
bool looks_like_file(const std::string& s);
// A catalogue chip, or a chip file.
calibrate::ChipSpec load_chip(const std::string& name);
// "local", "local:cpu", "local:gpu:N".
bool is_local(const std::string& chip);
// The device a local chip names, calibrated from run `run`, or (0) from the latest
// complete run that calibrates it. Throws Error naming the last problem found.
calibrate::ChipSpec load_local_chip(const GlobalOptions& global, const std::string& name, std::int64_t run);

// A stored run's devices as chips (calibrate::calibrate_run over the devices the store
// recorded, with the roles the registered probes declare).
std::vector<calibrate::DeviceCalibration> calibrate_stored_run(
    store::Store& db, const store::RunView& view, const std::optional<calibrate::LocalPrice>& price = std::nullopt);
// Stores a finished run's calibration (calibrate::calibration_fits) under its devices.
void store_calibration(store::Store& db, const store::RunView& view);

}  // namespace roofaudit::cli
