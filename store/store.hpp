#pragma once
// roofaudit's repository over SQLite: machines, devices, runs, measurements with every
// raw sample, and fits. One transaction per logical write, so an interrupted audit
// keeps everything it finished.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probes/measurement.hpp"
#include "store/database.hpp"
#include "store/records.hpp"

namespace roofaudit::store {

struct StoreOptions {
  int busy_timeout_ms = 5000;
};

class Store {
 public:
  // Opens or creates the database, refuses newer or foreign files, migrates, and marks
  // runs whose writer died as interrupted.
  explicit Store(const std::string& path, StoreOptions options = {});

  std::int64_t upsert_machine(const MachineRecord& machine);
  std::int64_t upsert_device(std::int64_t machine_id, const DeviceInfo& device);

  std::int64_t begin_run(std::int64_t machine_id, const std::string& command_line,
                         const nlohmann::json& settings, const nlohmann::json& environment);
  void finish_run(std::int64_t run_id, const std::string& status, const std::string& error = "");
  std::int64_t add_measurement(std::int64_t run_id, std::int64_t device_id, const Measurement& m);
  void put_fit(std::int64_t run_id, std::int64_t device_id, const FitRecord& fit);

  std::vector<RunRecord> runs();
  std::optional<RunRecord> run(std::int64_t run_id);
  std::optional<MachineRecord> machine(std::int64_t machine_id);
  std::vector<Measurement> measurements(std::int64_t run_id);
  std::vector<FitRecord> fits(std::int64_t run_id);
  // The devices a run measured, with their ids, in the order first measured.
  std::vector<std::pair<std::int64_t, DeviceInfo>> run_devices(std::int64_t run_id);

  // Names a run; a name already in use moves to this run. Throws Error for a missing run
  // or an empty name.
  void tag_run(std::int64_t run_id, const std::string& name);
  std::optional<std::int64_t> tagged_run(const std::string& name);

  // Runs left 'running' by a process that no longer exists become 'interrupted'.
  // Returns how many were marked.
  int recover_abandoned_runs();

  const std::string& path() const { return db_->path(); }
  Database& database() { return *db_; }

 private:
  std::unique_ptr<Database> db_;
};

// Identity of the calling process, unique across reboots: host/boot-id/pid/start-time.
std::string this_process_owner();
// Whether the process named by an owner string is still alive (true when unknowable,
// e.g. it ran on another host).
bool owner_is_alive(const std::string& owner);
std::string utc_now_iso8601();

}  // namespace roofaudit::store
