// The roofaudit binary as a user runs it: `predict`, `catalog` and the BLAS child process.
#include <cmath>
#include <cstdlib>

#include "tests/cli/cli_fixture.hpp"

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
                            "usd_per_mtok", "fits", "decode_tokens_per_s", "decode_usd_per_mtok", "serving_mode",
                            "prefill_share", "tpot_disaggregated_s", "ttft_disaggregated_s"})
    EXPECT_TRUE(j.contains(field)) << field;
  EXPECT_NEAR(j["decode_tokens_per_s"].get<double>() / 1882, 1.0, 0.02);
  // The headline serves the 7680-token prompts (the context less 512 decoded) as well.
  EXPECT_LT(j["tokens_per_s"].get<double>(), 0.5 * j["decode_tokens_per_s"].get<double>());
  EXPECT_TRUE(j["fits"].get<bool>());
}

// --overlap-kv: the book's cost-table step, said in the JSON and in the text's formula.
TEST_F(Cli, PredictOverlapsTheKvReadWhenAsked) {
  const std::vector<std::string> args = {"predict", "--model", "llama3-70b", "--chip", "tpu-v5e", "--chips", "16",
                                         "--weights", "int8", "--kv", "int8", "--batch", "max", "--usable", "1.0",
                                         // int8 at the book's rate (bf16's), so the largest batch is compute-bound
                                         "--matmul-efficiency", "0.5"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = args;
    a.insert(a.end(), extra.begin(), extra.end());
    return roofaudit(dir, a);
  };
  const auto spec = with({"--json"});
  const auto overlapped = with({"--overlap-kv", "--json"});
  ASSERT_EQ(spec.exit_code, 0) << spec.err;
  ASSERT_EQ(overlapped.exit_code, 0) << overlapped.err;
  const auto a = nlohmann::json::parse(spec.out), b = nlohmann::json::parse(overlapped.out);
  EXPECT_FALSE(a["overlap_kv"].get<bool>());
  EXPECT_TRUE(b["overlap_kv"].get<bool>());
  EXPECT_NEAR(b["step_time_s"].get<double>(), b["t_param_s"].get<double>() + b["t_kv_s"].get<double>(), 1e-12);
  EXPECT_LT(b["step_time_s"].get<double>(), a["step_time_s"].get<double>());
  const auto text = with({"--overlap-kv"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("overlapped"), std::string::npos) << text.out;
}

TEST_F(Cli, PredictReadsAHuggingFaceConfig) {
  write_all(dir.file("config.json"),
            R"({"num_hidden_layers": 80, "hidden_size": 8192, "intermediate_size": 28672, "num_attention_heads": 64,
                "num_key_value_heads": 8, "vocab_size": 128256, "tie_word_embeddings": false})");
  const auto from_file = roofaudit(dir, {"predict", "--model", dir.file("config.json"), "--chip", "h100", "--json"});
  const auto built_in = roofaudit(dir, {"predict", "--model", "llama3-70b", "--chip", "h100", "--json"});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(nlohmann::json::parse(from_file.out)["param_bytes"], nlohmann::json::parse(built_in.out)["param_bytes"]);
  // Qwen's MoE names: num_experts, each moe_intermediate_size wide; dense layers between
  // expert layers are refused, not mis-sized.
  const std::string qwen = R"({"num_hidden_layers": 48, "hidden_size": 2048, "intermediate_size": 6144, "moe_intermediate_size": 768,
                "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 128, "vocab_size": 151936,
                "num_experts": 128, "num_experts_per_tok": 8, "decoder_sparse_step": 1, "mlp_only_layers": [])";
  write_all(dir.file("qwen.json"), qwen + "}");
  const auto q = roofaudit(dir, {"predict", "--model", dir.file("qwen.json"), "--chip", "h100", "--json"});
  const auto q_built_in = roofaudit(dir, {"predict", "--model", "qwen3-30b-a3b", "--chip", "h100", "--json"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(nlohmann::json::parse(q.out)["param_bytes"], nlohmann::json::parse(q_built_in.out)["param_bytes"]);
  write_all(dir.file("mixed.json"), qwen + R"(, "mlp_only_layers": [0, 1]})");
  expect_one_line_error(roofaudit(dir, {"predict", "--model", dir.file("mixed.json"), "--chip", "h100"}), "mixes dense and expert layers");
  write_all(dir.file("broken.json"), R"({"num_hidden_layers": 80, "hidden_size": 8192})");
  expect_one_line_error(roofaudit(dir, {"predict", "--model", dir.file("broken.json"), "--chip", "h100"}),
                        "intermediate_size");
}

// A drafter is part of the deployment: the headline, the memory, the load plan and the
// compared rows all carry it, and the JSON names it.
TEST_F(Cli, PredictCarriesTheDrafterIntoEveryFigure) {
  const std::vector<std::string> base = {"predict", "--chip", "h100", "--chips", "2", "--weights", "fp8",
                                         "--context", "2000", "--prompt-len", "1000", "--decode-len", "1000", "--qps", "10", "--json"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    const auto r = roofaudit(dir, a);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  };
  const auto plain = with({});
  const auto spec = with({"--draft", "llama3-8b", "--draft-len", "4", "--accept", "0.8"});
  EXPECT_TRUE(plain["speculation"].is_null());
  EXPECT_EQ(spec["speculation"]["drafter"], "llama3-8b");
  EXPECT_NEAR(spec["tokens_per_step"].get<double>(), (1 - std::pow(0.8, 5)) / 0.2, 1e-9);
  EXPECT_GT(spec["param_bytes"].get<double>(), plain["param_bytes"].get<double>() + 7e9);
  EXPECT_LT(spec["max_batch"].get<std::int64_t>(), plain["max_batch"].get<std::int64_t>());
  // At batch 1 the drafter cuts the TPOT and the price, and a load needs fewer replicas.
  EXPECT_LT(spec["tpot_s"].get<double>(), 0.7 * plain["tpot_s"].get<double>());
  EXPECT_LT(spec["usd_per_mtok"].get<double>(), plain["usd_per_mtok"].get<double>());
  EXPECT_LT(spec["replicas"].get<std::int64_t>(), plain["replicas"].get<std::int64_t>());
  EXPECT_GT(spec["speculative"]["speedup"].get<double>(), 1.5);
  const auto compare = roofaudit(dir, {"predict", "--compare", "--draft", "llama3-8b", "--json"});
  ASSERT_EQ(compare.exit_code, 0) << compare.err;
  for (const auto& row : nlohmann::json::parse(compare.out)) EXPECT_EQ(row["speculation"]["drafter"], "llama3-8b") << row["chip"];
}

// Under --tpot-ms, --chips min grows the chips until the objective is met (int8 LLaMA 3
// 70B on H100 misses 12 ms on the fewest that hold it); --pp fixes the stages, and one
// that does not divide the chips is refused.
TEST_F(Cli, PredictGrowsChipsAndSplitsStagesUnderObjectives) {
  const auto fewest = roofaudit(dir, {"predict", "--chip", "h100", "--weights", "int8", "--json"});
  const auto held = roofaudit(dir, {"predict", "--chip", "h100", "--weights", "int8", "--tpot-ms", "12", "--json"});
  ASSERT_EQ(fewest.exit_code, 0) << fewest.err;
  ASSERT_EQ(held.exit_code, 0) << held.err;
  const auto a = nlohmann::json::parse(fewest.out), b = nlohmann::json::parse(held.out);
  EXPECT_GT(a["tpot_s"].get<double>(), 0.012);
  EXPECT_TRUE(b["slo_met"].get<bool>());
  EXPECT_LE(b["tpot_s"].get<double>(), 0.012);
  EXPECT_GT(b["chips"].get<int>(), a["chips"].get<int>());
  const auto staged = roofaudit(dir, {"predict", "--chip", "l40s", "--chips", "8", "--pp", "4", "--batch", "16", "--json"});
  ASSERT_EQ(staged.exit_code, 0) << staged.err;
  const auto s = nlohmann::json::parse(staged.out);
  EXPECT_EQ(s["pp_degree"], 4);
  EXPECT_EQ(s["tp_group"], 2);
  EXPECT_GT(s["t_pp_s"].get<double>(), 0);
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "l40s", "--chips", "8", "--pp", "3"}), "--pp 3 does not divide the 8 chips");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "l40s", "--chips", "8", "--pp", "2", "--tp", "2"}),
                        "--tp 2 x --pp 2 is not the 8 chips");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--chips", "8", "--ep", "8"}), "has no experts to spread");
  expect_one_line_error(roofaudit(dir, {"predict", "--model", "mixtral-8x7b", "--chip", "h100", "--chips", "8", "--ep", "4"}),
                        "--ep 4 must be the 8 chips");
  const auto spread = roofaudit(dir, {"predict", "--model", "mixtral-8x7b", "--chip", "h100", "--chips", "8", "--ep", "8",
                                      "--batch", "64", "--json"});
  ASSERT_EQ(spread.exit_code, 0) << spread.err;
  const auto x = nlohmann::json::parse(spread.out);
  EXPECT_EQ(x["ep_degree"], 8);
  EXPECT_GT(x["t_all_to_all_s"].get<double>(), 0);
}

// --owned prices each board one can buy at the catalogue's purchase price and power (the
// TPUs stay rented); every chip is priced, so the comparison ranks them all by cost.
TEST_F(Cli, PredictComparesOwnedHardwareAtCataloguePrices) {
  const auto r = roofaudit(dir, {"predict", "--compare", "--owned", "--weights", "fp8", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_GE(rows.size(), 11u);
  for (const auto& row : rows) {
    ASSERT_FALSE(row["usd_per_mtok"].is_null()) << row["chip"];
    if (row["chip"].get<std::string>().rfind("tpu", 0) == 0) {
      EXPECT_TRUE(row["capital_usd"].is_null()) << row["chip"];
    } else if (row["chip"] != "local") {
      // capital = purchase / (5 years x 0.7) per chip-hour, power = watts x 1.3 x 0.15 USD/kWh
      ASSERT_FALSE(row["capital_usd"].is_null()) << row["chip"];
      const double chips = row["chips"].get<double>();
      const double purchase = row["capital_usd"].get<double>() / chips;
      EXPECT_NEAR(row["capex_usd_per_hour"].get<double>() / chips, purchase / (5 * 8766.0 * 0.7), 1e-9) << row["chip"];
    }
  }
  const auto h100 = roofaudit(dir, {"predict", "--chip", "h100", "--owned", "--usd-per-kwh", "0.3", "--json"});
  ASSERT_EQ(h100.exit_code, 0) << h100.err;
  const auto j = nlohmann::json::parse(h100.out);
  EXPECT_NEAR(j["opex_usd_per_hour"].get<double>() / j["chips"].get<double>(), 0.7 * 1.3 * 0.3, 1e-9);
  EXPECT_NEAR(j["capital_usd"].get<double>() / j["chips"].get<double>(), 27000, 1e-6);
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--pue", "1.2"}), "--pue requires --purchase-usd or --owned");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--owned", "--purchase-usd", "1000"}), "excludes");
}

// calibrate --engine: llama-bench's JSON fitted into a chip file that predict then reproduces.
TEST_F(Cli, CalibrateFitsAnEngineAndPredictUsesIt) {
  const std::string test =
      R"("gpu_info": "NVIDIA H100 80GB HBM3", "model_type": "llama 8B Q8_0", "model_size": 8540000000, "model_n_params": 8030261248, "type_k": "f16")";
  write_all(dir.file("bench.json"), "[{" + test + R"(, "n_prompt": 512, "n_gen": 0, "avg_ts": 9000},
                                         {)" + test + R"(, "n_prompt": 0, "n_gen": 128, "avg_ts": 150}])");
  const auto fit = roofaudit(dir, {"calibrate", "--engine", dir.file("bench.json"), "--chip", "h100", "--out", dir.file("fit.json"),
                                   "--json"});
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  const auto j = nlohmann::json::parse(fit.out);
  EXPECT_EQ(j["engine"], "llama-bench");
  EXPECT_EQ(j["weights"], "int8");
  const auto predicted = roofaudit(dir, {"predict", "--chip", dir.file("fit.json"), "--model", "llama3-8b", "--weights", "int8",
                                         "--kv", "fp16", "--context", "128", "--prompt-len", "64", "--decode-len", "64", "--json"});
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  // The step at batch 1 is the engine's: 1 / 150 s (at its 64-token mean KV, within 2%).
  EXPECT_NEAR(nlohmann::json::parse(predicted.out)["step_time_s"].get<double>() * 150, 1.0, 0.02);
  write_all(dir.file("junk.json"), "{\"hello\": 1}");
  expect_one_line_error(roofaudit(dir, {"calibrate", "--engine", dir.file("junk.json"), "--chip", "h100"}), "JSON, but neither");
  expect_one_line_error(roofaudit(dir, {"calibrate", "--engine", dir.file("missing.json"), "--chip", "h100"}), "missing.json");
}

// --workload: a trace's mean lengths for the closed form (its longest request the context),
// the trace itself for --simulate, and the report's serving table at the same means.
TEST_F(Cli, AWorkloadTraceDrivesPredictAndReport) {
  write_all(dir.file("trace.csv"), "prompt,decode\n2000,200\n6000,400\n1000,1200\n");
  const auto r = roofaudit(dir, {"predict", "--chip", "h100", "--weights", "fp8", "--workload", dir.file("trace.csv"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prompt_len"], 3000);
  EXPECT_EQ(j["decode_len"], 600);
  EXPECT_EQ(j["context"], 6400);
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--workload", dir.file("trace.csv"), "--decode-len", "9"}),
                        "--workload gives the prompt and decode lengths");
  seeded();
  const auto report = roofaudit(dir, {"--db", db, "report", "--workload", dir.file("trace.csv")});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("prompts of 3000 tokens and 600 decoded"), std::string::npos) << report.out.substr(0, 2000);
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

TEST_F(Cli, PredictHoldsConfigurationsToLatencyObjectives) {
  const auto one = roofaudit(dir, {"predict", "--chip", "tpu-v5e", "--chips", "16", "--weights", "int8", "--batch", "max",
                                   "--tpot-ms", "15", "--ttft-ms", "5000", "--json"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto j = nlohmann::json::parse(one.out);
  EXPECT_TRUE(j["slo_met"].get<bool>());
  EXPECT_LE(j["tpot_s"].get<double>(), 15e-3);
  EXPECT_LT(j["batch"].get<int>(), j["max_batch"].get<int>());  // the largest batch that meets 15 ms
  EXPECT_TRUE(j["slo_misses"].empty());
  const auto compare = roofaudit(dir, {"predict", "--model", "llama3-70b", "--compare", "--tpot-ms", "3", "--json"});
  ASSERT_EQ(compare.exit_code, 0) << compare.err;
  bool missed = false;
  for (const auto& row : nlohmann::json::parse(compare.out)) {
    ASSERT_TRUE(row.contains("slo_met"));
    if (!row["slo_met"].get<bool>()) {
      missed = true;
      ASSERT_FALSE(row["slo_misses"].empty());
      EXPECT_EQ(row["slo_misses"][0]["bound"], "tpot");
      EXPECT_GT(row["slo_misses"][0]["over_by"].get<double>(), 0);
    } else {
      EXPECT_FALSE(missed) << "a row meeting the objectives ranks after one that misses them";
    }
  }
  const auto text = roofaudit(dir, {"predict", "--model", "llama3-70b", "--compare", "--tpot-ms", "3"});
  EXPECT_NE(text.out.find("meeting TPOT <= 3 ms"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("misses TPOT"), std::string::npos) << text.out;
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--tpot-ms", "0"}), "--tpot-ms: 0 is outside [0.001, 1e+07]");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--ttft-ms", "-1"}), "--ttft-ms: -1 is outside [0.001, 1e+07]");
}

TEST_F(Cli, PredictGivesTheLoadAndTheCapitalEachOptionNeeds) {
  const auto one = roofaudit(dir, {"predict", "--chip", "tpu-v5e", "--chips", "16", "--weights", "int8", "--kv", "int8",
                                   "--batch", "64", "--usable", "1.0", "--qps", "10000", "--json"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const auto j = nlohmann::json::parse(one.out);
  for (const char* f : {"replicas", "chips_total", "usd_per_hour_total", "usd_per_day", "replicas_with_prefill",
                        "decode_replicas", "prefill_replicas", "load_mode"})
    EXPECT_TRUE(j.contains(f)) << f;
  EXPECT_NEAR(j["decode_replicas"].get<double>(), 954, 1);  // the book's 893 at its rounder step time
  EXPECT_GT(j["replicas"].get<double>(), j["decode_replicas"].get<double>()) << "prefill included";
  const auto options = roofaudit(dir, {"predict", "--chip", "rtx-4090", "--weights", "bf16,int4", "--chips", "min",
                                       "--context", "4096", "--batch", "max", "--purchase-usd", "1599", "--watts", "450",
                                       "--qps", "10", "--json"});
  ASSERT_EQ(options.exit_code, 0) << options.err;
  const auto rows = nlohmann::json::parse(options.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["weights"], "bf16");
  EXPECT_EQ(rows[1]["weights"], "int4");
  EXPECT_LT(rows[1]["capital_usd_total"].get<double>(), rows[0]["capital_usd_total"].get<double>());
  EXPECT_GT(rows[1]["capex_usd_per_mtok"].get<double>(), 0);
  const auto sim = roofaudit(dir, {"predict", "--chip", "tpu-v5e", "--chips", "16", "--weights", "int8", "--batch", "max",
                                   "--qps", "0.5", "--simulate", "--requests", "500", "--seed", "3", "--json"});
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  const auto s = nlohmann::json::parse(sim.out)["simulation"];
  for (const char* f : {"ttft_s", "tpot_s", "e2e_s"})
    for (const char* q : {"p50", "p90", "p99"}) EXPECT_TRUE(s[f].contains(q)) << f << q;
  EXPECT_FALSE(s["saturated"].get<bool>());
  const auto again = roofaudit(dir, {"predict", "--chip", "tpu-v5e", "--chips", "16", "--weights", "int8", "--batch", "max",
                                     "--qps", "0.5", "--simulate", "--requests", "500", "--seed", "3", "--json"});
  EXPECT_EQ(sim.out, again.out);
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--simulate"}), "--simulate needs --qps");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--qps", "-3"}), "--qps: -3 is outside (0, 1e+09]");
  expect_one_line_error(roofaudit(dir, {"predict", "--chip", "h100", "--qps", "1", "--simulate", "--decode-len-dist",
                                        "lognormal:nine"}),
                        "lognormal:SIGMA");
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

// The installed manual page and bash completion come from the CLI definition itself: every
// verb and every option --help shows is in them, and the completion is valid bash.
TEST_F(Cli, TheManualAndTheCompletionFollowTheCli) {
  const auto man = roofaudit(dir, {"self-doc", "man"});
  const auto bash = roofaudit(dir, {"self-doc", "bash"});
  ASSERT_EQ(man.exit_code, 0) << man.err;
  ASSERT_EQ(bash.exit_code, 0) << bash.err;
  EXPECT_EQ(man.out.rfind(".TH ROOFAUDIT 1", 0), 0u);
  for (const char* verb : {"run", "probes", "devices", "runs", "show", "predict", "report", "export", "check", "tag",
                           "history", "compare", "merge", "catalog", "calibrate"}) {
    EXPECT_NE(man.out.find(std::string(".SS ") + verb + "\n"), std::string::npos) << verb;
    EXPECT_NE(bash.out.find(std::string(" ") + verb), std::string::npos) << verb;
  }
  EXPECT_EQ(man.out.find(".SS blas"), std::string::npos) << "internal verbs stay out";
  const auto help = roofaudit(dir, {"predict", "--help"});
  // Each option opens a line of the help: "  --name ...".
  for (std::size_t at = help.out.find("\n  --"); at != std::string::npos; at = help.out.find("\n  --", at + 1)) {
    const std::string option = help.out.substr(at + 3, help.out.find_first_of(" ,\n", at + 3) - at - 3);
    if (option == "--help") continue;
    std::string escaped;
    for (char c : option) escaped += c == '-' ? std::string("\\-") : std::string(1, c);
    EXPECT_NE(man.out.find("\\fB" + escaped + "\\fR"), std::string::npos) << option;
    EXPECT_NE(bash.out.find(option), std::string::npos) << option;
  }
  write_all(dir.file("completion.bash"), bash.out);
  EXPECT_EQ(std::system(("bash -n " + dir.file("completion.bash")).c_str()), 0);
  const std::string probe = "bash -c 'source " + dir.file("completion.bash") +
                            " && COMP_WORDS=(roofaudit predict --chip h10) COMP_CWORD=3 && _roofaudit && "
                            "[ \"${COMPREPLY[0]}\" = h100 ]'";
  EXPECT_EQ(std::system(probe.c_str()), 0) << "--chip completes catalogue chips";
}

TEST_F(Cli, CatalogListsChipsAndModels) {
  const auto chips = roofaudit(dir, {"catalog", "chips", "--json"});
  ASSERT_EQ(chips.exit_code, 0);
  EXPECT_GE(nlohmann::json::parse(chips.out).size(), 11u);
  const auto models = roofaudit(dir, {"catalog", "models"});
  EXPECT_NE(models.out.find("llama3-405b"), std::string::npos);
}

TEST_F(Cli, BlasChildRunsWithTheRequestedCoreType) {
  Result r;
  {
    const ScopedEnv coretype("OPENBLAS_CORETYPE", "Haswell");
    r = roofaudit(dir, {"blas-gemm", "--precision", "fp64", "--size", "64", "--repetitions", "2"});
  }
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
