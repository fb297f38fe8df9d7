#pragma once
// A small RAII layer over the Vulkan C API, for compute only: instance (with the
// validation layer on request), device description and selection, logical device with
// one compute queue, buffers with their memory, compute pipelines from embedded SPIR-V,
// descriptor sets, and a command buffer with a fence and a timestamp query pool.
// Every feature a probe uses is gated on extension + feature bit + property, never on a
// function pointer being non-null (the loader hands out trampolines regardless).
#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "probes/pcie.hpp"
#include "probes/vulkan/vk_handle.hpp"
#include "values/error.hpp"

namespace roofaudit::vk {

// A failed Vulkan call, with its result code.
class VulkanError : public Error {
 public:
  VulkanError(const std::string& what, VkResult result);
  VkResult result() const { return result_; }

 private:
  VkResult result_;
};

std::string result_name(VkResult r);
void check(VkResult r, const char* call);

struct MemoryHeap {
  std::uint64_t bytes = 0;
  bool device_local = false;
};

// What `roofaudit devices` lists and what the GPU probes gate their variants on.
struct DeviceDescription {
  int index = 0;
  std::string name;
  std::string type;  // "discrete", "integrated", "virtual", "cpu", "other"
  std::string driver;
  std::string api_version;
  std::uint32_t api_version_number = 0;  // VK_MAKE_API_VERSION form
  std::uint32_t vendor_id = 0, device_id = 0;
  std::string device_uuid;                 // the physical device's, 8-4-4-4-12 hex (as nvidia-smi and CUDA print it)
  std::string pci_bus_id;                  // "0000:1b:00.0" where VK_EXT_pci_bus_info says it
  std::optional<PcieLink> pcie;            // its link's limit, as the PCI driver states it
  std::vector<MemoryHeap> heaps;
  std::uint32_t subgroup_size = 0;
  std::uint32_t max_workgroup_size = 0;         // x dimension
  std::uint32_t max_workgroup_invocations = 0;
  std::uint32_t max_shared_memory_bytes = 0;     // per workgroup
  std::uint64_t max_storage_buffer_range = 0;
  std::uint64_t max_allocation_bytes = 0;
  bool shader_float16 = false;
  bool shader_int8 = false;
  bool storage_8bit = false;
  bool storage_16bit = false;
  bool vulkan_memory_model = false;        // needed by the cooperative-matrix shaders
  bool vulkan_memory_model_device_scope = false;
  bool integer_dot_product = false;        // VK_KHR_shader_integer_dot_product + feature
  bool integer_dot_4x8_accelerated = false;
  bool cooperative_matrix_nv = false;      // VK_NV_cooperative_matrix + feature
  std::vector<std::string> cooperative_matrix_shapes;  // "MxNxK a*b+c" per supported shape
  bool cooperative_matrix_compute = false;             // supported in compute shaders
  bool cooperative_matrix_khr = false;     // VK_KHR_cooperative_matrix + feature
  std::vector<std::string> cooperative_matrix_khr_shapes;  // subgroup-scope shapes, as above
  bool cooperative_matrix_khr_compute = false;
  bool shader_bfloat16 = false;            // VK_KHR_shader_bfloat16 present
  std::vector<std::string> matrix_extensions;  // newer matrix / low-precision extensions present
  bool timestamps = false;                 // compute queue timestampValidBits > 0
  std::uint32_t timestamp_valid_bits = 0;
  double timestamp_period_ns = 0;
  std::uint32_t compute_queue_family = 0;

  std::uint64_t device_local_bytes() const;
  nlohmann::json to_json() const;
};

// What the driver says of one physical device (properties, features, matrix shapes,
// memory heaps, the compute queue family).
DeviceDescription describe_device(VkInstance instance, VkPhysicalDevice pd, int index);

class Instance {
 public:
  // Throws VulkanError: VK_ERROR_INCOMPATIBLE_DRIVER when no Vulkan driver is installed.
  // With `validation`, the Khronos validation layer is enabled when present, and every
  // message of warning or error severity is kept.
  explicit Instance(bool validation = false);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  VkInstance get() const { return instance_; }
  bool validation_enabled() const { return messenger_ != VK_NULL_HANDLE; }
  std::vector<VkPhysicalDevice> physical_devices() const;
  std::vector<DeviceDescription> describe_devices() const;
  // Validation-layer messages of error severity so far (warnings are kept, not counted).
  int validation_errors() const { return errors_; }
  const std::vector<std::string>& validation_messages() const { return messages_; }

 private:
  static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                   VkDebugUtilsMessageTypeFlagsEXT, const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                   void* self);
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  int errors_ = 0;
  std::vector<std::string> messages_;
};

// The device a selector names: an index, or a case-insensitive substring of the name.
// Empty: the first discrete GPU, else integrated, else virtual, else any other, and the
// CPU implementation (llvmpipe / lavapipe) only when it is all there is. Throws Error
// naming the devices when nothing matches.
int select_device(const std::vector<DeviceDescription>& devices, const std::string& selector);

// The memory type for an allocation: one allowed by `type_bits` with every `required`
// flag; among those, first one with none of `avoided` (host staging that is not the
// device-local BAR window, say), then one with every `preferred` flag, then the lowest
// index. Throws Error when no type has the required flags.
std::uint32_t choose_memory_type(const VkPhysicalDeviceMemoryProperties& memory, std::uint32_t type_bits,
                                 VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred = 0,
                                 VkMemoryPropertyFlags avoided = 0);

class Device {
 public:
  Device(const Instance& instance, int index);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  VkDevice get() const { return device_; }
  VkQueue queue() const { return queue_; }
  const DeviceDescription& description() const { return description_; }
  // A memory type index allowed by type_bits (see choose_memory_type).
  std::uint32_t memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags required,
                            VkMemoryPropertyFlags preferred = 0, VkMemoryPropertyFlags avoided = 0) const;
  // Whether any memory type has all of `flags`.
  bool has_memory(VkMemoryPropertyFlags flags) const;

 private:
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  DeviceDescription description_;
  VkPhysicalDeviceMemoryProperties memory_{};
};

// A storage buffer with its own memory: device-local (for the kernels) or host-visible
// and coherent (staging; mapped for its lifetime).
class Buffer {
 public:
  // device_mapped: device-local and host-visible (resizable BAR or unified memory); check
  // Device::has_memory first.
  enum class Memory { device_local, host_visible, device_mapped };
  Buffer(const Device& device, std::uint64_t bytes, Memory memory);
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  VkBuffer get() const { return buffer_.get(); }
  std::uint64_t bytes() const { return bytes_; }
  void* mapped() const { return mapping_.get(); }  // null for device-local memory

 private:
  const Device& device_;
  std::uint64_t bytes_ = 0;
  Owned<VkDeviceMemory, vkFreeMemory> memory_;
  Owned<VkBuffer, vkDestroyBuffer> buffer_;
  Mapping mapping_;
};

// A compute pipeline over `bindings` storage buffers (bindings 0..n-1), with push
// constants of `push_bytes` and the workgroup size as specialization constant 0. It owns
// a descriptor pool for up to `max_sets` sets.
class ComputePipeline {
 public:
  ComputePipeline(const Device& device, std::span<const std::uint32_t> spirv, std::uint32_t bindings,
                  std::uint32_t push_bytes, std::uint32_t local_size, std::uint32_t max_sets = 8);
  // With specialization constants 0, 1, ... set to `specialization` (workgroup sizes and
  // tile shapes; constant 0 is the workgroup's x size).
  ComputePipeline(const Device& device, std::span<const std::uint32_t> spirv, std::uint32_t bindings,
                  std::uint32_t push_bytes, std::vector<std::uint32_t> specialization, std::uint32_t max_sets);
  ComputePipeline(const ComputePipeline&) = delete;
  ComputePipeline& operator=(const ComputePipeline&) = delete;

  // A descriptor set with buffers[i] at binding i (whole buffers).
  VkDescriptorSet bind(const std::vector<const Buffer*>& buffers);
  // Records bind + push constants + dispatch of `groups` workgroups.
  void dispatch(VkCommandBuffer cmd, VkDescriptorSet set, const void* push, std::uint32_t groups) const;
  void dispatch2d(VkCommandBuffer cmd, VkDescriptorSet set, const void* push, std::uint32_t groups_x,
                  std::uint32_t groups_y) const;
  std::uint32_t local_size() const { return local_size_; }

 private:
  const Device& device_;
  std::uint32_t bindings_, push_bytes_, local_size_;
  std::vector<std::uint32_t> specialization_;
  Owned<VkShaderModule, vkDestroyShaderModule> module_;
  Owned<VkDescriptorSetLayout, vkDestroyDescriptorSetLayout> set_layout_;
  Owned<VkPipelineLayout, vkDestroyPipelineLayout> layout_;
  Owned<VkPipeline, vkDestroyPipeline> pipeline_;
  Owned<VkDescriptorPool, vkDestroyDescriptorPool> pool_;
};

// One primary command buffer, re-recorded per batch, with a fence and a timestamp pool.
class Commands {
 public:
  Commands(const Device& device, std::uint32_t timestamp_slots);
  Commands(const Commands&) = delete;
  Commands& operator=(const Commands&) = delete;

  VkCommandBuffer begin();  // resets the buffer and the query pool
  void timestamp(std::uint32_t slot);  // after all previous commands complete
  void submit_and_wait();   // ends, submits and waits
  // Seconds between two timestamp slots of the last submission (valid bits and the
  // device's period applied). Throws Error when the device has no timestamps.
  double seconds_between(std::uint32_t from, std::uint32_t to) const;

 private:
  const Device& device_;
  Owned<VkCommandPool, vkDestroyCommandPool> pool_;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;  // freed with its pool
  Owned<VkFence, vkDestroyFence> fence_;
  Owned<VkQueryPool, vkDestroyQueryPool> queries_;
  std::uint32_t slots_ = 0;
};

// Barriers between compute dispatches, and between compute and transfer commands.
void compute_barrier(VkCommandBuffer cmd);
void transfer_barrier(VkCommandBuffer cmd);
void copy_buffer(VkCommandBuffer cmd, const Buffer& from, const Buffer& to, std::uint64_t from_offset,
                 std::uint64_t to_offset, std::uint64_t bytes);

}  // namespace roofaudit::vk
