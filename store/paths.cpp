#include "store/paths.hpp"

#include <cstdlib>

#include "values/error.hpp"

namespace roofaudit::store {

std::string resolve_database_path(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("ROOFAUDIT_DB")) {
    if (!*env) throw Error("ROOFAUDIT_DB is set but empty: unset it or give a database path");
    return env;
  }
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::string(xdg) + "/roofaudit/roofaudit.db";
  const char* home = std::getenv("HOME");
  if (!home || !*home) throw Error("cannot find a default database: set --db, ROOFAUDIT_DB or HOME");
  return std::string(home) + "/.local/share/roofaudit/roofaudit.db";
}

}  // namespace roofaudit::store
