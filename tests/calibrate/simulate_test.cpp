// The load model: the book's replica arithmetic, and the discrete-event simulation's
// checks (light load, saturation, Little's law, the seed).
#include "calibrate/deployment_fixture.hpp"
#include "calibrate/simulate.hpp"

#include <gtest/gtest.h>

#include "calibrate/catalog.hpp"
#include "calibrate/serving.hpp"
#include "test_util.hpp"
#include "values/error.hpp"

namespace roofaudit::calibrate {
namespace {

Deployment v5e_int8(std::int64_t batch) { return testing::deployment_of(16, Dtype::int8, Dtype::int8, 8192, batch); }

// The book's worked problem: 10,000 QPS of 70B on 4x4 v5e slices in int8 at B = 64, 8K
// context, 512 decoded tokens: 893 replicas, USD 411K a day, from its step time of about
// 11.2 ms (the book rounds P to 70e9, the KV to 160 kB a token and W to 8.1e11). The same
// arithmetic on this model's 11.92 ms step gives 954.
TEST(Load, TheBooksTenThousandQpsProblem) {
  const auto& m = find_model("llama3-70b");
  Deployment d = v5e_int8(64);
  d.usable = 1.0;
  ServingEstimate e = estimate(m, find_chip("tpu-v5e"), d);
  const LoadPlan p = plan_load(e, 10000);
  // The book's count is the decode replicas alone.
  EXPECT_EQ(p.decode_replicas, std::int64_t(std::ceil(10000 * 512 * e.step_time_s / 64)));
  // Prefill included: on the same chips, qps / (requests a replica serves with its prompts);
  // on a pool of its own, qps x t_prefill replicas beside. The plan takes the fewer chips.
  EXPECT_EQ(p.replicas_with_prefill, std::int64_t(std::ceil(10000 / e.qps)));
  EXPECT_EQ(p.prefill_replicas, std::int64_t(std::ceil(10000 * e.t_prefill_s)));
  EXPECT_EQ(p.replicas, std::min(p.replicas_with_prefill, p.decode_replicas + p.prefill_replicas));
  EXPECT_GT(p.replicas, p.decode_replicas) << "the prompts take chips too";
  EXPECT_EQ(p.chips_total, 16 * p.replicas);
  ASSERT_TRUE(p.usd_per_day);
  EXPECT_NEAR(*p.usd_per_day, double(p.replicas) * 16 * 1.2 * 24, 1e-6);
  EXPECT_NEAR(e.step_time_s, 11.2e-3, 0.07 * 11.2e-3);  // the book's step, within its rounding
  // At the book's step time the arithmetic gives the book's answer exactly.
  e.step_time_s = 11.16e-3;
  e.decode_qps = 64 / (e.step_time_s * 512);
  const LoadPlan book = plan_load(e, 10000);
  EXPECT_EQ(book.decode_replicas, 893);
  EXPECT_NEAR(893 * 16 * 1.2 * 24, 411e3, 1e3);
  EXPECT_THROW(plan_load(e, 0), Error);
}

SimulationResult run(double qps, std::int64_t requests, bool disaggregated = false, std::uint64_t seed = 7) {
  SimulationSpec s;
  s.qps = qps;
  s.requests = requests;
  s.seed = seed;
  s.disaggregated = disaggregated;
  s.prompt.kind = LengthDistribution::Kind::exponential;
  s.decode.kind = LengthDistribution::Kind::exponential;
  Deployment d = v5e_int8(1);
  d.prompt_len = 1024;
  d.decode_len = 256;
  return simulate(find_model("llama3-70b"), find_chip("tpu-v5e"), d, s);
}

TEST(Simulation, LightLoadTendsToTheSmallBatchStepAndThePrefill) {
  const auto& m = find_model("llama3-70b");
  const auto& v5e = find_chip("tpu-v5e");
  const auto r = run(0.01, 300);
  EXPECT_FALSE(r.saturated);
  EXPECT_LT(r.mean_batch, 0.1);
  Deployment one = v5e_int8(1);
  const double step1 = decode_step(m, v5e, one).total_s;
  EXPECT_NEAR(r.tpot_s.p50, step1, 0.1 * step1);  // alone on the replica
  // A lone 1024-token median prompt (exponential) in 512-token chunks: its prefill time.
  const double per_token = 2.0 * m.active_params() / (16 * v5e.peak_ops(Dtype::int8) * v5e.efficiency.prefill_mfu);
  EXPECT_GT(r.ttft_s.p50, 0.5 * 1024 * per_token);
  EXPECT_LT(r.ttft_s.p50, 1.5 * 1024 * per_token + 2 * step1);
}

TEST(Simulation, AboveCapacityItSaysSaturated) {
  const auto light = run(0.5, 3000);
  EXPECT_FALSE(light.saturated);
  const auto heavy = run(50, 3000);  // prefill alone takes more than a second per second
  EXPECT_TRUE(heavy.saturated);
  EXPECT_GT(heavy.e2e_s.p99, 10 * light.e2e_s.p99);
}

TEST(Simulation, LittlesLawHoldsOnTheSimulatedQueue) {
  for (bool disaggregated : {false, true}) {
    const auto r = run(2, 5000, disaggregated);
    // L (the time-average number in the system, integrated step by step) = lambda W.
    EXPECT_NEAR(r.mean_in_system, r.arrival_rate * r.e2e_s.mean, 0.01 * r.mean_in_system) << disaggregated;
    EXPECT_GT(r.mean_batch, 1);
    EXPECT_GT(r.throughput_tokens_per_s, 0);
  }
}

TEST(Simulation, TheSameSeedGivesTheSameRunAndManyRequestsAreFast) {
  const auto a = run(1, 2000, false, 42), b = run(1, 2000, false, 42), c = run(1, 2000, false, 43);
  EXPECT_EQ(a.e2e_s.p99, b.e2e_s.p99);
  EXPECT_EQ(a.duration_s, b.duration_s);
  EXPECT_NE(a.duration_s, c.duration_s);
  // 100,000 fixed-length requests (a second or so; timing is not asserted): every one
  // finishes with every token decoded.
  SimulationSpec fixed;
  fixed.qps = 1;
  fixed.requests = 100000;
  Deployment d = v5e_int8(1);
  d.prompt_len = 1024;
  d.decode_len = 256;
  const auto big = simulate(find_model("llama3-70b"), find_chip("tpu-v5e"), d, fixed);
  EXPECT_NEAR(big.throughput_tokens_per_s * big.duration_s, 100000.0 * 256, 1e-3 * 256);
  EXPECT_GT(big.e2e_s.p50, 255 * big.tpot_s.p50) << "a request's life covers its 255 decode steps";
  EXPECT_FALSE(big.saturated);
}

TEST(Simulation, LengthsComeFromATrace) {
  testing::ScratchDir dir;
  testing::write_all(dir.file("trace.csv"), "prompt,decode\n100,20\n\n300,40\n");
  const auto trace = read_length_trace(dir.file("trace.csv"));
  ASSERT_EQ(trace.size(), 2u);
  EXPECT_EQ(trace[1], (std::pair<std::int64_t, std::int64_t>{300, 40}));
  testing::write_all(dir.file("bad.csv"), "100,20\n100;20\n");
  try {
    read_length_trace(dir.file("bad.csv"));
    FAIL() << "a malformed line was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_length_distribution("lognormal:x", "--decode-len-dist"), Error);
  EXPECT_EQ(parse_length_distribution("lognormal:0.5", "--decode-len-dist").sigma, 0.5);
}

}  // namespace
}  // namespace roofaudit::calibrate

namespace roofaudit::calibrate {
namespace {

// Owned hardware: the price is capital plus power, per hour and per 1M tokens, and a load
// plan adds up the purchases.
TEST(OwnedCost, PredictionsSplitCapitalFromPower) {
  ChipSpec c = find_chip("rtx-4090");
  OwnedCost cost;
  cost.purchase_usd = 1599;
  cost.watts = 450;
  set_owned_price(c, cost);
  EXPECT_NEAR(c.capital_usd_per_hour, 1599 / (5 * 8766.0 * 0.7), 1e-12);
  EXPECT_NEAR(c.power_usd_per_hour, 0.45 * 1.3 * 0.15, 1e-12);
  EXPECT_NEAR(*c.usd_per_hour, c.capital_usd_per_hour + c.power_usd_per_hour, 1e-12);
  const auto e = estimate(find_model("llama3-70b"), c, testing::deployment_of(2, Dtype::int4, Dtype::int8, 4096, 8));
  ASSERT_TRUE(e.capital_usd);
  EXPECT_DOUBLE_EQ(*e.capital_usd, 2 * 1599.0);
  EXPECT_NEAR(*e.capex_usd_per_mtok + *e.opex_usd_per_mtok, *e.usd_per_mtok, 1e-12);
  EXPECT_NEAR(*e.capex_usd_per_hour + *e.opex_usd_per_hour, *e.usd_per_hour, 1e-12);
  const LoadPlan p = plan_load(e, 3);
  EXPECT_DOUBLE_EQ(*p.capital_usd_total, double(p.replicas) * 2 * 1599);
  // A rented chip has no split.
  EXPECT_FALSE(estimate(find_model("llama3-70b"), find_chip("h100"), Deployment{}).capital_usd);
}

}  // namespace
}  // namespace roofaudit::calibrate

namespace roofaudit::calibrate {
namespace {

// Saturated, the simulated replica serves what the closed form's headline says it serves,
// prefill included: chunked prefill riding the steps, fixed lengths, arrivals past its capacity.
TEST(Load, TheSimulatorAndTheClosedFormAgreeUnderLoad) {
  const auto& m = find_model("llama3-70b");
  const auto& c = find_chip("h100");
  for (const auto& [prompt, decode] : {std::pair<std::int64_t, std::int64_t>{2048, 128}, {1000, 1000}, {128, 2048}}) {
    Deployment d;
    d.chips = 2;
    d.weights = d.kv = Dtype::fp8;
    d.context = prompt + decode;
    d.prompt_len = prompt;
    d.decode_len = decode;
    d.batch = max_batch(m, c, d);
    // A chunk that carries the prompts a full batch needs each step (an engine's token
    // budget: TensorRT-LLM's default is 8192); the closed form says a smaller one needs a pool.
    d.prefill_chunk = 8192;
    const ServingEstimate e = estimate(m, c, d);
    EXPECT_EQ(e.serving_mode, "aggregated");
    d.prefill_chunk = 512;
    EXPECT_EQ(estimate(m, c, d).serving_mode, prompt > decode ? "disaggregated" : "aggregated") << prompt << "/" << decode;
    d.prefill_chunk = 8192;
    SimulationSpec s;
    s.qps = 3 * e.qps;  // past what the replica serves: it runs full
    s.requests = 4000;
    const SimulationResult r = simulate(m, c, d, s);
    EXPECT_TRUE(r.saturated) << prompt << "/" << decode;
    EXPECT_NEAR(r.throughput_tokens_per_s / e.tokens_per_s, 1.0, 0.15) << prompt << "/" << decode;
    // Decode alone would claim far more where the prompts dominate.
    if (prompt > decode) {
      EXPECT_GT(e.decode_tokens_per_s, 3 * r.throughput_tokens_per_s);
    }
  }
}

// A drafter in the deployment: the simulator draws each step's accepted drafts and reaches
// the closed form's tokens/s at load and its TPOT when lightly loaded; the same arrivals
// without the drafter decode slower per request.
TEST(Load, SpeculationAgreesBetweenTheSimulatorAndTheClosedForm) {
  const auto& m = find_model("llama3-70b");
  const auto& c = find_chip("h100");
  Deployment d = testing::served_fp8(2, 1000, 1000, 1);
  d.speculation = make_speculation(m, find_model("llama3-8b"), 4, 0.7);
  d.batch = max_batch(m, c, d);
  const ServingEstimate full = estimate(m, c, d);
  SimulationSpec s;
  s.qps = 3 * full.qps;
  s.requests = 3000;
  const SimulationResult loaded = simulate(m, c, d, s);
  EXPECT_TRUE(loaded.saturated);
  EXPECT_NEAR(loaded.throughput_tokens_per_s / full.tokens_per_s, 1.0, 0.15);

  // Lightly loaded: about one request at a time, its TPOT the B = 1 step over E tokens.
  Deployment one = d;
  one.batch = 1;
  const ServingEstimate single = estimate(m, c, one);
  s.qps = 0.05 * single.qps;
  s.requests = 300;
  const SimulationResult light = simulate(m, c, d, s);
  EXPECT_NEAR(light.tpot_s.p50 / single.tpot_disaggregated_s, 1.0, 0.15);
  Deployment plain = d;
  plain.speculation.reset();
  const SimulationResult without = simulate(m, c, plain, s);
  EXPECT_GT(without.tpot_s.p50, 1.5 * light.tpot_s.p50);
}

}  // namespace
}  // namespace roofaudit::calibrate
