// The roofaudit binary as a user runs it: exit codes, one-line errors, stored runs that
// survive bad input, kills and concurrent writers.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <set>
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

// max_file_bytes > 0: every file the child writes is cut at that size, the writes past it
// failing with EFBIG (SIGXFSZ ignored), as on a disk that fills up. max_memory_bytes > 0:
// its address space is capped there, so large allocations fail.
pid_t spawn(const std::vector<std::string>& args, const std::string& out_path, const std::string& err_path,
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

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

TEST_F(Cli, PredictPrintsTheDocumentedJsonFields) {
  const auto r = roofaudit(dir, {"predict", "--model", "llama3-70b", "--chip", "tpu-v5e", "--chips", "8", "--weights",
                                 "int8", "--kv", "int8", "--context", "8192", "--batch", "32", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* field : {"model", "chip", "chips", "weights", "kv", "context", "batch", "param_bytes",
                            "kv_bytes_per_token", "max_batch", "min_chips", "critical_batch", "t_param_s", "t_kv_s",
                            "t_flops_s", "step_time_s", "tokens_per_s", "tokens_per_s_per_chip", "qps", "usd_per_hour",
                            "usd_per_mtok", "fits"})
    EXPECT_TRUE(j.contains(field)) << field;
  EXPECT_NEAR(j["tokens_per_s"].get<double>() / 1882, 1.0, 0.02);
  EXPECT_TRUE(j["fits"].get<bool>());
}

TEST_F(Cli, PredictReadsAHuggingFaceConfig) {
  write_all(dir.file("config.json"),
            R"({"num_hidden_layers": 80, "hidden_size": 8192, "intermediate_size": 28672, "num_attention_heads": 64,
                "num_key_value_heads": 8, "vocab_size": 128256, "tie_word_embeddings": false})");
  const auto from_file = roofaudit(dir, {"predict", "--model", dir.file("config.json"), "--chip", "h100", "--json"});
  const auto built_in = roofaudit(dir, {"predict", "--model", "llama3-70b", "--chip", "h100", "--json"});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(nlohmann::json::parse(from_file.out)["param_bytes"], nlohmann::json::parse(built_in.out)["param_bytes"]);
  write_all(dir.file("broken.json"), R"({"num_hidden_layers": 80, "hidden_size": 8192})");
  expect_one_line_error(roofaudit(dir, {"predict", "--model", dir.file("broken.json"), "--chip", "h100"}),
                        "intermediate_size");
}

TEST_F(Cli, PredictSweepAndCompareGiveJsonArrays) {
  const auto sweep = roofaudit(dir, {"predict", "--chip", "tpu-v5e", "--chips", "16", "--weights", "int8", "--sweep",
                                     "batch", "--json"});
  ASSERT_EQ(sweep.exit_code, 0) << sweep.err;
  const auto points = nlohmann::json::parse(sweep.out);
  ASSERT_GE(points.size(), 5u);
  EXPECT_EQ(points[0]["batch"], 1);
  const auto compare = roofaudit(dir, {"predict", "--model", "llama3-70b", "--compare", "--json"});
  ASSERT_EQ(compare.exit_code, 0) << compare.err;
  const auto rows = nlohmann::json::parse(compare.out);
  EXPECT_GE(rows.size(), 8u);
  double previous = 0;
  for (const auto& row : rows) {
    if (row["usd_per_mtok"].is_null()) break;  // unpriced chips come last
    EXPECT_GE(row["usd_per_mtok"].get<double>(), previous);
    previous = row["usd_per_mtok"].get<double>();
  }
}

TEST_F(Cli, PredictRefusesBadInput) {
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "tpu-v5"}), "did you mean tpu-v5e");
  expect_one_line_error(roofaudit(dir, {"predict", "--model", "llama3-7b", "--chip", "h100"}), "unknown model");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--batch", "0"}), "--batch must be at least 1");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--batch", "-4"}), "--batch");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--context", "0"}), "--context");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "tpu-v5e", "--chips", "4", "--weights", "int8"}),
                        "does not fit: llama3-70b");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--price-per-hour", "nan"}), "--price-per-hour");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--price-per-hour", "-1"}), "--price-per-hour");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--purchase-usd", "30000", "--utilisation", "2"}),
                        "utilisation");
}

TEST_F(Cli, CatalogListsChipsAndModels) {
  const auto chips = roofaudit(dir, {"catalog", "chips", "--json"});
  ASSERT_EQ(chips.exit_code, 0);
  EXPECT_GE(nlohmann::json::parse(chips.out).size(), 11u);
  const auto models = roofaudit(dir, {"catalog", "models"});
  EXPECT_NE(models.out.find("llama3-405b"), std::string::npos);
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

TEST_F(Cli, BlasChildRunsWithTheRequestedCoreType) {
  setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  const auto r = roofaudit(dir, {"blas-gemm", "--precision", "fp64", "--size", "64", "--repetitions", "2"});
  unsetenv("OPENBLAS_CORETYPE");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["corename"], "Haswell");
  EXPECT_TRUE(j["valid"].get<bool>());
  EXPECT_EQ(j["seconds"].size(), 2u);
}

TEST_F(Cli, GemmRunAuditsTheBlasCoreType) {
  const auto r = roofaudit(dir, {"--db", db, "run", "--probes", "cpu.gemm", "--quick", "--max-size", "2MiB"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  store::Store s(db);
  const auto ms = s.measurements(s.runs().back().id);
  bool default_kernels = false;
  for (const auto& m : ms) {
    if (!m.supported) continue;  // oneDNN without bf16 on this CPU: checked by the probe's test
    EXPECT_TRUE(m.valid) << m.validation;
    if (!m.params.contains("coretype")) default_kernels = true;
  }
  EXPECT_TRUE(default_kernels);
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

TEST_F(Cli, UnknownVerbNamesTheVerbs) {
  const auto r = roofaudit(dir, {"rnu"});
  expect_one_line_error(r, "unknown verb 'rnu'");
  EXPECT_NE(r.err.find("predict"), std::string::npos);
  EXPECT_EQ(r.err.find("blas-gemm"), std::string::npos) << "internal verbs stay hidden";
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

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

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

TEST_F(Cli, DevicesListsVulkanDevicesOrSaysWhyNone) {
  const auto r = roofaudit(dir, {"devices"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const bool listed = r.out.find("timestamps") != std::string::npos;
  const bool none = r.out.find("no Vulkan devices") != std::string::npos;
  EXPECT_TRUE(listed || none) << r.out;
  const auto j = roofaudit(dir, {"devices", "--json"});
  ASSERT_EQ(j.exit_code, 0);
  EXPECT_TRUE(nlohmann::json::parse(j.out).contains("devices"));
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

namespace roofaudit {
namespace {

// A LLaMA-shaped model small enough for a test run.
std::string tiny_model(const ScratchDir& dir) {
  const std::string path = dir.file("tiny-config.json");
  write_all(path, R"({"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 160, "num_attention_heads": 4,
                      "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 300, "tie_word_embeddings": true})");
  return path;
}

TEST_F(Cli, ModelDecodeRunIsCalibratedPredictedAndReported) {
  const std::string model = tiny_model(dir);
  const auto r = roofaudit(
      dir, run_args(db, {"--probes", "cpu.bandwidth,cpu.peak,cpu.attention,model.decode", "--quick", "--model", model}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(", 2 layers, d_model 64; KV cache bf16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(fit)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("median |error|"), std::string::npos) << r.out;
  store::Store s(db);
  int chips = 0, predictions = 0;
  for (const auto& f : s.fits(1)) {
    chips += f.kind == "chip_spec";
    predictions += f.kind == "model_prediction";
  }
  EXPECT_EQ(chips, 1);
  EXPECT_EQ(predictions, 1);
  for (const auto& m : s.measurements(1))
    if (m.probe == "model.decode") {
      EXPECT_TRUE(m.valid) << m.validation;
      EXPECT_LT(m.params["reference_error"]["median"].get<double>(), 1e-4);
    }

  // predict --chip local: the calibrated CPU, with its provenance, for any model.
  const auto p = roofaudit(dir, {"--db", db, "predict", "--chip", "local", "--model", "llama3-8b", "--weights", "int8",
                                 "--json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const auto j = nlohmann::json::parse(p.out);
  EXPECT_EQ(j["chip"], "local");
  EXPECT_GT(j["tokens_per_s"].get<double>(), 0);
  const auto j70 = nlohmann::json::parse(roofaudit(dir, {"--db", db, "predict", "--chip", "local", "--model", "llama3-405b",
                                                          "--weights", "int8", "--json"}).out);
  EXPECT_GT(j70["chips"].get<int>(), 1) << "405B int8 fits no single machine of this kind";
  const auto text = roofaudit(dir, {"--db", db, "predict", "--chip", "local", "--model", "llama3-405b", "--weights", "int8",
                                    "--price-per-hour", "0.5"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("machines of this kind hold the model"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("assumed"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(fmt::format("{:.2f} USD/h", 0.5 * j70["chips"].get<int>())), std::string::npos) << text.out;
  const auto cmp = roofaudit(dir, {"--db", db, "predict", "--compare", "--model", "llama3-8b"});
  ASSERT_EQ(cmp.exit_code, 0) << cmp.err;
  EXPECT_NE(cmp.out.find("\nlocal "), std::string::npos) << cmp.out;

  // report in every format; the file form replaces its target whole.
  for (const std::string format : {"text", "markdown", "json", "csv", "html"}) {
    const auto rep = roofaudit(dir, {"--db", db, "report", "--format", format, "--model", "llama3-8b"});
    ASSERT_EQ(rep.exit_code, 0) << format << ": " << rep.err;
    EXPECT_GT(rep.out.size(), 500u) << format;
  }
  const std::string out = dir.file("report.html");
  write_all(out, "old contents");
  const auto file = roofaudit(dir, {"--db", db, "report", "--format", "html", "--output", out});
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_TRUE(file.out.empty());
  EXPECT_NE(read_all(out).find("id=\"roofline\""), std::string::npos);
  const auto json = nlohmann::json::parse(roofaudit(dir, {"--db", db, "report", "--format", "json"}).out);
  EXPECT_EQ(json["model"], "llama3-70b");
  EXPECT_EQ(json["local"][0]["chip"]["provenance"]["bandwidth"]["kind"], "measured");
  EXPECT_EQ(json["local"][0]["chip"]["provenance"]["efficiency.kv_bandwidth"]["kind"], "measured");
  EXPECT_GT(json["local"][0]["chip"]["efficiency"]["kv_bandwidth"].get<double>(), 0);
}

TEST_F(Cli, ReportAndLocalPredictRefuseBadInputWithoutTouchingTheDatabase) {
  expect_one_line_error(roofaudit(dir, {"--db", db, "report"}), "no database at");
  expect_one_line_error(roofaudit(dir, {"--db", db, "predict", "--chip", "local"}), "no database at");
  const std::string before = seeded();  // a run of cpu.latency only: nothing to calibrate
  expect_one_line_error(roofaudit(dir, {"--db", db, "predict", "--chip", "local"}), "run cpu.bandwidth");
  expect_one_line_error(roofaudit(dir, {"--db", db, "predict", "--chip", "local:gpu:3"}), "no calibration of gpu:3");
  expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--format", "pdf"}), "--format takes");
  expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--run", "9"}), "no run 9");
  expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--output", dir.file("no/such/dir/r.html")}), "no directory");
  write_all(dir.file("cost.json"), R"({"watts": "lots"})");
  expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--price-config", dir.file("cost.json")}), "'watts'");
  expect_one_line_error(roofaudit(dir, {"--db", db, "run", "--probes", "model.decode", "--model", "mixtral-8x7b"}),
                        "dense models only");
  EXPECT_EQ(read_all(db), before);
  // A run without calibration still reports, saying what is missing.
  const auto rep = roofaudit(dir, {"--db", db, "report"});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_NE(rep.out.find("not calibrated"), std::string::npos) << rep.out;
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

TEST_F(Cli, ExportWritesGoogleBenchmarkJsonThatItsCompareToolReads) {
  seeded();
  ASSERT_EQ(roofaudit(dir, run_args(db, {"--probes", "cpu.latency"})).exit_code, 0);
  const auto a = roofaudit(dir, {"--db", db, "export", "1", "--format", "gbench-json"});
  const auto b = roofaudit(dir, {"--db", db, "export", "2", "--format", "gbench-json"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
  // The fields Google Benchmark writes and its tools read.
  for (const char* key : {"date", "host_name", "executable", "num_cpus", "library_build_type"})
    EXPECT_TRUE(ja["context"].contains(key)) << key;
  ASSERT_FALSE(ja["benchmarks"].empty());
  std::set<std::string> names_a, names_b;
  for (const auto& e : ja["benchmarks"]) {
    for (const char* key : {"name", "run_name", "run_type", "repetitions", "threads", "iterations", "real_time", "cpu_time",
                            "time_unit"})
      ASSERT_TRUE(e.contains(key)) << key << " in " << e.dump();
    EXPECT_TRUE(e["run_type"] == "iteration" || e["run_type"] == "aggregate");
    EXPECT_GT(e["real_time"].get<double>(), 0);
    names_a.insert(e["name"].get<std::string>());
  }
  for (const auto& e : jb["benchmarks"]) names_b.insert(e["name"].get<std::string>());
  EXPECT_EQ(names_a, names_b) << "the same measurements have the same names in two runs";

  const std::string compare = "/usr/share/benchmark/compare.py";
  ASSERT_EQ(access(compare.c_str(), R_OK), 0) << "Google Benchmark's tools are not installed (libbenchmark-tools)";
  write_all(dir.file("a.json"), a.out);
  write_all(dir.file("b.json"), b.out);
  const std::string cmd = "/usr/bin/python3 " + compare + " --no-color benchmarks " + dir.file("a.json") + " " +
                          dir.file("b.json") + " > " + dir.file("compare.txt") + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_all(dir.file("compare.txt"));
  const std::string table = read_all(dir.file("compare.txt"));
  EXPECT_NE(table.find("cpu.latency/chase/latency"), std::string::npos) << table;
  EXPECT_NE(table.find("_median"), std::string::npos) << table;

  expect_one_line_error(roofaudit(dir, {"--db", db, "export", "1", "--format", "csv"}), "--format takes gbench-json");
  expect_one_line_error(roofaudit(dir, {"--db", db, "export", "7", "--format", "gbench-json"}), "no run 7");
}

}  // namespace
}  // namespace roofaudit

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
      Measurement x;
      x.probe = probe;
      x.variant = variant;
      x.metric = metric;
      x.unit = higher ? "FLOP/s" : "s";
      x.device = "cpu";
      x.higher_is_better = higher;
      x.params = {{"threads", 2}};
      for (int r = 0; r < reps; ++r) x.samples.push_back({level * (1 + noise(rng)), 0.01});
      x.summary = Summary{level, level, level, level, level, 0, 0};
      x.valid = true;
      x.validation = "synthetic";
      s.add_measurement(run, device, x);
    };
    measurement("cpu.peak", "fp32", "peak", true, peak);
    measurement("cpu.latency", "chase", "latency", false, latency);
    if (l2 > 0) {
      // A read sweep over two levels, with its plateau fit as a run stores it.
      std::normal_distribution<double> point(0, 0.01);
      for (double ws : {4096.0, 8192.0, 16384.0, 20000.0, 65536.0, 131072.0, 262144.0}) {
        Measurement x;
        x.probe = "cpu.bandwidth";
        x.variant = "read";
        x.metric = "bandwidth";
        x.unit = "B/s";
        x.device = "cpu";
        x.params = {{"threads", 2}, {"working_set_bytes", ws}};
        const double level = ws <= 16384 ? 500e9 : ws >= 65536 ? l2 : 300e9;
        for (int r = 0; r < reps; ++r) x.samples.push_back({level * (1 + point(rng)), 0.01});
        x.summary = Summary{level, level, level, level, level, 0, 0};
        x.valid = true;
        x.validation = "synthetic";
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
  expect_one_line_error(roofaudit(dir, {"--db", db, "history", "--machine", "box-z"}), "'box-z' is no run id, tag or machine");
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

}  // namespace
}  // namespace roofaudit

#include <sys/stat.h>

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
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space: an address-space cap cannot run under it";
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
  const char* saved = std::getenv("ROOFAUDIT_DB");
  const std::string old = saved ? saved : "";
  setenv("ROOFAUDIT_DB", "", 1);
  const auto r = roofaudit(dir, {"runs"});
  if (saved) setenv("ROOFAUDIT_DB", old.c_str(), 1);
  else unsetenv("ROOFAUDIT_DB");
  expect_one_line_error(r, "ROOFAUDIT_DB is set but empty");
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

// Nonsense is refused with exit 2 and one line naming the value, and the store is unchanged.
TEST_F(Cli, NonsenseValuesAreRefusedNamingTheValue) {
  const std::string before = seeded();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"run", "--sample-ms", "1e30"}, "1e30 is outside"},
      {{"run", "--sample-ms", "nan"}, "'nan' is not a finite number"},
      {{"run", "--threads", "0"}, "--threads: 0 is less than 1"},
      {{"run", "--repetitions", "0"}, "--repetitions: 0 is less than 1"},
      {{"check", "--baseline", "rolling:-3"}, "not '-3'"},
      {{"history", "--last", "-1"}, "--last: -1 is less than 1"},
      {{"report", "--run", "-1"}, "--run: -1 is less than 1"},
      {{"report", "--run", "0"}, "--run: 0 is less than 1"},
      {{"predict", "--chip", "local", "--run", "-1"}, "--run: -1 is less than 1"},
      {{"predict", "--tp", "0"}, "--tp: 0 is less than 1"},
      {{"predict", "--tp", "-1"}, "--tp: -1 is less than 1"},
      {{"predict", "--chip", "tpu-v5e", "--chips", "16", "--tp", "1000000"}, "more than the 16 chips"},
      {{"predict", "--prompt-len", "0"}, "--prompt-len: 0 is less than 1"},
      {{"tag", "1", " "}, "needs a letter"},
      {{"tag", "1", "latest"}, "'latest' names the newest run"},
      {{"tag", "1", "a\x1b[31m"}, "control characters"},
      {{"tag", "1", "nightly "}, "start or end with a space"},
  };
  for (const auto& [args, fragment] : cases) {
    std::vector<std::string> full = {"--db", db};
    full.insert(full.end(), args.begin(), args.end());
    SCOPED_TRACE(args.front() + " " + args.back());
    expect_one_line_error(roofaudit(dir, full), fragment);
  }
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

namespace roofaudit {
namespace {

// Each message names the real problem (these once said "not a size", "no such file", a
// lifetime in hours, and "A subcommand is required").
TEST_F(Cli, MessagesNameTheRealProblem) {
  expect_one_line_error(roofaudit(dir, {"--db", db, "run", "--max-size", "1PiB"}), "larger than any working set");
  expect_one_line_error(roofaudit(dir, {"--db", db, "merge", dir.file("")}), "it is a directory");
  expect_one_line_error(
      roofaudit(dir, {"predict", "--chip", "h100", "--purchase-usd", "30000", "--lifetime-years", "-5"}),
      "positive number of years, not -5");
  expect_one_line_error(roofaudit(dir, {"--db", db, "frob"}), "unknown verb 'frob'");
}

}  // namespace
}  // namespace roofaudit


namespace roofaudit {
namespace {

// Readers open read-only: a database this user may only read, in a directory it may not
// write (so SQLite cannot create the WAL's -shm beside it), reads fine and does not change.
// As root the child drops to nobody, for whom the permission bits hold.
TEST_F(Cli, ReadersOpenReadOnlyAndChangeNothing) {
  const std::string before = seeded();
  const std::string folder = std::filesystem::path(db).parent_path().string();
  ASSERT_EQ(chmod(db.c_str(), 0444), 0);
  ASSERT_EQ(chmod(folder.c_str(), 0555), 0);
  for (const std::vector<std::string>& verb :
       {std::vector<std::string>{"runs"}, {"show", "1"}, {"report"}, {"history"}, {"export", "1", "--format", "gbench-json"}}) {
    std::vector<std::string> args = {"--db", db};
    args.insert(args.end(), verb.begin(), verb.end());
    const pid_t pid = fork();
    if (pid == 0) {
      if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(126);
      freopen("/dev/null", "w", stdout);
      std::vector<char*> argv;
      std::string bin = ROOFAUDIT_BINARY;
      argv.push_back(bin.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    EXPECT_EQ(wait_exit(pid), 0) << verb.front();
  }
  ASSERT_EQ(chmod(folder.c_str(), 0700), 0);
  ASSERT_EQ(chmod(db.c_str(), 0644), 0);
  EXPECT_EQ(read_all(db), before);
  // A writer says why it cannot write.
  write_all(dir.file("w.err"), "");
  ASSERT_EQ(chmod(dir.file("w.err").c_str(), 0666), 0);  // the child may not create files here
  ASSERT_EQ(chmod(folder.c_str(), 0555), 0);
  ASSERT_EQ(chmod(db.c_str(), 0444), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(126);
    freopen(dir.file("w.err").c_str(), "w", stderr);
    std::string bin = ROOFAUDIT_BINARY, a1 = "--db", a3 = "tag", a4 = "1", a5 = "x";
    std::string a2 = db;
    char* argv[] = {bin.data(), a1.data(), a2.data(), a3.data(), a4.data(), a5.data(), nullptr};
    execv(bin.c_str(), argv);
    _exit(127);
  }
  EXPECT_EQ(wait_exit(pid), 2);
  ASSERT_EQ(chmod(folder.c_str(), 0700), 0);
  ASSERT_EQ(chmod(db.c_str(), 0644), 0);
  EXPECT_NE(read_all(dir.file("w.err")).find("read-only"), std::string::npos) << read_all(dir.file("w.err"));
}

// A file with nothing in it gets no schema from a reader; a foreign SQLite file is refused
// before its journal mode (header bytes 18-19) changes; a roofaudit file missing a table
// is refused before a run is begun in it.
TEST_F(Cli, RefusalsLeaveTheFileAsItWas) {
  const std::string empty = dir.file("empty.db");
  write_all(empty, "");
  for (const char* verb : {"runs", "report", "history"})
    expect_one_line_error(roofaudit(dir, {"--db", empty, verb}), "is empty");
  // tag writes, but only about a run that exists: none does in an empty file.
  expect_one_line_error(roofaudit(dir, {"--db", empty, "tag", "1", "base"}), "is empty");
  EXPECT_EQ(read_all(empty), "");

  const std::string foreign = dir.file("foreign.db");
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(foreign.c_str(), &h), SQLITE_OK);
    sqlite3_exec(h, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('mine')", nullptr, nullptr, nullptr);
    sqlite3_close(h);
  }
  const std::string foreign_before = read_all(foreign);
  expect_one_line_error(roofaudit(dir, run_args(foreign, {"--probes", "cpu.latency"})), "not a roofaudit one");
  expect_one_line_error(roofaudit(dir, {"--db", foreign, "runs"}), "not a roofaudit one");
  EXPECT_EQ(read_all(foreign), foreign_before) << "header bytes 18-19 still say rollback journal";

  seeded();
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "DROP TABLE tags", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
  }
  const std::string damaged = read_all(db);
  expect_one_line_error(roofaudit(dir, run_args(db, {"--probes", "cpu.latency"})), "lacks its 'tags' table");
  expect_one_line_error(roofaudit(dir, {"--db", db, "tag", "1", "x"}), "lacks its 'tags' table");
  EXPECT_EQ(read_all(db), damaged);
}

// One merge command is all or nothing: a bad file anywhere in it merges none of them.
TEST_F(Cli, MergeChecksEveryFileBeforeMergingAny) {
  const std::string other = dir.file("other.db");
  ASSERT_EQ(roofaudit(dir, run_args(other, {"--probes", "cpu.latency"})).exit_code, 0);
  const std::string junk = dir.file("junk.db");
  write_all(junk, "not a database at all, just words");
  seeded();
  const std::string before = read_all(db);
  expect_one_line_error(roofaudit(dir, {"--db", db, "merge", other, junk}), junk);
  EXPECT_EQ(read_all(db), before) << "other.db's run was not merged either";
  store::Store s(db);
  EXPECT_EQ(s.runs().size(), 1u);
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

// Strings stored in the database reach no terminal as control sequences and no Markdown
// as HTML.
TEST_F(Cli, StoredStringsAreNeutralisedOnOutput) {
  seeded();
  seeded();
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h,
                           "UPDATE machines SET hostname = 'box' || char(27) || ']0;owned' || char(7) || "
                           "'<img src=x onerror=alert(9)>'; UPDATE runs SET command_line = 'run' || char(13) || 'x'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  for (const std::vector<std::string>& verb : {std::vector<std::string>{"runs"}, {"compare", "1", "2"},
                                               {"compare", "1", "2", "--format", "markdown"}, {"show", "1"}}) {
    std::vector<std::string> args = {"--db", db};
    args.insert(args.end(), verb.begin(), verb.end());
    const auto r = roofaudit(dir, args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << verb.front();
    EXPECT_EQ(r.out.find('\r'), std::string::npos) << verb.front();
    EXPECT_EQ(r.out.find('\a'), std::string::npos) << verb.front();
  }
  const auto md = roofaudit(dir, {"--db", db, "compare", "1", "2", "--format", "markdown"});
  ASSERT_NE(md.out.find("<img"), std::string::npos) << md.out;
  for (std::size_t at = md.out.find("<img"); at != std::string::npos; at = md.out.find("<img", at + 1))
    EXPECT_EQ(md.out[at - 1], '\\') << "every '<' escaped: " << md.out;
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

// Model, chip and price files are bounded by what real ones hold, and a field that would be
// ignored is refused rather than dropped.
TEST_F(Cli, ImplausibleModelChipAndPriceFilesAreRefusedNamingTheField) {
  seeded();
  auto model = [&](const std::string& extra) {
    const std::string path = dir.file("config-" + std::to_string(std::hash<std::string>{}(extra)) + ".json");
    write_all(path, R"({"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 160, )" + extra + "}");
    return path;
  };
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"predict", "--chip", "h100", "--model", model(R"("num_attention_heads": 4, "vocab_size": 1000000000000000)")},
       "'vocab_size' is 1000000000000000, beyond any real model"},
      {{"predict", "--chip", "h100", "--model", model(R"("num_attention_heads": 4, "vocab_size": 300, "num_hidden_layers": 2147483648)")},
       "'num_hidden_layers' is 2147483648"},
      {{"predict", "--chip", "h100", "--model", model(R"("num_attention_heads": 32, "num_key_value_heads": 7, "vocab_size": 300)")},
       "32 query heads over 7 KV heads"},
      {{"predict", "--chip", "h100", "--model",
        model(R"("num_attention_heads": 4, "vocab_size": 300, "num_local_experts": 8, "num_experts_per_tok": 16)")},
       "16 experts per token out of 8"},
      {{"predict", "--chip", "h100", "--accept", "0.5"}, "--accept requires --draft"},
      {{"predict", "--chip", "h100", "--watts", "700"}, "--watts requires --purchase-usd"},
  };
  for (const auto& [args, fragment] : cases) {
    SCOPED_TRACE(fragment);
    expect_one_line_error(roofaudit(dir, args), fragment);
  }
  const std::string chip = dir.file("chip.json");
  write_all(chip, R"({"name": "big", "flops_per_s": {"bf16": 1e15}, "hbm_bytes": 1e308, "hbm_bytes_per_s": 3e12})");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", chip}), "'hbm_bytes' is 1e+308, beyond any real chip");
  const std::string none = dir.file("price-none.json"), both = dir.file("price-both.json");
  write_all(none, "{}");
  write_all(both, R"({"usd_per_hour": 1, "purchase_usd": 5000})");
  expect_one_line_error(roofaudit(dir, {"--db", db, "report", "--price-config", none}), "gives no price");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--price-config", both}), "not both");
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

// What the parsers' fuzzers found (fuzz/regressions/ holds the inputs), as the user meets it.
TEST_F(Cli, WhatTheFuzzersFoundIsRefusedOrShown) {
  seeded();
  // A chip file whose efficiency is a string: a type error, once an internal error (exit 3).
  const std::string chip = dir.file("chip.json");
  write_all(chip, R"({"name": "c", "flops_per_s": {"bf16": 1e15}, "hbm_bytes": 8e10, "hbm_bytes_per_s": 3e12,
                      "efficiency": {"bandwidth": "high"}})");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", chip}), "field 'bandwidth' must be a number in (0, 1]");
  // A size under one byte, once taken as 0.
  expect_one_line_error(roofaudit(dir, {"--db", db, "run", "--max-size", ".11B"}), "less than one byte");
  // Damaged databases: a broken page (which merged in part, then failed), and a run whose
  // settings hold bytes that are not UTF-8 (merged, then no reader could show it).
  const std::string before = read_all(db);
  for (const char* damaged : {"damaged-page.db", "settings-invalid-utf8.db"}) {
    const std::string copy = dir.file(damaged);
    write_all(copy, read_all(std::string(ROOFAUDIT_FUZZ_DIR) + "/regressions/merge_database/" + damaged));
    expect_one_line_error(roofaudit(dir, {"--db", db, "merge", copy}), "is damaged");
    EXPECT_EQ(read_all(db), before) << damaged;
  }
  // A tag that is not UTF-8 is refused; stored text that is not is exported as U+FFFD.
  expect_one_line_error(roofaudit(dir, {"--db", db, "tag", "1", "bad\xff"}), "must be UTF-8");
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "UPDATE machines SET hostname = 'box' || CAST(x'ff' AS TEXT)", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  const auto shown = roofaudit(dir, {"--db", db, "show", "1", "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const auto j = nlohmann::json::parse(shown.out);
  EXPECT_EQ(j.at("machine").at("hostname"), "box\xef\xbf\xbd");
}

}  // namespace
}  // namespace roofaudit
