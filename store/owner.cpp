#include "store/owner.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
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
  if (parts.size() != 4) return false;
  if (parts[0] != hostname()) return false;  // another host's process: only its lock can say
  if (parts[1] != read_first_line("/proc/sys/kernel/random/boot_id")) return false;  // rebooted since
  long pid = 0;
  try {
    pid = std::stol(parts[2]);
  } catch (...) {
    return false;
  }
  return process_start_ticks(pid) == parts[3];
}

namespace {

// SQLite locks bytes from 0x40000000 up (PENDING_BYTE, RESERVED_BYTE, 510 shared bytes);
// run locks start well past them.
constexpr off_t kRunLockBase = off_t(0x40100000);

// One descriptor per (database path, purpose), opened once and never closed (see the
// header): the holder's and the prober's are apart, because a descriptor does not see
// its own open-file-description locks as conflicts.
// A file replaced at the same path (deleted and created again) gets a descriptor of its
// own; the old one stays open, as above.
int lock_fd(const std::string& path, bool holder) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, bool>, int> fds;
  const std::lock_guard<std::mutex> guard(mutex);
  struct stat now {};
  if (::stat(path.c_str(), &now) != 0) return -1;
  const auto it = fds.find({path, holder});
  struct stat held {};
  if (it != fds.end() && ::fstat(it->second, &held) == 0 && held.st_dev == now.st_dev && held.st_ino == now.st_ino)
    return it->second;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) fds[{path, holder}] = fd;
  return fd;
}

struct flock run_byte(std::int64_t run_id, short type) {
  struct flock l {};
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = kRunLockBase + off_t(run_id);
  l.l_len = 1;
  return l;
}

}  // namespace

void hold_run_lock(const std::string& db_path, std::int64_t run_id) {
  const int fd = lock_fd(db_path, true);
  if (fd < 0) return;
  struct flock l = run_byte(run_id, F_RDLCK);
  ::fcntl(fd, F_OFD_SETLK, &l);  // a failure leaves the owner string to tell
}

void release_run_lock(const std::string& db_path, std::int64_t run_id) {
  const int fd = lock_fd(db_path, true);
  if (fd < 0) return;
  struct flock l = run_byte(run_id, F_UNLCK);
  ::fcntl(fd, F_OFD_SETLK, &l);
}

bool run_lock_held(const std::string& db_path, std::int64_t run_id) {
  const int fd = lock_fd(db_path, false);
  if (fd < 0) return false;
  struct flock l = run_byte(run_id, F_WRLCK);
  if (::fcntl(fd, F_OFD_GETLK, &l) != 0) return false;
  return l.l_type != F_UNLCK;
}

bool run_writer_alive(const std::string& db_path, std::int64_t run_id, const std::string& owner) {
  return run_lock_held(db_path, run_id) || owner_is_alive(owner);
}

}  // namespace roofaudit::store
