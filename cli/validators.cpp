#include "cli/validators.hpp"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace roofaudit::cli {

CLI::Validator whole_at_least(long long min) {
  return CLI::Validator(
      [min](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || errno == ERANGE)
          return fmt::format("'{}' is not a whole number", text);
        if (v < min) return fmt::format("{} is less than {}", text, min);
        return "";
      },
      fmt::format("INT>={}", min));
}

CLI::Validator finite_in(double low, double high) {
  return CLI::Validator(
      [low, high](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(v)) return fmt::format("'{}' is not a finite number", text);
        if (v <= low || v > high) return fmt::format("{} is outside ({:g}, {:g}]", text, low, high);
        return "";
      },
      fmt::format("NUMBER in ({:g}, {:g}]", low, high));
}

}  // namespace roofaudit::cli
