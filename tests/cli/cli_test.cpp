// The roofaudit binary as a user runs it: exit codes, one-line errors, stored runs that
// survive bad input, kills and concurrent writers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "store/database.hpp"
#include "store/store.hpp"
#include "test_util.hpp"

namespace roofaudit {
namespace {

using roofaudit::testing::read_all;
using roofaudit::testing::ScratchDir;
using roofaudit::testing::write_all;

// Small, fast sweeps: the CLI behaviour, not the numbers, is under test.
const std::vector<std::string> kTiny = {"--min-size", "4KiB", "--max-size", "128KiB", "--repetitions", "2",
                                        "--sample-ms", "0.5"};

struct Result {
  int exit_code = -1;
  std::string out, err;
};

pid_t spawn(const std::vector<std::string>& args, const std::string& out_path, const std::string& err_path) {
  const pid_t pid = fork();
  if (pid == 0) {
    freopen(out_path.c_str(), "w", stdout);
    freopen(err_path.c_str(), "w", stderr);
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

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

Result roofaudit(const ScratchDir& dir, std::vector<std::string> args) {
  static int counter = 0;
  const std::string out = dir.file("out" + std::to_string(counter)), err = dir.file("err" + std::to_string(counter++));
  Result r;
  r.exit_code = wait_exit(spawn(args, out, err));
  r.out = read_all(out);
  r.err = read_all(err);
  return r;
}

std::vector<std::string> run_args(const std::string& db, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"--db", db, "run"};
  a.insert(a.end(), kTiny.begin(), kTiny.end());
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

void expect_one_line_error(const Result& r, const std::string& fragment) {
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

TEST_F(Cli, RunStoresAValidatedRunAndShowReadsIt) {
  const auto r = roofaudit(dir, run_args(db, {"--probes", "cpu.bandwidth,cpu.latency"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("cpu.bandwidth"), std::string::npos);
  EXPECT_NE(r.out.find("validation:"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << "no progress output when stderr is not a terminal: " << r.err;
  const auto show = roofaudit(dir, {"--db", db, "show", "1", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const auto j = nlohmann::json::parse(show.out);
  EXPECT_EQ(j["status"], "complete");
  EXPECT_GT(j["measurements"].size(), 20u);
  for (const auto& m : j["measurements"]) EXPECT_TRUE(m["valid"].get<bool>()) << m.dump();
  EXPECT_FALSE(j["fits"].empty());
  const auto runs = roofaudit(dir, {"--db", db, "runs"});
  EXPECT_NE(runs.out.find("complete"), std::string::npos);
}

TEST_F(Cli, ProbesListsEveryRegisteredProbe) {
  const auto r = roofaudit(dir, {"probes"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("cpu.bandwidth"), std::string::npos);
  EXPECT_NE(r.out.find("cpu.latency"), std::string::npos);
}

TEST_F(Cli, UnknownProbeIsRefusedAndStoresNothing) {
  const auto before = seeded();
  expect_one_line_error(roofaudit(dir, run_args(db, {"--probes", "cpu.bandwith"})), "unknown probe 'cpu.bandwith'");
  EXPECT_EQ(read_all(db), before);
}

TEST_F(Cli, WorkingSetLargerThanMemoryIsRefused) {
  const auto before = seeded();
  expect_one_line_error(roofaudit(dir, {"--db", db, "run", "--probes", "cpu.bandwidth", "--max-size", "100000GiB"}),
                        "memory is available");
  EXPECT_EQ(read_all(db), before);
}

TEST_F(Cli, MalformedSizeIsRefused) {
  expect_one_line_error(roofaudit(dir, {"--db", db, "run", "--max-size", "lots"}), "not a size");
}

TEST_F(Cli, UnknownOptionIsAOneLineError) {
  expect_one_line_error(roofaudit(dir, {"--db", db, "run", "--fast"}), "--fast");
}

TEST_F(Cli, CorruptDatabaseIsRefusedUntouched) {
  std::string garbage(4096, 'x');
  write_all(db, garbage);
  expect_one_line_error(roofaudit(dir, run_args(db, {"--probes", "cpu.latency"})), "not an SQLite database");
  EXPECT_EQ(read_all(db), garbage);
}

TEST_F(Cli, NewerSchemaIsRefusedUntouched) {
  seeded();
  {
    store::Database raw(db, 1000);
    raw.exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA user_version = 42");
  }
  const auto before = read_all(db);
  expect_one_line_error(roofaudit(dir, {"--db", db, "runs"}), "schema version 42");
  EXPECT_EQ(read_all(db), before);
}

TEST_F(Cli, UnwritableDatabasePathIsRefused) {
  write_all(dir.file("file"), "x");
  expect_one_line_error(roofaudit(dir, {"--db", dir.file("file") + "/x.db", "runs"}), "cannot create directory");
}

TEST_F(Cli, LockedDatabaseTimesOutWithoutLosingRuns) {
  seeded();
  store::Database holder(db, 0);
  holder.exec("BEGIN IMMEDIATE");
  expect_one_line_error(roofaudit(dir, {"--db", db, "--busy-timeout-ms", "200", "run", "--probes", "cpu.latency",
                                        "--max-size", "64KiB"}),
                        "locked");
  holder.exec("ROLLBACK");
  store::Store s(db);
  ASSERT_EQ(s.runs().size(), 1u);
  EXPECT_EQ(s.runs()[0].status, "complete");
}

TEST_F(Cli, ShowOfAMissingRunIsAnError) {
  seeded();
  expect_one_line_error(roofaudit(dir, {"--db", db, "show", "99"}), "no run 99");
}

TEST_F(Cli, TwoConcurrentRunsBothSucceed) {
  const auto args = run_args(db, {"--probes", "cpu.latency,cpu.bandwidth"});
  const pid_t a = spawn(args, dir.file("a.out"), dir.file("a.err"));
  const pid_t b = spawn(args, dir.file("b.out"), dir.file("b.err"));
  EXPECT_EQ(wait_exit(a), 0) << read_all(dir.file("a.err"));
  EXPECT_EQ(wait_exit(b), 0) << read_all(dir.file("b.err"));
  store::Store s(db);
  const auto runs = s.runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, "complete");
  EXPECT_EQ(runs[1].status, "complete");
  EXPECT_EQ(runs[0].measurement_count, runs[1].measurement_count);
}

// Waits until the child has committed at least one measurement.
void wait_for_first_measurement(const std::string& db) {
  for (int i = 0; i < 600; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    try {
      store::Store s(db);
      const auto runs = s.runs();
      if (!runs.empty() && runs.back().measurement_count > 0) return;
    } catch (const std::exception&) {
      // not created yet
    }
  }
  FAIL() << "no measurement appeared";
}

// A full-length sweep that is still running when the test stops it.
std::vector<std::string> long_run(const std::string& db) {
  return {"--db", db, "run", "--probes", "cpu.latency", "--max-size", "64MiB", "--repetitions", "5", "--sample-ms", "20"};
}

TEST_F(Cli, KilledRunKeepsFinishedMeasurementsAndIsFoundInterrupted) {
  const pid_t child = spawn(long_run(db), dir.file("k.out"), dir.file("k.err"));
  wait_for_first_measurement(db);
  kill(child, SIGKILL);
  EXPECT_EQ(wait_exit(child), 128 + SIGKILL);
  store::Store s(db);  // the open notices the dead writer
  const auto runs = s.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "interrupted");
  EXPECT_GT(runs[0].measurement_count, 0);
  for (const auto& m : s.measurements(runs[0].id)) EXPECT_TRUE(m.valid);
}

TEST_F(Cli, CtrlCMarksTheRunInterruptedAndExits130) {
  const pid_t child = spawn(long_run(db), dir.file("i.out"), dir.file("i.err"));
  wait_for_first_measurement(db);
  kill(child, SIGINT);
  EXPECT_EQ(wait_exit(child), 130) << read_all(dir.file("i.err"));
  store::Store s(db);
  const auto runs = s.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "interrupted");
  EXPECT_GT(runs[0].measurement_count, 0);
  EXPECT_NE(read_all(dir.file("i.err")).find("interrupted"), std::string::npos);
}

}  // namespace
}  // namespace roofaudit
