#pragma once
// One owner per Vulkan handle: destroyed with its device when the owner goes, so that a
// constructor that throws halfway (an allocation refused, a pipeline the driver rejects)
// leaves nothing behind. Members declared in creation order are destroyed in reverse.
#include <vulkan/vulkan.h>

#include <utility>

namespace roofaudit::vk {

// `Destroy` is the handle's vkDestroy* (or vkFree*) function.
template <typename Handle, auto Destroy>
class Owned {
 public:
  explicit Owned(VkDevice device) : device_(device) {}
  ~Owned() { reset(); }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;

  Handle get() const { return handle_; }
  const Handle* address() const { return &handle_; }
  // Where a vkCreate* call writes the new handle (any previous one is destroyed first).
  Handle* out() {
    reset();
    return &handle_;
  }
  void reset() {
    if (handle_ != VK_NULL_HANDLE) Destroy(device_, std::exchange(handle_, Handle(VK_NULL_HANDLE)), nullptr);
  }

 private:
  VkDevice device_;
  Handle handle_ = VK_NULL_HANDLE;
};

// A mapping of device memory (the whole allocation), unmapped by its owner.
class Mapping {
 public:
  explicit Mapping(VkDevice device) : device_(device) {}
  ~Mapping() {
    if (pointer_) vkUnmapMemory(device_, memory_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  VkResult map(VkDeviceMemory memory) {
    memory_ = memory;
    return vkMapMemory(device_, memory, 0, VK_WHOLE_SIZE, 0, &pointer_);
  }
  void* get() const { return pointer_; }

 private:
  VkDevice device_;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  void* pointer_ = nullptr;
};

}  // namespace roofaudit::vk
