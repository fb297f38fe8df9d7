// The roofaudit binary as a user runs it: `run`, `probes`, `devices`, `show`: runs stored, validated and shown; the database
// refused untouched when it is not roofaudit's; kills, signals and concurrent writers.
#include "tests/cli/cli_fixture.hpp"
#include "probes/cuda/backend.hpp"

namespace roofaudit {
namespace {

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
  expect_one_line_error(roofaudit(dir, run_args(dir.file("file") + "/x.db", {"--probes", "cpu.latency"})),
                        "cannot create directory");
  // A reader creates nothing: it says there is no database.
  expect_one_line_error(roofaudit(dir, {"--db", dir.file("file") + "/x.db", "runs"}), "no database at");
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

TEST_F(Cli, HangupIsHandledLikeTerminate) {
  for (int sig : {SIGTERM, SIGHUP}) {
    ScratchDir own;
    const std::string path = own.file("h.db");
    const pid_t child = spawn(long_run(path), own.file("h.out"), own.file("h.err"));
    wait_for_first_measurement(path);
    kill(child, sig);
    EXPECT_EQ(wait_exit(child), 130) << sig << ": " << read_all(own.file("h.err"));
    store::Store s(path);
    const auto runs = s.runs();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].status, "interrupted") << sig;
  }
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

// `timeout` signals the process and then its whole group, so the run gets SIGTERM twice at
// once: that once ended it silently. A repeat within a second is the same stop.
TEST_F(Cli, ASignalRepeatedAtOnceStillStopsTheRunGently) {
  const pid_t child = spawn(long_run(db), dir.file("t.out"), dir.file("t.err"));
  wait_for_first_measurement(db);
  kill(child, SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the first handled, as timeout's two are
  kill(child, SIGTERM);
  EXPECT_EQ(wait_exit(child), 130) << read_all(dir.file("t.err"));
  EXPECT_NE(read_all(dir.file("t.err")).find("interrupted; run 1 keeps"), std::string::npos) << read_all(dir.file("t.err"));
  store::Store s(db);
  ASSERT_EQ(s.runs().size(), 1u);
  EXPECT_EQ(s.runs()[0].status, "interrupted");
}

TEST_F(Cli, UnknownVerbNamesTheVerbs) {
  const auto r = roofaudit(dir, {"rnu"});
  expect_one_line_error(r, "unknown verb 'rnu'");
  EXPECT_NE(r.err.find("predict"), std::string::npos);
  EXPECT_EQ(r.err.find("blas-gemm"), std::string::npos) << "internal verbs stay hidden";
}

// The decode sweep's knee is stored with the run and shown in its summary, with the
// roofline's prediction when the run measured a peak (here it has no DRAM figure: the
// bandwidth sweep is capped far below memory, and the summary says so).
TEST_F(Cli, DecodeRunStoresItsKneeAndShowsIt) {
  const auto r = roofaudit(dir, {"--db", db, "run", "--probes", "cpu.decode,cpu.peak", "--quick", "--max-size", "1MiB"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  store::Store s(db);
  const auto run_id = s.runs().back().id;
  int knees = 0;
  for (const auto& f : s.fits(run_id)) {
    if (f.kind != "decode_knee") continue;
    ++knees;
    EXPECT_GT(f.result["knee_batch"].get<double>(), 0);
    EXPECT_FALSE(f.result.contains("roofline_knee"));
  }
  EXPECT_EQ(knees, 2);  // int8 and bf16
  EXPECT_NE(r.out.find("knee int8: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no roofline prediction: this run has no cpu.bandwidth sweep into device memory"), std::string::npos);
  const auto shown = roofaudit(dir, {"--db", db, "show", std::to_string(run_id)});
  EXPECT_NE(shown.out.find("knee bf16: "), std::string::npos);
}

TEST_F(Cli, DevicesListsVulkanDevicesOrSaysWhyNone) {
  const auto r = roofaudit(dir, {"devices"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const bool listed = r.out.find("timestamps") != std::string::npos;
  const bool none = r.out.find("no Vulkan devices") != std::string::npos;
  EXPECT_TRUE(listed || none) << r.out;
  // CUDA's view beside it: its devices, or why there are none (no driver, no backend).
  const bool cuda_listed = r.out.find("compute capability") != std::string::npos;
  const bool cuda_none = r.out.find("no CUDA devices: ") != std::string::npos;
  EXPECT_TRUE(cuda_listed != cuda_none) << r.out;
  const auto j = roofaudit(dir, {"devices", "--json"});
  ASSERT_EQ(j.exit_code, 0);
  const auto parsed = nlohmann::json::parse(j.out);
  EXPECT_TRUE(parsed.contains("devices"));
  ASSERT_TRUE(parsed.contains("cuda"));
  EXPECT_EQ(parsed["cuda"]["built"].get<bool>(), cuda::built());
  EXPECT_EQ(parsed["cuda"]["devices"].empty(), parsed["cuda"].contains("skipped"));
}

TEST_F(Cli, OneDeviceSelectorServesBothBackends) {
  if (!cuda::list_devices().devices.empty()) GTEST_SKIP() << "a CUDA device is present: the selector finds it";
  // No GPU backend sees 'no-such-gpu': refused before anything is stored, naming both.
  const auto bad = roofaudit(dir, {"--db", db, "run", "--probes", "gpu.bandwidth", "--device", "no-such-gpu"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("matches no GPU"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("CUDA"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(db));
  if (!cuda::built()) return;
  // Vulkan's CPU implementation, named: CUDA's figures are stored as skipped, saying why.
  const auto r = roofaudit(dir, {"--db", db, "run", "--probes", "cuda.gemm", "--device", "llvmpipe"});
  if (r.exit_code == 2 && r.err.find("no Vulkan device") != std::string::npos)
    GTEST_SKIP() << "no Vulkan driver here: " << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  store::Store s(db);
  const auto run = s.runs().back();
  EXPECT_EQ(run.settings.value("gpu_device", ""), "0");
  const auto ms = s.measurements(run.id);
  ASSERT_FALSE(ms.empty());
  for (const auto& m : ms) {
    EXPECT_FALSE(m.supported);
    EXPECT_EQ(m.validation.rfind("skipped: ", 0), 0u) << m.validation;
  }
}

TEST_F(Cli, GpuRunStoresTheDeviceAndAnUnknownDeviceIsRefused) {
  const auto bad = roofaudit(dir, {"--db", db, "run", "--probes", "gpu.bandwidth", "--device", "no-such-gpu"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(db)) << "refused before the database is touched";
  const auto r = roofaudit(dir, {"--db", db, "run", "--probes", "gpu.bandwidth", "--quick", "--max-size", "512KiB"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("gpu.bandwidth"), std::string::npos) << r.out;
  store::Store s(db);
  const auto run = s.runs().back();
  bool measured = false;
  for (const auto& m : s.measurements(run.id))
    if (m.supported) {
      EXPECT_EQ(m.device.rfind("gpu:", 0), 0u);
      measured = true;
    }
  // A device that was opened names its driver in the run's environment (an annotating
  // fact); a run without one records none.
  EXPECT_EQ(run.environment.contains("driver gpu:0"), measured) << run.environment.dump();
  if (measured) {
    EXPECT_NE(run.environment.value("driver gpu:0", ""), "") << run.environment.dump();
  }
}

}  // namespace
}  // namespace roofaudit
