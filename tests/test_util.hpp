#pragma once
// Helpers shared by the tests: scratch directories and file digests.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace roofaudit::testing {

class ScratchDir {
 public:
  ScratchDir() {
    // mkdtemp replaces the template's six trailing X characters.
    std::string tmpl = (std::filesystem::temp_directory_path() / "roofaudit-test-").string() + std::string(6, 'X');
    path_ = mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }

 private:
  std::string path_;
};

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_all(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

}  // namespace roofaudit::testing
