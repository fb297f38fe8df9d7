// merge's reading of a file it was handed: whatever the bytes, the merge is all or
// nothing, the handed file is never written, and what it adds reads back.
#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fuzz/fixtures.hpp"
#include "fuzz/targets.hpp"
#include "values/error.hpp"
#include "store/store.hpp"

namespace roofaudit::fuzz {

namespace {

std::vector<std::string> run_uuids(store::Store& db) {
  std::vector<std::string> out;
  for (const auto& r : db.runs()) out.push_back(r.uuid);
  return out;
}

// Everything a reader shows of every run: it must read back, not merely be stored.
void read_everything(store::Store& db) {
  for (const auto& r : db.runs()) {
    require(db.machine(r.machine_id).has_value(), fmt::format("run {} has no machine", r.id));
    db.measurements(r.id);
    db.fits(r.id);
    db.run_devices(r.id);
  }
}

const std::filesystem::path& target_template() {
  static const std::filesystem::path path = [] {
    const auto p = scratch_directory() / "merge-template.db";
    store::Store(p.string()).runs();  // an empty store of the current schema
    return p;
  }();
  return path;
}

}  // namespace

void merge_database(const std::uint8_t* data, std::size_t size) {
  const auto dir = scratch_directory();
  const auto handed = dir / "handed.db";
  const auto target = dir / "target.db";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(handed.string() + suffix);
    std::filesystem::remove(target.string() + suffix);
  }
  {
    std::ofstream out(handed, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  std::filesystem::copy_file(target_template(), target);
  const std::string before(reinterpret_cast<const char*>(data), size);

  store::Store db(target.string());
  const auto runs_before = run_uuids(db);
  bool merged = false;
  store::Store::MergeResult result;
  try {
    result = db.merge_from(handed.string());
    merged = true;
  } catch (const Error&) {
  }
  require(file_bytes(handed) == before, "merge changed the file it read");
  const auto runs_after = run_uuids(db);
  if (!merged) {
    require(runs_after == runs_before, "a refused merge changed the database");
    return;
  }
  require(runs_after.size() == runs_before.size() + std::size_t(result.runs_added),
          fmt::format("merge says {} runs added, the database has {} more", result.runs_added,
                      runs_after.size() - runs_before.size()));
  // What was merged reads back, and a second merge of the same file adds nothing: a
  // refusal after a merge went through means the merge took what it could not read.
  try {
    read_everything(db);
  } catch (const Error& e) {
    throw Broken(fmt::format("a merged run does not read back: {}", e.what()));
  }
  store::Store::MergeResult again;
  try {
    again = db.merge_from(handed.string());
  } catch (const Error& e) {
    throw Broken(fmt::format("a file merged once is refused the second time: {}", e.what()));
  }
  require(again.runs_added == 0, fmt::format("a second merge added {} runs", again.runs_added));
}

}  // namespace roofaudit::fuzz
