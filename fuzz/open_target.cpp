// The store's open path for a file handed as --db: whatever the bytes, a reader either
// refuses the file in one line (Error) or reads every run, every JSON column and every
// stored fit, and calibrates each run, and the file is left exactly as it was, with
// nothing beside it.
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "calibrate/catalog.hpp"
#include "calibrate/knee.hpp"
#include "calibrate/local_chip.hpp"
#include "calibrate/plateaus.hpp"
#include "calibrate/run_calibration.hpp"
#include "fuzz/fixtures.hpp"
#include "fuzz/targets.hpp"
#include "store/store.hpp"
#include "values/error.hpp"

namespace roofaudit::fuzz {
namespace {

// The roles of the probes roofaudit registers, by name (this library links no probes).
const RoleMap& roles() {
  static const RoleMap map = [] {
    RoleMap m;
    for (const char* family : {"cpu", "gpu", "cuda"}) {
      const std::string f = family;
      m[f + ".bandwidth"] = Role::memory_sweep;
      m[f + ".peak"] = Role::peak;
      m[f + ".gemm"] = Role::gemm;
      m[f + ".decode"] = Role::decode_sweep;
      m[f + ".transfer"] = Role::host_link;
    }
    m["cpu.attention"] = Role::attention;
    m["model.decode"] = Role::forward_pass;
    m["link.mpi"] = Role::network_link;
    m["cuda.links"] = Role::chip_link;
    return m;
  }();
  return map;
}

void read_and_calibrate(store::Store& db) {
  for (const auto& r : db.runs()) {
    store::RunView view;
    view.machine = db.machine(r.machine_id);
    view.run = r;
    view.measurements = db.measurements(r.id);
    view.fits = db.fits(r.id);
    std::vector<DeviceInfo> devices;
    for (const auto& [id, info] : db.run_devices(r.id)) devices.push_back(info);
    for (const auto& f : view.fits) {  // what the report reads of each kind
      if (f.kind == "plateaus") calibrate::plateaus_from_json(f.result);
      if (f.kind == "decode_knee") calibrate::decode_knee_from_json(f.probe, f.variant, f.result);
      if (f.kind == "model_prediction") calibrate::prediction_checks_from_json(f.result);
    }
    calibrate::calibrate_run(view, devices, roles(), std::nullopt);
  }
}

}  // namespace

void open_database(const std::uint8_t* data, std::size_t size) {
  const auto dir = scratch_directory();
  const auto handed = dir / "opened.db";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(handed.string() + suffix);
  {
    std::ofstream out(handed, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  const std::string before(reinterpret_cast<const char*>(data), size);
  try {
    store::Store db(handed.string(), store::StoreOptions{0, true});
    read_and_calibrate(db);
  } catch (const Error&) {
  } catch (const nlohmann::json::exception&) {
    // A stored value of the wrong type met by a reader: the CLI refuses the database as
    // damaged for it, in one line (cli/app.cpp).
  }
  require(file_bytes(handed) == before, "reading the database changed it");
  for (const char* suffix : {"-wal", "-shm", "-journal"})
    require(!std::filesystem::exists(handed.string() + suffix), fmt::format("reading left a {} file", suffix));
}

}  // namespace roofaudit::fuzz
