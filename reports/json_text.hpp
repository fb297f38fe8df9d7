#pragma once
// JSON as the verbs print it. Stored text (a host name, a tag, a merged file's command
// line) is not always valid UTF-8; nlohmann's writer would throw on it, so bytes that are
// not UTF-8 are written as U+FFFD instead: the output stays valid JSON and says what it
// could.
#include <string>

#include <nlohmann/json.hpp>

namespace roofaudit::reports {

inline std::string json_text(const nlohmann::json& j, int indent = 2) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace roofaudit::reports
