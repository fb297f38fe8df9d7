#include "cli/run_reference.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "values/error.hpp"
#include "store/store.hpp"

namespace roofaudit::cli {

bool is_utf8(const std::string& text) {
  // The JSON writer's own check: what it accepts is what `--json` can print as given.
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

bool is_run_id(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

namespace {

// The machines a name matches (hostname, or a prefix of the fingerprint) and the newest
// complete run among them; more than one machine is ambiguous.
struct MachineMatch {
  std::optional<store::RunRecord> newest;
  bool by_hostname = false;
};

MachineMatch match_machine(store::Store& db, const std::string& ref) {
  MachineMatch out;
  std::set<std::string> matched;
  std::map<std::int64_t, std::optional<store::MachineRecord>> machines;
  for (auto& r : db.runs()) {
    if (r.status != "complete") continue;
    auto [slot, fresh] = machines.try_emplace(r.machine_id);
    if (fresh) slot->second = db.machine(r.machine_id);
    const auto& m = slot->second;
    if (!m || (m->hostname != ref && m->fingerprint.rfind(ref, 0) != 0)) continue;
    matched.insert(m->fingerprint);
    out.by_hostname = out.by_hostname || m->hostname == ref;
    if (!out.newest || r.id > out.newest->id) out.newest = std::move(r);
  }
  if (matched.size() > 1)
    throw Error(fmt::format("'{}' names {} machines in {}; give more of a fingerprint", ref, matched.size(), db.path()));
  return out;
}

}  // namespace

store::RunRecord resolve_run(store::Store& db, const std::string& ref) {
  if (ref.empty()) throw Error("a run reference is empty: give a run id, a tag, 'latest' or a machine");
  if (ref == "latest") return *db.run(latest_complete_run(db));
  if (is_run_id(ref)) {
    std::int64_t id = 0;
    try {
      id = std::stoll(ref);
    } catch (...) {
      throw Error(fmt::format("'{}' is no run id", ref));
    }
    auto r = db.run(id);
    if (!r) throw Error(fmt::format("no run {} in {}", id, db.path()));
    return *r;
  }
  const auto tagged = db.tagged_run(ref);
  const MachineMatch machine = match_machine(db, ref);
  // A tag and a hostname of the same name (a tag older than the rule against it, or a
  // machine merged in later) would each hide the other: neither is chosen.
  if (tagged && machine.by_hostname)
    throw Error(fmt::format("'{}' names both a tag (run {}) and a machine in {}; give the run id or the fingerprint", ref,
                            *tagged, db.path()));
  if (tagged) return *db.run(*tagged);
  if (!machine.newest)
    throw Error(fmt::format("'{}' is no run id, tag or machine (hostname or fingerprint) with a complete run in {}", ref,
                            db.path()));
  return *machine.newest;
}

store::RunRecord resolve_machine(store::Store& db, const std::string& ref) {
  if (ref.empty()) throw Error("a machine is empty: give a hostname or a fingerprint prefix");
  const MachineMatch machine = match_machine(db, ref);
  if (!machine.newest)
    throw Error(fmt::format("'{}' is no machine (hostname or fingerprint prefix) with a complete run in {}", ref,
                            db.path()));
  return *machine.newest;
}

std::int64_t latest_complete_run(store::Store& db) {
  const auto runs = db.runs();
  for (auto it = runs.rbegin(); it != runs.rend(); ++it)
    if (it->status == "complete") return it->id;
  // An unfinished run still holds what it measured: say how to read it.
  if (!runs.empty())
    throw Error(fmt::format("no complete run in {}: run {} is {} (--run {} reads what it stored)", db.path(),
                            runs.back().id, runs.back().status, runs.back().id));
  throw Error(fmt::format("no complete run in {}: run 'roofaudit run' first", db.path()));
}

std::uint64_t parse_bytes(const std::string& text) {
  std::size_t pos = 0;
  double number = 0;
  // A plain decimal figure: no sign, space, hex or "inf" that strtod would also take.
  const bool decimal = !text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.') &&
                       !(text.size() > 1 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'));
  try {
    if (!decimal) throw std::invalid_argument(text);
    number = std::stod(text, &pos);
  } catch (...) {
    throw Error(fmt::format("'{}' is not a size (examples: 65536, 24kB, 512KiB, 2GiB)", text));
  }
  std::string unit = text.substr(pos);
  for (auto& c : unit) c = char(std::tolower(static_cast<unsigned char>(c)));
  double scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "kb" || unit == "k") scale = 1e3;
  else if (unit == "mb" || unit == "m") scale = 1e6;
  else if (unit == "gb" || unit == "g") scale = 1e9;
  else if (unit == "kib") scale = 1024.0;
  else if (unit == "mib") scale = 1024.0 * 1024;
  else if (unit == "gib") scale = 1024.0 * 1024 * 1024;
  if (scale == 0 && (unit == "tb" || unit == "t" || unit == "tib" || unit == "pb" || unit == "p" || unit == "pib"))
    throw Error(fmt::format("'{}' is larger than any working set roofaudit sweeps (units up to GB and GiB)", text));
  if (scale == 0 || !(number > 0) || !std::isfinite(number))
    throw Error(fmt::format("'{}' is not a size (examples: 65536, 24kB, 512KiB, 2GiB)", text));
  if (number * scale < 1) throw Error(fmt::format("'{}' is less than one byte", text));
  if (number * scale > 0x1p60)
    throw Error(fmt::format("'{}' is larger than any working set roofaudit sweeps", text));
  return std::uint64_t(std::llround(number * scale));
}

}  // namespace roofaudit::cli
