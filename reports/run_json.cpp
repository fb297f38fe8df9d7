#include "reports/run_json.hpp"

namespace roofaudit::reports {

nlohmann::json measurement_to_json(const Measurement& m) {
  nlohmann::json j = {{"probe", m.probe}, {"probe_version", m.probe_version}, {"device", m.device},
                      {"variant", m.variant}, {"metric", m.metric}, {"unit", m.unit},
                      {"higher_is_better", m.higher_is_better}, {"convention", m.convention},
                      {"params", m.params}, {"valid", m.valid}, {"validation", m.validation},
                      {"supported", m.supported}};
  if (m.summary) {
    const Summary& s = *m.summary;
    j["summary"] = {{"best", s.best}, {"median", s.median}, {"min", s.min}, {"max", s.max},
                    {"mean", s.mean}, {"stddev", s.stddev}, {"cv", s.cv}};
  } else {
    j["summary"] = nullptr;
  }
  nlohmann::json samples = nlohmann::json::array();
  for (const auto& s : m.samples) samples.push_back({{"value", s.value}, {"seconds", s.seconds}});
  j["samples"] = samples;
  return j;
}

nlohmann::json run_to_json(const RunView& v) {
  const auto& r = v.run;
  nlohmann::json j = {{"id", r.id}, {"uuid", r.uuid}, {"status", r.status}, {"started_at", r.started_at},
                      {"finished_at", r.finished_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.finished_at)},
                      {"command_line", r.command_line}, {"settings", r.settings},
                      {"environment", r.environment}, {"error", r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error)}};
  if (v.machine) {
    const auto& m = *v.machine;
    j["machine"] = {{"fingerprint", m.fingerprint}, {"hostname", m.hostname}, {"cpu_model", m.cpu_model},
                    {"cpu_vendor", m.cpu_vendor}, {"architecture", m.architecture}, {"packages", m.packages},
                    {"cores", m.cores}, {"threads", m.threads}, {"numa_nodes", m.numa_nodes},
                    {"caches_reported", m.caches_reported}, {"memory_reported_bytes", m.memory_reported_bytes}};
  }
  nlohmann::json ms = nlohmann::json::array();
  for (const auto& m : v.measurements) ms.push_back(measurement_to_json(m));
  j["measurements"] = ms;
  nlohmann::json fits = nlohmann::json::array();
  for (const auto& f : v.fits)
    fits.push_back({{"device", f.device}, {"probe", f.probe}, {"variant", f.variant}, {"kind", f.kind}, {"result", f.result}});
  j["fits"] = fits;
  return j;
}

}  // namespace roofaudit::reports
