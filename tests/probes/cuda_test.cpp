// The CUDA backend's parts that run on every machine: the PCIe limit read from sysfs, the
// device view and its selection, --device across backends, and the cuda.* probes stored as
// skipped (with the reason) where there is no GPU. What needs a GPU skips, saying so.
#include <gtest/gtest.h>

#include <filesystem>

#include "calibrate/device_facts.hpp"
#include "cli/device_selection.hpp"
#include "probes/cuda/backend.hpp"
#include "run_probe.hpp"
#include "test_util.hpp"
#include "values/device_id.hpp"
#include "values/error.hpp"

namespace roofaudit {
namespace {

constexpr const char* kH200Uuid = "8d6f1e2a-33b0-5c41-9e7d-0a1b2c3d4e5f";
constexpr const char* kL4Uuid = "0f0e0d0c-0b0a-0908-0706-050403020100";
constexpr const char* kLavapipeUuid = "6d657361-3233-2e32-2e31-000000000000";

cuda::DeviceView cuda_view(int ordinal, const std::string& name, const std::string& uuid) {
  cuda::DeviceView d;
  d.ordinal = ordinal;
  d.name = name;
  d.uuid = uuid;
  d.compute_major = 9;
  d.memory_bytes = 150'000'000'000ull;
  d.l2_bytes = 50 << 20;
  return d;
}

vk::DeviceDescription vulkan_view(int index, const std::string& name, const std::string& type, const std::string& uuid) {
  vk::DeviceDescription d;
  d.index = index;
  d.name = name;
  d.type = type;
  d.device_uuid = uuid;
  return d;
}

TEST(PcieLink, LimitFollowsGenerationEncodingAndWidth) {
  const auto gen5 = parse_pcie_link("32.0 GT/s PCIe", "16");
  ASSERT_TRUE(gen5);
  EXPECT_NEAR(gen5->bytes_per_s(), 63.02e9, 0.01e9);  // 128b/130b
  EXPECT_EQ(gen5->text(), "PCIe 32 GT/s x16 (63.0 GB/s)");
  const auto gen1 = parse_pcie_link("2.5 GT/s PCIe", "1\n");
  ASSERT_TRUE(gen1);
  EXPECT_DOUBLE_EQ(gen1->bytes_per_s(), 0.25e9);  // 8b/10b
  EXPECT_DOUBLE_EQ(parse_pcie_link("5.0 GT/s PCIe", "16")->bytes_per_s(), 8e9);
  // Generation 3 is twice generation 2's rate per lane in practice, though not twice the GT/s.
  EXPECT_NEAR(parse_pcie_link("8.0 GT/s PCIe", "8")->bytes_per_s() / parse_pcie_link("5.0 GT/s PCIe", "8")->bytes_per_s(),
              1.97, 0.01);
  for (const auto& [speed, width] : std::vector<std::pair<std::string, std::string>>{
           {"Unknown", "16"}, {"", "16"}, {"32.0 GT/s PCIe", "0"}, {"32.0 GT/s PCIe", "x16"},
           {"32.0 GT/s PCIe", "99"}, {"-8 GT/s", "4"}, {"32.0 Gb/s", "16"}, {"32.0 GT/s PCIe", ""}})
    EXPECT_FALSE(parse_pcie_link(speed, width)) << speed << " / " << width;
}

TEST(PcieLink, AFigureAboveTheLinkIsImpossible) {
  const PcieLink gen5{32, 16};  // 63.0 GB/s each way
  EXPECT_EQ(exceeds_link(gen5, 1e9, {0.02, 0.017}), "");  // 50 and 59 GB/s
  const std::string over = exceeds_link(gen5, 1e9, {0.02, 0.0026});  // 384 GB/s: a cache, not the link
  EXPECT_EQ(over.rfind("impossible: 384.6 GB/s exceeds the PCIe 32 GT/s x16 (63.0 GB/s) signalling limit", 0), 0u) << over;
  EXPECT_EQ(exceeds_link(gen5, 1e9, {0.01}, 2), "") << "100 GB/s both ways at once fits two directions";
  EXPECT_NE(exceeds_link(gen5, 1e9, {0.01}, 1), "");
}

TEST(PcieLink, ReadFromTheDriversSysfsFiles) {
  testing::ScratchDir dir;
  const std::string devices = dir.file("devices");
  std::filesystem::create_directories(devices + "/0000:1b:00.0");
  testing::write_all(devices + "/0000:1b:00.0/max_link_speed", "32.0 GT/s PCIe\n");
  testing::write_all(devices + "/0000:1b:00.0/max_link_width", "16\n");
  testing::write_all(devices + "/0000:1b:00.0/device", "0x2335\n");
  // CUDA prints the bus id in upper case; sysfs names it in lower case.
  const auto link = read_pcie_link("0000:1B:00.0", devices);
  ASSERT_TRUE(link);
  EXPECT_EQ(link->lanes, 16);
  EXPECT_EQ(read_pci_device_id("0000:1B:00.0", devices), 0x2335);
  EXPECT_FALSE(read_pcie_link("0000:2c:00.0", devices)) << "no such device: no limit, not a zero one";
  EXPECT_EQ(read_pci_device_id("0000:2c:00.0", devices), -1);
  testing::write_all(devices + "/0000:1b:00.0/device", "garbage");
  EXPECT_EQ(read_pci_device_id("0000:1b:00.0", devices), -1);
}

TEST(CudaDevice, UuidIsWrittenAsVulkanWritesIt) {
  const unsigned char bytes[16] = {0x8d, 0x6f, 0x1e, 0x2a, 0x33, 0xb0, 0x5c, 0x41,
                                   0x9e, 0x7d, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f};
  EXPECT_EQ(cuda::uuid_text(bytes), kH200Uuid);
}

TEST(CudaDevice, SelectsByOrdinalUuidOrName) {
  const std::vector<cuda::DeviceView> devices{cuda_view(0, "NVIDIA H200", kH200Uuid), cuda_view(1, "NVIDIA L4", kL4Uuid)};
  EXPECT_EQ(cuda::select_device(devices, ""), 0);
  EXPECT_EQ(cuda::select_device(devices, "1"), 1);
  EXPECT_EQ(cuda::select_device(devices, "CUDA:1"), 1);
  EXPECT_EQ(cuda::select_device(devices, std::string("GPU-") + kL4Uuid), 1);  // as nvidia-smi -L prints it
  EXPECT_EQ(cuda::select_device(devices, "l4"), 1);
  for (const char* bad : {"cuda:x", "cuda:", "7", "mi300"}) {
    try {
      cuda::select_device(devices, bad);
      ADD_FAILURE() << bad << " matches nothing: bad input";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cuda:1 NVIDIA L4"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(cuda::select_device({}, ""), Error);
}

TEST(CudaDevice, StoredViewIsTheSamePhysicalDeviceAsVulkans) {
  cuda::DeviceView d = cuda_view(0, "NVIDIA H200", kH200Uuid);
  d.pci_device_id = 0x2335;
  d.pcie = PcieLink{32, 16};
  const DeviceInfo info = d.device_info();
  EXPECT_EQ(info.kind, "cuda");
  const DeviceId id = DeviceId::of(info);
  EXPECT_EQ(id.key(), "cuda:0");
  EXPECT_EQ(id.physical(), kH200Uuid);
  const DeviceId vulkan = DeviceId::of({"gpu", 0, "NVIDIA H200", {{"device_uuid", kH200Uuid}}});
  EXPECT_EQ(vulkan.physical(), id.physical());
  // The device catalogue knows the board by its PCI id; the L2 and link CUDA states win.
  const auto facts = calibrate::facts_for(info);
  ASSERT_TRUE(facts);
  EXPECT_EQ(facts->l2_bytes, double(50 << 20));
  EXPECT_NEAR(facts->host_link_bytes_per_s, 63.02e9, 0.01e9);
  EXPECT_NE(facts->host_link_source.find("32 GT/s x16"), std::string::npos) << facts->host_link_source;
}

cli::BackendViews two_backends() {
  cli::BackendViews v;
  v.vulkan = {vulkan_view(0, "llvmpipe (LLVM 15)", "cpu", kLavapipeUuid),
              vulkan_view(1, "NVIDIA L4", "discrete", kL4Uuid), vulkan_view(2, "NVIDIA H200", "discrete", kH200Uuid)};
  v.cuda.devices = {cuda_view(0, "NVIDIA H200", kH200Uuid), cuda_view(1, "NVIDIA L4", kL4Uuid)};
  return v;
}

TEST(DeviceSelection, EveryBackendMeasuresTheGpuOneSelectorNames) {
  const auto views = two_backends();
  auto expect = [&](const std::string& selector, const std::string& vulkan, const std::string& cuda) {
    const auto c = cli::resolve_device(selector, views);
    EXPECT_EQ(c.vulkan_device, vulkan) << selector;
    EXPECT_EQ(c.cuda_device, cuda) << selector;
    EXPECT_EQ(c.vulkan_not_here, "") << selector;
    EXPECT_EQ(c.cuda_not_here, "") << selector;
  };
  expect("2", "2", "cuda:0");        // a Vulkan index: CUDA follows by UUID
  expect("gpu:1", "1", "cuda:1");
  expect("cuda:0", "2", "cuda:0");   // a CUDA ordinal: Vulkan follows (its indices differ)
  expect(std::string("GPU-") + kL4Uuid, "1", "cuda:1");
  expect("H200", "2", "cuda:0");
}

TEST(DeviceSelection, ABackendThatCannotSeeTheGpuSaysWhy) {
  auto views = two_backends();
  const auto cpu = cli::resolve_device("llvmpipe", views);
  EXPECT_EQ(cpu.vulkan_device, "0");
  EXPECT_EQ(cpu.cuda_device, "");
  EXPECT_NE(cpu.cuda_not_here.find("which CUDA does not see"), std::string::npos) << cpu.cuda_not_here;

  views.vulkan.clear();
  views.vulkan_skipped = "no Vulkan driver on this machine";
  const auto h200 = cli::resolve_device("h200", views);
  EXPECT_EQ(h200.cuda_device, "cuda:0");
  EXPECT_EQ(h200.vulkan_not_here, "no Vulkan driver on this machine");

  views = two_backends();
  views.cuda = {{}, "this build has no CUDA backend"};
  const auto l4 = cli::resolve_device("1", views);
  EXPECT_EQ(l4.vulkan_device, "1");
  EXPECT_EQ(l4.cuda_not_here, "this build has no CUDA backend");
}

TEST(DeviceSelection, NoMatchInAnyBackendIsBadInputNamingBoth) {
  const auto views = two_backends();
  for (const char* bad : {"mi300", "cuda:5", "gpu:9"}) {
    try {
      cli::resolve_device(bad, views);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos);
      EXPECT_NE(what.find("matches no GPU"), std::string::npos) << what;
      EXPECT_NE(what.find("CUDA"), std::string::npos) << what;
    }
  }
}

TEST(CudaProbes, WithoutAGpuEveryFigureIsStoredAsSkippedWithTheReason) {
  const auto listing = cuda::list_devices();
  if (!listing.devices.empty()) GTEST_SKIP() << "a CUDA device is present: the probes measure it (checked on a GPU)";
  if (!cuda::built()) {
    EXPECT_NE(listing.skipped.find("no CUDA backend"), std::string::npos) << listing.skipped;
    EXPECT_THROW(ProbeRegistry::instance().select({"cuda.gemm"}), Error);
    return;
  }
  EXPECT_FALSE(listing.skipped.empty());
  for (const char* name : {"cuda.bandwidth", "cuda.gemm", "cuda.peak", "cuda.decode", "cuda.transfer", "cuda.links"}) {
    const auto ms = run_small(name);
    ASSERT_FALSE(ms.empty()) << name;
    for (const auto& m : ms) {
      EXPECT_FALSE(m.supported) << name;
      EXPECT_FALSE(m.valid) << name;
      EXPECT_EQ(m.validation.rfind("skipped: ", 0), 0u) << m.validation;
      EXPECT_EQ(m.device, "cuda") << name;
    }
  }
}

TEST(CudaProbes, TheUnknownProbeErrorSaysWhenTheBuildHasNoCuda) {
  if (cuda::built()) GTEST_SKIP() << "this build has the CUDA backend";
  try {
    ProbeRegistry::instance().select({"cuda."});
    FAIL() << "no cuda.* probe in a build without CUDA";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA backend"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace roofaudit
