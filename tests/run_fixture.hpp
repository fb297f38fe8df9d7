#pragma once
// A stored run as `roofaudit show --json` prints it, read back for tests of what
// consumes runs (calibration, reports): tests/calibrate/data/*_run.json.
#include <string>

#include <nlohmann/json.hpp>

#include "probes/probe.hpp"
#include "reports/run_view.hpp"
#include "test_util.hpp"

namespace roofaudit::testing {

inline reports::RunView load_run_fixture(const std::string& name) {
  const auto j = nlohmann::json::parse(read_all(std::string(ROOFAUDIT_TEST_DATA_DIR) + "/calibrate/data/" + name));
  reports::RunView v;
  v.run.id = j.at("id");
  v.run.uuid = j.at("uuid");
  v.run.status = j.at("status");
  v.run.started_at = j.at("started_at");
  v.run.environment = j.at("environment");
  v.run.settings = j.at("settings");
  const auto& m = j.at("machine");
  store::MachineRecord machine;
  machine.fingerprint = m.at("fingerprint");
  machine.hostname = m.at("hostname");
  machine.cpu_model = m.at("cpu_model");
  machine.cores = m.at("cores");
  machine.threads = m.at("threads");
  machine.numa_nodes = m.at("numa_nodes");
  machine.memory_reported_bytes = m.at("memory_reported_bytes");
  v.machine = machine;
  for (const auto& e : j.at("measurements")) {
    Measurement x;
    x.probe = e.at("probe");
    x.device = e.at("device");
    x.variant = e.at("variant");
    x.metric = e.at("metric");
    x.unit = e.at("unit");
    x.params = e.at("params");
    x.valid = e.at("valid");
    x.supported = e.value("supported", true);
    if (!e.at("summary").is_null()) {
      Summary s;
      s.best = e["summary"].at("best");
      s.median = e["summary"].at("median");
      x.summary = s;
    }
    v.measurements.push_back(x);
  }
  for (const auto& f : j.at("fits")) v.fits.push_back({v.run.id, f.at("device"), f.at("probe"), f.at("variant"), f.at("kind"), f.at("result")});
  return v;
}

// The roles the registered probes declare, as calibration reads them.
inline const RoleMap& probe_roles() { return ProbeRegistry::instance().roles(); }

inline calibrate::LocalDevice fixture_cpu(const reports::RunView& v) {
  calibrate::LocalDevice d;
  d.device = "cpu";
  d.display_name = v.machine->cpu_model;
  d.memory_bytes = v.run.environment.value("memory_usable_bytes", 0.0);
  d.memory_source = "fixture";
  d.cores = v.machine->cores;
  return d;
}

}  // namespace roofaudit::testing
