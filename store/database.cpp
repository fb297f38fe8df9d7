#include "store/database.hpp"

#include <sqlite3.h>

#include <chrono>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "values/error.hpp"

namespace roofaudit::store {

Statement::Statement(Database& db, const std::string& sql) : db_(db) {
  db_.check(sqlite3_prepare_v2(db.handle(), sql.c_str(), -1, &stmt_, nullptr), "prepare");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::int64_t value) {
  db_.check(sqlite3_bind_int64(stmt_, index, value), "bind");
  return *this;
}
Statement& Statement::bind(int index, double value) {
  db_.check(sqlite3_bind_double(stmt_, index, value), "bind");
  return *this;
}
Statement& Statement::bind(int index, const std::string& value) {
  db_.check(sqlite3_bind_text(stmt_, index, value.data(), int(value.size()), SQLITE_TRANSIENT), "bind");
  return *this;
}
Statement& Statement::bind(int index, std::nullopt_t) {
  db_.check(sqlite3_bind_null(stmt_, index), "bind");
  return *this;
}
Statement& Statement::bind(int index, const std::optional<double>& value) {
  return value ? bind(index, *value) : bind(index, std::nullopt);
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(stmt_);
  db_.check(rc, "query");
  return false;
}

void Statement::run() {
  while (step()) {
  }
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }
std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), std::size_t(sqlite3_column_bytes(stmt_, column))) : std::string();
}

Database::Database(const std::string& path, int busy_timeout_ms, const std::string& read_only_uri)
    : path_(path), busy_timeout_ms_(busy_timeout_ms) {
  const int rc = read_only_uri.empty()
                     ? sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                                       nullptr)
                     : sqlite3_open_v2(read_only_uri.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    const std::string reason = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(fmt::format("cannot open database {}: {}", path, reason));
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

Database::~Database() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close(db_);
}

void Database::check(int rc, const std::string& what) const {
  const int primary = rc & 0xff;
  if (primary == SQLITE_OK || primary == SQLITE_ROW || primary == SQLITE_DONE) return;
  const std::string detail = sqlite3_errmsg(db_);
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw Error(fmt::format("database {} is locked by another writer (gave up after {} ms)", path_, busy_timeout_ms_));
    case SQLITE_NOTADB:
      throw Error(fmt::format("{} is not an SQLite database (corrupt or another kind of file)", path_));
    case SQLITE_CORRUPT:
      throw Error(fmt::format("database {} is corrupt: {}", path_, detail));
    case SQLITE_READONLY:
      throw Error(fmt::format("database {} is read-only: {}", path_, detail));
    case SQLITE_CANTOPEN:
      throw Error(fmt::format("cannot open database {}: {}", path_, detail));
    case SQLITE_FULL:
      throw Error(fmt::format("database {}: disk full", path_));
    default:
      throw Error(fmt::format("database {}: {} failed: {}", path_, what, detail));
  }
}

void Database::exec(const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);
  check(rc, "statement");
}

Statement& Database::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) it = cache_.emplace(sql, std::make_unique<Statement>(*this, sql)).first;
  it->second->reset();
  return *it->second;
}

std::int64_t Database::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }

int Database::user_version() {
  Statement& s = prepare("PRAGMA user_version");
  s.step();
  const int v = int(s.integer(0));
  s.reset();
  return v;
}

void Database::enter_wal_mode() {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(busy_timeout_ms_);
  std::minstd_rand jitter(std::random_device{}());
  for (;;) {
    Statement& mode = prepare("PRAGMA journal_mode = WAL");
    const int rc = sqlite3_step(mode.stmt_);
    mode.reset();
    if ((rc & 0xff) != SQLITE_BUSY || Clock::now() >= deadline) {
      check(rc, "PRAGMA journal_mode");
      return;
    }
    // Unequal pauses, so two processes that collided do not collide again.
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + jitter() % 20));
  }
}

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace roofaudit::store
