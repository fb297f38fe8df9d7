#pragma once
// How sizes are written for people, the same in every layer.
#include <string>

#include <fmt/format.h>

namespace roofaudit {

// 1536 -> "1.50 KiB": binary units, two decimals under ten, one above.
inline std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.{}f} {}", bytes, bytes < 10 ? 2 : 1, units[u]);
}

}  // namespace roofaudit
