#pragma once
// Reading what a database holds: JSON of a shape its reader cannot take (a file damaged
// by hand or by another tool) is a damaged database, refused in one line, never an
// internal error from deep inside a report.
#include <string>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "values/error.hpp"

namespace roofaudit {

// Runs `read` (which decodes stored JSON) and turns a JSON type or key error into Error
// naming `what` was being read.
template <class Read>
auto read_stored(const std::string& what, Read&& read) -> decltype(std::forward<Read>(read)()) {
  try {
    return std::forward<Read>(read)();
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("the database is damaged: its {} cannot be read ({})", what, e.what()));
  }
}

}  // namespace roofaudit
