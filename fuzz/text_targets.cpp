// What the command line names: sizes (--min-size, --max-size) and stored runs (--run,
// show, compare, tag, check --baseline ...).
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "calibrate/engine_fit.hpp"
#include "cli/run_reference.hpp"
#include "fuzz/fixtures.hpp"
#include "fuzz/targets.hpp"
#include "values/error.hpp"
#include "store/store.hpp"

namespace roofaudit::fuzz {

namespace {

std::string text_of(const std::uint8_t* data, std::size_t size) { return {reinterpret_cast<const char*>(data), size}; }

// The run-reference fixture, opened read-only as every reading verb opens it.
store::Store& reference_store() {
  static store::Store* db = [] {
    const auto path = scratch_directory() / "references.db";
    write_store_fixture(path);
    return new store::Store(path.string(), store::StoreOptions{5000, true});
  }();
  return *db;
}

}  // namespace

void size_string(const std::uint8_t* data, std::size_t size) {
  const std::string text = text_of(data, size);
  std::uint64_t bytes = 0;
  try {
    bytes = cli::parse_bytes(text);
  } catch (const Error&) {
    return;
  }
  require(bytes >= 1 && bytes <= (std::uint64_t{1} << 60), fmt::format("'{}' gave {} bytes", text, bytes));
  // The figure, written out, reads back as itself.
  require(cli::parse_bytes(std::to_string(bytes)) == bytes, fmt::format("{} does not read back", bytes));
}

void run_reference(const std::uint8_t* data, std::size_t size) {
  const std::string ref = text_of(data, size);
  store::Store& db = reference_store();
  store::RunRecord r;
  try {
    r = cli::resolve_run(db, ref);
  } catch (const Error&) {
    return;
  }
  const auto stored = db.run(r.id);
  require(stored && stored->uuid == r.uuid, fmt::format("'{}' resolved to run {}, which is not stored", ref, r.id));
  if (cli::is_run_id(ref)) {
    require(std::to_string(r.id) == ref.substr(ref.find_first_not_of('0') == std::string::npos ? ref.size() - 1
                                                                                              : ref.find_first_not_of('0')),
            fmt::format("run id '{}' resolved to run {}", ref, r.id));
  } else if (const auto tagged = db.tagged_run(ref)) {
    require(*tagged == r.id, fmt::format("tag '{}' resolved to run {}, not {}", ref, r.id, *tagged));
  } else {
    // "latest" and machines stand for a complete run, never a failed or running one.
    require(r.status == "complete", fmt::format("'{}' resolved to {} run {}", ref, r.status, r.id));
  }
}

void engine_output(const std::uint8_t* data, std::size_t size) {
  calibrate::EngineRecord r;
  try {
    r = calibrate::read_engine_output(text_of(data, size), "bench");
  } catch (const Error&) {
    return;
  }
  require(!r.points.empty(), "an engine record with no point");
  for (const auto& p : r.points) {
    require(p.batch >= 1 && p.batch <= 10'000'000, fmt::format("batch {}", p.batch));
    require(std::isfinite(p.context) && p.context >= 0, fmt::format("context {}", p.context));
    if (p.kind == calibrate::EnginePoint::Kind::served)
      require(std::isfinite(p.tokens_per_s) && p.tokens_per_s > 0 && p.prompt_len >= 1 && p.decode_len >= 1,
              fmt::format("served point '{}'", p.label));
    else
      require(std::isfinite(p.seconds) && p.seconds > 0, fmt::format("point '{}' takes {} s", p.label, p.seconds));
  }
}

}  // namespace roofaudit::fuzz
