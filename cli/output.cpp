#include "cli/output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

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

void write_output_file(const std::string& path, const std::string& text, const std::string& database_path) {
  if (path.empty()) throw Error("--output is empty: give a file name");
  // A link is followed: what it names is what gets written.
  std::error_code ec;
  std::filesystem::path target = path;
  if (std::filesystem::is_symlink(std::filesystem::symlink_status(target, ec))) {
    const auto resolved = std::filesystem::weakly_canonical(target, ec);
    if (ec) throw Error(fmt::format("cannot write {}: the link cannot be followed ({})", path, ec.message()));
    target = resolved;
  }
  struct stat existing {};
  const bool exists = ::stat(target.c_str(), &existing) == 0;
  if (exists) {
    struct stat db {};
    if (!database_path.empty() && ::stat(database_path.c_str(), &db) == 0 && db.st_dev == existing.st_dev &&
        db.st_ino == existing.st_ino)
      throw Error(fmt::format("--output {} is the database in use: refusing to write over it", path));
    if (S_ISDIR(existing.st_mode)) throw Error(fmt::format("cannot write {}: it is a directory", path));
    if (!S_ISREG(existing.st_mode)) {  // a device, FIFO or socket: written through, as '>' would
      const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) throw Error(fmt::format("cannot write {}: {}", path, reason(errno)));
      const bool ok = write_all(fd, text);
      const int err = errno;
      ::close(fd);
      if (!ok) throw Error(fmt::format("cannot write {}: {}", path, reason(err)));
      return;
    }
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
