// The roofaudit binary as a user runs it: `check`, `history`, `compare` and `merge` over a series of runs.
#include "measurement_fixture.hpp"
#include "tests/cli/cli_fixture.hpp"

namespace roofaudit {
namespace {

// A database of synthetic runs: each run one cpu.peak fp32 figure (higher is better) and
// one cpu.latency figure (lower is better), with the given medians and 1% noise.
struct SyntheticRuns {
  std::string path;
  std::mt19937_64 rng{99};
  explicit SyntheticRuns(std::string p) : path(std::move(p)) {}
  std::int64_t add(double peak, double latency, int reps = 10, const std::string& host = "box-a",
                   const std::string& kernel = "6.1.0") {
    store::Store s(path);
    store::MachineRecord m;
    m.hostname = host;
    m.cpu_model = "Synthetic CPU";
    m.fingerprint = "fp-" + host;
    const auto machine = s.upsert_machine(m);
    const auto device = s.upsert_device(machine, {"cpu", 0, "Synthetic CPU", nlohmann::json::object()});
    const auto run = s.begin_run(machine, "synthetic", {{"threads", 0}, {"quick", false}},
                                 {{"build_type", "Release"}, {"build_flags", "-O3"}, {"kernel", kernel}});
    std::normal_distribution<double> noise(0, 0.01);
    auto measurement = [&](const char* probe, const char* variant, const char* metric, bool higher, double level) {
      Measurement x = testing::cpu_figure(probe, variant, metric, higher ? "FLOP/s" : "s", {{"threads", 2}});
      x.higher_is_better = higher;
      for (int r = 0; r < reps; ++r) x.samples.push_back({level * (1 + noise(rng)), 0.01});
      x.summary = Summary{level, level, level, level, level, 0, 0};
      s.add_measurement(run, device, x);
    };
    measurement("cpu.peak", "fp32", "peak", true, peak);
    measurement("cpu.latency", "chase", "latency", false, latency);
    if (l2 > 0) {
      // A read sweep over two levels, with its plateau fit as a run stores it.
      std::normal_distribution<double> point(0, 0.01);
      for (double ws : {4096.0, 8192.0, 16384.0, 20000.0, 65536.0, 131072.0, 262144.0}) {
        Measurement x =
            testing::cpu_figure("cpu.bandwidth", "read", "bandwidth", "B/s", {{"threads", 2}, {"working_set_bytes", ws}});
        const double level = ws <= 16384 ? 500e9 : ws >= 65536 ? l2 : 300e9;
        for (int r = 0; r < reps; ++r) x.samples.push_back({level * (1 + point(rng)), 0.01});
        x.summary = Summary{level, level, level, level, level, 0, 0};
        s.add_measurement(run, device, x);
      }
      s.put_fit(run, device, {run, "cpu", "cpu.bandwidth", "read", "plateaus",
                              {{{"level", "L1"}, {"value", 500e9}, {"from_bytes", 4096}, {"to_bytes", 16384}},
                               {{"level", "L2"}, {"value", l2}, {"from_bytes", 65536}, {"to_bytes", 262144}}}});
    }
    s.finish_run(run, "complete");
    return run;
  }
  double l2 = 0;
};

TEST_F(Cli, CheckFindsADropAgainstPooledBaselinesAndPassesASteadyRun) {
  SyntheticRuns runs(db);
  for (int i = 0; i < 5; ++i) runs.add(100e9, 80e-9);
  const auto steady = roofaudit(dir, {"--db", db, "check"});  // run 5 against runs 1-4
  runs.add(100e9, 80e-9);
  const auto ok = roofaudit(dir, {"--db", db, "check"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("run 6 against runs 1-5: 2 metrics compared, 0 regressions"), std::string::npos) << ok.out;
  EXPECT_EQ(steady.exit_code, 0) << steady.out << steady.err;

  runs.add(90e9, 80e-9);  // run 7: peak 10% lower
  const auto bad = roofaudit(dir, {"--db", db, "check"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_EQ(bad.out.rfind("REGRESSION cpu.peak/fp32/peak/threads:2 -", 0), 0u) << bad.out;
  EXPECT_NE(bad.out.find("n=10 vs 50, baseline runs 2-6"), std::string::npos) << bad.out;
  EXPECT_EQ(bad.out.find("cpu.latency"), std::string::npos) << "an unchanged metric is not a finding";
  EXPECT_EQ(roofaudit(dir, {"--db", db, "check", "--informational"}).exit_code, 0);
  EXPECT_EQ(roofaudit(dir, {"--db", db, "check", "--probes", "cpu.latency"}).exit_code, 0);
  const auto md = roofaudit(dir, {"--db", db, "check", "--format", "markdown"});
  EXPECT_NE(md.out.find("| regression | `cpu.peak/fp32/peak/threads:2` | -"), std::string::npos) << md.out;
  const auto js = nlohmann::json::parse(roofaudit(dir, {"--db", db, "check", "--format", "json"}).out);
  EXPECT_EQ(js["regressions"], 1);
  EXPECT_EQ(js["baseline_runs"].size(), 5u);

  // Latency rising is the regression for a lower-is-better metric; a tag names the baseline.
  runs.add(100e9, 92e-9);  // run 8
  ASSERT_EQ(roofaudit(dir, {"--db", db, "tag", "1", "release-1"}).exit_code, 0);
  const auto slow = roofaudit(dir, {"--db", db, "check", "--baseline", "release-1"});
  EXPECT_EQ(slow.exit_code, 1) << slow.out;
  EXPECT_EQ(slow.out.rfind("REGRESSION cpu.latency/chase/latency", 0), 0u) << slow.out;
  EXPECT_NE(slow.out.find("n=10 vs 10, baseline run 1"), std::string::npos) << slow.out;
  // The regressed run 7 against run 1 by id, and an improvement is reported, not failed.
  const auto faster = roofaudit(dir, {"--db", db, "check", "--baseline", "7", "--candidate", "6"});
  EXPECT_EQ(faster.exit_code, 0) << faster.out;
  EXPECT_NE(faster.out.find("improvement cpu.peak/fp32/peak"), std::string::npos) << faster.out;
}

TEST_F(Cli, CheckPoolsSweepPointsPerMemoryLevel) {
  SyntheticRuns runs(db);
  runs.l2 = 200e9;
  for (int i = 0; i < 3; ++i) runs.add(100e9, 80e-9);
  runs.l2 = 160e9;  // the L2 level 20% lower; L1 and the point between levels unchanged
  runs.add(100e9, 80e-9);
  const auto r = roofaudit(dir, {"--db", db, "check"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("REGRESSION cpu.bandwidth read L2 -20", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("n=30 vs 90"), std::string::npos) << r.out;  // 3 points x 10 repetitions
  EXPECT_EQ(r.out.find("read L1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 metrics compared"), std::string::npos) << r.out;  // peak, latency, L1, L2
}

TEST_F(Cli, CheckRefusesWhatItCannotCompare) {
  SyntheticRuns runs(db);
  runs.add(100e9, 80e-9);
  expect_one_line_error(roofaudit(dir, {"--db", db, "check"}), "no earlier complete run of the same series");
  runs.add(100e9, 80e-9, 2);  // two repetitions only
  expect_one_line_error(roofaudit(dir, {"--db", db, "check"}), "too few repetitions");
  expect_one_line_error(roofaudit(dir, {"--db", db, "check", "--candidate", "9"}), "no run 9");
  expect_one_line_error(roofaudit(dir, {"--db", db, "check", "--baseline", "nightly"}), "no tag 'nightly'");
  expect_one_line_error(roofaudit(dir, {"--db", db, "check", "--threshold", "lots"}), "--threshold takes");
  expect_one_line_error(roofaudit(dir, {"--db", db, "tag", "9", "x"}), "no run 9");
  expect_one_line_error(roofaudit(dir, {"--db", db, "tag", "1", "42"}), "needs a letter");
  const auto other = runs.add(100e9, 80e-9, 10, "box-b", "6.5.0");
  expect_one_line_error(roofaudit(dir, {"--db", db, "check", "--baseline", "1", "--candidate", std::to_string(other)}),
                        "--allow-different-machines");
  const auto across = roofaudit(dir, {"--db", db, "check", "--baseline", "1", "--candidate", std::to_string(other),
                                      "--allow-different-machines"});
  EXPECT_EQ(across.exit_code, 0) << across.out << across.err;
  EXPECT_NE(across.out.find("warning: kernel differs: 6.1.0 in run 1, 6.5.0 in run 3"), std::string::npos) << across.out;
}

TEST_F(Cli, CheckScalesTheThresholdByTheRunToRunSpread) {
  SyntheticRuns runs(db);
  // Repetitions agree within 1%, runs differ by several percent: the machine's mood.
  runs.add(100e9, 80e-9);
  runs.add(92e9, 80e-9);
  const auto young = roofaudit(dir, {"--db", db, "check", "--baseline", "previous", "--strict"});
  EXPECT_EQ(young.exit_code, 1) << "without history only the repetitions' noise counts: " << young.out;
  EXPECT_NE(young.out.find("run-to-run spread is unknown"), std::string::npos) << young.out;
  EXPECT_EQ(roofaudit(dir, {"--db", db, "check", "--baseline", "previous"}).exit_code, 0)
      << "and without --strict that verdict is informational";
  for (double peak : {94e9, 104e9, 97e9}) runs.add(peak, 80e-9);
  runs.add(92e9, 80e-9);  // -5% against run 5, within the series' spread (CV of 100, 92, 94, 104, 97: 4.9%)
  const auto steady = roofaudit(dir, {"--db", db, "check", "--baseline", "previous", "--format", "json"});
  EXPECT_EQ(steady.exit_code, 0) << steady.out << steady.err;
  const auto js = nlohmann::json::parse(steady.out);
  EXPECT_EQ(js["history_runs"], 5);
  EXPECT_EQ(js["regressions"], 0);
  runs.add(50e9, 80e-9);  // -46%: beyond 3 x the spread of two runs' difference (37%)
  const auto bad = roofaudit(dir, {"--db", db, "check", "--baseline", "previous"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_EQ(bad.out.rfind("REGRESSION cpu.peak/fp32/peak/threads:2 -45.", 0), 0u) << bad.out;
}

TEST_F(Cli, HistoryFindsTheBreakAndMarksTheKernelChange) {
  SyntheticRuns runs(db);
  for (int i = 0; i < 6; ++i) runs.add(100e9, 80e-9);
  for (int i = 0; i < 6; ++i) runs.add(88e9, 80e-9, 10, "box-a", "6.9.0");  // runs 7-12: 12% lower, new kernel
  const auto js = roofaudit(dir, {"--db", db, "history", "--format", "json"});
  ASSERT_EQ(js.exit_code, 0) << js.err;
  const auto h = nlohmann::json::parse(js.out);
  EXPECT_EQ(h["runs"].size(), 12u);
  ASSERT_EQ(h["metrics"].size(), 2u);
  const auto& latency = h["metrics"][0];
  const auto& peak = h["metrics"][1];
  EXPECT_EQ(latency["metric"], "cpu.latency/chase/latency/threads:2");
  EXPECT_TRUE(latency["change_points"].empty());
  ASSERT_EQ(peak["change_points"].size(), 1u);
  EXPECT_EQ(peak["change_points"][0]["run"], 7);
  EXPECT_NEAR(peak["change_points"][0]["change"].get<double>(), -0.12, 0.01);
  ASSERT_EQ(h["markers"].size(), 1u);
  EXPECT_EQ(h["markers"][0]["fact"], "kernel");
  EXPECT_EQ(h["markers"][0]["run"], 7);

  const auto text = roofaudit(dir, {"--db", db, "history", "--metric", "PEAK"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("<- change point -11."), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("[kernel: 6.1.0 -> 6.9.0]"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("cpu.latency"), std::string::npos) << text.out;
  const auto csv = roofaudit(dir, {"--db", db, "history", "--format", "csv"});
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 1 + 2 * 12) << csv.out;
  const auto last = nlohmann::json::parse(roofaudit(dir, {"--db", db, "history", "--last", "4", "--format", "json"}).out);
  EXPECT_EQ(last["metrics"][1]["points"].size(), 4u);
  EXPECT_TRUE(last["metrics"][1]["change_points"].empty()) << "the break is before the last 4 runs";
  const auto md = roofaudit(dir, {"--db", db, "history", "--format", "markdown"});
  EXPECT_NE(md.out.find("| `cpu.peak/fp32/peak/threads:2` | 12 |"), std::string::npos) << md.out;

  expect_one_line_error(roofaudit(dir, {"--db", db, "history", "--metric", "nothing-like-this"}), "no metric");
  expect_one_line_error(roofaudit(dir, {"--db", db, "history", "--machine", "box-z"}), "'box-z' is no machine (hostname or fingerprint prefix)");
  expect_one_line_error(roofaudit(dir, {"--db", db, "history", "--format", "yaml"}), "--format takes");
}

TEST_F(Cli, CompareSetsTwoMachinesSideBySide) {
  SyntheticRuns runs(db);
  runs.l2 = 200e9;
  runs.add(100e9, 80e-9);
  runs.l2 = 0;  // box-b measured no sweep
  runs.add(150e9, 60e-9, 10, "box-b");
  const auto text = roofaudit(dir, {"--db", db, "compare", "box-a", "box-b"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("A: run 1 (box-a"), std::string::npos) << text.out;
  const auto js = nlohmann::json::parse(roofaudit(dir, {"--db", db, "compare", "1", "2", "--format", "json"}).out);
  std::map<std::string, nlohmann::json> rows;
  for (const auto& m : js["metrics"]) rows[m["metric"]] = m;
  ASSERT_TRUE(rows.count("cpu.peak/fp32/peak/threads:2"));
  EXPECT_NEAR(rows["cpu.peak/fp32/peak/threads:2"]["ratio"].get<double>(), 1.5, 0.03);
  EXPECT_EQ(rows["cpu.peak/fp32/peak/threads:2"]["verdict"], "B better");
  EXPECT_EQ(rows["cpu.latency/chase/latency/threads:2"]["verdict"], "B better") << "lower latency is better";
  EXPECT_EQ(rows["cpu.bandwidth read L2"]["verdict"], "only in A");
  EXPECT_NEAR(rows["cpu.bandwidth read L2"]["a"].get<double>(), 200e9, 200e9 * 0.02);
  const auto csv = roofaudit(dir, {"--db", db, "compare", "1", "2", "--format", "csv"});
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 1 + 4) << csv.out;
  expect_one_line_error(roofaudit(dir, {"--db", db, "compare", "1", "1"}), "are the same run");
  expect_one_line_error(roofaudit(dir, {"--db", db, "compare", "1", "7"}), "no run 7");
}

TEST_F(Cli, MergeBringsRunsInOnce) {
  const std::string other = dir.file("ci-artifact.db");
  {
    SyntheticRuns theirs(other);
    for (int i = 0; i < 3; ++i) theirs.add(100e9, 80e-9, 10, "ci-runner");
  }
  ASSERT_EQ(roofaudit(dir, {"--db", other, "tag", "2", "nightly"}).exit_code, 0);
  SyntheticRuns ours(db);
  ours.add(100e9, 80e-9);
  const auto first = roofaudit(dir, {"--db", db, "merge", other});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("3 runs added (runs 2-4), 0 already here, 1 new machine, 6 measurements"), std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("tags added: nightly"), std::string::npos) << first.out;
  const auto again = roofaudit(dir, {"--db", db, "merge", other});
  EXPECT_NE(again.out.find("0 runs added, 3 already here"), std::string::npos) << again.out;
  // The merged runs are a series of their own machine, checkable against the tag.
  const auto check = roofaudit(dir, {"--db", db, "check", "--candidate", "4", "--baseline", "nightly"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("run 4 against run 3"), std::string::npos) << check.out;
  const std::string before = read_all(db);
  expect_one_line_error(roofaudit(dir, {"--db", db, "merge", dir.file("absent.db")}), "no such file");
  EXPECT_EQ(read_all(db), before);
}

// A series that does not know its run-to-run spread yet gives an informational verdict:
// exit 0 with the findings and the warning; --strict fails it.
TEST_F(Cli, CheckOnAFreshSeriesIsInformationalUnlessStrict) {
  SyntheticRuns runs(db);
  runs.add(100e9, 80e-9);
  runs.add(80e9, 80e-9);  // run 2: peak 20% lower, one earlier run
  const auto r = roofaudit(dir, {"--db", db, "check"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("REGRESSION cpu.peak/fp32/peak", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("this verdict is informational"), std::string::npos) << r.out;
  const auto js = nlohmann::json::parse(roofaudit(dir, {"--db", db, "check", "--format", "json"}).out);
  EXPECT_TRUE(js["informational"].get<bool>());
  EXPECT_EQ(js["regressions"], 1);
  EXPECT_EQ(roofaudit(dir, {"--db", db, "check", "--strict"}).exit_code, 1);
}

}  // namespace
}  // namespace roofaudit
