#include "cli/validators.hpp"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "calibrate/catalog.hpp"

namespace roofaudit::cli {
namespace {

// Digits with an optional leading minus: the only form a whole number takes.
bool whole_form(const std::string& text) {
  const std::size_t start = !text.empty() && text[0] == '-' ? 1 : 0;
  if (start == text.size()) return false;
  for (std::size_t i = start; i < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  return true;
}

// Digits, an optional minus, point and decimal exponent: what a real number looks like.
bool decimal_form(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || c == '-' || c == '.' || c == 'e' || c == 'E')) return false;
  return true;
}

std::string check_whole(const std::string& text, long long min, long long max) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (!whole_form(text) || *end != '\0' || errno == ERANGE) return fmt::format("'{}' is not a whole number", text);
  if (v < min) return fmt::format("{} is less than {}", text, min);
  if (v > max) return fmt::format("{} is more than {}", text, max);
  return "";
}

std::string check_number(const std::string& text, double low, double high, bool low_open) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (!decimal_form(text) || *end != '\0' || !std::isfinite(v)) return fmt::format("'{}' is not a finite number", text);
  if (low_open ? v <= low : v < low) return fmt::format("{} is outside {}{:g}, {:g}]", text, low_open ? "(" : "[", low, high);
  if (v > high) return fmt::format("{} is outside {}{:g}, {:g}]", text, low_open ? "(" : "[", low, high);
  return "";
}

}  // namespace

CLI::Validator whole_at_least(long long min) {
  return CLI::Validator([min](std::string& text) { return check_whole(text, min, LLONG_MAX); },
                        fmt::format("INT>={}", min));
}

CLI::Validator whole_in(long long min, long long max) {
  return CLI::Validator([min, max](std::string& text) { return check_whole(text, min, max); },
                        fmt::format("INT in [{}, {}]", min, max));
}

CLI::Validator unsigned_whole() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        std::strtoull(text.c_str(), &end, 10);
        if (!whole_form(text) || text[0] == '-' || *end != '\0' || errno == ERANGE)
          return fmt::format("'{}' is not a whole number in [0, 2^64 - 1]", text);
        return "";
      },
      "UINT64");
}

CLI::Validator finite_in(double low, double high) {
  return CLI::Validator([low, high](std::string& text) { return check_number(text, low, high, true); },
                        fmt::format("NUMBER in ({:g}, {:g}]", low, high));
}

CLI::Validator finite_within(double low, double high) {
  return CLI::Validator([low, high](std::string& text) { return check_number(text, low, high, false); },
                        fmt::format("NUMBER in [{:g}, {:g}]", low, high));
}

CLI::Validator price_field_check(const char* field) {
  const calibrate::PriceBound& b = calibrate::price_bound(field);
  return b.low_open ? finite_in(b.low, b.high) : finite_within(b.low, b.high);
}

}  // namespace roofaudit::cli
