#pragma once
// Small roofaudit databases the store targets start from, written through the Store API
// (so they always have the current schema) and compacted to 1 KiB pages, so that a
// mutated copy stays small enough to fuzz quickly.
#include <filesystem>
#include <string>

namespace roofaudit::fuzz {

// Two machines ("alpha", fingerprint "a1b2c3..."; "beta", "a1f0...") and four runs: 1
// complete on alpha (tagged "baseline"), 2 running on alpha, 3 failed on beta (tagged
// "broken"), 4 complete on beta (tagged "nightly"), with a measurement and a fit each.
void write_store_fixture(const std::filesystem::path& path);

// A SQLite file that is not roofaudit's (one table of its own).
void write_foreign_sqlite(const std::filesystem::path& path);

// A directory of this process's own, removed at exit.
const std::filesystem::path& scratch_directory();

// The bytes of a file ("" when there is none).
std::string file_bytes(const std::filesystem::path& path);

}  // namespace roofaudit::fuzz
