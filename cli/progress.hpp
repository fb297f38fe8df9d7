#pragma once
// Progress on stderr for people watching a terminal; silent otherwise.
#include <string>

namespace roofaudit::cli {

class Progress {
 public:
  explicit Progress(bool enabled);
  ~Progress();
  void probe(int index, int count, const std::string& name);
  void detail(const std::string& text);
  void clear();

 private:
  bool enabled_;
  std::string prefix_;
};

bool stderr_is_terminal();

}  // namespace roofaudit::cli
