// Store::merge_files and the checks a handed file passes before anything of it is copied.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <sqlite3.h>

#include "store/owner.hpp"
#include "store/rows.hpp"
#include "store/schema.hpp"
#include "store/store.hpp"
#include "values/error.hpp"

namespace roofaudit::store {
namespace {

// A file: URI for ATTACH, read-only, with the characters URIs reserve escaped. A file
// closed cleanly (no write-ahead log beside it) is opened immutable, so that reading it
// leaves no -shm and -wal files behind; one with a log is read through it.
std::string read_only_uri(const std::string& path) {
  std::error_code ec;
  return file_uri(path, std::filesystem::exists(path + "-wal", ec) ? "?mode=ro" : "?mode=ro&immutable=1");
}

// Detaches the other database however the merge ends.
struct Attached {
  Database& db;
  ~Attached() { sqlite3_exec(db.handle(), "DETACH DATABASE other", nullptr, nullptr, nullptr); }
};

std::int64_t scalar(Database& db, const std::string& sql) {
  Statement s(db, sql);
  return s.step() ? s.integer(0) : 0;
}

// Joins a row's device in the other database to the same device here (by machine
// fingerprint, kind, ordinal and name).
constexpr const char* kDeviceJoin =
    "JOIN other.devices d ON d.id = x.device_id JOIN other.machines om ON om.id = d.machine_id "
    "JOIN main.machines m ON m.fingerprint = om.fingerprint "
    "JOIN main.devices md ON md.machine_id = m.id AND md.kind = d.kind AND md.ordinal = d.ordinal AND md.name = d.name";

// The merge is all or nothing: a row the copying join could not take (the checks above
// missed a way of being damaged) rolls the whole merge back rather than being skipped.
void copied_one_row(Database& db, const std::string& path, const char* what, std::int64_t id) {
  if (sqlite3_changes(db.handle()) != 1)
    throw Error(fmt::format("cannot merge {}: its {} {} could not be copied (the file is damaged)", path, what, id));
}

}  // namespace

namespace {

// What the path is: a regular file, not this database.
void check_is_another_file(const std::string& path, const std::string& own_path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(fmt::format("cannot merge {}: it is a directory", path));
  if (!std::filesystem::exists(path, ec)) throw Error(fmt::format("cannot merge {}: no such file", path));
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(fmt::format("cannot merge {}: not a regular file", path));
  if (std::filesystem::equivalent(path, own_path, ec)) throw Error(fmt::format("cannot merge {} into itself", path));
}

// The attached file's schema version: a roofaudit database this roofaudit can read.
int roofaudit_version_of(Database& db, const std::string& path) {
  int version = 0;
  try {
    version = int(scalar(db, "PRAGMA other.user_version"));
    if (version == 0 || scalar(db, "SELECT count(*) FROM other.sqlite_master WHERE name = 'runs'") == 0)
      throw Error("");
  } catch (const Error&) {
    throw Error(fmt::format("cannot merge {}: not a roofaudit database", path));
  }
  if (version > latest_schema_version())
    throw Error(fmt::format("cannot merge {}: its schema version {} is newer than this roofaudit supports ({}); use a "
                            "newer roofaudit", path, version, latest_schema_version()));
  try {
    check_schema(db, version, "other", path);
  } catch (const Error& e) {
    throw Error(fmt::format("cannot merge: {}", e.what()));
  }
  return version;
}

// A damaged file may still answer some queries: it would merge in part, or differently
// on a second try. SQLite's own check of every page first, and of every index against
// its table (quick_check passes an index that lacks a table's rows: the first merge
// reads the table, the second finds the runs through the index and hits the damage).
void check_pages(Database& db, const std::string& path) {
  std::string damage;
  try {
    Statement check(db, "PRAGMA other.integrity_check");
    while (check.step() && damage.empty()) {
      // "*** in database other ***\nPage 9: ..." : the finding, on one line.
      std::string line = check.text(0);
      if (line == "ok") continue;
      if (line.rfind("*** in database", 0) == 0 && line.find('\n') != std::string::npos) line = line.substr(line.find('\n') + 1);
      std::replace(line.begin(), line.end(), '\n', ' ');
      damage = line;
    }
  } catch (const Error&) {
    if (damage.empty()) damage = sqlite3_errmsg(db.handle());
  }
  if (!damage.empty()) throw Error(fmt::format("cannot merge {}: it is damaged ({})", path, damage));
}

// Every row it would bring must be whole: a run with an id, a uuid, a known status and
// its machine; a measurement or fit of a run and a device that are there. (A row that is
// not would be skipped by the copying joins, and the merge would count what it never took.)
void check_rows(Database& db, const std::string& path, int version) {
  struct RowCheck {
    const char* table;
    int since;  // schema version that has the table
    const char* sql;
  };
  static constexpr RowCheck kRowChecks[] = {
      {"runs", 1, "SELECT count(*) FROM other.runs r WHERE typeof(r.id) != 'integer' OR typeof(r.uuid) != 'text' OR "
                  "r.uuid = '' OR r.status NOT IN ('running', 'complete', 'interrupted', 'failed') OR NOT EXISTS "
                  "(SELECT 1 FROM other.machines m WHERE m.id = r.machine_id AND typeof(m.fingerprint) = 'text')"},
      {"measurements", 1, "SELECT count(*) FROM other.measurements x WHERE typeof(x.id) != 'integer' OR "
                          "NOT EXISTS (SELECT 1 FROM other.runs r WHERE r.id = x.run_id) OR "
                          "NOT EXISTS (SELECT 1 FROM other.devices d JOIN other.machines m ON m.id = d.machine_id "
                          "WHERE d.id = x.device_id)"},
      {"fits", 2, "SELECT count(*) FROM other.fits f WHERE NOT EXISTS (SELECT 1 FROM other.devices d JOIN "
                  "other.machines m ON m.id = d.machine_id WHERE d.id = f.device_id)"},
  };
  for (const auto& c : kRowChecks) {
    if (version < c.since) continue;
    std::int64_t bad = 0;
    try {
      bad = scalar(db, c.sql);
    } catch (const Error&) {
      throw Error(fmt::format("cannot merge {}: not a roofaudit database (its {} table is not roofaudit's)", path, c.table));
    }
    if (bad > 0)
      throw Error(fmt::format("cannot merge {}: it is damaged ({} of its {} rows are incomplete)", path, bad, c.table));
  }
}

// Every JSON column it would bring must read back here, by the reader that will read it
// (SQLite's json_valid takes what nlohmann's parser refuses, invalid UTF-8 in a string
// for one): a damaged row is refused now, not thrown later by a report.
void check_json_columns(Database& db, const std::string& path, int version) {
  struct JsonColumn {
    const char* table;
    const char* column;
    bool object;
    int since;
  };
  static constexpr JsonColumn kJsonColumns[] = {
      {"runs", "settings", true, 1},      {"runs", "environment", true, 1},    {"machines", "caches_reported", false, 1},
      {"devices", "properties", true, 1}, {"measurements", "params", true, 1}, {"fits", "result", false, 2}};
  for (const auto& c : kJsonColumns) {
    if (version < c.since) continue;
    std::optional<Statement> rows;
    try {
      rows.emplace(db, fmt::format("SELECT rowid, {} FROM other.{}", c.column, c.table));
    } catch (const Error&) {
      throw Error(fmt::format("cannot merge {}: not a roofaudit database (its {} table lacks {})", path, c.table, c.column));
    }
    while (rows->step()) {
      try {
        stored_json(rows->text(1), c.column, c.table, rows->integer(0), c.object);
      } catch (const Error&) {
        throw Error(fmt::format("cannot merge {}: it is damaged ({} {}'s {} is not a JSON {})", path, c.table,
                                rows->integer(0), c.column, c.object ? "object" : "value"));
      }
    }
  }
}

}  // namespace

void Store::check_mergeable(const std::string& path) {
  check_is_another_file(path, db_->path());
  Statement attach(*db_, "ATTACH DATABASE ?1 AS other");
  attach.bind(1, read_only_uri(path));
  try {
    attach.run();
  } catch (const Error&) {
    throw Error(fmt::format("cannot open {} to merge: {}", path, sqlite3_errmsg(db_->handle())));
  }
  Attached guard{*db_};
  const int version = roofaudit_version_of(*db_, path);
  check_pages(*db_, path);
  check_rows(*db_, path, version);
  check_json_columns(*db_, path, version);
}

namespace {

using MergeResult = Store::MergeResult;

// Machines and their devices the other file knows and this one lacks (by fingerprint),
// and how many runs it has that are here already, or still running there.
void copy_machines(Database& db, MergeResult& out) {
  const std::int64_t machines_before = scalar(db, "SELECT count(*) FROM main.machines");
  db.exec("INSERT OR IGNORE INTO main.machines (fingerprint, hostname, cpu_model, cpu_vendor, architecture, packages, "
          "cores, threads, numa_nodes, caches_reported, memory_reported_bytes, first_seen) "
            "SELECT fingerprint, hostname, cpu_model, cpu_vendor, architecture, packages, cores, threads, numa_nodes, "
          "caches_reported, memory_reported_bytes, first_seen FROM other.machines");
  out.machines_added = int(scalar(db, "SELECT count(*) FROM main.machines") - machines_before);
  db.exec("INSERT OR IGNORE INTO main.devices (machine_id, kind, ordinal, name, properties) "
          "SELECT m.id, d.kind, d.ordinal, d.name, d.properties FROM other.devices d "
            "JOIN other.machines om ON om.id = d.machine_id JOIN main.machines m ON m.fingerprint = om.fingerprint");
  out.runs_present = int(scalar(db, "SELECT count(*) FROM other.runs WHERE uuid IN (SELECT uuid FROM main.runs)"));
  out.runs_running = int(scalar(
      db, "SELECT count(*) FROM other.runs WHERE status = 'running' AND uuid NOT IN (SELECT uuid FROM main.runs)"));
}

// Every finished run this database lacks, with its measurements, samples and fits.
void copy_runs(Database& db, const std::string& path, int version, MergeResult& out) {
  std::vector<std::int64_t> new_runs;
  {
    Statement s(db, "SELECT id FROM other.runs WHERE status != 'running' AND uuid NOT IN (SELECT uuid FROM main.runs) "
                    "ORDER BY started_at, id");
    while (s.step()) new_runs.push_back(s.integer(0));
  }
  Statement insert_run(db,
                       "INSERT INTO main.runs (uuid, machine_id, started_at, finished_at, status, command_line, settings, "
                       "environment, owner, error) SELECT r.uuid, m.id, r.started_at, r.finished_at, r.status, "
                       "r.command_line, r.settings, r.environment, r.owner, r.error FROM other.runs r "
                       "JOIN other.machines om ON om.id = r.machine_id JOIN main.machines m ON m.fingerprint = om.fingerprint "
                       "WHERE r.id = ?1");
  Statement list_measurements(db, "SELECT id FROM other.measurements WHERE run_id = ?1 ORDER BY id");
  Statement insert_measurement(
      db, fmt::format("INSERT INTO main.measurements (run_id, device_id, probe, probe_version, variant, metric, unit, "
                        "higher_is_better, convention, params, valid, validation, best, median, min, max, mean, stddev, cv, "
                        "created_at, supported) SELECT ?1, md.id, x.probe, x.probe_version, x.variant, x.metric, x.unit, "
                        "x.higher_is_better, x.convention, x.params, x.valid, x.validation, x.best, x.median, x.min, x.max, "
                        "x.mean, x.stddev, x.cv, x.created_at, {} FROM other.measurements x {} WHERE x.id = ?2",
                        version >= 3 ? "x.supported" : "1", kDeviceJoin));
  Statement insert_samples(db, "INSERT INTO main.samples (measurement_id, repetition, value, seconds) "
                                 "SELECT ?1, repetition, value, seconds FROM other.samples WHERE measurement_id = ?2");
  std::optional<Statement> insert_fits;
  if (version >= 2)
    insert_fits.emplace(db, fmt::format("INSERT INTO main.fits (run_id, device_id, probe, variant, kind, result, "
                                          "created_at) SELECT ?1, md.id, x.probe, x.variant, x.kind, x.result, x.created_at "
                                          "FROM other.fits x {} WHERE x.run_id = ?2",
                                          kDeviceJoin));
  for (const std::int64_t old_run : new_runs) {
    insert_run.bind(1, old_run).run();
    copied_one_row(db, path, "run", old_run);
    const std::int64_t run_id = db.last_insert_id();
    out.new_run_ids.push_back(run_id);
    std::vector<std::int64_t> measurements;
    list_measurements.bind(1, old_run);
    while (list_measurements.step()) measurements.push_back(list_measurements.integer(0));
    list_measurements.reset();
    for (const std::int64_t old_m : measurements) {
      insert_measurement.bind(1, run_id).bind(2, old_m).run();
      copied_one_row(db, path, "measurement", old_m);
      insert_samples.bind(1, db.last_insert_id()).bind(2, old_m).run();
    }
    out.measurements_added += std::int64_t(measurements.size());
    if (insert_fits) insert_fits->bind(1, run_id).bind(2, old_run).run();
  }
  out.runs_added = int(new_runs.size());

}

// The other file's tags of the runs now here; a name already used here keeps its run.
void copy_tags(Store& store, Database& db, int version, MergeResult& out) {
  if (version < 4) return;
  std::vector<std::pair<std::string, std::int64_t>> tags;
  {
    Statement s(db, "SELECT t.name, mr.id FROM other.tags t JOIN other.runs r ON r.id = t.run_id "
                    "JOIN main.runs mr ON mr.uuid = r.uuid ORDER BY t.name");
    while (s.step()) tags.emplace_back(s.text(0), s.integer(1));
  }
  for (const auto& [name, run_id] : tags) {
    const auto here = store.tagged_run(name);
    if (here && *here == run_id) continue;
    if (here) {
      out.tags_kept.push_back(name);
      continue;
    }
    db.prepare("INSERT INTO tags (name, run_id, created_at) VALUES (?1, ?2, ?3)")
        .bind(1, name).bind(2, run_id).bind(3, utc_now_iso8601())
        .run();
    out.tags_added.push_back(name);
  }
}

}  // namespace

Store::MergeResult Store::merge_from(const std::string& path) { return merge_files({path}).front(); }

std::vector<Store::MergeResult> Store::merge_files(const std::vector<std::string>& paths) {
  for (const auto& path : paths) check_mergeable(path);
  std::vector<MergeResult> out;
  for (const auto& path : paths) out.push_back(copy_checked(path));
  return out;
}

Store::MergeResult Store::copy_checked(const std::string& path) {
  Statement attach(*db_, "ATTACH DATABASE ?1 AS other");
  attach.bind(1, read_only_uri(path));
  attach.run();
  Attached guard{*db_};
  const int version = int(scalar(*db_, "PRAGMA other.user_version"));
  MergeResult out;
  Transaction tx(*db_);
  copy_machines(*db_, out);
  copy_runs(*db_, path, version, out);
  copy_tags(*this, *db_, version, out);
  tx.commit();
  return out;
}

}  // namespace roofaudit::store
