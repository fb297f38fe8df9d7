#include "store/store.hpp"

#include <sys/stat.h>
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

#include "values/error.hpp"
#include "store/schema.hpp"

namespace roofaudit::store {
namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Field 22 of /proc/PID/stat: start time in clock ticks since boot. With the boot id it
// tells a live writer from a recycled pid.
std::string process_start_ticks(long pid) {
  const std::string stat = read_first_line(fmt::format("/proc/{}/stat", pid));
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return field;
  }
  return {};
}

std::string hostname() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

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

// A JSON column as stored: a file damaged by hand or by a tool other than roofaudit is
// refused with the row it is in, never thrown as a parse error from deep in a report.
nlohmann::json stored_json(const std::string& text, const char* column, const char* table, std::int64_t id,
                           bool object = false) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || (object && !j.is_object()))
    throw Error(fmt::format("the database is damaged: {} {}'s {} is not a JSON {}", table, id, column,
                            object ? "object" : "value"));
  return j;
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
  m.device = s.text(18);
  m.supported = s.integer(19) != 0;
  return m;
}

}  // namespace

std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, int(ms));
}

std::string this_process_owner() {
  const long pid = long(getpid());
  return fmt::format("{}/{}/{}/{}", hostname(), read_first_line("/proc/sys/kernel/random/boot_id"), pid,
                     process_start_ticks(pid));
}

bool owner_is_alive(const std::string& owner) {
  std::vector<std::string> parts;
  std::stringstream in(owner);
  for (std::string part; std::getline(in, part, '/');) parts.push_back(part);
  if (parts.size() != 4) return true;
  if (parts[0] != hostname()) return true;  // another host's process: cannot tell
  if (parts[1] != read_first_line("/proc/sys/kernel/random/boot_id")) return false;  // rebooted since
  long pid = 0;
  try {
    pid = std::stol(parts[2]);
  } catch (...) {
    return true;
  }
  return process_start_ticks(pid) == parts[3];
}

namespace {

std::string file_uri(const std::string& path, const char* query) {
  std::string out = "file:";
  for (unsigned char c : std::filesystem::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f) out += fmt::format("%{:02X}", c);
    else out += char(c);
  }
  return out + query;
}

std::int64_t count_objects(Database& db) {
  Statement s(db, "SELECT count(*) FROM sqlite_master");
  return s.step() ? s.integer(0) : 0;
}

// The tables the current schema has, from a fresh in-memory database migrated to it.
std::vector<std::string> tables_of(Database& db) {
  std::vector<std::string> out;
  Statement s(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  while (s.step()) out.push_back(s.text(0));
  return out;
}

// A file at the current version must hold every table of that version (a damaged or
// hand-edited one fails here, before a run is begun in it).
void check_tables(Database& db) {
  static const std::vector<std::string> expected = [] {
    Database fresh(":memory:", 0);
    migrate(fresh);
    return tables_of(fresh);
  }();
  const auto found = tables_of(db);
  for (const auto& t : expected)
    if (std::find(found.begin(), found.end(), t) == found.end())
      throw Error(fmt::format("database {} lacks its '{}' table: it is damaged, not a roofaudit database this "
                              "version can use",
                              db.path(), t));
}

void check_version(Database& db, int version) {
  if (version > latest_schema_version())
    throw Error(fmt::format("database {} has schema version {}, newer than this roofaudit supports ({}); "
                            "use a newer roofaudit", db.path(), version, latest_schema_version()));
  if (version == 0 && count_objects(db) > 0)
    throw Error(fmt::format("{} is an SQLite database but not a roofaudit one (no schema version)", db.path()));
}

bool writable(const std::string& path) {
  const auto parent = std::filesystem::absolute(path).parent_path();
  return ::access(path.c_str(), W_OK) == 0 && ::access(parent.c_str(), W_OK) == 0;
}

}  // namespace

Store::Store(const std::string& path, StoreOptions options) {
  if (options.read_only) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw Error(fmt::format("no database at {}: run 'roofaudit run' first", path));
    if (std::filesystem::is_directory(path, ec)) throw Error(fmt::format("database {} is a directory", path));
    if (std::filesystem::file_size(path, ec) == 0)
      throw Error(fmt::format("database {} is empty: no run is stored in it yet ('roofaudit run' stores one)", path));
    int version = 0;
    try {
      db_ = std::make_unique<Database>(path, options.busy_timeout_ms, file_uri(path, "?mode=ro"));
      version = db_->user_version();
    } catch (const Error&) {
      // A WAL database in a read-only directory without its -shm file: SQLite can read it
      // only as immutable (no writer can be at work where none can create the -shm).
      if (writable(path)) throw;
      db_ = std::make_unique<Database>(path, options.busy_timeout_ms, file_uri(path, "?mode=ro&immutable=1"));
      version = db_->user_version();
    }
    check_version(*db_, version);
    if (version == 0)
      throw Error(fmt::format("database {} is empty: no run is stored in it yet ('roofaudit run' stores one)", path));
    if (version == latest_schema_version()) {
      check_tables(*db_);
      return;
    }
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
  const int version = db_->user_version();
  check_version(*db_, version);
  if (version == latest_schema_version()) check_tables(*db_);
  Statement& mode = db_->prepare("PRAGMA journal_mode = WAL");
  mode.step();
  mode.reset();
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
  return id;
}

void Store::finish_run(std::int64_t run_id, const std::string& status, const std::string& error) {
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

std::vector<RunRecord> Store::runs() {
  std::vector<RunRecord> out;
  Statement& s = db_->prepare(std::string(kRunColumns) + "ORDER BY r.id");
  while (s.step()) out.push_back(read_run_row(s));
  return out;
}

std::optional<RunRecord> Store::run(std::int64_t run_id) {
  Statement& s = db_->prepare(std::string(kRunColumns) + "WHERE r.id = ?1");
  s.bind(1, run_id);
  std::optional<RunRecord> r;
  if (s.step()) r = read_run_row(s);
  s.reset();
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
      // Devices are named as probes name them: "cpu", "gpu:0", ...
      "CASE WHEN d.kind = 'cpu' THEN d.kind ELSE d.kind || ':' || d.ordinal END, m.supported "
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
      "SELECT f.run_id, CASE WHEN d.kind = 'cpu' THEN d.kind ELSE d.kind || ':' || d.ordinal END, f.probe, f.variant, "
      "f.kind, f.result FROM fits f JOIN devices d ON d.id = f.device_id "
      "WHERE f.run_id = ?1 ORDER BY f.id");
  s.bind(1, run_id);
  while (s.step())
    out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4), stored_json(s.text(5), "result", "fit of run", run_id)});
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
    if (owner_is_alive(owner)) continue;
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

}  // namespace roofaudit::store

namespace roofaudit::store {
namespace {

// A file: URI for ATTACH, read-only, with the characters URIs reserve escaped. A file
// closed cleanly (no write-ahead log beside it) is opened immutable, so that reading it
// leaves no -shm and -wal files behind; one with a log is read through it.
std::string read_only_uri(const std::string& path) {
  std::string out = "file:";
  for (unsigned char c : std::filesystem::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#' || c < 0x20 || c >= 0x7f) out += fmt::format("%{:02X}", c);
    else out += char(c);
  }
  std::error_code ec;
  return out + (std::filesystem::exists(path + "-wal", ec) ? "?mode=ro" : "?mode=ro&immutable=1");
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

void Store::note_environment(std::int64_t run_id, const std::string& key, const std::string& value) {
  db_->prepare("UPDATE runs SET environment = json_set(environment, '$.\"' || ?1 || '\"', ?2) WHERE id = ?3")
      .bind(1, key).bind(2, value).bind(3, run_id)
      .run();
}

void Store::check_mergeable(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(fmt::format("cannot merge {}: it is a directory", path));
  if (!std::filesystem::exists(path, ec)) throw Error(fmt::format("cannot merge {}: no such file", path));
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(fmt::format("cannot merge {}: not a regular file", path));
  if (std::filesystem::equivalent(path, db_->path(), ec))
    throw Error(fmt::format("cannot merge {} into itself", path));
  Statement attach(*db_, "ATTACH DATABASE ?1 AS other");
  attach.bind(1, read_only_uri(path));
  try {
    attach.run();
  } catch (const Error&) {
    throw Error(fmt::format("cannot open {} to merge: {}", path, sqlite3_errmsg(db_->handle())));
  }
  Attached guard{*db_};
  int version = 0;
  try {
    version = int(scalar(*db_, "PRAGMA other.user_version"));
    if (version == 0 || scalar(*db_, "SELECT count(*) FROM other.sqlite_master WHERE name = 'runs'") == 0)
      throw Error("");
  } catch (const Error&) {
    throw Error(fmt::format("cannot merge {}: not a roofaudit database", path));
  }
  if (version > latest_schema_version())
    throw Error(fmt::format("cannot merge {}: its schema version {} is newer than this roofaudit supports ({}); use a "
                            "newer roofaudit", path, version, latest_schema_version()));
  // A damaged file may still answer some queries: it would merge in part, or differently
  // on a second try. SQLite's own check of every page first.
  std::string damage;
  try {
    Statement check(*db_, "PRAGMA other.quick_check");
    while (check.step() && damage.empty()) {
      // "*** in database other ***\nPage 9: ..." : the finding, on one line.
      std::string line = check.text(0);
      if (line == "ok") continue;
      if (line.rfind("*** in database", 0) == 0 && line.find('\n') != std::string::npos) line = line.substr(line.find('\n') + 1);
      std::replace(line.begin(), line.end(), '\n', ' ');
      damage = line;
    }
  } catch (const Error&) {
    damage = sqlite3_errmsg(db_->handle());
  }
  if (!damage.empty()) throw Error(fmt::format("cannot merge {}: it is damaged ({})", path, damage));
  // Every row it would bring must be whole: a run with an id, a uuid, a known status and
  // its machine; a measurement of a run and a device that are there. (A row that is not
  // would be skipped by the copying joins, and the merge would count what it never took.)
  static constexpr std::array<std::pair<const char*, const char*>, 2> kRowChecks = {{
      {"runs", "SELECT count(*) FROM other.runs r WHERE typeof(r.id) != 'integer' OR typeof(r.uuid) != 'text' OR "
               "r.uuid = '' OR r.status NOT IN ('running', 'complete', 'interrupted', 'failed') OR "
               "NOT EXISTS (SELECT 1 FROM other.machines m WHERE m.id = r.machine_id AND typeof(m.fingerprint) = 'text')"},
      {"measurements", "SELECT count(*) FROM other.measurements x WHERE typeof(x.id) != 'integer' OR "
                       "NOT EXISTS (SELECT 1 FROM other.runs r WHERE r.id = x.run_id) OR "
                       "NOT EXISTS (SELECT 1 FROM other.devices d JOIN other.machines m ON m.id = d.machine_id "
                       "WHERE d.id = x.device_id)"},
  }};
  for (const auto& [table, sql] : kRowChecks) {
    std::int64_t bad = 0;
    try {
      bad = scalar(*db_, sql);
    } catch (const Error&) {
      throw Error(fmt::format("cannot merge {}: not a roofaudit database (its {} table is not roofaudit's)", path, table));
    }
    if (bad > 0) throw Error(fmt::format("cannot merge {}: it is damaged ({} of its {} rows are incomplete)", path, bad, table));
  }
  if (version >= 2) {
    std::int64_t bad = 0;
    try {
      bad = scalar(*db_, "SELECT count(*) FROM other.fits f WHERE NOT EXISTS (SELECT 1 FROM other.devices d JOIN "
                         "other.machines m ON m.id = d.machine_id WHERE d.id = f.device_id)");
    } catch (const Error&) {
      throw Error(fmt::format("cannot merge {}: not a roofaudit database (its fits table is not roofaudit's)", path));
    }
    if (bad > 0) throw Error(fmt::format("cannot merge {}: it is damaged ({} of its fits have no device)", path, bad));
  }
  // Every JSON column it would bring must read back here, by the reader that will read
  // it (SQLite's json_valid takes what nlohmann's parser refuses, invalid UTF-8 in a
  // string for one): a damaged row is refused now, not thrown later by a report.
  struct JsonColumn {
    const char* table;
    const char* column;
    bool object;
    int since;  // schema version that has the table
  };
  static constexpr JsonColumn kJsonColumns[] = {
      {"runs", "settings", true, 1},      {"runs", "environment", true, 1},    {"machines", "caches_reported", false, 1},
      {"devices", "properties", true, 1}, {"measurements", "params", true, 1}, {"fits", "result", false, 2}};
  for (const auto& c : kJsonColumns) {
    if (version < c.since) continue;
    std::optional<Statement> rows;
    try {
      rows.emplace(*db_, fmt::format("SELECT rowid, {} FROM other.{}", c.column, c.table));
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

Store::MergeResult Store::merge_from(const std::string& path) {
  check_mergeable(path);
  Statement attach(*db_, "ATTACH DATABASE ?1 AS other");
  attach.bind(1, read_only_uri(path));
  attach.run();
  Attached guard{*db_};
  const int version = int(scalar(*db_, "PRAGMA other.user_version"));

  MergeResult out;
  Transaction tx(*db_);
  const std::int64_t machines_before = scalar(*db_, "SELECT count(*) FROM main.machines");
  db_->exec("INSERT OR IGNORE INTO main.machines (fingerprint, hostname, cpu_model, cpu_vendor, architecture, packages, "
            "cores, threads, numa_nodes, caches_reported, memory_reported_bytes, first_seen) "
            "SELECT fingerprint, hostname, cpu_model, cpu_vendor, architecture, packages, cores, threads, numa_nodes, "
            "caches_reported, memory_reported_bytes, first_seen FROM other.machines");
  out.machines_added = int(scalar(*db_, "SELECT count(*) FROM main.machines") - machines_before);
  db_->exec("INSERT OR IGNORE INTO main.devices (machine_id, kind, ordinal, name, properties) "
            "SELECT m.id, d.kind, d.ordinal, d.name, d.properties FROM other.devices d "
            "JOIN other.machines om ON om.id = d.machine_id JOIN main.machines m ON m.fingerprint = om.fingerprint");
  out.runs_present = int(scalar(*db_, "SELECT count(*) FROM other.runs WHERE uuid IN (SELECT uuid FROM main.runs)"));
  out.runs_running = int(scalar(
      *db_, "SELECT count(*) FROM other.runs WHERE status = 'running' AND uuid NOT IN (SELECT uuid FROM main.runs)"));

  std::vector<std::int64_t> new_runs;
  {
    Statement s(*db_, "SELECT id FROM other.runs WHERE status != 'running' AND uuid NOT IN (SELECT uuid FROM main.runs) "
                      "ORDER BY started_at, id");
    while (s.step()) new_runs.push_back(s.integer(0));
  }
  Statement insert_run(*db_,
                       "INSERT INTO main.runs (uuid, machine_id, started_at, finished_at, status, command_line, settings, "
                       "environment, owner, error) SELECT r.uuid, m.id, r.started_at, r.finished_at, r.status, "
                       "r.command_line, r.settings, r.environment, r.owner, r.error FROM other.runs r "
                       "JOIN other.machines om ON om.id = r.machine_id JOIN main.machines m ON m.fingerprint = om.fingerprint "
                       "WHERE r.id = ?1");
  Statement list_measurements(*db_, "SELECT id FROM other.measurements WHERE run_id = ?1 ORDER BY id");
  Statement insert_measurement(
      *db_, fmt::format("INSERT INTO main.measurements (run_id, device_id, probe, probe_version, variant, metric, unit, "
                        "higher_is_better, convention, params, valid, validation, best, median, min, max, mean, stddev, cv, "
                        "created_at, supported) SELECT ?1, md.id, x.probe, x.probe_version, x.variant, x.metric, x.unit, "
                        "x.higher_is_better, x.convention, x.params, x.valid, x.validation, x.best, x.median, x.min, x.max, "
                        "x.mean, x.stddev, x.cv, x.created_at, {} FROM other.measurements x {} WHERE x.id = ?2",
                        version >= 3 ? "x.supported" : "1", kDeviceJoin));
  Statement insert_samples(*db_, "INSERT INTO main.samples (measurement_id, repetition, value, seconds) "
                                 "SELECT ?1, repetition, value, seconds FROM other.samples WHERE measurement_id = ?2");
  std::optional<Statement> insert_fits;
  if (version >= 2)
    insert_fits.emplace(*db_, fmt::format("INSERT INTO main.fits (run_id, device_id, probe, variant, kind, result, "
                                          "created_at) SELECT ?1, md.id, x.probe, x.variant, x.kind, x.result, x.created_at "
                                          "FROM other.fits x {} WHERE x.run_id = ?2",
                                          kDeviceJoin));
  for (const std::int64_t old_run : new_runs) {
    insert_run.bind(1, old_run).run();
    copied_one_row(*db_, path, "run", old_run);
    const std::int64_t run_id = db_->last_insert_id();
    out.new_run_ids.push_back(run_id);
    std::vector<std::int64_t> measurements;
    list_measurements.bind(1, old_run);
    while (list_measurements.step()) measurements.push_back(list_measurements.integer(0));
    list_measurements.reset();
    for (const std::int64_t old_m : measurements) {
      insert_measurement.bind(1, run_id).bind(2, old_m).run();
      copied_one_row(*db_, path, "measurement", old_m);
      insert_samples.bind(1, db_->last_insert_id()).bind(2, old_m).run();
    }
    out.measurements_added += std::int64_t(measurements.size());
    if (insert_fits) insert_fits->bind(1, run_id).bind(2, old_run).run();
  }
  out.runs_added = int(new_runs.size());

  if (version >= 4) {
    std::vector<std::pair<std::string, std::int64_t>> tags;
    {
      Statement s(*db_, "SELECT t.name, mr.id FROM other.tags t JOIN other.runs r ON r.id = t.run_id "
                        "JOIN main.runs mr ON mr.uuid = r.uuid ORDER BY t.name");
      while (s.step()) tags.emplace_back(s.text(0), s.integer(1));
    }
    for (const auto& [name, run_id] : tags) {
      const auto here = tagged_run(name);
      if (here && *here == run_id) continue;
      if (here) {
        out.tags_kept.push_back(name);
        continue;
      }
      db_->prepare("INSERT INTO tags (name, run_id, created_at) VALUES (?1, ?2, ?3)")
          .bind(1, name).bind(2, run_id).bind(3, utc_now_iso8601())
          .run();
      out.tags_added.push_back(name);
    }
  }
  tx.commit();
  return out;
}

}  // namespace roofaudit::store
