#pragma once
// How the store reads its own rows, shared by the reader and merge's checks of a file
// it is handed.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "store/database.hpp"

namespace roofaudit::store {

// A JSON column as stored: a file damaged by hand or by a tool other than roofaudit is
// refused (Error naming the row), never thrown as a parse error from deep in a report.
// `object`: it must be a JSON object.
nlohmann::json stored_json(const std::string& text, const char* column, const char* table, std::int64_t id,
                           bool object = false);

// A file: URI with `query` ("?mode=ro", ...), the characters URIs reserve escaped.
std::string file_uri(const std::string& path, const char* query);

}  // namespace roofaudit::store
