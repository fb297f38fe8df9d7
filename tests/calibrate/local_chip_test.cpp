// Calibration of a stored run (fixture: a --quick run on the 2-core Zen 5 VM) into a
// ChipSpec, its JSON round trip, owned pricing, and the forward-pass prediction checks.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "measurement_fixture.hpp"
#include "calibrate/deployment_fixture.hpp"
#include "calibrate/local_chip.hpp"
#include "calibrate/plateaus.hpp"
#include "calibrate/serving.hpp"
#include "values/error.hpp"
#include "run_fixture.hpp"

namespace roofaudit::calibrate {
namespace {

using testing::fixture_cpu;
using testing::load_run_fixture;
using testing::probe_roles;

double best_of(const reports::RunView& v, const std::string& probe, const std::string& variant, const std::string& metric,
               int batch = -1) {
  double best = 0;
  for (const auto& m : v.measurements)
    if (m.probe == probe && m.variant == variant && m.metric == metric && m.summary &&
        (batch < 0 || m.params.value("batch", -2) == batch))
      best = std::max(best, m.summary->best);
  return best;
}

class LocalChip : public ::testing::Test {
 protected:
  reports::RunView view = load_run_fixture("vm_turin_quick_run.json");
  ChipSpec chip = calibrate_device(view.run.id, fixture_cpu(view), view.measurements, view.fits, probe_roles());
};

TEST_F(LocalChip, MemoryIsTheReadCurvesLastPlateauAndEveryLevelIsKept) {
  std::vector<Plateau> read;
  for (const auto& f : view.fits)
    if (f.probe == "cpu.bandwidth" && f.variant == "read") read = plateaus_from_json(f.result);
  ASSERT_FALSE(read.empty());
  EXPECT_EQ(chip.memory_bytes_per_s, read.back().value);
  ASSERT_EQ(chip.memory_levels.size(), read.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(chip.memory_levels[i].level, read[i].level);
    EXPECT_EQ(chip.memory_levels[i].bytes_per_s, read[i].value);
    EXPECT_EQ(chip.provenance.at("bandwidth." + read[i].level).kind, "measured");
  }
  EXPECT_EQ(chip.memory_levels.back().level, "DRAM");
  EXPECT_NE(chip.provenance.at("bandwidth").source.find("run 1, cpu.bandwidth read, DRAM plateau"), std::string::npos);
}

TEST_F(LocalChip, PeaksAndMatmulRatesComeFromTheirProbesPerDtype) {
  for (const char* d : {"fp32", "bf16", "int8"}) {
    const Dtype dt = parse_dtype(d);
    EXPECT_EQ(chip.peak_ops_per_s.at(dt), best_of(view, "cpu.peak", d, "peak")) << d;
    EXPECT_EQ(chip.matmul_ops_per_s.at(dt), best_of(view, "cpu.gemm", d, "gemm")) << d;
    // Named by the instruction sequence that reached it.
    const std::string source = chip.provenance.at(std::string("flops.") + d).source;
    EXPECT_EQ(source.rfind(std::string("run 1, cpu.peak ") + d + " (v", 0), 0u) << source;
  }
  EXPECT_FALSE(chip.peak_ops_per_s.count(Dtype::fp16)) << "no fp16 probe ran: no fp16 figure invented";
  EXPECT_NEAR(chip.efficiency.prefill_mfu, best_of(view, "cpu.gemm", "bf16", "gemm") / best_of(view, "cpu.peak", "bf16", "peak"), 1e-12);
}

TEST_F(LocalChip, DecodeEfficienciesComeFromTheSweepsEnds) {
  for (const char* d : {"int8", "bf16"}) {
    const Dtype dt = parse_dtype(d);
    const double b1 = best_of(view, "cpu.decode", d, "weight_bandwidth", 1);
    EXPECT_NEAR(chip.efficiency.bandwidth_by_dtype.at(dt), std::min(1.0, b1 / chip.memory_bytes_per_s), 1e-9) << d;
    const double top = best_of(view, "cpu.decode", d, "throughput", 512);
    EXPECT_NEAR(chip.efficiency.matmul_by_dtype.at(dt), std::min(1.0, top / chip.peak_ops_per_s.at(dt)), 1e-9) << d;
    // B = 1 is the bandwidth efficiency's own point: its ratio is 1 unless the efficiency
    // was capped at 1 (a quick run's weights partly cached), then the cap's share.
    const auto& curve = chip.efficiency.decode_curve.at(dt);
    ASSERT_EQ(curve.size(), 10u) << d;  // B = 1, 2, 4, ... 512
    const double raw = b1 / chip.memory_bytes_per_s;
    EXPECT_NEAR(curve.front().second, std::min(1.0, raw) / raw, 1e-6) << d;
    for (const auto& [b, r] : curve) EXPECT_GT(r, 0.5) << d << " B=" << b;
  }
  // A step near the knee is slower than both of its bounds.
  EXPECT_GT(decode_curve_ratio(chip, Dtype::int8, 16), 1.0);
}

TEST_F(LocalChip, CapacityLinkAndPriceSayWhereTheyCameFrom) {
  EXPECT_EQ(chip.memory_bytes, fixture_cpu(view).memory_bytes);
  EXPECT_EQ(chip.link_bytes_per_s, kAssumedNetworkBytesPerS);
  EXPECT_EQ(chip.link_topology, "network");  // per direction: a ring collective uses both ways
  EXPECT_DOUBLE_EQ(ici_bytes_per_s(chip, 2), 2 * kAssumedNetworkBytesPerS);
  EXPECT_EQ(chip.provenance.at("link").kind, "assumed");
  ASSERT_TRUE(chip.usd_per_hour);
  EXPECT_NEAR(*chip.usd_per_hour, owned_usd_per_hour(default_owned_cost(fixture_cpu(view))), 1e-12);
  EXPECT_EQ(chip.provenance.at("price").kind, "assumed");
  EXPECT_NE(chip.provenance.at("price").source.find("--price-per-hour"), std::string::npos);
  EXPECT_EQ(chip.name, "local");
  EXPECT_EQ(chip.kind, "cpu");
}

TEST_F(LocalChip, TheLinkBetweenGpusOfOneMachineComesFromNcclsCollectives) {
  // cuda.links as it stores NCCL's collectives over the GPUs of one machine (its role is
  // given here: a build without CUDA registers no cuda.* probe).
  RoleMap roles = probe_roles();
  roles["cuda.links"] = Role::chip_link;
  auto ms = view.measurements;
  auto collective = [&](const char* variant, double bytes, double busbw, int gpus) {
    Measurement m = roofaudit::testing::cpu_figure("cuda.links", variant, "bus_bandwidth", "B/s",
                                                   {{"bytes", bytes}, {"gpus", gpus}, {"nodes", 1}, {"library", "NCCL 2.28.9"}}, "");
    m.summary = Summary{busbw, busbw, busbw, busbw, busbw, 0, 0};
    ms.push_back(m);
  };
  collective("allgather", 1 << 30, 400e9, 1);  // one GPU: no link between GPUs
  collective("reduce_scatter", 1 << 30, 400e9, 1);
  EXPECT_EQ(calibrate_device(view.run.id, fixture_cpu(view), ms, view.fits, roles).provenance.at("link").kind, "assumed");
  collective("allgather", 1 << 20, 60e9, 8);
  collective("reduce_scatter", 1 << 20, 50e9, 8);
  collective("allgather", 256 << 20, 350e9, 8);
  collective("reduce_scatter", 256 << 20, 360e9, 8);
  collective("allreduce", 256 << 20, 480e9, 8);  // all-reduce is two phases: not the link's own figure
  const ChipSpec c = calibrate_device(view.run.id, fixture_cpu(view), ms, view.fits, roles);
  EXPECT_DOUBLE_EQ(c.link_bytes_per_s, 350e9);
  EXPECT_EQ(c.link_topology, "collective");
  EXPECT_EQ(c.provenance.at("link").kind, "measured");
  EXPECT_NE(c.provenance.at("link").source.find("cuda.links all-gather / reduce-scatter bus bandwidth over 8 GPUs of this "
                                                "machine (NCCL 2.28.9), the slower of the two at 256 MiB"),
            std::string::npos)
      << c.provenance.at("link").source;
}

TEST_F(LocalChip, TheLinkBetweenMachinesComesFromAFleetsCollectives) {
  auto ms = view.measurements;
  // A valid link.mpi figure as a fleet's rank 0 stores it.
  auto link = [&](const char* variant, const char* metric, const char* unit, nlohmann::json params, double value) {
    Measurement m = roofaudit::testing::cpu_figure("link.mpi", variant, metric, unit, std::move(params), "");
    m.summary = Summary{value, value, value, value, value, 0, 0};
    ms.push_back(m);
  };
  auto collective = [&](const char* variant, double bytes, double busbw, int nodes) {
    link(variant, "bus_bandwidth", "B/s", {{"bytes", bytes}, {"ranks", 2}, {"nodes", nodes}}, busbw);
  };
  // Ranks on one host measure shared memory, not a link between machines.
  collective("allgather", 16 << 20, 9e9, 1);
  collective("reduce_scatter", 16 << 20, 8e9, 1);
  EXPECT_EQ(calibrate_device(view.run.id, fixture_cpu(view), ms, view.fits, probe_roles()).provenance.at("link").kind, "assumed");
  // Two hosts: the largest message's slower collective.
  collective("allgather", 1 << 20, 0.5e9, 2);
  collective("allgather", 64 << 20, 1.2e9, 2);
  collective("reduce_scatter", 64 << 20, 1.1e9, 2);
  const ChipSpec c = calibrate_device(view.run.id, fixture_cpu(view), ms, view.fits, probe_roles());
  EXPECT_DOUBLE_EQ(c.link_bytes_per_s, 1.1e9);
  EXPECT_EQ(c.link_topology, "collective");  // the collective's own figure, not doubled
  EXPECT_DOUBLE_EQ(ici_bytes_per_s(c, 2), 1.1e9);
  EXPECT_EQ(c.provenance.at("link").kind, "measured");
  EXPECT_NE(c.provenance.at("link").source.find("link.mpi all-gather / reduce-scatter bus bandwidth over 2 hosts, the slower of "
                                                "the two at 64 MiB"),
            std::string::npos)
      << c.provenance.at("link").source;
  EXPECT_EQ(c.link_latency_s, 0) << "no ping-pong between hosts measured";
  // The latency: the slowest peer's 8-byte ping-pong on another host.
  for (const auto& [peer, host, latency] : {std::tuple{1, "node-a", 30e-6}, {2, "node-b", 45e-6}, {3, "node-c", 20e-6}})
    link("p2p_latency", "latency", "s", {{"bytes", 8}, {"peer_rank", peer}, {"peer_host", host}, {"same_host", peer == 3}},
         latency);
  const ChipSpec l = calibrate_device(view.run.id, fixture_cpu(view), ms, view.fits, probe_roles());
  EXPECT_DOUBLE_EQ(l.link_latency_s, 45e-6);
  EXPECT_NE(l.provenance.at("link_latency").source.find("rank 2 on node-b"), std::string::npos);
  EXPECT_DOUBLE_EQ(chip_spec_from_json(chip_spec_to_json(l)).link_latency_s, 45e-6);
  // Every collective of a multi-machine step pays it where the link is exposed.
  const ModelSpec model = find_model("llama3-70b");
  Deployment d;
  d.chips = 8;
  d.batch = 64;
  d.context = 4096;
  ChipSpec slow_link = l;
  slow_link.link_bytes_per_s = 1e8;  // exposed: t_ici far above the matmuls it feeds
  ChipSpec no_latency = slow_link;
  no_latency.link_latency_s = 0;
  const auto with = decode_step(model, slow_link, d, 1), without = decode_step(model, no_latency, d, 1);
  ASSERT_GT(without.t_comm_s, 0);
  EXPECT_NEAR(with.t_comm_s - without.t_comm_s, model.layers * 2 * 45e-6, 1e-9);
}

TEST_F(LocalChip, GivenPricesReplaceTheDefault) {
  ChipSpec c = chip;
  apply_local_price(c, fixture_cpu(view), {1.25, std::nullopt});
  EXPECT_EQ(*c.usd_per_hour, 1.25);
  EXPECT_EQ(c.provenance.at("price").kind, "given");
  const LocalPrice owned = price_from_json({{"purchase_usd", 8766.0}, {"lifetime_years", 1.0}, {"utilisation", 1.0},
                                            {"watts", 1000.0}, {"pue", 1.0}, {"usd_per_kwh", 0.5}},
                                           "cost.json");
  apply_local_price(c, fixture_cpu(view), owned);
  EXPECT_NEAR(*c.usd_per_hour, 1.0 + 0.5, 1e-12);  // capital 1 USD/h + 1 kW x 0.5 USD/kWh
}

TEST_F(LocalChip, BadPriceFilesAreRefusedNamingTheField) {
  try {
    price_from_json({{"watts", -3}}, "cost.json");
    FAIL() << "negative watts accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cost.json: 'watts'"), std::string::npos) << e.what();
  }
  try {
    price_from_json({{"purchase", 3}}, "cost.json");
    FAIL() << "unknown field accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown field 'purchase'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(price_from_json(nlohmann::json::array(), "cost.json"), Error);
}

TEST_F(LocalChip, JsonRoundTripKeepsEveryFigure) {
  const ChipSpec back = chip_spec_from_json(chip_spec_to_json(chip));
  EXPECT_EQ(chip_spec_to_json(back), chip_spec_to_json(chip));
  EXPECT_EQ(back.efficiency.decode_curve, chip.efficiency.decode_curve);
  EXPECT_EQ(back.provenance.size(), chip.provenance.size());
  // The serving model sees the same chip either way.
  ModelSpec m = find_model("llama3-8b");
  Deployment d;
  d.weights = Dtype::int8;
  d.batch = 8;
  d.context = 1024;
  EXPECT_EQ(estimate(m, back, d).step_time_s, estimate(m, chip, d).step_time_s);
}

TEST_F(LocalChip, ForwardPassChecksPredictEveryModelDecodePoint) {
  const auto checks = check_predictions(chip, view.measurements, probe_roles());
  int model_points = 0;
  for (const auto& m : view.measurements) model_points += m.probe == "model.decode" && m.valid;
  ASSERT_EQ(int(checks.size()), model_points);
  int fitted = 0;
  for (const auto& p : checks) {
    EXPECT_GT(p.predicted_tokens_per_s, 0);
    EXPECT_NEAR(p.error, (p.predicted_tokens_per_s - p.measured_tokens_per_s) / p.measured_tokens_per_s, 1e-12);
    EXPECT_EQ(p.layers, 16);
    fitted += p.calibration_point;
    // The prediction is the serving model's on a 1-chip deployment of the point's shape.
    Deployment d;
    d.weights = parse_dtype(p.variant);
    d.kv = Dtype::bf16;
    d.batch = p.batch;
    d.context = p.context;
    d.usable = 1.0;
    EXPECT_NEAR(estimate(find_model("llama3.2-1b"), chip, d).decode_tokens_per_s, p.predicted_tokens_per_s, 1e-9);
  }
  EXPECT_EQ(fitted, 2) << "one B = 1 point per weight dtype fits the layer overhead";
  // The fitted overhead makes the fitting points' mean step time agree.
  double measured = 0, predicted = 0;
  for (const auto& p : checks)
    if (p.calibration_point) {
      measured += 1 / p.measured_tokens_per_s;
      predicted += 1 / p.predicted_tokens_per_s;
    }
  EXPECT_NEAR(predicted / measured, 1.0, 1e-6);
  const auto back = prediction_checks_from_json(prediction_checks_to_json(checks));
  ASSERT_EQ(back.size(), checks.size());
  EXPECT_EQ(back[1].calibration_point, checks[1].calibration_point);
  EXPECT_EQ(back[1].predicted_tokens_per_s, checks[1].predicted_tokens_per_s);
}

TEST_F(LocalChip, MissingProbesAreNamed) {
  std::vector<store::FitRecord> no_fits;
  try {
    calibrate_device(1, fixture_cpu(view), view.measurements, no_fits, probe_roles());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run cpu.bandwidth"), std::string::npos) << e.what();
  }
  std::vector<Measurement> no_peaks;
  try {
    calibrate_device(1, fixture_cpu(view), no_peaks, view.fits, probe_roles());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run cpu.peak"), std::string::npos) << e.what();
  }
}

TEST(DecodeCurve, InterpolatesInLogBatchAndIsOneWithoutMeasurements) {
  ChipSpec c = find_chip("tpu-v5e");
  EXPECT_EQ(decode_curve_ratio(c, Dtype::bf16, 7), 1.0);
  c.efficiency.decode_curve[Dtype::int8] = {{1, 1.0}, {4, 2.0}, {16, 1.0}};
  EXPECT_DOUBLE_EQ(decode_curve_ratio(c, Dtype::int8, 2), 1.5);
  EXPECT_DOUBLE_EQ(decode_curve_ratio(c, Dtype::int8, 8), 1.5);
  EXPECT_DOUBLE_EQ(decode_curve_ratio(c, Dtype::int8, 64), 1.0);
  EXPECT_DOUBLE_EQ(decode_curve_ratio(c, Dtype::int4, 4), 2.0) << "int4 streams through the int8 path";
  // The step scales the weights' term only.
  const ModelSpec m = find_model("llama3-70b");
  const Deployment d = testing::deployment_of(8, Dtype::int8, Dtype::int8, 8192, 4);
  ChipSpec plain = find_chip("tpu-v5e");
  const StepTime a = decode_step(m, plain, d), b = decode_step(m, c, d);
  EXPECT_NEAR(b.total_s - a.total_s, std::max(a.t_param_s, a.t_flops_s), 1e-12);
}

TEST(CheapestConfiguration, PicksTheCheapestFittingChipCount) {
  const ModelSpec m = find_model("llama3-70b");
  const ChipSpec& c = find_chip("tpu-v5e");
  Deployment d;
  d.weights = Dtype::int8;
  d.kv = Dtype::int8;
  const auto best = cheapest_configuration(m, c, {d}, -1);
  ASSERT_TRUE(best);
  EXPECT_TRUE(best->fits);
  EXPECT_EQ(best->deployment.batch, best->max_batch);
  // No other legal count in range is cheaper.
  for (int n : c.topologies) {
    if (n < chips_needed(m, c, d, 1) || n > 4 * chips_needed(m, c, d, 1)) continue;
    Deployment other = d;
    other.chips = n;
    other.batch = max_batch(m, c, other);
    if (other.batch < 1) continue;
    EXPECT_LE(*best->usd_per_mtok, *estimate(m, c, other).usd_per_mtok + 1e-12) << n;
  }
  EXPECT_FALSE(cheapest_configuration(find_model("llama3-405b"), find_chip("rtx-4090"), {Deployment{}}, 100000));
}

}  // namespace
}  // namespace roofaudit::calibrate
