#include "cli/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "values/error.hpp"

namespace roofaudit::cli {
namespace {

std::string reason(int err) { return std::strerror(err); }

// write(2) until done; false with errno set on failure.
bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += std::size_t(n);
  }
  return true;
}

// Removes the temporary unless it was renamed into place.
struct TempFile {
  std::string path;
  int fd = -1;
  bool keep = false;
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!keep && !path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

namespace {

// Follows `path`'s symbolic links (at most 40, as the kernel does) to the file they name,
// existing or not: a dangling link names the file it would create.
std::filesystem::path follow_links(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path at = fs::absolute(path);
  for (int hops = 0;; ++hops) {
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(at, ec))) break;
    if (hops == 40) throw Error(fmt::format("cannot write {}: too many levels of symbolic links", path));
    const fs::path next = fs::read_symlink(at, ec);
    if (ec) throw Error(fmt::format("cannot write {}: the link cannot be followed ({})", path, ec.message()));
    at = next.is_absolute() ? next : at.parent_path() / next;
  }
  // The folder it is in, canonical; the name as it is.
  std::error_code ec;
  const fs::path folder = fs::weakly_canonical(at.parent_path(), ec);
  return ec ? at.lexically_normal() : folder / at.filename();
}

// The files SQLite keeps beside a database: writing any of them loses what is stored (a
// stray -journal is even taken for a hot journal and rolled back into the database).
constexpr const char* kDatabaseFiles[] = {"", "-wal", "-shm", "-journal"};

// Throws when `target` (links followed) is the database in use or one of its files, by
// name or by being the same file.
void refuse_database_files(const std::string& path, const std::filesystem::path& target, const struct stat* existing,
                           const std::string& database_path) {
  if (database_path.empty()) return;
  const std::filesystem::path db = follow_links(database_path);
  for (const char* suffix : kDatabaseFiles) {
    const std::string file = db.string() + suffix;
    struct stat st {};
    const bool same_file = existing && ::stat(file.c_str(), &st) == 0 && st.st_dev == existing->st_dev &&
                           st.st_ino == existing->st_ino;
    if (same_file || target == std::filesystem::path(file))
      throw Error(*suffix ? fmt::format("--output {} is the database's {} file: refusing to write over it", path, suffix + 1)
                          : fmt::format("--output {} is the database in use: refusing to write over it", path));
  }
}

}  // namespace

// A FIFO opened for writing blocks until a reader opens it, possibly forever: the open is
// tried without blocking for up to kFifoReaderWait, then refused; once open, writes block
// as a shell redirection's would (a reader that leaves is EPIPE, exit 2).
static constexpr auto kFifoReaderWait = std::chrono::seconds(10);

static int open_fifo_writer(const std::string& path) {
  const auto give_up = std::chrono::steady_clock::now() + kFifoReaderWait;
  for (;;) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      return fd;
    }
    if (errno != ENXIO) return -1;
    if (std::chrono::steady_clock::now() >= give_up)
      throw Error(fmt::format("cannot write {}: a FIFO with no reader after {} s", path, kFifoReaderWait.count()));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void write_output_file(const std::string& path, const std::string& text, const std::string& database_path) {
  if (path.empty()) throw Error("--output is empty: give a file name");
  // What the path reaches, links followed by the kernel: a descriptor's file under /proc
  // or /dev/fd (a pipe, a terminal) is reached only this way.
  struct stat reached {};
  const bool reachable = ::stat(path.c_str(), &reached) == 0;
  const bool names_descriptor =
      path.rfind("/dev/std", 0) == 0 || path.rfind("/dev/fd/", 0) == 0 || path.rfind("/proc/", 0) == 0;
  if (reachable && (names_descriptor || !(S_ISREG(reached.st_mode) || S_ISDIR(reached.st_mode)))) {
    refuse_database_files(path, {}, &reached, database_path);
    if (S_ISDIR(reached.st_mode)) throw Error(fmt::format("cannot write {}: it is a directory", path));
    const int fd = S_ISFIFO(reached.st_mode) ? open_fifo_writer(path)
                                             : ::open(path.c_str(), O_WRONLY | O_CLOEXEC | (S_ISREG(reached.st_mode) ? O_TRUNC : 0));
    if (fd < 0) throw Error(fmt::format("cannot write {}: {}", path, reason(errno)));
    const bool ok = write_all(fd, text);
    const int err = errno;
    ::close(fd);
    if (!ok) throw Error(fmt::format("cannot write {}: {}", path, reason(err)));
    return;
  }
  // A link is followed, dangling or not: what it names is what gets written.
  const std::filesystem::path target = follow_links(path);
  struct stat existing {};
  const bool exists = ::stat(target.c_str(), &existing) == 0;
  refuse_database_files(path, target, exists ? &existing : nullptr, database_path);
  if (exists) {
    if (S_ISDIR(existing.st_mode)) throw Error(fmt::format("cannot write {}: it is a directory", path));
    if ((existing.st_mode & 0222) == 0)
      throw Error(fmt::format("cannot write {}: it is read-only (mode {:o})", path, existing.st_mode & 07777));
  }
  // A regular file: written beside the target and renamed over it.
  TempFile tmp;
  tmp.path = (target.parent_path() / (".roofaudit-" + target.filename().string() + ".XXXXXX")).string();
  if (target.parent_path().empty()) tmp.path = ".roofaudit-" + target.filename().string() + ".XXXXXX";
  tmp.fd = ::mkstemp(tmp.path.data());
  if (tmp.fd < 0) {
    const int err = errno;
    tmp.path.clear();
    throw Error(fmt::format("cannot write {}: {}", path, reason(err)));
  }
  const mode_t mode = exists ? (existing.st_mode & 07777) : mode_t(0666 & ~[] {
    const mode_t m = ::umask(0);
    ::umask(m);
    return m;
  }());
  if (::fchmod(tmp.fd, mode) != 0 || !write_all(tmp.fd, text) || ::fsync(tmp.fd) != 0)
    throw Error(fmt::format("cannot write {}: {}", path, reason(errno)));
  const int fd = tmp.fd;
  tmp.fd = -1;
  if (::close(fd) != 0) throw Error(fmt::format("cannot write {}: {}", path, reason(errno)));
  if (::rename(tmp.path.c_str(), target.c_str()) != 0)
    throw Error(fmt::format("cannot write {}: {}", path, reason(errno)));
  tmp.keep = true;
}

// The directional formatting characters (U+200E/F, U+202A-U+202E, U+2066-U+2069): they
// reorder what a terminal shows after them, so an error line could read other than it is.
static std::size_t bidi_control_at(const std::string& text, std::size_t i) {
  if (i + 2 >= text.size() || static_cast<unsigned char>(text[i]) != 0xe2) return 0;
  const auto b1 = static_cast<unsigned char>(text[i + 1]), b2 = static_cast<unsigned char>(text[i + 2]);
  const bool bidi = (b1 == 0x80 && (b2 == 0x8e || b2 == 0x8f || (b2 >= 0xaa && b2 <= 0xae))) ||
                    (b1 == 0x81 && b2 >= 0xa6 && b2 <= 0xa9);
  return bidi ? 3 : 0;
}

std::string printable(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (bidi_control_at(text, i)) {
      const unsigned code = ((u & 0x0f) << 12) | ((static_cast<unsigned char>(text[i + 1]) & 0x3f) << 6) |
                            (static_cast<unsigned char>(text[i + 2]) & 0x3f);
      out += fmt::format("<U+{:04X}>", code);
      i += 2;
    } else if (u < 0x20 || u == 0x7f) {
      out += '^';
      out += char(u == 0x7f ? '?' : u + 64);
    } else {
      out += c;
    }
  }
  return out;
}

struct NeutralisedStdout::Filter : std::streambuf {
  explicit Filter(std::streambuf* out) : out_(out) {}
  int overflow(int c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\n' && u != '\t') || u == 0x7f) {
      if (out_->sputc('^') == traits_type::eof()) return traits_type::eof();
      return out_->sputc(char(u == 0x7f ? '?' : u + 64)) == traits_type::eof() ? traits_type::eof() : c;
    }
    return out_->sputc(char(u)) == traits_type::eof() ? traits_type::eof() : c;
  }
  int sync() override { return out_->pubsync(); }
  std::streambuf* out_;
};

NeutralisedStdout::NeutralisedStdout()
    : filter_(std::make_unique<Filter>(std::cout.rdbuf())), previous_(std::cout.rdbuf(filter_.get())) {}

NeutralisedStdout::~NeutralisedStdout() {
  std::cout.flush();
  const auto state = std::cout.rdstate();  // rdbuf() clears it: a lost write must survive
  std::cout.rdbuf(previous_);
  std::cout.setstate(state);
}

void check_stdout() {
  std::cout.flush();
  if (!std::cout) {
    const int err = errno;
    std::cout.clear();
    throw Error(fmt::format("cannot write standard output: {}", err ? reason(err) : "the stream failed"));
  }
}

}  // namespace roofaudit::cli
