// The roofaudit binary as a user runs it: --output and standard output: nothing stored or written is lost (README, "--output").
#include "tests/cli/cli_fixture.hpp"

namespace roofaudit {
namespace {

// --output and standard output: nothing stored or written is lost (README, "--output").
TEST_F(Cli, ReportOutputOntoTheDatabaseInUseIsRefused) {
  const std::string before = seeded();
  expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--format", "html", "--output", db}),
                        "is the database in use");
  EXPECT_EQ(read_all(db), before) << "the database is untouched";
  // Through a link to it, too.
  const std::string link = dir.file("alias.db");
  ASSERT_EQ(symlink(db.c_str(), link.c_str()), 0);
  expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--output", link}), "is the database in use");
  EXPECT_EQ(read_all(db), before);
}

TEST_F(Cli, OutputOntoADeviceOrFifoIsWrittenThroughNotReplaced) {
  seeded();
  expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--output", "/dev/full"}), "No space left on device");
  struct stat st {};
  ASSERT_EQ(stat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/full is still the device";
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string received = dir.file("received");
  const pid_t reader = fork();
  if (reader == 0) {  // what a reader at the other end gets
    std::string text = read_all(fifo);
    write_all(received, text);
    _exit(0);
  }
  const auto r = roofaudit(dir, {"--db", db, "report", "--output", fifo});
  EXPECT_EQ(wait_exit(reader), 0);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO is still a FIFO";
  EXPECT_EQ(read_all(received).rfind("roofaudit report: run 1", 0), 0u) << read_all(received);
}

TEST_F(Cli, OutputThroughALinkReplacesWhatItNamesAndKeepsItsMode) {
  seeded();
  const std::string real = dir.file("real.md"), link = dir.file("link.md");
  write_all(real, "old");
  ASSERT_EQ(chmod(real.c_str(), 0640), 0);
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  const auto r = roofaudit(dir, {"--db", db, "report", "--format", "markdown", "--output", link});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the link is still a link";
  ASSERT_EQ(stat(real.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_NE(read_all(real), "old");
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(real).parent_path()))
    EXPECT_EQ(e.path().filename().string().rfind(".roofaudit-", 0), std::string::npos) << "no temporary left: " << e.path();
}

TEST_F(Cli, ReadOnlyOutputIsRefusedAndKept) {
  seeded();
  const std::string target = dir.file("kept.txt");
  write_all(target, "keep me");
  ASSERT_EQ(chmod(target.c_str(), 0444), 0);
  expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--output", target}), "read-only");
  EXPECT_EQ(read_all(target), "keep me");
  struct stat st {};
  ASSERT_EQ(stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
}

// Every verb: output that cannot be written is an error, not exit 0.
TEST_F(Cli, StandardOutputThatCannotBeWrittenFails) {
  seeded();
  for (const std::vector<std::string>& verb : {std::vector<std::string>{"runs"}, {"show", "1", "--json"},
                                               {"export", "1", "--format", "gbench-json"}, {"report"}}) {
    std::vector<std::string> args = {"--db", db};
    args.insert(args.end(), verb.begin(), verb.end());
    const std::string err = dir.file("stderr-full");
    const int code = wait_exit(spawn(args, "/dev/full", err));
    EXPECT_EQ(code, 2) << verb.front();
    EXPECT_NE(read_all(err).find("cannot write standard output"), std::string::npos) << read_all(err);
  }
}

// A disk that fills up part-way: the old output file is kept, no temporary is left beside
// it, and a redirected standard output that could not be written all fails the verb.
TEST_F(Cli, AFullDiskKeepsTheOldFileAndFails) {
  seeded();
  {
    // A rollback journal, so that reading writes nothing (WAL readers write the -shm file,
    // which the size limit would cut first).
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "PRAGMA journal_mode = DELETE", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
  }
  const std::string page = dir.file("report.html");
  write_all(page, "the old report");
  const std::string err = dir.file("stderr-fsize");
  int code = wait_exit(spawn({"--db", db, "report", "--format", "html", "--output", page}, dir.file("stdout-fsize"), err,
                             16384));
  EXPECT_EQ(code, 2) << read_all(err);
  EXPECT_NE(read_all(err).find(page), std::string::npos) << read_all(err);
  EXPECT_EQ(read_all(page), "the old report");
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(page).parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".roofaudit-"), std::string::npos) << e.path();
  const std::string exported = dir.file("export.json");
  code = wait_exit(spawn({"--db", db, "export", "1", "--format", "gbench-json"}, exported, err, 16384));
  EXPECT_EQ(code, 2) << read_all(err);
  EXPECT_NE(read_all(err).find("cannot write standard output"), std::string::npos) << read_all(err);
}

// Memory that cannot be had: the probe's failure reaches the run loop (it once escaped an
// OpenMP region and aborted the process, leaving the run 'running'), and the run is failed.
TEST_F(Cli, AnAllocationThatFailsFailsTheRunCleanly) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space: an address-space cap cannot run under it "
                  "(CpuBandwidthProbe.AnAllocationThatFailsThrowsToTheCaller asserts the same path in process)";
#else
  const std::string err = dir.file("stderr-as");
  const int code = wait_exit(spawn({"--db", db, "run", "--probes", "cpu.bandwidth", "--min-size", "1GiB", "--max-size",
                                    "1GiB", "--quick"},
                                   dir.file("stdout-as"), err, 0, rlim_t(900) << 20));
  EXPECT_EQ(code, 2) << read_all(err);
  EXPECT_NE(read_all(err).find("cannot allocate"), std::string::npos) << read_all(err);
  store::Store s(db);
  ASSERT_EQ(s.runs().size(), 1u);
  EXPECT_EQ(s.runs()[0].status, "failed");
#endif
}

TEST_F(Cli, AnEmptyDatabasePathIsRefusedNotDefaulted) {
  expect_one_line_error(roofaudit(dir, {"--db", "", "runs"}), "--db is empty");
  Result r;
  {
    const ScopedEnv empty("ROOFAUDIT_DB", "");
    r = roofaudit(dir, {"runs"});
  }
  expect_one_line_error(r, "ROOFAUDIT_DB is set but empty");
}

}  // namespace
}  // namespace roofaudit
