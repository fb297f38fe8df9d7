#pragma once
// The schema lives here with its version and its forward migrations. The version is
// PRAGMA user_version; migration k takes a database from version k to k + 1.
namespace roofaudit::store {

class Database;

// The version this build writes.
int latest_schema_version();

// Brings the database up to `target` (default: latest) inside one write transaction.
// Throws Error when the database is newer than this build or is not a roofaudit file.
void migrate(Database& db, int target = -1);

}  // namespace roofaudit::store
