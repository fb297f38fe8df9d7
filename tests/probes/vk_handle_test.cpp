// The Vulkan handle owners: whatever a constructor created before it threw is destroyed,
// once, in reverse order of creation.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "probes/vulkan/vk_handle.hpp"

namespace roofaudit::vk {
namespace {

struct FakeObject;
using FakeHandle = FakeObject*;

std::vector<FakeHandle> destroyed;
void destroy_fake(VkDevice, FakeHandle h, const VkAllocationCallbacks*) { destroyed.push_back(h); }

FakeHandle handle(std::uintptr_t n) { return reinterpret_cast<FakeHandle>(n); }

// Shaped like vk::ComputePipeline: members created one after another in the constructor.
struct TwoStep {
  Owned<FakeHandle, destroy_fake> first{VK_NULL_HANDLE}, second{VK_NULL_HANDLE}, third{VK_NULL_HANDLE};
  explicit TwoStep(bool fail_second) {
    *first.out() = handle(1);
    if (fail_second) throw std::runtime_error("vkCreateSecond failed");
    *second.out() = handle(2);
    *third.out() = handle(3);
  }
};

TEST(VulkanHandles, AThrowHalfwayThroughAConstructorLeaksNothing) {
  destroyed.clear();
  EXPECT_THROW(TwoStep(true), std::runtime_error);
  EXPECT_EQ(destroyed, std::vector<FakeHandle>{handle(1)});  // the one created; the others never were
  destroyed.clear();
  { TwoStep whole(false); }
  EXPECT_EQ(destroyed, (std::vector<FakeHandle>{handle(3), handle(2), handle(1)}));  // reverse order
}

TEST(VulkanHandles, RecreatingReleasesThePreviousHandle) {
  destroyed.clear();
  {
    Owned<FakeHandle, destroy_fake> h(VK_NULL_HANDLE);
    *h.out() = handle(7);
    *h.out() = handle(8);
    EXPECT_EQ(destroyed, std::vector<FakeHandle>{handle(7)});
    EXPECT_EQ(h.get(), handle(8));
    h.reset();
    h.reset();  // a second reset destroys nothing
  }
  EXPECT_EQ(destroyed, (std::vector<FakeHandle>{handle(7), handle(8)}));
}

}  // namespace
}  // namespace roofaudit::vk
