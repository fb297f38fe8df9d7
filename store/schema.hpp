#pragma once
// The schema lives here with its version and its forward migrations. The version is
// PRAGMA user_version; migration k takes a database from version k to k + 1.
#include <string>

namespace roofaudit::store {

class Database;

// The version this build writes.
int latest_schema_version();

// Throws Error (one line, naming `file`) unless the database `schema` ("main", or an
// attached database's name) holds what schema version `version` has, every table and
// column, and nothing that a later version adds: a version below 0, or one that its
// contents contradict (a hand-set user_version), is a damaged file, refused before
// anything in it is used or written. Version 0 (empty or foreign) is the caller's to judge.
void check_schema(Database& db, int version, const std::string& schema, const std::string& file);

// Brings the database up to `target` (default: latest) inside one write transaction.
// Throws Error when the database is newer than this build or is not a roofaudit file.
void migrate(Database& db, int target = -1);

}  // namespace roofaudit::store
