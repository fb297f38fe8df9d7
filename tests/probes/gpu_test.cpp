#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <set>

#include <fmt/format.h>

#include "kernels/vulkan/shaders.hpp"
#include "probes/vulkan/gemm_candidates.hpp"
#include "values/error.hpp"
#include "test_util.hpp"
#include "probes/vulkan/vulkan.hpp"
#include "probes/probe.hpp"
#include "probes/topology.hpp"

namespace roofaudit {
namespace {

vk::DeviceDescription fake(int index, const std::string& name, const std::string& type) {
  vk::DeviceDescription d;
  d.index = index;
  d.name = name;
  d.type = type;
  return d;
}

TEST(VulkanSelection, PrefersDiscreteThenIntegratedAndTheCpuLast) {
  const std::vector<vk::DeviceDescription> devices = {fake(0, "llvmpipe (LLVM 15)", "cpu"),
                                                      fake(1, "AMD Radeon 780M", "integrated"),
                                                      fake(2, "NVIDIA H100 80GB HBM3", "discrete")};
  EXPECT_EQ(vk::select_device(devices, ""), 2);
  EXPECT_EQ(vk::select_device({devices[0], devices[1]}, ""), 1);
  EXPECT_EQ(vk::select_device({devices[0]}, ""), 0);  // the CPU implementation when it is all there is
  EXPECT_EQ(vk::select_device(devices, "0"), 0);      // or when asked for, by index
  EXPECT_EQ(vk::select_device(devices, "h100"), 2);   // or by name, case-insensitively
  try {
    vk::select_device(devices, "mi300");
    FAIL() << "a selector that matches nothing is bad input";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2: NVIDIA H100 80GB HBM3 (discrete)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(vk::select_device(devices, "7"), Error);
}

// These run on whatever Vulkan driver the machine has: lavapipe in CI. Without one, the
// instance reports VK_ERROR_INCOMPATIBLE_DRIVER, which the probes turn into "skipped".
std::unique_ptr<vk::Instance> instance_or_reason(std::string& reason) {
  try {
    return std::make_unique<vk::Instance>(true);
  } catch (const vk::VulkanError& e) {
    reason = e.what();
    EXPECT_EQ(e.result(), VK_ERROR_INCOMPATIBLE_DRIVER);
    return nullptr;
  }
}

// The H200's memory types as its driver lists them (tests/data/h200/vulkaninfo.txt's
// source): 0 none, 1 device-local, 2 host coherent, 3 host coherent cached, 4 device-local
// host-visible (the BAR window).
VkPhysicalDeviceMemoryProperties h200_memory() {
  VkPhysicalDeviceMemoryProperties m{};
  const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                              coherent = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, cached = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
  const VkMemoryPropertyFlags types[] = {0, local, visible | coherent, visible | coherent | cached, local | visible | coherent};
  m.memoryTypeCount = 5;
  for (std::uint32_t i = 0; i < 5; ++i) m.memoryTypes[i].propertyFlags = types[i];
  return m;
}

TEST(VulkanMemory, StagingIsHostMemoryAndDeviceBuffersAreNotTheBarWindow) {
  const auto m = h200_memory();
  const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  EXPECT_EQ(vk::choose_memory_type(m, 0x1f, coherent, VK_MEMORY_PROPERTY_HOST_CACHED_BIT, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT), 3u);
  EXPECT_EQ(vk::choose_memory_type(m, 0x1f, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT), 1u);
  EXPECT_EQ(vk::choose_memory_type(m, 0x1f, coherent | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT), 4u);
  // A buffer that only the BAR window may hold gets it: avoided is a preference, not a rule.
  EXPECT_EQ(vk::choose_memory_type(m, 0x10, coherent, VK_MEMORY_PROPERTY_HOST_CACHED_BIT, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT), 4u);
  // An integrated GPU (or Mesa's CPU implementation): every type is device-local.
  VkPhysicalDeviceMemoryProperties unified{};
  unified.memoryTypeCount = 1;
  unified.memoryTypes[0].propertyFlags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | coherent | VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
  EXPECT_EQ(vk::choose_memory_type(unified, 0x1, coherent, VK_MEMORY_PROPERTY_HOST_CACHED_BIT, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT), 0u);
  EXPECT_THROW(vk::choose_memory_type(m, 0x3, coherent), Error);
}

TEST(Vulkan, DescribesEveryDeviceWithItsLimits) {
  std::string reason;
  auto instance = instance_or_reason(reason);
  if (!instance) GTEST_SKIP() << "no Vulkan driver: " << reason;
  const auto devices = instance->describe_devices();
  ASSERT_FALSE(devices.empty());
  for (const auto& d : devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_FALSE(d.heaps.empty());
    EXPECT_GT(d.max_storage_buffer_range, 0u);
    EXPECT_GT(d.subgroup_size, 0u);
    const auto j = d.to_json();
    EXPECT_EQ(j["name"], d.name);
    EXPECT_TRUE(j.contains("cooperative_matrix_nv"));
  }
}

// The hook that fails measurements on validation errors does see them: a buffer of size
// zero is invalid usage.
TEST(Vulkan, ValidationLayerErrorsAreCounted) {
  std::string reason;
  auto instance = instance_or_reason(reason);
  if (!instance) GTEST_SKIP() << "no Vulkan driver: " << reason;
  ASSERT_TRUE(instance->validation_enabled()) << "the Khronos validation layer is installed with the test dependencies";
  const vk::Device device(*instance, vk::select_device(instance->describe_devices(), ""));
  EXPECT_EQ(instance->validation_errors(), 0);
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, nullptr, 0, 0, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                          VK_SHARING_MODE_EXCLUSIVE, 0, nullptr};
  VkBuffer buffer = VK_NULL_HANDLE;
  if (vkCreateBuffer(device.get(), &info, nullptr, &buffer) == VK_SUCCESS && buffer) vkDestroyBuffer(device.get(), buffer, nullptr);
  EXPECT_GE(instance->validation_errors(), 1);
}

// The device the GPU tests measure: the first one, named, so that Mesa's CPU
// implementation (which a default run skips) is measured where it is all there is.
std::string test_device() {
  try {
    const vk::Instance instance(false);
    const auto devices = instance.describe_devices();
    return devices.empty() ? "" : "0";
  } catch (const vk::VulkanError&) {
    return "";
  }
}

std::vector<Measurement> run_gpu_probe(const std::string& name, bool validation, bool by_default = false) {
  static Topology topology;
  RunSettings settings;
  if (!by_default) settings.vulkan.device = test_device();
  settings.quick = true;
  settings.max_working_set_bytes = 1 << 20;
  settings.repetitions = 2;
  settings.sample_seconds = 0.002;
  settings.vulkan.validation = validation;
  std::atomic<bool> stop{false};
  std::vector<Measurement> out;
  std::vector<DeviceInfo> devices;
  auto probe = std::move(ProbeRegistry::instance().select({name}).front());
  probe->check(settings, topology);
  ProbeContext ctx{settings, topology, [&](Measurement m) { out.push_back(std::move(m)); }, [](const std::string&) {},
                   stop, [&](const DeviceInfo& d) { devices.push_back(d); }};
  probe->run(ctx);
  for (const auto& m : out)
    if (m.supported) {
      EXPECT_EQ(devices.size(), 1u) << "the device is described before its measurements";
      EXPECT_EQ(m.device, "gpu:" + std::to_string(devices.front().ordinal));
    }
  return out;
}

// Under the validation layer with synchronization validation: every variant at every
// size validates, and no layer error occurred (an error fails the measurement).
TEST(GpuBandwidthProbe, EveryVariantValidatesUnderTheValidationLayer) {
  const auto ms = run_gpu_probe("gpu.bandwidth", true);
  std::map<std::string, int> per_variant;
  for (const auto& m : ms) {
    if (!m.supported) {  // no Vulkan on this machine: skipped, with the reason
      EXPECT_EQ(m.validation.rfind("skipped: ", 0), 0u) << m.validation;
      continue;
    }
    ASSERT_TRUE(m.valid) << m.variant << " " << m.params.dump() << ": " << m.validation;
    EXPECT_GT(m.summary->best, 0);
    EXPECT_EQ(m.samples.size(), 2u);
    EXPECT_LE(m.params["working_set_bytes"].get<double>(), double(1 << 20));
    ++per_variant[m.variant];
  }
  if (per_variant.empty()) GTEST_SKIP() << "no Vulkan device: every variant was skipped, with the reason";
  for (const char* v : {"read", "write", "copy", "triad"}) EXPECT_GE(per_variant[v], 4) << v;
}

// A default run leaves Mesa's CPU implementation of Vulkan out, saying how to measure it.
TEST(GpuBandwidthProbe, ADefaultRunSkipsTheCpuImplementationOfVulkan) {
  std::string reason;
  auto instance = instance_or_reason(reason);
  if (!instance) GTEST_SKIP() << "no Vulkan driver: " << reason;
  const auto devices = instance->describe_devices();
  if (devices.empty() || devices[std::size_t(vk::select_device(devices, ""))].type != "cpu")
    GTEST_SKIP() << "this machine has a Vulkan device that is not a CPU implementation";
  const auto ms = run_gpu_probe("gpu.bandwidth", false, true);
  ASSERT_FALSE(ms.empty());
  for (const auto& m : ms) {
    EXPECT_FALSE(m.supported);
    EXPECT_NE(m.validation.find("a CPU implementation of Vulkan"), std::string::npos) << m.validation;
    EXPECT_NE(m.validation.find("--device "), std::string::npos) << m.validation;
  }
}

TEST(GpuBandwidthProbe, NoDriverIsSkippedNotAnError) {
  std::vector<Measurement> ms;
  {
    const roofaudit::testing::ScopedEnv no_driver("VK_ICD_FILENAMES", "/nonexistent/icd.json");
    ms = run_gpu_probe("gpu.bandwidth", false);
  }
  ASSERT_EQ(ms.size(), 4u);
  for (const auto& m : ms) {
    EXPECT_FALSE(m.supported);
    EXPECT_FALSE(m.valid);
    EXPECT_FALSE(m.summary);
    EXPECT_NE(m.validation.find("VK_ERROR_INCOMPATIBLE_DRIVER"), std::string::npos) << m.validation;
  }
}

TEST(GpuBandwidthProbe, AnUnknownDeviceIsRefusedBeforeRunning) {
  std::string reason;
  if (!instance_or_reason(reason)) GTEST_SKIP() << "no Vulkan driver: " << reason;
  static Topology topology;
  RunSettings settings;
  settings.vulkan.device = "no-such-gpu";
  auto probe = std::move(ProbeRegistry::instance().select({"gpu.bandwidth"}).front());
  EXPECT_THROW(probe->check(settings, topology), Error);
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

// The probe at small sizes under the validation layer.
std::vector<Measurement> run_gpu_probe_small(const std::string& name) { return run_gpu_probe(name, true); }

TEST(GpuTransferProbe, EveryDirectionValidatesUnderTheValidationLayer) {
  const auto ms = run_gpu_probe_small("gpu.transfer");
  std::map<std::string, int> per_variant;
  for (const auto& m : ms) {
    if (!m.supported) {
      EXPECT_EQ(m.validation.rfind("skipped: ", 0), 0u) << m.validation;
      continue;
    }
    ASSERT_TRUE(m.valid) << m.variant << " " << m.params.dump() << ": " << m.validation;
    EXPECT_GT(m.summary->best, 0);
    ++per_variant[m.variant];
  }
  if (per_variant.empty()) GTEST_SKIP() << "no Vulkan device: every variant was skipped, with the reason";
  for (const char* v : {"h2d_copy", "d2h_copy", "bidirectional_copy", "h2d_mapped", "d2h_mapped"})
    EXPECT_GE(per_variant[v], 2) << v;
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

// fp32, fp16 and the int8 dot product (SPIR-V assembly) each run and check every
// invocation's result, or say which feature the device lacks.
TEST(GpuPeakProbe, EveryPrecisionValidatesOrIsUnsupported) {
  const auto ms = run_gpu_probe_small("gpu.peak");
  // fp32, fp16, int8, and fp16 and int8 on the matrix units; fp16's race of 8 and 16
  // chains stores one, so a wide shader that computed wrongly would show as a sixth.
  ASSERT_EQ(ms.size(), 5u);
  for (const auto& m : ms) {
    if (!m.supported) {
      EXPECT_TRUE(m.validation.rfind("skipped: ", 0) == 0 || m.validation.rfind("unsupported: ", 0) == 0)
          << m.validation;
      continue;
    }
    ASSERT_TRUE(m.valid) << m.variant << ": " << m.validation;
    EXPECT_GT(m.summary->best, 0);
    EXPECT_GE(m.params["iterations"].get<int>(), 16);
    if (m.variant == "fp16") {
      const int chains = m.params["chains"].get<int>();
      EXPECT_TRUE(chains == 8 || chains == 16) << chains;
    }
  }
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

TEST(GpuGemmProbe, Fp32AndFp16ValidateAgainstTheIntegerReference) {
  const auto ms = run_gpu_probe_small("gpu.gemm");
  ASSERT_FALSE(ms.empty());
  int measured = 0;
  std::set<std::string> tiles;
  for (const auto& m : ms) {
    if (!m.supported) {
      // The matrix-unit path says which feature the device lacks (lavapipe has none).
      if (m.variant == "fp16_coopmat" && m.validation.rfind("skipped", 0) != 0) {
        EXPECT_NE(m.validation.find("cooperative"), std::string::npos) << m.validation;
      }
      continue;
    }
    ASSERT_TRUE(m.valid) << m.variant << " n=" << m.params["n"] << ": " << m.validation;
    EXPECT_EQ(m.params["n"].get<int>() % 64, 0);
    ++measured;
    tiles.insert(m.params["tile"].get<std::string>());
  }
  if (measured) {
    EXPECT_EQ(tiles, (std::set<std::string>{"64x64", "128x128"})) << "both specialised tile shapes validate";
  }
  if (measured) {
    EXPECT_GE(measured, 2);
  }
  // The race: every candidate at the largest size, then only the fastest at the others.
  std::map<std::string, int> race_n;
  for (const auto& m : ms)
    if (m.valid) race_n[m.variant] = std::max(race_n[m.variant], m.params["n"].get<int>());
  for (const auto& [variant, n] : race_n) {
    std::string winner;
    double best = 0;
    std::set<std::string> raced, swept;
    for (const auto& m : ms) {
      if (m.variant != variant || !m.valid) continue;
      if (m.params["n"].get<int>() == n) {
        raced.insert(m.params["tile"].get<std::string>());
        if (m.summary->best > best) best = m.summary->best, winner = m.params["tile"].get<std::string>();
      } else {
        swept.insert(m.params["tile"].get<std::string>());
      }
    }
    EXPECT_EQ(raced.size(), 2u) << variant << ": both candidates race at n=" << n;
    if (!swept.empty()) {
      EXPECT_EQ(swept, std::set<std::string>{winner}) << variant << ": only the race's winner sweeps the other sizes";
    }
  }
}

vk::DeviceDescription h200_like() {
  vk::DeviceDescription d;  // the limits the H200's driver reports (tests/data/h200)
  d.subgroup_size = 32;
  d.max_workgroup_invocations = 1024;
  d.max_shared_memory_bytes = 49152;
  return d;
}

TEST(GemmCandidates, SharedMemoryTilesOffTheMatrixUnits) {
  const auto c = gpu::gemm_candidates("gemm_fp16", "", h200_like());
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].shader, "gemm_fp16");
  EXPECT_EQ(c[0].bm, 64u);
  EXPECT_EQ(c[1].bm, 128u);
  for (const auto& x : c) EXPECT_EQ(gpu::candidate_unfit(x, h200_like()), "");
}

TEST(GemmCandidates, MatrixUnitsRaceTheDirectFormAndEveryBlockTiledShape) {
  const auto c = gpu::gemm_candidates("", "gemm_coopmat_nv", h200_like());
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0].shader, "gemm_coopmat_nv");
  EXPECT_EQ(c[0].bm, 32u);
  if (!kernels::vulkan::has_shader("gemm_coopmat_nv_tiled")) GTEST_SKIP() << "this build lacks the block-tiled shader";
  ASSERT_EQ(c.size(), 6u);
  std::set<std::string> blocks;
  for (std::size_t i = 1; i < c.size(); ++i) {
    const auto& x = c[i];
    EXPECT_EQ(x.shader, "gemm_coopmat_nv_tiled");
    ASSERT_EQ(x.spec.size(), 5u);
    // Workgroup = subgroups x subgroup size; block = subgroups x tiles x 16 on each side.
    EXPECT_EQ(x.spec[0], x.spec[1] * x.spec[2] * 32);
    EXPECT_EQ(x.local, x.spec[0]);
    EXPECT_EQ(x.bm, x.spec[1] * x.spec[3] * 16);
    EXPECT_EQ(x.bn, x.spec[2] * x.spec[4] * 16);
    EXPECT_EQ(4096 % x.bm, 0u);
    EXPECT_EQ(4096 % x.bn, 0u);
    EXPECT_EQ(x.shared_bytes, (x.bm * 40 + 32 * (x.bn + 8)) * 2);
    EXPECT_EQ(gpu::candidate_unfit(x, h200_like()), "") << x.kernel;
    blocks.insert(fmt::format("{}x{} subgroups, {}x{} tiles", x.spec[1], x.spec[2], x.spec[3], x.spec[4]));
  }
  EXPECT_EQ(blocks.size(), 5u) << "every shape differs";
}

TEST(GemmCandidates, Int8OnTheMatrixUnitsIsBlockTiledOnly) {
  const auto c = gpu::gemm_candidates("", "gemm_coopmat_int8_nv", h200_like(), 1);
  if (!kernels::vulkan::has_shader("gemm_coopmat_int8_nv_tiled")) GTEST_SKIP() << "this build lacks the int8 shader";
  ASSERT_EQ(c.size(), 5u) << "no direct int8 shader: the block-tiled shapes only";
  for (const auto& x : c) {
    EXPECT_EQ(x.shader, "gemm_coopmat_int8_nv_tiled");
    // k chunks of 64 int8 elements, rows padded by 16 bytes.
    EXPECT_EQ(x.shared_bytes, x.bm * 80 + 64 * (x.bn + 16));
    EXPECT_NE(x.kernel.find("int8"), std::string::npos) << x.kernel;
    EXPECT_EQ(gpu::candidate_unfit(x, h200_like()), "") << x.kernel;
  }
}

TEST(GemmCandidates, ADeviceTooSmallForACandidateSaysWhich) {
  vk::DeviceDescription small = h200_like();
  small.subgroup_size = 64;
  small.max_workgroup_invocations = 256;
  small.max_shared_memory_bytes = 16384;
  const auto c = gpu::gemm_candidates("", "gemm_coopmat_nv", small);
  EXPECT_EQ(gpu::candidate_unfit(c[0], small), "");
  if (c.size() < 2) GTEST_SKIP() << "this build lacks the block-tiled shader";
  int workgroup = 0, shared = 0;
  for (const auto& x : c) {
    const std::string why = gpu::candidate_unfit(x, small);
    if (why.find("invocations") != std::string::npos) ++workgroup;
    if (why.find("shared memory") != std::string::npos) ++shared;
    if (x.local > 256 || x.shared_bytes > 16384) {
      EXPECT_EQ(why.rfind("unsupported: ", 0), 0u) << x.kernel;
    } else {
      EXPECT_EQ(why, "") << x.kernel;
    }
  }
  EXPECT_GT(workgroup, 0);  // 8 subgroups of 64 = 512 invocations
  EXPECT_GT(shared, 0);     // 128 x 256 blocks need 27 KiB
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

TEST(GpuDecodeProbe, SweepsEveryBatchAndValidates) {
  const auto ms = run_gpu_probe_small("gpu.decode");
  std::map<std::string, std::set<int>> batches;
  for (const auto& m : ms) {
    if (!m.supported) continue;
    ASSERT_TRUE(m.valid) << m.variant << " B=" << m.params["batch"] << ": " << m.validation;
    batches[m.variant].insert(m.params["batch"].get<int>());
  }
  if (batches.empty()) GTEST_SKIP() << "no Vulkan device: every figure was skipped, with the reason";
  EXPECT_EQ(batches["int8"].size(), 10u);
  EXPECT_EQ(batches["fp16"].size(), 10u);
  // Each batch is a race: one winner stored per figure, its three figures naming the
  // same kernel and the peak that bounds it.
  std::map<std::string, int> per_point;
  std::map<std::string, std::set<std::string>> kernels_of_step;
  for (const auto& m : ms) {
    if (!m.supported) continue;
    const std::string step = fmt::format("{}/{}", m.variant, m.params["batch"].get<int>());
    ++per_point[step + "/" + m.metric];
    kernels_of_step[step].insert(m.params["kernel"].get<std::string>());
    const std::string peak = m.params["peak_variant"].get<std::string>();
    if (m.params["kernel"].get<std::string>().rfind("cooperative matrix", 0) == 0) {
      EXPECT_EQ(peak, "fp16_coopmat");
      EXPECT_GE(m.params["batch"].get<int>(), 16);
    } else {
      EXPECT_EQ(peak, "fp32") << m.params["kernel"];
    }
  }
  for (const auto& [point, count] : per_point) EXPECT_EQ(count, 1) << point;
  for (const auto& [step, names] : kernels_of_step) EXPECT_EQ(names.size(), 1u) << step;
}

}  // namespace
}  // namespace roofaudit

#include <cstddef>

#include "kernels/vulkan/shaders.hpp"
#include "probes/vulkan/khr_cooperative_matrix.hpp"
#include "probes/vulkan/session.hpp"

namespace roofaudit {
namespace {

// The registry's layouts of the VK_KHR_cooperative_matrix structures, which roofaudit
// defines itself (Debian 12's headers predate them), on LP64.
TEST(KhrCooperativeMatrix, StructuresHaveTheRegistryLayout) {
  using namespace vk::khr;
  EXPECT_EQ(offsetof(CooperativeMatrixProperties, sType), 0u);
  EXPECT_EQ(offsetof(CooperativeMatrixProperties, pNext), 8u);
  EXPECT_EQ(offsetof(CooperativeMatrixProperties, MSize), 16u);
  EXPECT_EQ(offsetof(CooperativeMatrixProperties, NSize), 20u);
  EXPECT_EQ(offsetof(CooperativeMatrixProperties, KSize), 24u);
  EXPECT_EQ(offsetof(CooperativeMatrixProperties, AType), 28u);
  EXPECT_EQ(offsetof(CooperativeMatrixProperties, BType), 32u);
  EXPECT_EQ(offsetof(CooperativeMatrixProperties, CType), 36u);
  EXPECT_EQ(offsetof(CooperativeMatrixProperties, ResultType), 40u);
  EXPECT_EQ(offsetof(CooperativeMatrixProperties, saturatingAccumulation), 44u);
  EXPECT_EQ(offsetof(CooperativeMatrixProperties, scope), 48u);
  EXPECT_EQ(sizeof(CooperativeMatrixProperties), 56u);
  EXPECT_EQ(offsetof(CooperativeMatrixFeatures, cooperativeMatrix), 16u);
  EXPECT_EQ(offsetof(CooperativeMatrixFeatures, cooperativeMatrixRobustBufferAccess), 20u);
  EXPECT_EQ(sizeof(CooperativeMatrixFeatures), 24u);
  EXPECT_EQ(offsetof(CooperativeMatrixDeviceProperties, cooperativeMatrixSupportedStages), 16u);
  EXPECT_EQ(int(kCooperativeMatrixFeaturesType), 1000506000);
  EXPECT_EQ(int(kCooperativeMatrixPropertiesType), 1000506001);
  EXPECT_EQ(int(kCooperativeMatrixDevicePropertiesType), 1000506002);
  EXPECT_EQ(int(subgroup), 3);
  EXPECT_EQ(int(f16), int(VK_COMPONENT_TYPE_FLOAT16_NV));
  EXPECT_EQ(int(f32), int(VK_COMPONENT_TYPE_FLOAT32_NV));
}

TEST(MatrixUnitPath, NvFirstThenKhrWhenBuiltAndEveryGateChecked) {
  vk::DeviceDescription d;
  d.storage_16bit = d.vulkan_memory_model = true;
  d.cooperative_matrix_nv = d.cooperative_matrix_compute = true;
  d.cooperative_matrix_shapes = {"16x8x16 f16*f16+f32", gpu::kMatrixUnitShape};
  d.cooperative_matrix_khr = d.cooperative_matrix_khr_compute = true;
  d.cooperative_matrix_khr_shapes = {gpu::kMatrixUnitShape};
  EXPECT_EQ(gpu::matrix_unit_path(d, "gemm_coopmat_nv", "gemm_coopmat_khr").shader, "gemm_coopmat_nv");

  d.cooperative_matrix_shapes = {"16x8x16 f16*f16+f32"};  // NV without the shape: the KHR path, if built
  const auto khr = gpu::matrix_unit_path(d, "gemm_coopmat_nv", "gemm_coopmat_khr");
  if (kernels::vulkan::has_shader("gemm_coopmat_khr")) {
    EXPECT_EQ(khr.shader, "gemm_coopmat_khr");
    EXPECT_EQ(khr.extension, "VK_KHR_cooperative_matrix");
  } else {
    EXPECT_TRUE(khr.shader.empty());
    EXPECT_NE(khr.unsupported.find("glslc"), std::string::npos) << khr.unsupported;
  }

  d.cooperative_matrix_khr_compute = false;  // not in compute shaders
  EXPECT_TRUE(gpu::matrix_unit_path(d, "gemm_coopmat_nv", "gemm_coopmat_khr").shader.empty());
  d.cooperative_matrix_shapes = {gpu::kMatrixUnitShape};
  d.vulkan_memory_model = false;  // the shaders declare the Vulkan memory model
  EXPECT_NE(gpu::matrix_unit_path(d, "gemm_coopmat_nv", "gemm_coopmat_khr").unsupported.find("memory model"),
            std::string::npos);
}

}  // namespace
}  // namespace roofaudit
