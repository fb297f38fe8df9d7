#include "values/user_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "values/error.hpp"

namespace roofaudit {

std::string read_user_file(const std::string& path, const std::string& what, std::uint64_t most) {
  if (path.empty()) throw Error(fmt::format("the {} path is empty", what));
  // Non-blocking: opening a FIFO to read returns at once instead of waiting for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw Error(fmt::format("cannot read the {} {}: {}", what, path, std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(fmt::format("cannot read the {} {}: {}", what, path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw Error(fmt::format("the {} {} is a directory: give the file itself", what, path));
  if (!S_ISREG(st.st_mode))
    throw Error(fmt::format("the {} {} is not a regular file (a FIFO, device or socket): give a file", what, path));
  if (std::uint64_t(st.st_size) > most)
    throw Error(fmt::format("the {} {} is {} bytes, more than the {} a {} can be", what, path, st.st_size, most, what));
  std::string out(std::size_t(st.st_size), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(fmt::format("cannot read the {} {}: {}", what, path, std::strerror(errno)));
    if (n == 0) break;  // shrank while read
    done += std::size_t(n);
  }
  out.resize(done);
  return out;
}

}  // namespace roofaudit
