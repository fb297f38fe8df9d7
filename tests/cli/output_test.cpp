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

// A FIFO nobody reads once blocked the writer forever: the open is bounded.
TEST_F(Cli, OutputOntoAFifoNobodyReadsGivesUp) {
  seeded();
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--output", fifo}), "a FIFO with no reader after 10 s");
  struct stat st {};
  ASSERT_EQ(stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO is still a FIFO";
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

// The files SQLite keeps beside the database are as protected as the database: writing
// one (even one that does not exist yet, like a -journal SQLite would take for a hot one)
// could lose what is stored. By name, through a link, and while they exist.
TEST_F(Cli, OutputOntoTheDatabasesOwnFilesIsRefused) {
  const std::string before = seeded();
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::string file = db + suffix;
    expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--output", file}), "refusing to write over it");
    EXPECT_FALSE(std::filesystem::exists(file)) << file;
    const std::string link = dir.file(std::string("link") + suffix + ".md");
    ASSERT_EQ(symlink(file.c_str(), link.c_str()), 0);
    expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--output", link}), "refusing to write over it");
    EXPECT_FALSE(std::filesystem::exists(file)) << file;
  }
  EXPECT_EQ(read_all(db), before);
  // While a connection holds the database in WAL mode, its -wal and -shm files exist.
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "PRAGMA journal_mode = WAL; BEGIN; INSERT INTO tags(name, run_id, created_at) VALUES ('held', 1, '2026-01-01T00:00:00Z');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(h);
  ASSERT_TRUE(std::filesystem::exists(db + "-wal"));
  const std::string wal = read_all(db + "-wal");
  expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--output", db + "-wal"}), "wal file");
  EXPECT_EQ(read_all(db + "-wal"), wal);
  ASSERT_EQ(sqlite3_exec(h, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(h);
  store::Store after(db);
  EXPECT_EQ(after.runs().size(), 1u);
}

// A verb that only reads leaves nothing beside the database, whether it reads it or
// refuses it.
TEST_F(Cli, ReadingLeavesNoFilesBesideTheDatabase) {
  const std::string before = seeded();
  auto beside = [&](const std::string& file) {
    return std::filesystem::exists(file + "-wal") || std::filesystem::exists(file + "-shm") ||
           std::filesystem::exists(file + "-journal");
  };
  ASSERT_FALSE(beside(db));
  for (const std::vector<std::string>& verb :
       {std::vector<std::string>{"runs"}, {"show", "1"}, {"report"}, {"export", "1", "--format", "gbench-json"},
        {"history", "--figure", "cpu.latency"}, {"predict", "--chip", "tpu-v5e", "--model", "llama3-8b"}}) {
    std::vector<std::string> args = {"--db", db};
    args.insert(args.end(), verb.begin(), verb.end());
    roofaudit(dir, args);
    EXPECT_FALSE(beside(db)) << verb.front();
  }
  EXPECT_EQ(read_all(db), before);
  // A foreign database in WAL mode, refused.
  const std::string foreign = dir.file("foreign.db");
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(foreign.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "PRAGMA journal_mode = WAL; CREATE TABLE t(x);", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(h);
  ASSERT_FALSE(beside(foreign));
  const std::string foreign_bytes = read_all(foreign);
  expect_one_line_error(roofaudit(dir, {"--db", foreign, "runs"}), "not a roofaudit one");
  EXPECT_FALSE(beside(foreign));
  EXPECT_EQ(read_all(foreign), foreign_bytes);
}

TEST_F(Cli, OutputThroughADanglingLinkCreatesWhatItNames) {
  seeded();
  const std::string link = dir.file("dangling.md"), target = dir.file("made.md");
  ASSERT_EQ(symlink("made.md", link.c_str()), 0);  // relative: to the link's folder
  const auto r = roofaudit(dir, {"--db", db, "report", "--output", link});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode)) << "the link is still a link";
  EXPECT_EQ(read_all(target).rfind("roofaudit report: run 1", 0), 0u);
}

// The README's examples: standard output named as a file.
TEST_F(Cli, OutputToStandardOutputByNameWritesThrough) {
  seeded();
  for (const char* name : {"/dev/stdout", "/proc/self/fd/1", "/dev/fd/1"}) {
    const auto r = roofaudit(dir, {"--db", db, "report", "--output", name});
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_EQ(r.out.rfind("roofaudit report: run 1", 0), 0u) << name << ": " << r.out;
  }
}

// A reader that has gone (`report | head -c 10`): exit 2 with one line, not SIGPIPE's 141.
TEST_F(Cli, AClosedPipeIsAnErrorNotASignal) {
  seeded();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string err = dir.file("stderr-pipe");
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 1);
    freopen(err.c_str(), "w", stderr);
    std::string bin = ROOFAUDIT_BINARY, a1 = "--db", a2 = db, a3 = "report", a4 = "--format", a5 = "html";
    char* argv[] = {bin.data(), a1.data(), a2.data(), a3.data(), a4.data(), a5.data(), nullptr};
    execv(bin.c_str(), argv);
    _exit(127);
  }
  close(fds[0]);  // nobody reads
  close(fds[1]);
  EXPECT_EQ(wait_exit(pid), 2) << read_all(err);
  EXPECT_NE(read_all(err).find("cannot write standard output"), std::string::npos) << read_all(err);
}

// What a user typed is echoed on one line, with nothing a terminal acts on.
TEST_F(Cli, ErrorLinesShowControlCharactersInCaretNotation) {
  seeded();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--db", db, "show", "1\n\x1b[31mred"}, {"--db", db, "\x1b]0;title\x07"},
        {"--db", db, "report", "--run", "9\nX"}, {"--db", db + "\n", "runs"}}) {
    const auto r = roofaudit(dir, args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\x07'), std::string::npos) << r.err;
  }
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
