#include "store/store.hpp"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <sqlite3.h>

#include "values/device_id.hpp"
#include "values/error.hpp"
#include "store/rows.hpp"
#include "store/schema.hpp"

namespace roofaudit::store {
namespace {

std::string new_uuid() {
  std::random_device rd;
  std::mt19937_64 gen((std::uint64_t(rd()) << 32) ^ rd() ^
                      std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()));
  const std::uint64_t hi = (gen() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  const std::uint64_t lo = (gen() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                     lo >> 48, lo & 0xffffffffffffULL);
}

void ensure_parent_directory(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) throw Error(fmt::format("cannot create directory {} for the database: {}", parent.string(), ec.message()));
}

// The key a device row is named by, as probes name it (DeviceId: "cpu", "gpu:0", ...),
// from its kind and ordinal at `column` and the next.
std::string device_key(Statement& s, int column) {
  DeviceInfo info;
  info.kind = s.text(column);
  info.ordinal = int(s.integer(column + 1));
  return DeviceId::of(info).key();
}

Measurement read_measurement_row(Statement& s) {
  Measurement m;
  m.probe = s.text(1);
  m.probe_version = int(s.integer(2));
  m.variant = s.text(3);
  m.metric = s.text(4);
  m.unit = s.text(5);
  m.higher_is_better = s.integer(6) != 0;
  m.convention = s.text(7);
  m.params = stored_json(s.text(8), "params", "measurement", s.integer(0), true);
  m.valid = s.integer(9) != 0;
  m.validation = s.text(10);
  if (!s.is_null(11)) {
    m.summary = Summary{s.real(11), s.real(12), s.real(13), s.real(14), s.real(15), s.real(16), s.real(17)};
  }
  m.device = device_key(s, 18);
  m.supported = s.integer(20) != 0;
  return m;
}

}  // namespace

// A JSON column as stored: a file damaged by hand or by a tool other than roofaudit is
// refused with the row it is in, never thrown as a parse error from deep in a report.
nlohmann::json stored_json(const std::string& text, const char* column, const char* table, std::int64_t id,
                           bool object) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || (object && !j.is_object()))
    throw Error(fmt::format("the database is damaged: {} {}'s {} is not a JSON {}", table, id, column,
                            object ? "object" : "value"));
  return j;
}

std::string file_uri(const std::string& path, const char* query) {
  std::string out = "file:";
  for (unsigned char c : std::filesystem::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f) out += fmt::format("%{:02X}", c);
    else out += char(c);
  }
  return out + query;
}

namespace {

std::int64_t count_objects(Database& db) {
  Statement s(db, "SELECT count(*) FROM sqlite_master");
  return s.step() ? s.integer(0) : 0;
}

// The schema version, checked: read with the file's contents in one snapshot, so a
// writer creating the schema at that moment is seen before or after, never half-way
// (tables without their version would read as a foreign database).
int checked_version(Database& db) {
  int version = 0;
  std::int64_t objects = 0;
  db.exec("BEGIN");
  try {
    version = db.user_version();
    objects = count_objects(db);
    check_schema(db, version, "main", db.path());
    db.exec("COMMIT");
  } catch (const Error&) {
    try {
      db.exec("ROLLBACK");
    } catch (const Error&) {
      // The connection is closed with the Store that failed to open.
    }
    throw;
  }
  if (version > latest_schema_version())
    throw Error(fmt::format("database {} has schema version {}, newer than this roofaudit supports ({}); "
                            "use a newer roofaudit", db.path(), version, latest_schema_version()));
  if (version == 0 && objects > 0)
    throw Error(fmt::format("{} is an SQLite database but not a roofaudit one (no schema version)", db.path()));
  return version;
}

bool writable(const std::string& path) {
  const auto parent = std::filesystem::absolute(path).parent_path();
  return ::access(path.c_str(), W_OK) == 0 && ::access(parent.c_str(), W_OK) == 0;
}

}  // namespace

Store::Store(const std::string& path, StoreOptions options) {
  {
    // A database is a regular file (through links): a directory, a device, a FIFO or a
    // /proc file (whose size reads 0) is none, whatever else it holds.
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    if (std::filesystem::is_directory(st)) throw Error(fmt::format("database {} is a directory", path));
    if (std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
      throw Error(fmt::format("database {} is not a regular file", path));
    struct statfs fs {};
    if (std::filesystem::is_regular_file(st) && ::statfs(path.c_str(), &fs) == 0 &&
        (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC))
      throw Error(fmt::format("database {} is a file the kernel makes up (/proc, /sys), not a database", path));
  }
  if (options.read_only) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw Error(fmt::format("no database at {}: run 'roofaudit run' first", path));
    if (std::filesystem::is_directory(path, ec)) throw Error(fmt::format("database {} is a directory", path));
    if (std::filesystem::file_size(path, ec) == 0)
      throw Error(fmt::format("database {} is empty: no run is stored in it yet ('roofaudit run' stores one)", path));
    int version = 0;
    try {
      if (writable(path)) {
        // Where the file could be written, a reader opens it as a writer would but may not
        // write (query_only): as the last connection to close it, SQLite then folds the
        // -wal file back and removes it and the -shm, which a read-only connection cannot,
        // so reading leaves nothing beside the database.
        db_ = std::make_unique<Database>(path, options.busy_timeout_ms);
        db_->exec("PRAGMA query_only = ON");
      } else {
        db_ = std::make_unique<Database>(path, options.busy_timeout_ms, file_uri(path, "?mode=ro"));
      }
      version = checked_version(*db_);
    } catch (const Error&) {
      // A WAL database in a read-only directory without its -shm file: SQLite can read it
      // only as immutable (no writer can be at work where none can create the -shm).
      if (writable(path)) throw;
      db_ = std::make_unique<Database>(path, options.busy_timeout_ms, file_uri(path, "?mode=ro&immutable=1"));
      version = checked_version(*db_);
    }
    if (version == 0)
      throw Error(fmt::format("database {} is empty: no run is stored in it yet ('roofaudit run' stores one)", path));
    if (version == latest_schema_version()) return;
    if (!writable(path))
      throw Error(fmt::format("database {} has schema version {} and is read-only: a roofaudit with write access "
                              "migrates it to {} once",
                              path, version, latest_schema_version()));
    db_.reset();  // an older schema where it can be written: migrated, as a writer would
  }
  ensure_parent_directory(path);
  db_ = std::make_unique<Database>(path, options.busy_timeout_ms);
  // The version and the tables are read before anything (even the journal mode) is
  // written: a newer, foreign or damaged file is refused as it was found.
  checked_version(*db_);
  db_->enter_wal_mode();
  db_->exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL");
  migrate(*db_);
  recover_abandoned_runs();
}

std::int64_t Store::upsert_machine(const MachineRecord& m) {
  Transaction tx(*db_);
  db_->prepare(
         "INSERT INTO machines (fingerprint, hostname, cpu_model, cpu_vendor, architecture, packages, cores, "
         "threads, numa_nodes, caches_reported, memory_reported_bytes, first_seen) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (fingerprint) DO NOTHING")
      .bind(1, m.fingerprint).bind(2, m.hostname).bind(3, m.cpu_model).bind(4, m.cpu_vendor)
      .bind(5, m.architecture).bind(6, m.packages).bind(7, m.cores).bind(8, m.threads)
      .bind(9, m.numa_nodes).bind(10, m.caches_reported.dump())
      .bind(11, std::int64_t(m.memory_reported_bytes)).bind(12, utc_now_iso8601())
      .run();
  Statement& q = db_->prepare("SELECT id FROM machines WHERE fingerprint = ?1");
  q.bind(1, m.fingerprint).step();
  const std::int64_t id = q.integer(0);
  q.reset();
  tx.commit();
  return id;
}

std::int64_t Store::upsert_device(std::int64_t machine_id, const DeviceInfo& d) {
  Transaction tx(*db_);
  db_->prepare(
         "INSERT INTO devices (machine_id, kind, ordinal, name, properties) VALUES (?1, ?2, ?3, ?4, ?5) "
         "ON CONFLICT (machine_id, kind, ordinal, name) DO UPDATE SET properties = excluded.properties")
      .bind(1, machine_id).bind(2, d.kind).bind(3, d.ordinal).bind(4, d.name).bind(5, d.properties.dump())
      .run();
  Statement& q = db_->prepare("SELECT id FROM devices WHERE machine_id = ?1 AND kind = ?2 AND ordinal = ?3 AND name = ?4");
  q.bind(1, machine_id).bind(2, d.kind).bind(3, d.ordinal).bind(4, d.name).step();
  const std::int64_t id = q.integer(0);
  q.reset();
  tx.commit();
  return id;
}

std::int64_t Store::begin_run(std::int64_t machine_id, const std::string& command_line,
                              const nlohmann::json& settings, const nlohmann::json& environment) {
  Transaction tx(*db_);
  db_->prepare(
         "INSERT INTO runs (uuid, machine_id, started_at, status, command_line, settings, environment, owner) "
         "VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7)")
      .bind(1, new_uuid()).bind(2, machine_id).bind(3, utc_now_iso8601()).bind(4, command_line)
      .bind(5, settings.dump()).bind(6, environment.dump()).bind(7, this_process_owner())
      .run();
  const std::int64_t id = db_->last_insert_id();
  tx.commit();
  hold_run_lock(path(), id);
  return id;
}

void Store::finish_run(std::int64_t run_id, const std::string& status, const std::string& error) {
  release_run_lock(path(), run_id);
  Transaction tx(*db_);
  Statement& s = db_->prepare("UPDATE runs SET status = ?1, finished_at = ?2, error = ?3 WHERE id = ?4");
  s.bind(1, status).bind(2, utc_now_iso8601());
  if (error.empty()) s.bind(3, std::nullopt); else s.bind(3, error);
  s.bind(4, run_id).run();
  tx.commit();
}

std::int64_t Store::add_measurement(std::int64_t run_id, std::int64_t device_id, const Measurement& m) {
  Transaction tx(*db_);
  Statement& ins = db_->prepare(
      "INSERT INTO measurements (run_id, device_id, probe, probe_version, variant, metric, unit, higher_is_better, "
      "convention, params, valid, validation, best, median, min, max, mean, stddev, cv, created_at, supported) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)");
  ins.bind(1, run_id).bind(2, device_id).bind(3, m.probe).bind(4, m.probe_version).bind(5, m.variant)
      .bind(6, m.metric).bind(7, m.unit).bind(8, int(m.higher_is_better)).bind(9, m.convention)
      .bind(10, m.params.dump()).bind(11, int(m.valid)).bind(12, m.validation);
  const bool has_figure = m.valid && m.summary;
  auto figure = [&](double v) { return has_figure ? std::optional<double>(v) : std::nullopt; };
  const Summary s = m.summary.value_or(Summary{});
  ins.bind(13, figure(s.best)).bind(14, figure(s.median)).bind(15, figure(s.min)).bind(16, figure(s.max))
      .bind(17, figure(s.mean)).bind(18, figure(s.stddev)).bind(19, figure(s.cv)).bind(20, utc_now_iso8601()).bind(21, int(m.supported));
  ins.run();
  const std::int64_t id = db_->last_insert_id();
  if (has_figure) {
    Statement& sample = db_->prepare("INSERT INTO samples (measurement_id, repetition, value, seconds) VALUES (?1, ?2, ?3, ?4)");
    for (std::size_t i = 0; i < m.samples.size(); ++i) {
      sample.reset();
      sample.bind(1, id).bind(2, std::int64_t(i)).bind(3, m.samples[i].value).bind(4, m.samples[i].seconds).run();
    }
  }
  tx.commit();
  return id;
}

void Store::put_fit(std::int64_t run_id, std::int64_t device_id, const FitRecord& fit) {
  Transaction tx(*db_);
  db_->prepare(
         "INSERT INTO fits (run_id, device_id, probe, variant, kind, result, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
         "ON CONFLICT (run_id, device_id, probe, variant, kind) DO UPDATE SET result = excluded.result, "
         "created_at = excluded.created_at")
      .bind(1, run_id).bind(2, device_id).bind(3, fit.probe).bind(4, fit.variant).bind(5, fit.kind)
      .bind(6, fit.result.dump()).bind(7, utc_now_iso8601())
      .run();
  tx.commit();
}

namespace {
const char* kRunColumns =
    "SELECT r.id, r.uuid, r.machine_id, r.started_at, coalesce(r.finished_at, ''), r.status, r.command_line, "
    "r.settings, r.environment, r.owner, coalesce(r.error, ''), "
    "(SELECT count(*) FROM measurements m WHERE m.run_id = r.id) FROM runs r ";

RunRecord read_run_row(Statement& s) {
  RunRecord r;
  r.id = s.integer(0);
  r.uuid = s.text(1);
  r.machine_id = s.integer(2);
  r.started_at = s.text(3);
  r.finished_at = s.text(4);
  r.status = s.text(5);
  r.command_line = s.text(6);
  r.settings = stored_json(s.text(7), "settings", "run", r.id, true);
  r.environment = stored_json(s.text(8), "environment", "run", r.id, true);
  r.owner = s.text(9);
  r.error = s.text(10);
  r.measurement_count = s.integer(11);
  return r;
}
}  // namespace

// A run stored as running whose writer is gone reads as interrupted, in every reader,
// whether or not the file can be written (a writer's open marks it so for good).
static void resolve_status(RunRecord& r, const std::string& path) {
  if (r.status != "running" || run_writer_alive(path, r.id, r.owner)) return;
  r.status = "interrupted";
  if (r.error.empty()) r.error = "the writing process ended before the run finished";
}

std::vector<RunRecord> Store::runs() {
  std::vector<RunRecord> out;
  Statement& s = db_->prepare(std::string(kRunColumns) + "ORDER BY r.id");
  while (s.step()) {
    out.push_back(read_run_row(s));
    resolve_status(out.back(), path());
  }
  return out;
}

std::optional<RunRecord> Store::run(std::int64_t run_id) {
  Statement& s = db_->prepare(std::string(kRunColumns) + "WHERE r.id = ?1");
  s.bind(1, run_id);
  std::optional<RunRecord> r;
  if (s.step()) r = read_run_row(s);
  s.reset();
  if (r) resolve_status(*r, path());
  return r;
}

std::optional<MachineRecord> Store::machine(std::int64_t machine_id) {
  Statement& s = db_->prepare(
      "SELECT id, fingerprint, hostname, cpu_model, cpu_vendor, architecture, packages, cores, threads, numa_nodes, "
      "caches_reported, memory_reported_bytes, first_seen FROM machines WHERE id = ?1");
  s.bind(1, machine_id);
  std::optional<MachineRecord> out;
  if (s.step()) {
    MachineRecord m;
    m.id = s.integer(0);
    m.fingerprint = s.text(1);
    m.hostname = s.text(2);
    m.cpu_model = s.text(3);
    m.cpu_vendor = s.text(4);
    m.architecture = s.text(5);
    m.packages = int(s.integer(6));
    m.cores = int(s.integer(7));
    m.threads = int(s.integer(8));
    m.numa_nodes = int(s.integer(9));
    m.caches_reported = stored_json(s.text(10), "caches_reported", "machine", m.id);
    m.memory_reported_bytes = std::uint64_t(s.integer(11));
    m.first_seen = s.text(12);
    out = m;
  }
  s.reset();
  return out;
}

std::vector<Measurement> Store::measurements(std::int64_t run_id) {
  std::vector<std::pair<std::int64_t, Measurement>> rows;
  Statement& s = db_->prepare(
      "SELECT m.id, m.probe, m.probe_version, m.variant, m.metric, m.unit, m.higher_is_better, m.convention, "
      "m.params, m.valid, m.validation, m.best, m.median, m.min, m.max, m.mean, m.stddev, m.cv, "
      "d.kind, d.ordinal, m.supported "
      "FROM measurements m JOIN devices d ON d.id = m.device_id WHERE m.run_id = ?1 ORDER BY m.id");
  s.bind(1, run_id);
  while (s.step()) rows.emplace_back(s.integer(0), read_measurement_row(s));
  Statement& samples = db_->prepare("SELECT value, seconds FROM samples WHERE measurement_id = ?1 ORDER BY repetition");
  std::vector<Measurement> out;
  for (auto& [id, m] : rows) {
    samples.reset();
    samples.bind(1, id);
    while (samples.step()) m.samples.push_back({samples.real(0), samples.real(1)});
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<FitRecord> Store::fits(std::int64_t run_id) {
  std::vector<FitRecord> out;
  Statement& s = db_->prepare(
      "SELECT f.run_id, d.kind, d.ordinal, f.probe, f.variant, "
      "f.kind, f.result FROM fits f JOIN devices d ON d.id = f.device_id "
      "WHERE f.run_id = ?1 ORDER BY f.id");
  s.bind(1, run_id);
  while (s.step()) {
    out.push_back({s.integer(0), device_key(s, 1), s.text(3), s.text(4), s.text(5),
                   stored_json(s.text(6), "result", "fit of run", run_id)});
    // The shape each kind's readers take for granted: a list of objects (plateaus, model
    // predictions) or an object (the rest).
    const auto& f = out.back();
    const bool list = f.kind == "plateaus" || f.kind == "model_prediction";
    bool fits = list ? f.result.is_array() : f.result.is_object();
    if (list)
      for (const auto& e : f.result) fits = fits && e.is_object();
    if (!fits)
      throw Error(fmt::format("the database is damaged: run {}'s {} fit of {} is not a JSON {}", run_id, f.kind,
                              f.probe, list ? "list of objects" : "object"));
  }
  return out;
}

std::vector<std::pair<std::int64_t, DeviceInfo>> Store::run_devices(std::int64_t run_id) {
  std::vector<std::pair<std::int64_t, DeviceInfo>> out;
  Statement& s = db_->prepare(
      "SELECT d.id, d.kind, d.ordinal, d.name, d.properties FROM devices d JOIN "
      "(SELECT device_id, MIN(id) AS first FROM measurements WHERE run_id = ?1 GROUP BY device_id) m "
      "ON m.device_id = d.id ORDER BY m.first");
  s.bind(1, run_id);
  while (s.step())
    out.push_back({s.integer(0), {s.text(1), int(s.integer(2)), s.text(3), stored_json(s.text(4), "properties", "device", s.integer(0), true)}});
  return out;
}

void Store::tag_run(std::int64_t run_id, const std::string& name) {
  if (name.empty()) throw Error("a tag needs a name");
  if (!run(run_id)) throw Error(fmt::format("no run {} in {}", run_id, db_->path()));
  Transaction tx(*db_);
  db_->prepare("INSERT INTO tags (name, run_id, created_at) VALUES (?1, ?2, ?3) "
               "ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id, created_at = excluded.created_at")
      .bind(1, name).bind(2, run_id).bind(3, utc_now_iso8601())
      .run();
  tx.commit();
}

std::optional<std::int64_t> Store::tagged_run(const std::string& name) {
  Statement& s = db_->prepare("SELECT run_id FROM tags WHERE name = ?1");
  s.bind(1, name);
  std::optional<std::int64_t> out;
  if (s.step()) out = s.integer(0);
  s.reset();
  return out;
}

int Store::recover_abandoned_runs() {
  std::vector<std::pair<std::int64_t, std::string>> running;
  Statement& s = db_->prepare("SELECT id, owner FROM runs WHERE status = 'running'");
  while (s.step()) running.emplace_back(s.integer(0), s.text(1));
  int marked = 0;
  for (const auto& [id, owner] : running) {
    if (run_writer_alive(path(), id, owner)) continue;
    Transaction tx(*db_);
    db_->prepare("UPDATE runs SET status = 'interrupted', error = ?1 WHERE id = ?2 AND status = 'running'")
        .bind(1, std::string("the writing process ended before the run finished (found on a later open)"))
        .bind(2, id)
        .run();
    tx.commit();
    ++marked;
  }
  return marked;
}


void Store::note_environment(std::int64_t run_id, const std::string& key, const std::string& value) {
  db_->prepare("UPDATE runs SET environment = json_set(environment, '$.\"' || ?1 || '\"', ?2) WHERE id = ?3")
      .bind(1, key).bind(2, value).bind(3, run_id)
      .run();
}

}  // namespace roofaudit::store
