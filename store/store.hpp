#pragma once
// roofaudit's repository over SQLite: machines, devices, runs, measurements with every
// raw sample, and fits. One transaction per logical write, so an interrupted audit
// keeps everything it finished.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "values/measurement.hpp"
#include "store/database.hpp"
#include "store/owner.hpp"
#include "values/records.hpp"

namespace roofaudit::store {

struct StoreOptions {
  int busy_timeout_ms = 5000;
  // Readers: open read-only, never create or change the file (no schema, no journal mode,
  // no recovery of abandoned runs); a read-only file or directory reads fine. A file of an
  // older schema is migrated only where it can be written.
  bool read_only = false;
};

class Store {
 public:
  // Opens or creates the database, refuses newer, foreign or incomplete files before
  // writing anything, migrates, and marks runs whose writer died as interrupted.
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

  // Adds a fact to a run's recorded environment (a GPU's driver, known once the device
  // is opened). Annotating only: it never changes which series the run belongs to.
  void note_environment(std::int64_t run_id, const std::string& key, const std::string& value);

  // Copies into this database every finished run of the roofaudit database at `path`
  // that this one lacks (runs are matched by uuid), with its machine, devices,
  // measurements, samples, fits and tags, in one transaction; the other file is opened
  // read-only. Runs still running there are left out. A second merge of the same file
  // adds nothing. Throws Error, leaving this database as it was, on a missing, foreign
  // or newer file.
  struct MergeResult {
    int runs_added = 0, runs_present = 0, runs_running = 0, machines_added = 0;
    std::int64_t measurements_added = 0;
    std::vector<std::string> tags_added, tags_kept;  // kept: the name is already used here
    std::vector<std::int64_t> new_run_ids;
  };
  MergeResult merge_from(const std::string& path);
  // One merge command over several files: every file is checked (once) before any is
  // copied, so a file that cannot be merged merges nothing. One result per file, in order.
  std::vector<MergeResult> merge_files(const std::vector<std::string>& paths);
  // Throws the Error merge_from would for a file it cannot merge, changing nothing.
  void check_mergeable(const std::string& path);

  // Runs left 'running' by a process that no longer exists become 'interrupted'.
  // Returns how many were marked.
  int recover_abandoned_runs();

  const std::string& path() const { return db_->path(); }
  Database& database() { return *db_; }

 private:
  // The copy of a file check_mergeable has passed, in one transaction.
  MergeResult copy_checked(const std::string& path);

  std::unique_ptr<Database> db_;
};

}  // namespace roofaudit::store
