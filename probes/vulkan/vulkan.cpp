#include "probes/vulkan/vulkan.hpp"

#include "probes/vulkan/khr_cooperative_matrix.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <fmt/format.h>

namespace roofaudit::vk {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

}  // namespace

VulkanError::VulkanError(const std::string& what, VkResult result) : Error(what), result_(result) {}

std::string result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    default: return fmt::format("VkResult {}", int(r));
  }
}

void check(VkResult r, const char* call) {
  if (r != VK_SUCCESS) throw VulkanError(fmt::format("{} failed: {}", call, result_name(r)), r);
}

Instance::Instance(bool validation) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "roofaudit";
  app.apiVersion = VK_API_VERSION_1_2;
  std::vector<const char*> layers, extensions;
  if (validation) {
    std::uint32_t n = 0;
    vkEnumerateInstanceLayerProperties(&n, nullptr);
    std::vector<VkLayerProperties> available(n);
    vkEnumerateInstanceLayerProperties(&n, available.data());
    const bool present = std::any_of(available.begin(), available.end(), [](const VkLayerProperties& l) {
      return std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0;
    });
    if (present) {
      layers.push_back("VK_LAYER_KHRONOS_validation");
      extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    }
  }
  // Synchronization validation too: a missing barrier between repeated dispatches would
  // let them overlap and inflate every figure.
  const VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = enables;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  if (!layers.empty()) info.pNext = &features;
  info.pApplicationInfo = &app;
  info.enabledLayerCount = std::uint32_t(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = std::uint32_t(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  check(vkCreateInstance(&info, nullptr, &instance_), "vkCreateInstance");
  if (!layers.empty()) {
    VkDebugUtilsMessengerCreateInfoEXT m{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    m.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    m.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    m.pfnUserCallback = &Instance::on_message;
    m.pUserData = this;
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkCreateDebugUtilsMessengerEXT"));
    if (create) create(instance_, &m, nullptr, &messenger_);
  }
}

Instance::~Instance() {
  if (messenger_) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance_, messenger_, nullptr);
  }
  if (instance_) vkDestroyInstance(instance_, nullptr);
}

VKAPI_ATTR VkBool32 VKAPI_CALL Instance::on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                    VkDebugUtilsMessageTypeFlagsEXT,
                                                    const VkDebugUtilsMessengerCallbackDataEXT* data, void* self) {
  auto* instance = static_cast<Instance*>(self);
  const bool error = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  if (error) ++instance->errors_;
  instance->messages_.push_back(fmt::format("{}: {}", error ? "error" : "warning", data && data->pMessage ? data->pMessage : ""));
  return VK_FALSE;
}

std::vector<VkPhysicalDevice> Instance::physical_devices() const {
  std::uint32_t n = 0;
  check(vkEnumeratePhysicalDevices(instance_, &n, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> out(n);
  if (n) check(vkEnumeratePhysicalDevices(instance_, &n, out.data()), "vkEnumeratePhysicalDevices");
  out.resize(n);
  return out;
}

std::vector<DeviceDescription> Instance::describe_devices() const {
  std::vector<DeviceDescription> out;
  const auto devices = physical_devices();
  for (std::size_t i = 0; i < devices.size(); ++i) out.push_back(describe_device(instance_, devices[i], int(i)));
  return out;
}

int select_device(const std::vector<DeviceDescription>& devices, const std::string& selector) {
  if (devices.empty()) throw Error("no Vulkan device");
  std::vector<std::string> names;
  for (const auto& d : devices) names.push_back(fmt::format("{}: {} ({})", d.index, d.name, d.type));
  if (!selector.empty()) {
    // "gpu:N" and "vulkan:N" name the index as the store's device keys do; a UUID (with or
    // without nvidia-smi's "GPU-") names the physical device, as in CUDA.
    std::string s = lower(selector);
    for (const char* prefix : {"gpu:", "vulkan:"})
      if (s.rfind(prefix, 0) == 0 && s.size() > std::string(prefix).size()) s = s.substr(std::string(prefix).size());
    const std::string uuid = s.rfind("gpu-", 0) == 0 ? s.substr(4) : s;
    if (s.size() <= 6 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
      const int index = std::stoi(s);
      if (index >= 0 && index < int(devices.size())) return index;
    } else {
      for (const auto& d : devices)
        if (!d.device_uuid.empty() && lower(d.device_uuid) == uuid) return d.index;
      for (const auto& d : devices)
        if (lower(d.name).find(s) != std::string::npos) return d.index;
    }
    throw Error(fmt::format("no Vulkan device matches '{}'; devices: {}", selector, fmt::join(names, "; ")));
  }
  for (const char* type : {"discrete", "integrated", "virtual", "other", "cpu"})
    for (const auto& d : devices)
      if (d.type == type) return d.index;
  return 0;
}

Device::Device(const Instance& instance, int index) {
  const auto devices = instance.physical_devices();
  if (index < 0 || index >= int(devices.size())) throw Error(fmt::format("no Vulkan device {}", index));
  physical_ = devices[std::size_t(index)];
  description_ = describe_device(instance.get(), physical_, index);
  vkGetPhysicalDeviceMemoryProperties(physical_, &memory_);
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue.queueFamilyIndex = description_.compute_queue_family;
  queue.queueCount = 1;
  queue.pQueuePriorities = &priority;
  // Every feature the probes gate on is enabled when the device has it; a shader that
  // needs one is only created when the description says so.
  const auto& d = description_;
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  std::vector<const char*> extensions;
  void* chain = nullptr;
  if (d.api_version_number >= VK_API_VERSION_1_2) {
    f11.storageBuffer16BitAccess = d.storage_16bit;
    f12.shaderFloat16 = d.shader_float16;
    f12.shaderInt8 = d.shader_int8;
    f12.storageBuffer8BitAccess = d.storage_8bit;
    // Only with matrix units (their shaders declare the Vulkan memory model); the other
    // shaders' device-scope atomics then need the device-scope part too.
    if (d.cooperative_matrix_nv || d.cooperative_matrix_khr) {
      f12.vulkanMemoryModel = d.vulkan_memory_model;
      f12.vulkanMemoryModelDeviceScope = d.vulkan_memory_model && d.vulkan_memory_model_device_scope;
    }
    f11.pNext = &f12;
    chain = &f11;
  }
  if (d.integer_dot_product) {
    extensions.push_back("VK_KHR_shader_integer_dot_product");
    dot.shaderIntegerDotProduct = VK_TRUE;
    dot.pNext = chain;
    chain = &dot;
  }
  if (d.cooperative_matrix_nv) {
    extensions.push_back("VK_NV_cooperative_matrix");
    coop.cooperativeMatrix = VK_TRUE;
    coop.pNext = chain;
    chain = &coop;
  }
  khr::CooperativeMatrixFeatures coop_khr;
  if (d.cooperative_matrix_khr) {
    extensions.push_back(khr::kCooperativeMatrixExtension);
    coop_khr.cooperativeMatrix = VK_TRUE;
    coop_khr.pNext = chain;
    chain = &coop_khr;
  }
  VkDeviceCreateInfo info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  info.pNext = chain;
  info.queueCreateInfoCount = 1;
  info.pQueueCreateInfos = &queue;
  info.enabledExtensionCount = std::uint32_t(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  check(vkCreateDevice(physical_, &info, nullptr, &device_), "vkCreateDevice");
  vkGetDeviceQueue(device_, description_.compute_queue_family, 0, &queue_);
}

Device::~Device() {
  if (device_) {
    vkDeviceWaitIdle(device_);
    vkDestroyDevice(device_, nullptr);
  }
}

std::uint32_t choose_memory_type(const VkPhysicalDeviceMemoryProperties& memory, std::uint32_t type_bits,
                                 VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred,
                                 VkMemoryPropertyFlags avoided) {
  int best = -1, best_rank = 0;
  for (std::uint32_t i = 0; i < memory.memoryTypeCount && i < 32; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const auto flags = memory.memoryTypes[i].propertyFlags;
    if ((flags & required) != required) continue;
    const int rank = ((flags & avoided) == 0 ? 2 : 0) + ((flags & preferred) == preferred ? 1 : 0);
    if (best < 0 || rank > best_rank) {
      best = int(i);
      best_rank = rank;
    }
  }
  if (best < 0) throw Error("no Vulkan memory type with the required properties");
  return std::uint32_t(best);
}

std::uint32_t Device::memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags required,
                                  VkMemoryPropertyFlags preferred, VkMemoryPropertyFlags avoided) const {
  return choose_memory_type(memory_, type_bits, required, preferred, avoided);
}

bool Device::has_memory(VkMemoryPropertyFlags flags) const {
  for (std::uint32_t i = 0; i < memory_.memoryTypeCount; ++i)
    if ((memory_.memoryTypes[i].propertyFlags & flags) == flags) return true;
  return false;
}

}  // namespace roofaudit::vk
