#pragma once
// Plain records of what the store keeps (machines, runs, fits): value types that every
// layer above values/ may use, with no behaviour of their own.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "values/measurement.hpp"

namespace roofaudit::store {

struct MachineRecord {
  std::int64_t id = 0;
  std::string fingerprint;  // hash of the identifying facts below
  std::string hostname;
  std::string cpu_model;
  std::string cpu_vendor;
  std::string architecture;
  int packages = 0;
  int cores = 0;
  int threads = 0;
  int numa_nodes = 0;
  nlohmann::json caches_reported = nlohmann::json::array();
  std::uint64_t memory_reported_bytes = 0;
  std::string first_seen;
};

struct RunRecord {
  std::int64_t id = 0;
  std::string uuid;
  std::int64_t machine_id = 0;
  std::string started_at;
  std::string finished_at;  // empty while running
  std::string status;       // running | complete | interrupted | failed
  std::string command_line;
  nlohmann::json settings = nlohmann::json::object();
  nlohmann::json environment = nlohmann::json::object();
  std::string owner;        // host/boot-id/pid/start-time of the writing process
  std::string error;
  std::int64_t measurement_count = 0;
};

struct FitRecord {
  std::int64_t run_id = 0;
  std::string device;
  std::string probe;
  std::string variant;
  std::string kind;  // "plateaus", ...
  nlohmann::json result;
};

// Everything stored about one run, as calibration and the reports consume it.
struct RunView {
  RunRecord run;
  std::optional<MachineRecord> machine;
  std::vector<Measurement> measurements;
  std::vector<FitRecord> fits;
};

}  // namespace roofaudit::store
