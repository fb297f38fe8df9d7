#pragma once
// Reading a file a user names (a model's config.json, a chip, a price file, a length
// trace): only a regular file is read, never a directory, FIFO, device or socket (a FIFO
// with no writer would block forever), and only up to a bound.
#include <cstdint>
#include <string>

namespace roofaudit {

// The bytes of `path`, at most `most` of them. Throws Error with one line naming `path`
// and `what` it was meant to be when it cannot be read, is not a regular file, or is
// larger than `most`.
std::string read_user_file(const std::string& path, const std::string& what, std::uint64_t most = std::uint64_t(64) << 20);

}  // namespace roofaudit
