// The typed device identity: the keys measurements carry, parsed back, and the physical
// device two backends share.
#include <gtest/gtest.h>

#include "calibrate/run_calibration.hpp"
#include "values/device_id.hpp"
#include "values/error.hpp"

namespace roofaudit {
namespace {

TEST(DeviceId, KeysAreTheStoredOnesAndParseBack) {
  EXPECT_EQ(DeviceId{}.key(), "cpu");
  EXPECT_EQ((DeviceId{Backend::vulkan, 2, {}}.key()), "gpu:2");
  EXPECT_EQ((DeviceId{Backend::cuda, 0, {}}.key()), "cuda:0");
  for (const char* key : {"cpu", "gpu:0", "gpu:17", "cuda:3"}) {
    const auto id = DeviceId::parse(key);
    ASSERT_TRUE(id) << key;
    EXPECT_EQ(id->key(), key);
  }
  for (const char* bad : {"", "gpu", "gpu:", "gpu:x", "gpu:-1", "gpu:123456", "tpu:0", "cuda:1a", " cpu"})
    EXPECT_FALSE(DeviceId::parse(bad)) << bad;
}

TEST(DeviceId, AStoredRowGivesItsBackendAndPhysicalUuid) {
  DeviceInfo vulkan{"gpu", 1, "NVIDIA H200", {{"device_uuid", "ce03be04-67de-b441-5406-91ea69709e1e"}}};
  const auto v = DeviceId::of(vulkan);
  EXPECT_EQ(v.backend, Backend::vulkan);
  EXPECT_EQ(v.key(), "gpu:1");
  EXPECT_EQ(v.physical(), "ce03be04-67de-b441-5406-91ea69709e1e");
  DeviceInfo cuda = vulkan;
  cuda.kind = "cuda";
  cuda.ordinal = 0;
  EXPECT_EQ(DeviceId::of(cuda).physical(), v.physical()) << "one GPU, two views";
  EXPECT_EQ(DeviceId::of(DeviceInfo{"gpu", 0, "llvmpipe", {}}).physical(), "gpu:0") << "no UUID: the key";
  EXPECT_FALSE(DeviceId::of(DeviceInfo{"cpu", 0, "x", {}}).is_gpu());
}

TEST(DeviceId, LocalChipNamesAreRefusedUnlessTheyNameADevice) {
  EXPECT_EQ(calibrate::local_device_of("local"), "cpu");
  EXPECT_EQ(calibrate::local_device_of("local:gpu:3"), "gpu:3");
  EXPECT_EQ(calibrate::local_device_of("local:cuda:0"), "cuda:0");
  EXPECT_THROW(calibrate::local_device_of("local:gpu"), Error);
  EXPECT_THROW(calibrate::local_device_of("local:tpu:0"), Error);
  EXPECT_THROW(calibrate::local_device_of("h100"), Error);
}

}  // namespace
}  // namespace roofaudit
