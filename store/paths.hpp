#pragma once
#include <string>

namespace roofaudit::store {

// --db if given, else $ROOFAUDIT_DB, else $XDG_DATA_HOME/roofaudit/roofaudit.db
// (XDG_DATA_HOME defaulting to ~/.local/share).
std::string resolve_database_path(const std::string& flag_value);

}  // namespace roofaudit::store
