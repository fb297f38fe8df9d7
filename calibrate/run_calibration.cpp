// A run's devices as chips (one per physical device, current or fitted again), and the fits a finished run stores.
#include "calibrate/run_calibration.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "calibrate/chip_codec.hpp"
#include "calibrate/memory_levels.hpp"
#include "values/error.hpp"
#include "values/stored.hpp"

namespace roofaudit::calibrate {
namespace {

// Whether a GPU's driver reports bf16 types: its extension, or a matrix type named bf16
// (or one an older roofaudit could not name, '?', which on the drivers that have it is bf16).
bool reports_bf16(const DeviceInfo& info) {
  const auto& p = info.properties;
  if (!p.is_object()) return false;
  if (p.value("shader_bfloat16", false)) return true;
  for (const char* key : {"cooperative_matrix_khr_shapes", "cooperative_matrix_shapes"})
    if (p.contains(key) && p[key].is_array())
      for (const auto& shape : p[key])
        if (shape.is_string() && (shape.get<std::string>().find("bf16") != std::string::npos ||
                                  shape.get<std::string>().find('?') != std::string::npos))
          return true;
  return false;
}

LocalDevice describe(const store::RunView& view, const DeviceInfo& info) {
  LocalDevice d;
  d.id = DeviceId::of(info);
  d.device = d.id.key();
  d.display_name = info.name;
  d.facts = facts_for(info);
  d.reports_bf16 = reports_bf16(info);
  if (!d.id.is_gpu()) {
    d.cores = view.machine ? view.machine->cores : info.properties.value("cores", 0);
    const auto& env = view.run.environment;
    if (env.contains("memory_usable_bytes") && env["memory_usable_bytes"].get<double>() > 0) {
      d.memory_bytes = env["memory_usable_bytes"].get<double>();
      d.memory_source = fmt::format("run {}: {}", view.run.id, env.value("memory_usable_source", "usable memory"));
    } else if (view.machine) {
      d.memory_bytes = double(view.machine->memory_reported_bytes);
      d.memory_source = "memory reported by hwloc (the run predates the cgroup-aware figure)";
    }
  } else if (d.id.backend == Backend::cuda) {
    d.memory_bytes = info.properties.value("memory_bytes", 0.0);
    d.memory_source = "global memory reported by the CUDA runtime";
  } else {
    double local = 0;
    for (const auto& h : info.properties.value("memory_heaps", nlohmann::json::array()))
      if (h.value("device_local", false)) local += h.value("bytes", 0.0);
    d.memory_bytes = local;
    d.memory_source = "device-local memory heaps reported by the Vulkan driver";
  }
  return d;
}

// The run's devices, the views of one physical device (one UUID) together: the first
// view names the chip, every view's measurements calibrate it.
std::vector<LocalDevice> physical_devices(const store::RunView& view, const std::vector<DeviceInfo>& devices) {
  std::vector<LocalDevice> out;
  for (const auto& info : devices) {
    LocalDevice d = describe(view, info);
    const auto same = std::find_if(out.begin(), out.end(), [&](const LocalDevice& o) {
      return !d.id.uuid.empty() && o.id.uuid == d.id.uuid;
    });
    if (same != out.end()) {
      same->views.push_back(d.device);
      if (!same->facts) same->facts = d.facts;
      if (same->memory_bytes <= 0) {
        same->memory_bytes = d.memory_bytes;
        same->memory_source = d.memory_source;
      }
      same->reports_bf16 = same->reports_bf16 || d.reports_bf16;
      continue;
    }
    d.views = {d.device};
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

std::string local_device_of(const std::string& chip_name) {
  if (chip_name == "local" || chip_name == "local:cpu") return "cpu";
  if (chip_name.rfind("local:", 0) == 0)
    if (const auto id = DeviceId::parse(chip_name.substr(6))) return id->key();
  throw Error(fmt::format("'{}' is not a local chip (local, local:cpu, local:gpu:N, local:cuda:N)", chip_name));
}

std::vector<DeviceCalibration> calibrate_run(const store::RunView& view, const std::vector<DeviceInfo>& devices,
                                             const RoleMap& roles, const std::optional<LocalPrice>& price) {
  std::vector<DeviceCalibration> out;
  for (auto& device : physical_devices(view, devices)) {
    DeviceCalibration c;
    c.device = std::move(device);
    for (const auto& f : view.fits) {
      if (f.device != c.device.device) continue;
      if (f.kind == "chip_spec" &&
          read_stored("chip_spec fit", [&] { return f.result.value("calibration_version", 1); }) >= kCalibrationVersion) {
        c.chip = chip_spec_from_json(f.result);
        c.stored = true;
      }
      if (f.kind == "model_prediction") c.checks = prediction_checks_from_json(f.result);
    }
    if (!c.chip) {
      try {
        c.chip = calibrate_device(view.run.id, c.device, view.measurements, view.fits, roles);
        c.checks = check_predictions(*c.chip, view.measurements, roles);
      } catch (const Error& e) {
        c.problem = e.what();
      }
    }
    if (c.chip && price) {
      apply_local_price(*c.chip, c.device, *price);
      c.checks = check_predictions(*c.chip, view.measurements, roles);
    }
    c.knees = device_decode_knees(c.chip ? &*c.chip : nullptr, c.device, view.measurements, roles);
    c.candidates = competing_candidates(c.device, view.measurements, roles);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<store::FitRecord> calibration_fits(const store::RunView& view, const std::vector<DeviceInfo>& devices,
                                               const RoleMap& roles) {
  std::vector<store::FitRecord> out;
  const std::int64_t run = view.run.id;
  for (const auto& d : physical_devices(view, devices)) {
    std::optional<ChipSpec> chip;
    try {
      chip = calibrate_device(run, d, view.measurements, view.fits, roles);
    } catch (const Error&) {
      // Not enough measured for a chip (a run of a few probes): reports say what is missing.
    }
    for (const auto& k : device_decode_knees(chip ? &*chip : nullptr, d, view.measurements, roles))
      out.push_back({run, k.device, k.probe, k.variant, "decode_knee", decode_knee_to_json(k)});
    if (chip) {
      nlohmann::json j = chip_spec_to_json(*chip);
      j["calibration_version"] = kCalibrationVersion;
      out.push_back({run, d.device, "calibrate", "", "chip_spec", j});
      const auto checks = check_predictions(*chip, view.measurements, roles);
      if (!checks.empty())
        out.push_back({run, d.device, "model.decode", "", "model_prediction", prediction_checks_to_json(checks)});
    }
  }
  return out;
}

std::vector<store::FitRecord> plateau_fits(std::int64_t run_id, const std::vector<Measurement>& ms, int cpu_cache_levels,
                                           bool cpu_reached_memory) {
  std::map<std::string, std::vector<Measurement>> by_device;
  for (const auto& m : ms) by_device[m.device].push_back(m);
  std::vector<store::FitRecord> out;
  for (const auto& [device, curves] : by_device) {
    PlateauOptions options;
    if (device == "cpu") {
      options.last_is_memory = cpu_reached_memory;
      // The topology's sizes are often wrong in VMs, but its count of cache levels is a
      // sound cap: no more plateaus than caches plus memory.
      if (cpu_cache_levels > 0) options.max_levels = cpu_cache_levels + (cpu_reached_memory ? 1 : 0);
    } else {
      options.max_levels = 4;  // L1 / shared memory, L2, a last-level cache, device memory
      options.last_is_memory = std::any_of(curves.begin(), curves.end(), [](const Measurement& m) {
        return m.params.value("sweep_reaches_memory", false);
      });
    }
    for (const auto& fit : fit_memory_levels(curves, options))
      out.push_back({run_id, fit.device, fit.probe, fit.variant, "plateaus", plateaus_to_json(fit.plateaus)});
  }
  return out;
}

}  // namespace roofaudit::calibrate
