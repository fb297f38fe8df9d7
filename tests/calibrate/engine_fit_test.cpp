// Serving engines' benchmark output read and fitted: each format's reader, the fit
// recovering efficiencies from output the serving model itself produced, and refusals.
#include "calibrate/engine_fit.hpp"
#include "calibrate/deployment_fixture.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include <fmt/format.h>

#include "calibrate/catalog.hpp"
#include "calibrate/chip_codec.hpp"
#include "calibrate/serving.hpp"
#include "values/error.hpp"

namespace roofaudit::calibrate {
namespace {

std::string llama_bench(double tg_rate, double pp_rate) {
  const std::string common =
      R"("build_commit": "0a1b2c3", "cpu_info": "AMD EPYC 9654", "gpu_info": "NVIDIA H100 80GB HBM3", "backends": "CUDA",
         "model_filename": "Meta-Llama-3-8B.Q4_K_M.gguf", "model_type": "llama 8B Q4_K - Medium", "model_size": 4920734720,
         "model_n_params": 8030261248, "n_batch": 2048, "n_ubatch": 512, "type_k": "f16", "type_v": "f16", "n_gpu_layers": 99)";
  return fmt::format(R"([
  {{{0}, "n_prompt": 512, "n_gen": 0, "n_depth": 0, "avg_ts": {2}, "stddev_ts": 12.5}},
  {{{0}, "n_prompt": 0, "n_gen": 128, "n_depth": 0, "avg_ts": {1}, "stddev_ts": 0.4}},
  {{{0}, "n_prompt": 0, "n_gen": 128, "n_depth": 4096, "avg_ts": {3}, "stddev_ts": 0.4}},
  {{{0}, "n_prompt": 512, "n_gen": 128, "avg_ts": 900.0, "stddev_ts": 1.0}}
])",
                     common, tg_rate, pp_rate, tg_rate * 0.885);  // the 4 k tokens of KV read beside the weights
}

TEST(EngineFit, ReadsLlamaBenchJson) {
  const EngineRecord r = read_engine_output(llama_bench(190, 12000), "results.json");
  EXPECT_EQ(r.engine, "llama-bench");
  EXPECT_EQ(r.weight_type, "Q4_K - Medium");
  ASSERT_TRUE(r.weights && r.kv);
  EXPECT_EQ(*r.weights, Dtype::int4);
  EXPECT_EQ(*r.kv, Dtype::fp16);
  EXPECT_EQ(r.weight_bytes, 4920734720.0);
  EXPECT_EQ(r.device, "NVIDIA H100 80GB HBM3");
  ASSERT_EQ(r.points.size(), 3u) << "the combined pp+tg test has no rate of its own";
  EXPECT_EQ(r.points[0].kind, EnginePoint::Kind::prefill);
  EXPECT_NEAR(r.points[0].seconds, 1.0 / 12000, 1e-15);
  EXPECT_EQ(r.points[2].kind, EnginePoint::Kind::decode);
  EXPECT_DOUBLE_EQ(r.points[2].context, 4096 + 64);

  const ModelSpec& m = find_model("llama3-8b");
  const EngineFit fit = fit_engine(r, m, find_chip("h100"), 1, std::nullopt, "results.json");
  EXPECT_EQ(fit.weights, Dtype::int4);
  EXPECT_EQ(fit.chip.provenance.at("efficiency").kind, "fitted");
  EXPECT_GT(fit.chip.efficiency.bandwidth, 0.1);
  EXPECT_LE(fit.chip.efficiency.bandwidth, 1.0);
  // MFU: 2 P x 12000 tokens/s over the bf16 peak (int4 weights are dequantized).
  EXPECT_NEAR(fit.chip.efficiency.prefill_mfu, 2 * m.active_params() * 12000 / 9.9e14, 1e-3);
  for (const auto& res : fit.residuals) EXPECT_NEAR(res.predicted / res.measured, 1.0, 0.05) << res.label;
}

TEST(EngineFit, RefusesWhatIsFasterThanTheChip) {
  const EngineRecord fast = read_engine_output(llama_bench(5000, 12000), "fast.json");
  try {
    fit_engine(fast, find_model("llama3-8b"), find_chip("h100"), 1, std::nullopt, "fast.json");
    FAIL() << "5000 tokens/s of an 8B model at batch 1 passed an H100's bandwidth";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("faster than"), std::string::npos) << e.what();
  }
  // A 5-bit file names no serving-model dtype: --weights is needed.
  std::string q5 = llama_bench(190, 12000);
  for (std::size_t at; (at = q5.find("Q4_K - Medium")) != std::string::npos;) q5.replace(at, 13, "Q5_K - Medium");
  EXPECT_THROW(fit_engine(read_engine_output(q5, "q5.json"), find_model("llama3-8b"), find_chip("h100"), 1, std::nullopt, "q5"),
               Error);
  EXPECT_NO_THROW(fit_engine(read_engine_output(q5, "q5.json"), find_model("llama3-8b"), find_chip("h100"), 1, Dtype::int8, "q5"));
}

// Output the serving model produced with known efficiencies, written as llama-batched-bench
// prints it: the fit recovers the bandwidth, the matmul efficiency and the MFU.
TEST(EngineFit, RecoversKnownEfficienciesFromBatchedBench) {
  const ModelSpec& m = find_model("llama3-8b");
  ChipSpec truth = find_chip("h100");
  truth.efficiency.bandwidth = 0.62;
  truth.efficiency.decode_matmul = 0.35;
  truth.efficiency.prefill_mfu = 0.48;
  Deployment d;
  d.weights = d.kv = Dtype::bf16;
  d.prefill_chunk = 8192;
  std::string table = "|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |\n"
                      "|-------|--------|------|--------|----------|----------|----------|----------|----------|----------|\n";
  std::string jsonl = R"({"n_kv_max": 65536, "n_batch": 2048, "n_ubatch": 512, "flash_attn": 1, "is_pp_shared": 0})" "\n";
  for (int B : {1, 8, 64, 512}) {
    d.batch = B;
    d.context = 512 + 64;
    const double t_tg = 128 * decode_step(m, truth, d).total_s;
    d.context = 256;
    const double t_pp = 512.0 * B * prefill_s_per_token(m, truth, d);
    table += fmt::format("| {:5} | {:6} | {:4} | {:6} | {:8.6f} | {:8.2f} | {:8.6f} | {:8.2f} | {:8.3f} | {:8.2f} |\n", 512, 128, B,
                         (512 + 128) * B, t_pp, 512.0 * B / t_pp, t_tg, 128.0 * B / t_tg, t_pp + t_tg, 640.0 * B / (t_pp + t_tg));
    jsonl += fmt::format(R"({{"pp": 512, "tg": 128, "pl": {}, "n_kv": {}, "t_pp": {}, "speed_pp": {}, "t_tg": {}, "speed_tg": {}, "t": {}, "speed": {}}})"
                         "\n",
                         B, 640 * B, t_pp, 512.0 * B / t_pp, t_tg, 128.0 * B / t_tg, t_pp + t_tg, 640.0 * B / (t_pp + t_tg));
  }
  for (const auto& [body, name] : {std::pair{table, "table"}, std::pair{jsonl, "jsonl"}}) {
    const EngineRecord r = read_engine_output(body, name);
    EXPECT_EQ(r.engine, "llama-batched-bench") << name;
    ASSERT_EQ(r.points.size(), 8u) << name;
    const EngineFit fit = fit_engine(r, m, find_chip("h100"), 1, Dtype::bf16, name);
    EXPECT_NEAR(fit.chip.efficiency.bandwidth, 0.62, 0.01) << name;
    EXPECT_NEAR(fit.chip.efficiency.decode_matmul, 0.35, 0.01) << name;
    EXPECT_NEAR(fit.chip.efficiency.prefill_mfu, 0.48, 0.01) << name;
    for (const auto& res : fit.residuals) EXPECT_NEAR(res.predicted / res.measured, 1.0, 0.02) << name << " " << res.label;
    // The fitted chip survives its file format.
    const ChipSpec back = chip_from_json(chip_to_catalogue_json(fit.chip), "round trip");
    EXPECT_NEAR(back.efficiency.bandwidth, fit.chip.efficiency.bandwidth, 1e-12);
    EXPECT_EQ(back.efficiency.decode_curve.at(Dtype::bf16).size(), 4u);
  }
}

// vLLM's result at a concurrency: one scale on every factor, solved so the served
// headline matches; a result from the model at half its efficiencies gives back half.
TEST(EngineFit, ScalesToAServedThroughput) {
  const ModelSpec& m = find_model("llama3-70b");
  const ChipSpec base = find_chip("h100");
  ChipSpec half = base;
  half.efficiency.bandwidth *= 0.5;
  half.efficiency.decode_matmul *= 0.5;
  half.efficiency.prefill_mfu *= 0.5;
  const Deployment d = testing::served_fp8(2, 1000, 1000, 32);
  const double served = estimate(m, half, d).tokens_per_s;
  const std::string result = fmt::format(
      R"({{"date": "20250601-120000", "backend": "vllm", "model_id": "meta-llama/Llama-3.3-70B-Instruct", "num_prompts": 320,
          "max_concurrency": 32, "duration": 100.0, "completed": 320, "total_input_tokens": 320000, "total_output_tokens": 320000,
          "request_throughput": 3.2, "output_throughput": {}, "total_token_throughput": {}, "mean_ttft_ms": 250.0,
          "mean_tpot_ms": 30.0}})",
      served, 2 * served);
  const EngineRecord r = read_engine_output(result, "vllm.json");
  EXPECT_EQ(r.engine, "vllm");
  const EngineFit fit = fit_engine(r, m, base, 2, Dtype::fp8, "vllm.json");
  EXPECT_NEAR(fit.chip.efficiency.bandwidth / base.efficiency.bandwidth, 0.5, 0.01);
  EXPECT_NEAR(fit.residuals.at(0).predicted / served, 1.0, 0.01);
  EXPECT_THROW(read_engine_output(R"({"output_throughput": 10, "completed": 5, "total_input_tokens": 5, "total_output_tokens": 5})",
                                  "no-concurrency.json"),
               Error);
}

TEST(EngineFit, RefusesWhatIsNoEngineOutput) {
  for (const std::string body : {"", "hello", "[1, 2]", "[]", "{\"a\": 1}\nnot json", "| PP | TG |\n|---|---|\n| 1 | 2 |"}) {
    EXPECT_THROW(read_engine_output(body, "x"), Error) << body;
  }
  EXPECT_THROW(read_engine_output("| PP | TG | B | T_PP s | T_TG s |\n| 512 | 128 | 1 | x | 0.5 |\n", "x"), Error);
  EXPECT_THROW(read_engine_output(R"([{"n_prompt": 0, "n_gen": 128, "avg_ts": -3}])", "x"), Error);
}

}  // namespace
}  // namespace roofaudit::calibrate
