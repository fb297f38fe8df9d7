#include "cli/calibration.hpp"

#include <fmt/format.h>

#include "values/error.hpp"
#include "store/store.hpp"

namespace roofaudit::cli {
namespace {

calibrate::LocalDevice describe(const reports::RunView& view, const DeviceInfo& info) {
  calibrate::LocalDevice d;
  d.device = info.kind == "cpu" ? "cpu" : fmt::format("{}:{}", info.kind, info.ordinal);
  d.display_name = info.name;
  if (info.kind == "cpu") {
    d.cores = view.machine ? view.machine->cores : info.properties.value("cores", 0);
    const auto& env = view.run.environment;
    if (env.contains("memory_usable_bytes") && env["memory_usable_bytes"].get<double>() > 0) {
      d.memory_bytes = env["memory_usable_bytes"].get<double>();
      d.memory_source = fmt::format("run {}: {}", view.run.id, env.value("memory_usable_source", "usable memory"));
    } else if (view.machine) {
      d.memory_bytes = double(view.machine->memory_reported_bytes);
      d.memory_source = "memory reported by hwloc (the run predates the cgroup-aware figure)";
    }
  } else {
    double local = 0;
    for (const auto& h : info.properties.value("memory_heaps", nlohmann::json::array()))
      if (h.value("device_local", false)) local += h.value("bytes", 0.0);
    d.memory_bytes = local;
    d.memory_source = "device-local memory heaps reported by the Vulkan driver";
  }
  return d;
}

}  // namespace

std::string local_device_of(const std::string& chip_name) {
  if (chip_name == "local" || chip_name == "local:cpu") return "cpu";
  if (chip_name.rfind("local:", 0) == 0) return chip_name.substr(6);
  throw Error(fmt::format("'{}' is not a local chip (local, local:cpu, local:gpu:N)", chip_name));
}

std::vector<DeviceCalibration> calibrate_run(store::Store& db, const reports::RunView& view,
                                             const std::optional<calibrate::LocalPrice>& price) {
  std::vector<DeviceCalibration> out;
  for (const auto& [id, info] : db.run_devices(view.run.id)) {
    DeviceCalibration c;
    c.device = describe(view, info);
    for (const auto& f : view.fits) {
      if (f.device != c.device.device) continue;
      if (f.kind == "chip_spec") {
        c.chip = calibrate::chip_spec_from_json(f.result);
        c.stored = true;
      }
      if (f.kind == "model_prediction") c.checks = calibrate::prediction_checks_from_json(f.result);
    }
    if (!c.chip) {
      try {
        c.chip = calibrate::calibrate_device(view.run.id, c.device, view.measurements, view.fits);
        c.checks = calibrate::check_predictions(*c.chip, view.measurements);
      } catch (const Error& e) {
        c.problem = e.what();
      }
    }
    if (c.chip && price) {
      calibrate::apply_local_price(*c.chip, c.device, *price);
      c.checks = calibrate::check_predictions(*c.chip, view.measurements);
    }
    out.push_back(std::move(c));
  }
  return out;
}

void store_calibration(store::Store& db, const reports::RunView& view) {
  for (const auto& [id, info] : db.run_devices(view.run.id)) {
    const calibrate::LocalDevice d = describe(view, info);
    try {
      const auto chip = calibrate::calibrate_device(view.run.id, d, view.measurements, view.fits);
      db.put_fit(view.run.id, id, {view.run.id, d.device, "calibrate", "", "chip_spec", calibrate::chip_spec_to_json(chip)});
      const auto checks = calibrate::check_predictions(chip, view.measurements);
      if (!checks.empty())
        db.put_fit(view.run.id, id,
                   {view.run.id, d.device, "model.decode", "", "model_prediction",
                    calibrate::prediction_checks_to_json(checks)});
    } catch (const Error&) {
      // Not enough measured for a chip (a run of a few probes): reports say what is missing.
    }
  }
}

}  // namespace roofaudit::cli
