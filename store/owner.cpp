#include "store/owner.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace roofaudit::store {
namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Field 22 of /proc/PID/stat: start time in clock ticks since boot. With the boot id it
// tells a live writer from a recycled pid.
std::string process_start_ticks(long pid) {
  const std::string stat = read_first_line(fmt::format("/proc/{}/stat", pid));
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return field;
  }
  return {};
}

std::string hostname() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, int(ms));
}

std::string this_process_owner() {
  const long pid = long(getpid());
  return fmt::format("{}/{}/{}/{}", hostname(), read_first_line("/proc/sys/kernel/random/boot_id"), pid,
                     process_start_ticks(pid));
}

bool owner_is_alive(const std::string& owner) {
  std::vector<std::string> parts;
  std::stringstream in(owner);
  for (std::string part; std::getline(in, part, '/');) parts.push_back(part);
  if (parts.size() != 4) return true;
  if (parts[0] != hostname()) return true;  // another host's process: cannot tell
  if (parts[1] != read_first_line("/proc/sys/kernel/random/boot_id")) return false;  // rebooted since
  long pid = 0;
  try {
    pid = std::stol(parts[2]);
  } catch (...) {
    return true;
  }
  return process_start_ticks(pid) == parts[3];
}

}  // namespace roofaudit::store
