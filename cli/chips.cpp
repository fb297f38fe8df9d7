// Where the chip or model a verb names comes from: the catalogue, a JSON file, or a run
// this database holds.
#include "cli/chips.hpp"

#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "calibrate/catalog.hpp"
#include "calibrate/chip_codec.hpp"
#include "cli/command.hpp"
#include "probes/probe.hpp"
#include "store/store.hpp"
#include "values/error.hpp"

namespace roofaudit::cli {

using namespace roofaudit::calibrate;

bool looks_like_file(const std::string& s) {
  std::error_code ec;  // a name too long for a path is no file, not an internal error
  return s.find('/') != std::string::npos || s.ends_with(".json") || std::filesystem::exists(s, ec);
}

ChipSpec load_chip(const std::string& name) {
  if (!looks_like_file(name)) return find_chip(name);
  return chip_from_file_json(read_json_file(name, "chip file"), name);
}

ModelSpec load_model(const std::string& name) {
  if (!looks_like_file(name)) return find_model(name);
  const auto dir = std::filesystem::path(name).parent_path().filename().string();
  return model_from_hf_config(read_json_file(name, "model config"), dir.empty() ? name : dir, name);
}

ChipSpec load_local_chip(const GlobalOptions& global, const std::string& name, std::int64_t run) {
  const std::string device = local_device_of(name);
  const auto store = open_existing_store(global);
  store::Store& db = *store;
  std::vector<std::int64_t> candidates;
  if (run > 0) {
    candidates.push_back(run);
  } else {
    const auto runs = db.runs();
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
      if (it->status == "complete") candidates.push_back(it->id);
  }
  std::string last_problem = candidates.empty() ? fmt::format("no complete run in {}", db.path())
                                                : fmt::format("none of the {} complete run{} in {} measured {}",
                                                              candidates.size(), candidates.size() == 1 ? "" : "s",
                                                              db.path(), device);
  for (std::int64_t id : candidates) {
    const auto view = load_run_view(db, id);
    for (const auto& c : calibrate_stored_run(db, view)) {
      if (c.device.device != device) continue;
      if (c.chip) return *c.chip;
      last_problem = fmt::format("run {}: {}", id, c.problem);
    }
    if (run > 0 && last_problem.rfind("run", 0) != 0) last_problem = fmt::format("run {} did not measure {}", id, device);
  }
  throw Error(fmt::format("no calibration of {} ({}); a default 'roofaudit run' measures what it needs", device, last_problem));
}

namespace {

std::vector<DeviceInfo> devices_of(store::Store& db, std::int64_t run_id, std::map<std::string, std::int64_t>* ids = nullptr) {
  std::vector<DeviceInfo> out;
  for (const auto& [id, info] : db.run_devices(run_id)) {
    if (ids) (*ids)[DeviceId::of(info).key()] = id;
    out.push_back(info);
  }
  return out;
}

}  // namespace

std::vector<DeviceCalibration> calibrate_stored_run(store::Store& db, const store::RunView& view,
                                                    const std::optional<LocalPrice>& price) {
  return calibrate_run(view, devices_of(db, view.run.id), ProbeRegistry::instance().roles(), price);
}

void store_calibration(store::Store& db, const store::RunView& view) {
  std::map<std::string, std::int64_t> ids;
  const auto devices = devices_of(db, view.run.id, &ids);
  for (const auto& fit : calibration_fits(view, devices, ProbeRegistry::instance().roles()))
    if (const auto id = ids.find(fit.device); id != ids.end()) db.put_fit(view.run.id, id->second, fit);
}

bool is_local(const std::string& chip) { return chip == "local" || chip.rfind("local:", 0) == 0; }

}  // namespace roofaudit::cli
