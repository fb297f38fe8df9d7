#include "store/schema.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "values/error.hpp"
#include "store/database.hpp"

namespace roofaudit::store {
namespace {

// Append only: a released migration is never edited, a change is a new entry.
const std::vector<std::string>& migrations() {
  static const std::vector<std::string> steps = {
      // 0 -> 1: machines, devices, runs, measurements, samples.
      R"sql(
CREATE TABLE machines (
  id                    INTEGER PRIMARY KEY,
  fingerprint           TEXT NOT NULL UNIQUE,
  hostname              TEXT NOT NULL,
  cpu_model             TEXT NOT NULL,
  cpu_vendor            TEXT NOT NULL,
  architecture          TEXT NOT NULL,
  packages              INTEGER NOT NULL,
  cores                 INTEGER NOT NULL,
  threads               INTEGER NOT NULL,
  numa_nodes            INTEGER NOT NULL,
  caches_reported       TEXT NOT NULL,
  memory_reported_bytes INTEGER NOT NULL,
  first_seen            TEXT NOT NULL
);
CREATE TABLE devices (
  id          INTEGER PRIMARY KEY,
  machine_id  INTEGER NOT NULL REFERENCES machines(id),
  kind        TEXT NOT NULL CHECK (kind IN ('cpu', 'gpu')),
  ordinal     INTEGER NOT NULL,
  name        TEXT NOT NULL,
  properties  TEXT NOT NULL,
  UNIQUE (machine_id, kind, ordinal, name)
);
CREATE TABLE runs (
  id           INTEGER PRIMARY KEY,
  uuid         TEXT NOT NULL UNIQUE,
  machine_id   INTEGER NOT NULL REFERENCES machines(id),
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  status       TEXT NOT NULL CHECK (status IN ('running', 'complete', 'interrupted', 'failed')),
  command_line TEXT NOT NULL,
  settings     TEXT NOT NULL,
  environment  TEXT NOT NULL,
  owner        TEXT NOT NULL,
  error        TEXT
);
CREATE TABLE measurements (
  id               INTEGER PRIMARY KEY,
  run_id           INTEGER NOT NULL REFERENCES runs(id),
  device_id        INTEGER NOT NULL REFERENCES devices(id),
  probe            TEXT NOT NULL,
  probe_version    INTEGER NOT NULL,
  variant          TEXT NOT NULL,
  metric           TEXT NOT NULL,
  unit             TEXT NOT NULL,
  higher_is_better INTEGER NOT NULL,
  convention       TEXT NOT NULL,
  params           TEXT NOT NULL,
  valid            INTEGER NOT NULL,
  validation       TEXT NOT NULL,
  best             REAL,
  median           REAL,
  min              REAL,
  max              REAL,
  mean             REAL,
  stddev           REAL,
  cv               REAL,
  created_at       TEXT NOT NULL
);
CREATE TABLE samples (
  measurement_id INTEGER NOT NULL REFERENCES measurements(id),
  repetition     INTEGER NOT NULL,
  value          REAL NOT NULL,
  seconds        REAL NOT NULL,
  PRIMARY KEY (measurement_id, repetition)
) WITHOUT ROWID;
)sql",
      // 1 -> 2: fits derived from a run's measurements (plateaus, later rooflines), and
      // the indexes the report queries need.
      R"sql(
CREATE TABLE fits (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER NOT NULL REFERENCES runs(id),
  device_id  INTEGER NOT NULL REFERENCES devices(id),
  probe      TEXT NOT NULL,
  variant    TEXT NOT NULL,
  kind       TEXT NOT NULL,
  result     TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (run_id, device_id, probe, variant, kind)
);
CREATE INDEX measurements_by_run ON measurements(run_id, probe, variant);
CREATE INDEX runs_by_machine ON runs(machine_id, started_at);
)sql",
      // 2 -> 3: a variant the device cannot run is stored as unsupported, not as a
      // failure and never as a zero.
      R"sql(
ALTER TABLE measurements ADD COLUMN supported INTEGER NOT NULL DEFAULT 1;
)sql",
      // 3 -> 4: names for runs (baselines for `check`).
      R"sql(
CREATE TABLE tags (
  name       TEXT PRIMARY KEY,
  run_id     INTEGER NOT NULL REFERENCES runs(id),
  created_at TEXT NOT NULL
);
)sql",
  };
  return steps;
}

}  // namespace

int latest_schema_version() { return int(migrations().size()); }

namespace {

using Layout = std::map<std::string, std::set<std::string>>;  // table -> columns

Layout layout_of(Database& db, const std::string& schema) {
  Layout out;
  std::vector<std::string> tables;
  {
    Statement s(db, fmt::format("SELECT name FROM \"{}\".sqlite_master WHERE type = 'table'", schema));
    while (s.step()) tables.push_back(s.text(0));
  }
  for (const auto& t : tables) {
    auto& columns = out[t];
    Statement c(db, fmt::format("SELECT name FROM pragma_table_info(?1, ?2)"));
    c.bind(1, t).bind(2, schema);
    while (c.step()) columns.insert(c.text(0));
  }
  return out;
}

// What each version's schema is: a fresh in-memory database migrated to it.
const std::vector<Layout>& layouts() {
  static const std::vector<Layout> all = [] {
    std::vector<Layout> out(std::size_t(latest_schema_version()) + 1);
    for (int v = 1; v <= latest_schema_version(); ++v) {
      Database fresh(":memory:", 0);
      migrate(fresh, v);
      out[std::size_t(v)] = layout_of(fresh, "main");
    }
    return out;
  }();
  return all;
}

}  // namespace

void check_schema(Database& db, int version, const std::string& schema, const std::string& file) {
  if (version < 0)
    throw Error(fmt::format("database {} is damaged: its schema version is {} (roofaudit's are 1 to {})", file, version,
                            latest_schema_version()));
  if (version == 0 || version > latest_schema_version()) return;
  const Layout& expected = layouts()[std::size_t(version)];
  const Layout& latest = layouts().back();
  const Layout found = layout_of(db, schema);
  for (const auto& [table, columns] : expected) {
    const auto it = found.find(table);
    if (it == found.end())
      throw Error(fmt::format("database {} lacks its '{}' table (schema version {}): it is damaged", file, table,
                              version));
    for (const auto& column : columns)
      if (!it->second.count(column))
        throw Error(fmt::format("database {} lacks its column {}.{} (schema version {}): it is damaged", file, table,
                                column, version));
  }
  // What only later versions add says the stored version was set by hand.
  for (const auto& [table, columns] : latest) {
    const auto here = found.find(table);
    if (here == found.end()) continue;
    const auto then = expected.find(table);
    if (then == expected.end())
      throw Error(fmt::format("database {} is damaged: it says schema version {} but holds the '{}' table of a later "
                              "version",
                              file, version, table));
    for (const auto& column : columns)
      if (here->second.count(column) && !then->second.count(column))
        throw Error(fmt::format("database {} is damaged: it says schema version {} but holds {}.{} of a later version",
                                file, version, table, column));
  }
}

void migrate(Database& db, int target) {
  if (target < 0) target = latest_schema_version();
  const int found = db.user_version();
  if (found > latest_schema_version())
    throw Error(fmt::format("database {} has schema version {}, newer than this roofaudit supports ({}); "
                            "use a newer roofaudit", db.path(), found, latest_schema_version()));
  if (found >= target) return;

  Transaction tx(db);
  // Another process may have migrated while we waited for the write lock.
  const int current = db.user_version();
  if (current == 0) {
    Statement& s = db.prepare("SELECT count(*) FROM sqlite_master");
    s.step();
    const auto objects = s.integer(0);
    s.reset();
    if (objects > 0)
      throw Error(fmt::format("{} is an SQLite database but not a roofaudit one (no schema version)", db.path()));
  }
  if (current < 0 || current > latest_schema_version())
    throw Error(fmt::format("database {} is damaged: its schema version is {}", db.path(), current));
  for (int v = current; v < target; ++v) db.exec(migrations()[std::size_t(v)]);
  db.exec(fmt::format("PRAGMA user_version = {}", target));
  tx.commit();
}

}  // namespace roofaudit::store
