#include "fuzz/fixtures.hpp"

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sqlite3.h>

#include <fmt/format.h>

#include "values/error.hpp"
#include "store/store.hpp"

namespace roofaudit::fuzz {

namespace {

struct ScratchDirectory {
  std::filesystem::path path;
  ScratchDirectory() {
    path = std::filesystem::temp_directory_path() / fmt::format("roofaudit-fuzz-{}", ::getpid());
    std::filesystem::create_directories(path);
  }
  ~ScratchDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string what = message ? message : "?";
    sqlite3_free(message);
    throw Error(fmt::format("fixture: {}: {}", sql, what));
  }
}

// Leaves WAL (so the file stands alone, without -wal/-shm) and rewrites it in small pages.
void compact(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw Error(fmt::format("fixture: cannot open {}", path.string()));
  try {
    exec(db, "PRAGMA journal_mode = DELETE; PRAGMA page_size = 1024; VACUUM");
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  sqlite3_close(db);
}

Measurement measurement(const char* probe, double value) {
  Measurement m;
  m.probe = probe;
  m.device = "cpu";
  m.variant = "read";
  m.metric = "bandwidth";
  m.unit = "B/s";
  m.params = {{"working_set_bytes", 1 << 20}, {"threads", 2}};
  m.samples = {{value, 0.01}, {value * 0.98, 0.01}};
  m.summary = Summary{};
  m.summary->best = value;
  m.summary->median = value * 0.99;
  m.valid = true;
  m.validation = "checksum";
  return m;
}

}  // namespace

const std::filesystem::path& scratch_directory() {
  static const ScratchDirectory dir;
  return dir.path;
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_store_fixture(const std::filesystem::path& path) {
  std::filesystem::remove(path);
  {
    store::Store db(path.string());
    store::MachineRecord alpha, beta;
    alpha.fingerprint = "a1b2c3d4e5f60718";
    alpha.hostname = "alpha";
    alpha.cpu_model = "Test CPU";
    alpha.cores = 2;
    alpha.threads = 2;
    beta = alpha;
    beta.fingerprint = "a1f0e9d8c7b6a594";
    beta.hostname = "beta";
    const std::int64_t machines[] = {db.upsert_machine(alpha), db.upsert_machine(beta)};
    const char* status[] = {"complete", "running", "failed", "complete"};
    for (int i = 0; i < 4; ++i) {
      const std::int64_t machine = machines[i < 2 ? 0 : 1];
      const std::int64_t device = db.upsert_device(machine, {"cpu", 0, "Test CPU", nlohmann::json::object()});
      const std::int64_t run = db.begin_run(machine, "roofaudit run --quick", {{"quick", true}, {"threads", 2}},
                                            {{"kernel", "6.1"}, {"build_type", "Release"}});
      db.add_measurement(run, device, measurement("cpu.bandwidth", 1e10 * (i + 1)));
      db.put_fit(run, device, {run, "cpu", "cpu.bandwidth", "read", "plateaus", nlohmann::json::array()});
      if (status[i] != std::string("running")) db.finish_run(run, status[i], status[i] == std::string("failed") ? "a probe failed" : "");
    }
    db.tag_run(1, "baseline");
    db.tag_run(3, "broken");
    db.tag_run(4, "nightly");
  }
  compact(path);
}

void write_foreign_sqlite(const std::filesystem::path& path) {
  std::filesystem::remove(path);
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw Error(fmt::format("fixture: cannot open {}", path.string()));
  try {
    exec(db, "PRAGMA page_size = 1024; PRAGMA user_version = 7; CREATE TABLE runs (id INTEGER PRIMARY KEY, x TEXT); "
             "INSERT INTO runs (x) VALUES ('not roofaudit')");
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  sqlite3_close(db);
}

}  // namespace roofaudit::fuzz
