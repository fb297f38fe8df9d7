#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace roofaudit::cli {

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

Progress::Progress(bool enabled) : enabled_(enabled) {}
Progress::~Progress() { clear(); }

void Progress::probe(int index, int count, const std::string& name) {
  prefix_ = fmt::format("[{}/{}] {}", index, count, name);
  detail("");
}

void Progress::detail(const std::string& text) {
  if (!enabled_) return;
  fmt::print(stderr, "\r\033[K{} {}", prefix_, text);
  std::fflush(stderr);
}

void Progress::clear() {
  if (!enabled_) return;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace roofaudit::cli
