#pragma once
// The one exception type of roofaudit. Thrown with a precise, single-line message;
// the CLI catches it once, prints it and exits 2.
#include <stdexcept>
#include <string>

namespace roofaudit {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace roofaudit
