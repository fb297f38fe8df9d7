#pragma once
// Small RAII owners over the SQLite C API. Statements are prepared once, cached, and
// bound, never formatted; errors become roofaudit::Error with the database path.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace roofaudit::store {

class Database;

class Statement {
 public:
  Statement(Database& db, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, std::int64_t{value}); }
  Statement& bind(int index, double value);
  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, std::nullopt_t);
  Statement& bind(int index, const std::optional<double>& value);
  // Steps once: true while a row is available.
  bool step();
  // Runs a statement that returns no rows, then resets it for the next bindings.
  void run();
  void reset();

  bool is_null(int column) const;
  std::int64_t integer(int column) const;
  double real(int column) const;
  std::string text(int column) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
  friend class Database;
};

class Database {
 public:
  // Opens (creating if needed) the file at `path`, with `busy_timeout_ms` of waiting
  // for other writers.
  // read_only_uri: a "file:...?mode=ro" URI to open read-only instead (path stays the name
  // used in messages).
  Database(const std::string& path, int busy_timeout_ms, const std::string& read_only_uri = "");
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql);
  // A cached prepared statement, reset and with bindings cleared.
  Statement& prepare(const std::string& sql);
  std::int64_t last_insert_id() const;
  int user_version();
  // PRAGMA journal_mode = WAL, waiting up to the busy timeout for other connections.
  // SQLite switches the mode by promoting a read lock to a write lock, and such a
  // promotion gets SQLITE_BUSY at once instead of the busy handler (two processes
  // creating the same database both hold the read lock), so this retries itself.
  void enter_wal_mode();
  const std::string& path() const { return path_; }
  int busy_timeout_ms() const { return busy_timeout_ms_; }
  sqlite3* handle() const { return db_; }
  // Throws Error describing `rc` (with `what` as context) unless rc is OK/ROW/DONE.
  void check(int rc, const std::string& what) const;

 private:
  std::string path_;
  int busy_timeout_ms_;
  sqlite3* db_ = nullptr;
  std::map<std::string, std::unique_ptr<Statement>> cache_;
};

// BEGIN IMMEDIATE: takes the write lock up front, so waiting for another writer happens
// here under the busy timeout and never half-way through a transaction.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace roofaudit::store
