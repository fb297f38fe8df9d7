#pragma once
// The roofaudit binary as a user runs it, for the CLI suites (tests/cli/*_test.cpp, one
// per verb or concern): a child process with its exit code, stdout and stderr; a scratch
// database; a run that finishes in a second.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/database.hpp"
#include "store/store.hpp"
#include "test_util.hpp"

namespace roofaudit::cli_tests {

using roofaudit::testing::read_all;
using roofaudit::testing::ScopedEnv;
using roofaudit::testing::ScratchDir;
using roofaudit::testing::write_all;

// Small, fast sweeps: the CLI behaviour, not the numbers, is under test.
inline const std::vector<std::string> kTiny = {"--min-size", "4KiB", "--max-size", "128KiB", "--repetitions", "2",
                                        "--sample-ms", "0.5"};

struct Result {
  int exit_code = -1;
  std::string out, err;
};

// max_file_bytes > 0: every file the child writes is cut at that size, the writes past it
// failing with EFBIG (SIGXFSZ ignored), as on a disk that fills up. max_memory_bytes > 0:
// its address space is capped there, so large allocations fail.
inline pid_t spawn(const std::vector<std::string>& args, const std::string& out_path, const std::string& err_path,
            rlim_t max_file_bytes = 0, rlim_t max_memory_bytes = 0) {
  const pid_t pid = fork();
  if (pid == 0) {
    freopen(out_path.c_str(), "w", stdout);
    freopen(err_path.c_str(), "w", stderr);
    if (max_file_bytes > 0) {
      signal(SIGXFSZ, SIG_IGN);
      const rlimit limit{max_file_bytes, max_file_bytes};
      setrlimit(RLIMIT_FSIZE, &limit);
    }
    if (max_memory_bytes > 0) {
      const rlimit limit{max_memory_bytes, max_memory_bytes};
      setrlimit(RLIMIT_AS, &limit);
    }
    std::vector<char*> argv;
    std::string bin = ROOFAUDIT_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

inline int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

inline Result roofaudit(const ScratchDir& dir, std::vector<std::string> args) {
  static int counter = 0;
  const std::string out = dir.file("out" + std::to_string(counter)), err = dir.file("err" + std::to_string(counter++));
  Result r;
  r.exit_code = wait_exit(spawn(args, out, err));
  r.out = read_all(out);
  r.err = read_all(err);
  return r;
}

inline std::vector<std::string> run_args(const std::string& db, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"--db", db, "run"};
  a.insert(a.end(), kTiny.begin(), kTiny.end());
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

inline void expect_one_line_error(const Result& r, const std::string& fragment) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("roofaudit: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
}

class Cli : public ::testing::Test {
 protected:
  ScratchDir dir;
  std::string db = dir.file("roofaudit.db");
  // A database holding one complete run, and its bytes.
  std::string seeded() {
    const auto r = roofaudit(dir, run_args(db, {"--probes", "cpu.latency"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return read_all(db);
  }
};

}  // namespace roofaudit::cli_tests

namespace roofaudit {
using namespace cli_tests;  // the suites' own helpers, by their short names
}  // namespace roofaudit
