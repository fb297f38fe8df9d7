// Writes the merge target's seeds into a directory: roofaudit databases of the current
// schema (rollback journal and WAL), a newer one, and a foreign SQLite file. Generated at
// test time rather than stored, so the seeds follow every schema change.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <sqlite3.h>

#include "fuzz/fixtures.hpp"

namespace {

void set(const std::filesystem::path& path, const char* sql) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open(path.c_str(), &db) == SQLITE_OK ? sqlite3_exec(db, sql, nullptr, nullptr, nullptr) : 1;
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error(std::string("cannot set ") + sql + " on " + path.string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: roofaudit_fuzz_seeds DIRECTORY\n");
    return 2;
  }
  try {
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    using roofaudit::fuzz::write_store_fixture;
    write_store_fixture(dir / "roofaudit.db");
    write_store_fixture(dir / "roofaudit-wal.db");
    set(dir / "roofaudit-wal.db", "PRAGMA journal_mode = WAL");
    write_store_fixture(dir / "newer.db");
    set(dir / "newer.db", "PRAGMA user_version = 999");
    roofaudit::fuzz::write_foreign_sqlite(dir / "foreign.db");
    for (const char* leftover : {"roofaudit-wal.db-wal", "roofaudit-wal.db-shm"}) std::filesystem::remove(dir / leftover);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "roofaudit_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
