// One rule for every option: a value is accepted in one documented form and within a
// physical bound, refused otherwise; an option that does nothing in its context is
// refused with the reason; every figure printed is finite; messages name the real
// problem.
#include <cmath>

#include "tests/cli/cli_fixture.hpp"

namespace roofaudit {
namespace {

// Every figure of a JSON document is finite and none of the counts and prices is negative.
void expect_finite_figures(const nlohmann::json& j, const std::string& where) {
  if (j.is_object() || j.is_array()) {
    for (const auto& item : j.items()) expect_finite_figures(item.value(), where + "." + item.key());
  } else if (j.is_number_float()) {
    EXPECT_TRUE(std::isfinite(j.get<double>())) << where;
  } else if (j.is_number_integer()) {
    EXPECT_GE(j.get<long long>(), 0) << where;
  }
}

// Values past any physical bound, in forms other than the one documented, or empty.
TEST_F(Cli, ValuesPastTheirBoundOrInAnotherFormAreRefused) {
  const std::string before = seeded();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"predict", "--chip", "h100", "--qps", "1e19"}, "--qps: 1e19 is outside (0, 1e+09]"},
      {{"predict", "--chip", "h100", "--price-per-hour", "1e300"}, "--price-per-hour: 1e300 is outside"},
      {{"predict", "--chip", "h100", "--layer-overhead-us", "1e300"}, "--layer-overhead-us: 1e300 is outside"},
      {{"predict", "--chip", "h100", "--tpot-ms", "1e-300"}, "--tpot-ms: 1e-300 is outside"},
      {{"predict", "--chip", "h100", "--purchase-usd", "3e4", "--pue", "0.5"}, "--pue: 0.5 is outside [1, 5]"},
      {{"predict", "--chip", "h100", "--mfu", "1.5"}, "--mfu: 1.5 is outside (0, 1]"},
      {{"predict", "--chip", "h100", "--context", "1e9"}, "--context: '1e9' is not a whole number"},
      {{"predict", "--chip", "h100", "--context", "0x10"}, "'0x10' is not a whole number"},
      {{"predict", "--chip", "h100", "--qps", "0x10"}, "'0x10' is not a finite number"},
      {{"predict", "--chip", "h100", "--qps", "inf"}, "'inf' is not a finite number"},
      {{"predict", "--chip", "h100", "--simulate", "--qps", "1", "--seed", "-1"}, "--seed: '-1' is not a whole number"},
      {{"predict", "--chip", "h100", "--simulate", "--qps", "1", "--seed", "18446744073709551616"},
       "'18446744073709551616' is not a whole number in [0, 2^64 - 1]"},
      {{"predict", "--chip", "h100", "--simulate", "--qps", "1", "--requests", "1000000000"},
       "--requests: 1000000000 is more than 10000000"},
      {{"predict", "--chip", "h100", "--draft", "llama3-8b", "--draft-len", "1000"}, "--draft-len: 1000 is more than 64"},
      {{"run", "--repetitions", "100000"}, "--repetitions: 100000 is more than 1000"},
      {{"--busy-timeout-ms", "-1", "runs"}, "--busy-timeout-ms: -1 is less than 0"},
      {{"--busy-timeout-ms", "1e400", "runs"}, "--busy-timeout-ms: '1e400' is not a whole number"},
      {{"check", "--threshold", "3"}, "--threshold takes a percentage from 0% to 1000%"},
      {{"check", "--threshold", "0.03"}, "not '0.03'"},
      {{"check", "--threshold", "5000%"}, "not '5000%'"},
      {{"run", "--min-size", ""}, "--min-size is empty"},
      {{"predict", "--chip", "h100", "--batch", ""}, "--batch is empty"},
      {{"predict", "--chip", "h100", "--weights", ""}, "--weights is empty"},
      {{"report", "--output", ""}, "--output is empty"},
      {{"history", "--run", ""}, "--run is empty"},
      {{"run", "--probes", "cpu.latency,,cpu.peak"}, "--probes has an empty item in 'cpu.latency,,cpu.peak'"},
      {{"run", "--probes=cpu.latency,"}, "--probes has an empty item"},
      {{"predict", "--chip", "h100", "--chips", "+8"}, "--chips takes a positive integer or 'min', not '+8'"},
      {{"predict", "--chip", "h100", "--batch", " 4"}, "--batch takes a positive integer or 'max', not ' 4'"},
      {{"predict", "--chip", "h100", "--weights", "int8,int8"}, "--weights names int8 twice"},
      {{"predict", "--chip", "h100", "--draft", "llama3-8b", "--accept", "1"}, "--accept: 1 is outside [0, 0.99]"},
      {{"check", "--alpha", "0x1"}, "--alpha: '0x1' is not a finite number"},
      {{"check", "--baseline", "99999999999999999999"}, "no run 99999999999999999999"},
      {{"check", "--threshold", std::string(400, '9') + "%"}, "--threshold takes a percentage"},
      {{"predict", "--chip", std::string(5000, 'a')}, "unknown chip"},
      {{"report", "--price-per-hour", "1e300"}, "--price-per-hour: 1e300 is outside"},
      {{"report", "--context", "0x10"}, "--context: '0x10' is not a whole number"},
      {{"report", "--usable", "2"}, "--usable: 2 is outside (0, 1]"},
      {{"report", "--output", std::string(5000, 'a') + "/r.txt"}, "cannot write"},
  };
  for (const auto& [args, fragment] : cases) {
    std::vector<std::string> full = args.front().rfind("--busy", 0) == 0 ? std::vector<std::string>{} : std::vector<std::string>{"--db", db};
    full.insert(full.end(), args.begin(), args.end());
    if (args.front().rfind("--busy", 0) == 0) full.insert(full.end(), {"--db", db});
    SCOPED_TRACE(fmt::format("{}", fmt::join(args, " ")));
    expect_one_line_error(roofaudit(dir, full), fragment);
  }
  EXPECT_EQ(read_all(db), before);
}

// Combinations that make no sense, and options the mode given does not read.
TEST_F(Cli, OptionsThatDoNothingInTheirContextAreRefused) {
  const std::string before = seeded();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"predict", "--chip", "h100", "--disaggregated"}, "--disaggregated requires --simulate"},
      {{"predict", "--chip", "h100", "--prompt-len-dist", "exponential"}, "--prompt-len-dist requires --simulate"},
      {{"predict", "--chip", "h100", "--requests", "5"}, "--requests requires --simulate"},
      {{"predict", "--chip", "h100", "--seed", "5"}, "--seed requires --simulate"},
      {{"predict", "--chip", "h100", "--compare"}, "--chip excludes --compare"},
      {{"predict", "--compare", "--qps", "3"}, "--qps excludes --compare"},
      {{"predict", "--chip", "h100", "--sweep", "batch", "--simulate", "--qps", "1"}, "excludes --sweep"},
      {{"predict", "--chip", "h100", "--run", "1"}, "h100 is no local chip"},
      {{"predict", "--chip", "h100", "--chips", "8", "--tp", "3"}, "--tp 3 does not divide the 8 chips"},
      {{"predict", "--chip", "h100", "--context", "8192", "--prompt-len", "9000"}, "longer than the context (8192)"},
      {{"run", "--probes", "cpu.latency", "--model", "llama3-8b"}, "does not select model.decode"},
      {{"run", "--probes", "cpu.", "--device", "0"}, "selects none of them"},
      {{"check", "--baseline", "1", "--candidate", "1"}, "are both run 1"},
  };
  for (const auto& [args, fragment] : cases) {
    std::vector<std::string> full = {"--db", db};
    full.insert(full.end(), args.begin(), args.end());
    SCOPED_TRACE(fmt::format("{}", fmt::join(args, " ")));
    expect_one_line_error(roofaudit(dir, full), fragment);
  }
  EXPECT_EQ(read_all(db), before);
}

// At the bounds' edges every figure printed is finite and non-negative (a load of 1e19
// requests per second once printed -9223372036854775808 replicas and a negative price).
TEST_F(Cli, FiguresAtTheBoundsStayFinite) {
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--qps", "1e9"}, {"--price-per-hour", "1e6", "--qps", "1e9"},
        {"--layer-overhead-us", "1e6"}, {"--purchase-usd", "1e9", "--watts", "1e5", "--usd-per-kwh", "100", "--qps", "1e9"},
        {"--tpot-ms", "0.001", "--ttft-ms", "0.001"}}) {
    std::vector<std::string> args = {"predict", "--chip", "h100", "--model", "llama3-70b", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    SCOPED_TRACE(fmt::format("{}", fmt::join(extra, " ")));
    const auto r = roofaudit(dir, args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_finite_figures(nlohmann::json::parse(r.out), "predict");
  }
}

// Tags are in one form, and never a word check reads or a machine's hostname.
TEST_F(Cli, TagsTakeOneFormAndHideNothing) {
  seeded();
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  const std::string before = read_all(db);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"previous", "reads as check's --baseline keyword"},
      {"rolling", "reads as check's --baseline keyword"},
      {"rolling:5", "takes only the letters"},
      {std::string(100, 'a'), "at most 64 characters, not 100"},
      {"ab\xe2\x80\xae" "cd", "'ab<U+202E>cd'"},
      {"caf\xc3\xa9", "takes only the letters"},
  };
  for (const auto& [name, fragment] : cases) {
    SCOPED_TRACE(name);
    expect_one_line_error(roofaudit(dir, {"--db", db, "tag", "1", name}), fragment);
  }
  const bool host_taggable = std::string(host).find_first_not_of(
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == std::string::npos &&
                             std::string(host).find_first_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
                                 std::string::npos;
  if (host_taggable)
    expect_one_line_error(roofaudit(dir, {"--db", db, "tag", "1", host}), "is a machine's hostname");
  EXPECT_EQ(read_all(db), before);
  EXPECT_EQ(roofaudit(dir, {"--db", db, "tag", "1", "release-1.2_rc"}).exit_code, 0);

  // A tag stored under the hostname (by an older roofaudit) hides neither: both are named.
  if (!host_taggable) GTEST_SKIP() << "this host's name '" << host << "' could not be a tag";
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  const std::string sql = fmt::format("INSERT INTO tags (name, run_id, created_at) VALUES ('{}', 1, '2026-01-01')", host);
  ASSERT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
  sqlite3_close(h);
  expect_one_line_error(roofaudit(dir, {"--db", db, "history", "--run", host}), "names both a tag (run 1) and a machine");
}

// Environment variables follow the options' rule: one form, else refused before a run.
TEST_F(Cli, AnEnvironmentSwitchInAnotherFormIsRefused) {
  for (const char* value : {"yes", "true", "2", ""}) {
    const ScopedEnv env("ROOFAUDIT_VK_VALIDATION", value);
    expect_one_line_error(roofaudit(dir, run_args(db, {"--probes", "cpu.latency"})), "ROOFAUDIT_VK_VALIDATION takes 1");
  }
  EXPECT_FALSE(std::filesystem::exists(db));
}

// Messages that once misled.
TEST_F(Cli, MessagesSayWhatIsWrongNotSomethingNearIt) {
  seeded();
  expect_one_line_error(roofaudit(dir, {"--db", db, "history", "--machine", "7"}),
                        "'7' is no machine (hostname or fingerprint prefix)");
  expect_one_line_error(roofaudit(dir, {"--db", "/proc/self/status", "runs"}), "is a file the kernel makes up");
  expect_one_line_error(roofaudit(dir, {"--db", "/dev/null", "runs"}), "is not a regular file");
  expect_one_line_error(roofaudit(dir, {"--db", db, "predict", "--chip", "local:gpu:0"}),
                        "none of the 1 complete run in");
  const std::string chip = dir.file("quantum.json");
  write_all(chip, R"({"name": "q", "kind": "quantum", "flops_per_s": {"bf16": 1e15}, "hbm_bytes": 8e10,
                      "hbm_bytes_per_s": 3e12})");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", chip}), "kind takes gpu, tpu, cpu or accelerator, not 'quantum'");
}

}  // namespace
}  // namespace roofaudit
