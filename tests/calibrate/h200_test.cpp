// Calibration of a real GPU: the first roofaudit run on an NVIDIA H200 (tests/data/h200,
// `run --probes gpu.bandwidth,gpu.decode,gpu.gemm,gpu.peak`, every measurement valid),
// beside the PyTorch / cuBLAS references measured in the same sitting (torch-refs.json).
#include <gtest/gtest.h>

#include <filesystem>

#include "calibrate/run_calibration.hpp"
#include "calibrate/serving.hpp"
#include "run_fixture.hpp"
#include "store/store.hpp"
#include "test_util.hpp"

namespace roofaudit::calibrate {
namespace {

using testing::probe_roles;
using testing::read_all;
using testing::ScratchDir;

std::string h200_data(const std::string& name) { return std::string(ROOFAUDIT_TEST_DATA_DIR) + "/data/h200/" + name; }

// A copy in a scratch directory: opening a database may leave -shm beside it.
struct H200Run {
  ScratchDir dir;
  std::string path = dir.file("h200.db");
  store::RunView view;
  std::vector<DeviceInfo> devices;

  explicit H200Run(const std::string& name = "complete-gpu.db") {
    std::filesystem::copy_file(h200_data(name), path);
    store::Store db(path, {5000, true});
    view.run = *db.run(1);
    view.machine = db.machine(view.run.machine_id);
    view.measurements = db.measurements(1);
    view.fits = db.fits(1);
    for (const auto& [id, info] : db.run_devices(1)) devices.push_back(info);
  }

  DeviceCalibration gpu(const RoleMap& roles = probe_roles()) const {
    for (auto& c : calibrate_run(view, devices, roles))
      if (c.device.id.is_gpu()) return c;
    ADD_FAILURE() << "no GPU calibrated";
    return {};
  }

  double best(const std::string& probe, const std::string& variant, const std::string& metric, double batch) const {
    for (const auto& m : view.measurements)
      if (m.probe == probe && m.variant == variant && m.metric == metric && m.params.value("batch", 0.0) == batch)
        return m.summary->best;
    return 0;
  }
};

nlohmann::json torch_refs() { return nlohmann::json::parse(read_all(h200_data("torch-refs.json"))); }

TEST(H200, DeviceMemoryIsTheLargestWorkingSetsPlateauNotTheLaunchBoundMiddle) {
  const H200Run run;
  const auto c = run.gpu();
  ASSERT_TRUE(c.chip) << c.problem;
  EXPECT_TRUE(c.candidates.empty()) << "one backend: nothing competes";
  ASSERT_TRUE(c.device.facts);
  EXPECT_EQ(c.device.facts->chip, "h200");
  const auto& levels = c.chip->memory_levels;
  ASSERT_EQ(levels.size(), 2u);
  EXPECT_EQ(levels.back().level, "device memory");
  // 4.27 TB/s at 1 GiB; PyTorch read 4.26 in the same sitting.
  EXPECT_GE(c.chip->memory_bytes_per_s, 4.0e12);
  EXPECT_LE(c.chip->memory_bytes_per_s, 4.5e12);
  EXPECT_NEAR(c.chip->memory_bytes_per_s / torch_refs()["read_sum_Bps"].get<double>(), 1.0, 0.05);
  EXPECT_GE(levels.back().from_bytes, 4 * c.device.facts->l2_bytes);
  EXPECT_EQ(c.chip->provenance.at("bandwidth").kind, "measured");
  EXPECT_NE(c.chip->provenance.at("bandwidth").source.find("device memory"), std::string::npos);
  // The L2 read slower than device memory: the launches were too short, and it says so.
  EXPECT_EQ(levels.front().level, "L2");
  EXPECT_LT(levels.front().bytes_per_s, levels.back().bytes_per_s);
  EXPECT_EQ(c.chip->provenance.at("bandwidth.L2").kind, "kernel");
}

TEST(H200, DecodeEfficienciesAreMeasuredFromTheSweep) {
  const H200Run run;
  const auto c = run.gpu();
  ASSERT_TRUE(c.chip);
  const double memory = c.chip->memory_bytes_per_s;
  EXPECT_DOUBLE_EQ(c.chip->efficiency.bandwidth_by_dtype.at(Dtype::int8),
                   run.best("gpu.decode", "int8", "weight_bandwidth", 1) / memory);
  EXPECT_DOUBLE_EQ(c.chip->efficiency.bandwidth_by_dtype.at(Dtype::fp16),
                   run.best("gpu.decode", "fp16", "weight_bandwidth", 1) / memory);
  for (const char* d : {"int8", "fp16", "bf16"})
    EXPECT_EQ(c.chip->provenance.at(std::string("efficiency.bandwidth.") + d).kind, "measured") << d;
  EXPECT_EQ(c.chip->provenance.count("efficiency.bandwidth"), 0u) << "no 'assumed 1.0'";
}

// The decode kernel computes in fp32 FMA at ~10 TFLOP/s beside 565 TFLOP/s of matrix
// units; the GEMM runs at 0.056 of the fp16 peak. Both are the kernels' figures.
TEST(H200, KernelBoundKneesAndMfuAreFlaggedNotPassedOff) {
  const H200Run run;
  const auto c = run.gpu();
  ASSERT_TRUE(c.chip);
  ASSERT_EQ(c.knees.size(), 2u);
  for (const auto& k : c.knees) {
    EXPECT_NE(k.bound.find("kernel-bound"), std::string::npos) << k.variant;
    ASSERT_TRUE(k.roofline_knee);
    EXPECT_GT(*k.roofline_knee, 100) << "the machine's knee follows from the matrix units' peak";
    EXPECT_LT(k.fit.knee_batch, 8) << "the kernel's knee";
  }
  for (const char* d : {"fp16", "int8"}) {
    EXPECT_EQ(c.chip->provenance.at(std::string("knee.") + d).kind, "kernel") << d;
    EXPECT_EQ(c.chip->provenance.at(std::string("efficiency.matmul.") + d).kind, "assumed") << d;
    EXPECT_EQ(c.chip->efficiency.matmul_by_dtype.count(parse_dtype(d)), 0u) << d;
    EXPECT_EQ(c.chip->efficiency.decode_curve.count(parse_dtype(d)), 0u) << d;
  }
  EXPECT_EQ(c.chip->provenance.at("efficiency.prefill_mfu").kind, "assumed");
  EXPECT_NE(c.chip->provenance.at("efficiency.prefill_mfu").source.find("kernel-bound"), std::string::npos);
  EXPECT_EQ(c.chip->provenance.at("matmul.fp16").kind, "kernel");
  EXPECT_EQ(c.chip->provenance.at("matmul.fp32").kind, "measured");
  // The matrix units' peak is the device's ceiling, named by its candidate.
  EXPECT_NE(c.chip->provenance.at("flops.fp16").source.find("fp16_coopmat"), std::string::npos);
  EXPECT_NE(c.chip->provenance.at("flops.bf16").source.find("reports bf16 types"), std::string::npos);
}

TEST(H200, PriceAndPowerComeFromTheDeviceCatalogue) {
  const H200Run run;
  const auto c = run.gpu();
  ASSERT_TRUE(c.chip);
  EXPECT_EQ(c.chip->provenance.at("price").kind, "catalogue");
  EXPECT_EQ(c.chip->purchase_usd, c.device.facts->purchase_usd);
  EXPECT_GT(c.chip->purchase_usd, 20000);
  EXPECT_NE(c.chip->provenance.at("price").source.find("PCI id 10de:2335"), std::string::npos);
}

// llama3-70b int8 at B = 1 on one H200: 70.55 GB of weights at the measured B = 1 int8
// weight rate, plus the KV read at the weights' efficiency.
TEST(H200, SeventyBInt8StepFollowsTheMeasuredWeightRate) {
  const H200Run run;
  const auto c = run.gpu();
  ASSERT_TRUE(c.chip);
  Deployment d;
  d.weights = Dtype::int8;
  d.kv = Dtype::int8;
  d.batch = 1;
  const auto e = estimate(find_model("llama3-70b"), *c.chip, d);
  const double weight_rate = run.best("gpu.decode", "int8", "weight_bandwidth", 1);
  const double implied = e.param_bytes / weight_rate + e.kv_bytes_per_seq / (c.chip->memory_bytes_per_s *
                                                                            c.chip->efficiency.bandwidth);
  EXPECT_NEAR(e.step_time_s / implied, 1.0, 0.15);
  EXPECT_NEAR(e.step_time_s, 0.030, 0.0045);
}

TEST(H200, InterruptedRunsReadInterrupted) {
  for (const char* name : {"full-gpu-interrupted.db", "quick-gpu-interrupted.db"}) {
    ScratchDir dir;
    std::filesystem::copy_file(h200_data(name), dir.file("a.db"));
    store::Store db(dir.file("a.db"), {5000, true});
    ASSERT_EQ(db.runs().size(), 1u);
    EXPECT_EQ(db.runs().front().status, "interrupted") << name;
    EXPECT_EQ(db.run(1)->status, "interrupted") << name;
  }
}

// The host->device copies of 1-16 MiB read 186-384 GB/s, past PCIe 5 x16's 63 GB/s: they
// cannot have happened as counted, and the host link is taken from the rest (51.4 GB/s
// against PyTorch's pinned 55.4).
TEST(H200, HostLinkFiguresPastTheSignallingRateAreLeftOut) {
  const H200Run run("full-gpu-interrupted.db");
  const auto c = run.gpu();
  ASSERT_TRUE(c.chip) << c.problem;
  EXPECT_LE(c.chip->link_bytes_per_s, c.device.facts->host_link_bytes_per_s);
  EXPECT_NEAR(c.chip->link_bytes_per_s / torch_refs()["h2d_pinned_Bps"].get<double>(), 1.0, 0.1);
  EXPECT_NE(c.chip->provenance.at("link").source.find("left out as impossible"), std::string::npos);
}

// Two backends' views of one GPU (one UUID) calibrate into one chip; per role the better
// candidate is taken and named: a vendor library's GEMM beside Vulkan's.
TEST(H200, TwoBackendsOfOneGpuCalibrateIntoOneChipWithTheBestCandidate) {
  H200Run run;
  DeviceInfo* vulkan = nullptr;
  for (auto& d : run.devices)
    if (d.kind == "gpu") vulkan = &d;
  ASSERT_TRUE(vulkan);
  vulkan->properties["device_uuid"] = "0123456789abcdef0123456789abcdef";
  DeviceInfo cuda = *vulkan;
  cuda.kind = "cuda";
  run.devices.push_back(cuda);
  Measurement library;
  library.probe = "cuda.gemm";
  library.device = "cuda:0";
  library.variant = "fp16";
  library.metric = "gemm";
  library.valid = true;
  library.params = {{"library", "cuBLASLt"}};
  library.summary = Summary{752e12, 752e12, 752e12, 752e12, 752e12, 0, 0};
  run.view.measurements.push_back(library);
  RoleMap roles = probe_roles();
  roles["cuda.gemm"] = Role::gemm;

  int gpus = 0;
  for (const auto& c : calibrate_run(run.view, run.devices, roles)) {
    if (!c.device.id.is_gpu()) continue;
    ++gpus;
    ASSERT_TRUE(c.chip);
    EXPECT_EQ(c.chip->name, "local:gpu:0");
    EXPECT_EQ(c.device.views, (std::vector<std::string>{"gpu:0", "cuda:0"}));
    EXPECT_EQ(c.chip->matmul_ops_per_s.at(Dtype::fp16), 752e12);
    EXPECT_NE(c.chip->provenance.at("matmul.fp16").source.find("cuda.gemm fp16 (cuBLASLt)"), std::string::npos);
    EXPECT_EQ(c.chip->provenance.at("efficiency.prefill_mfu").kind, "measured");
    EXPECT_EQ(c.chip->memory_bytes_per_s, run.gpu().chip->memory_bytes_per_s);
    // Both backends' GEMMs stand side by side, the library's first.
    ASSERT_EQ(c.candidates.size(), 1u);
    EXPECT_EQ(c.candidates[0].role, Role::gemm);
    EXPECT_EQ(c.candidates[0].dtype, Dtype::fp16);
    ASSERT_EQ(c.candidates[0].by_probe.size(), 2u);
    EXPECT_EQ(c.candidates[0].by_probe[0].first, "cuda.gemm fp16 (cuBLASLt)");
    EXPECT_NEAR(c.candidates[0].by_probe[1].second / c.candidates[0].by_probe[0].second, 31.5 / 752, 0.001);
  }
  EXPECT_EQ(gpus, 1);
}

}  // namespace
}  // namespace roofaudit::calibrate
