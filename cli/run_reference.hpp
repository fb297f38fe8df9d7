#pragma once
// How the command line names a stored run, and sizes: the text parsers every verb shares,
// kept apart from the verbs so they can be fuzzed on their own (fuzz/).
#include <cstdint>
#include <string>

#include "values/records.hpp"

namespace roofaudit::store {
class Store;
}

namespace roofaudit::cli {

// All digits: a run id, never a tag.
bool is_run_id(const std::string& text);

// The newest run whose status is complete; throws Error when there is none.
std::int64_t latest_complete_run(store::Store& db);

// A run named on the command line: a run id, a tag, "latest", or a machine (fingerprint
// prefix or hostname) standing for its newest complete run. Throws Error naming what
// was tried.
store::RunRecord resolve_run(store::Store& db, const std::string& ref);
// A machine (hostname or fingerprint prefix) alone: its newest complete run. A number is
// no run id here.
store::RunRecord resolve_machine(store::Store& db, const std::string& ref);

// Whether `text` is well-formed UTF-8 (as the JSON writer checks it: no overlong forms,
// surrogates or code points past U+10FFFF): what a name the user chose must be to print
// and export as it was given.
bool is_utf8(const std::string& text);

// "4KiB", "512kB", "1GiB", "2GB", "65536" -> bytes, at least 1 and at most 2^60. Throws
// Error on anything else.
std::uint64_t parse_bytes(const std::string& text);

}  // namespace roofaudit::cli
