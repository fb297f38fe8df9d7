#include "probes/gpu/vulkan.hpp"

#include "probes/gpu/khr_cooperative_matrix.hpp"

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

std::string version_string(std::uint32_t v) {
  return fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

std::vector<std::string> device_extensions(VkPhysicalDevice pd) {
  std::uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> props(n);
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, props.data());
  std::vector<std::string> out;
  for (const auto& p : props) out.emplace_back(p.extensionName);
  return out;
}

bool has(const std::vector<std::string>& list, const char* name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

const char* type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

const char* component_name(int t) {  // VkComponentTypeNV and VkComponentTypeKHR agree here
  switch (VkComponentTypeNV(t)) {
    case VK_COMPONENT_TYPE_FLOAT16_NV: return "f16";
    case VK_COMPONENT_TYPE_FLOAT32_NV: return "f32";
    case VK_COMPONENT_TYPE_FLOAT64_NV: return "f64";
    case VK_COMPONENT_TYPE_SINT8_NV: return "s8";
    case VK_COMPONENT_TYPE_UINT8_NV: return "u8";
    case VK_COMPONENT_TYPE_SINT32_NV: return "s32";
    case VK_COMPONENT_TYPE_UINT32_NV: return "u32";
    default: return "?";
  }
}

DeviceDescription describe(VkInstance instance, VkPhysicalDevice pd, int index) {
  DeviceDescription d;
  d.index = index;
  const auto extensions = device_extensions(pd);
  VkPhysicalDeviceProperties base{};
  vkGetPhysicalDeviceProperties(pd, &base);
  d.name = base.deviceName;
  d.type = type_name(base.deviceType);
  d.api_version = version_string(base.apiVersion);
  d.api_version_number = base.apiVersion;
  d.vendor_id = base.vendorID;
  d.device_id = base.deviceID;
  d.max_workgroup_size = base.limits.maxComputeWorkGroupSize[0];
  d.max_storage_buffer_range = base.limits.maxStorageBufferRange;
  d.timestamp_period_ns = base.limits.timestampPeriod;
  const bool v12 = base.apiVersion >= VK_API_VERSION_1_2;
  // The instance asks for Vulkan 1.2, so 1.3 core features come through their extensions.
  const bool dot_ext = has(extensions, "VK_KHR_shader_integer_dot_product");
  const bool coop_nv = has(extensions, "VK_NV_cooperative_matrix");
  const bool coop_khr = has(extensions, khr::kCooperativeMatrixExtension);

  // Properties: subgroup (1.1), maintenance3 (max allocation), driver (1.2), dot product.
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maint3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceShaderIntegerDotProductProperties dot_props{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
  VkPhysicalDeviceCooperativeMatrixPropertiesNV coop_props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_NV};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &subgroup;
  subgroup.pNext = &maint3;
  void** tail = &maint3.pNext;
  if (v12) {
    *tail = &driver;
    tail = &driver.pNext;
  }
  if (dot_ext) {
    *tail = &dot_props;
    tail = &dot_props.pNext;
  }
  if (coop_nv) {
    *tail = &coop_props;
    tail = &coop_props.pNext;
  }
  khr::CooperativeMatrixDeviceProperties coop_khr_props;
  if (coop_khr) {
    *tail = &coop_khr_props;
    tail = &coop_khr_props.pNext;
  }
  vkGetPhysicalDeviceProperties2(pd, &props);
  d.subgroup_size = subgroup.subgroupSize;
  d.max_allocation_bytes = maint3.maxMemoryAllocationSize;
  d.driver = v12 ? fmt::format("{} {}", driver.driverName, driver.driverInfo) : version_string(base.driverVersion);

  // Features.
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  tail = &features.pNext;
  if (v12) {
    *tail = &f11;
    f11.pNext = &f12;
    tail = &f12.pNext;
  } else {
    *tail = &s16;
    tail = &s16.pNext;
  }
  if (dot_ext) {
    *tail = &dot;
    tail = &dot.pNext;
  }
  if (coop_nv) {
    *tail = &coop;
    tail = &coop.pNext;
  }
  khr::CooperativeMatrixFeatures coop_khr_features;
  if (coop_khr) {
    *tail = &coop_khr_features;
    tail = &coop_khr_features.pNext;
  }
  vkGetPhysicalDeviceFeatures2(pd, &features);
  if (v12) {
    d.shader_float16 = f12.shaderFloat16;
    d.shader_int8 = f12.shaderInt8;
    d.storage_8bit = f12.storageBuffer8BitAccess;
    d.storage_16bit = f11.storageBuffer16BitAccess;
    d.vulkan_memory_model = f12.vulkanMemoryModel;
    d.vulkan_memory_model_device_scope = f12.vulkanMemoryModelDeviceScope;
  } else {
    d.storage_16bit = s16.storageBuffer16BitAccess;
  }
  d.integer_dot_product = dot_ext && dot.shaderIntegerDotProduct;
  d.integer_dot_4x8_accelerated = d.integer_dot_product && dot_props.integerDotProduct4x8BitPackedSignedAccelerated;
  d.cooperative_matrix_nv = coop_nv && coop.cooperativeMatrix;
  d.cooperative_matrix_compute = d.cooperative_matrix_nv && (coop_props.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT);
  if (d.cooperative_matrix_nv) {
    auto get = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
        vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
    std::uint32_t n = 0;
    if (get && get(pd, &n, nullptr) == VK_SUCCESS && n > 0) {
      std::vector<VkCooperativeMatrixPropertiesNV> shapes(n, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
      if (get(pd, &n, shapes.data()) == VK_SUCCESS)
        for (const auto& s : shapes)
          d.cooperative_matrix_shapes.push_back(fmt::format("{}x{}x{} {}*{}+{}", s.MSize, s.NSize, s.KSize,
                                                            component_name(s.AType), component_name(s.BType),
                                                            component_name(s.CType)));
    }
  }
  d.cooperative_matrix_khr = coop_khr && coop_khr_features.cooperativeMatrix;
  d.cooperative_matrix_khr_compute =
      d.cooperative_matrix_khr && (coop_khr_props.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT);
  if (d.cooperative_matrix_khr) {  // the entry point is only looked up once the extension is known present
    auto get = reinterpret_cast<khr::GetCooperativeMatrixProperties>(
        vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR"));
    std::uint32_t n = 0;
    if (get && get(pd, &n, nullptr) == VK_SUCCESS && n > 0) {
      std::vector<khr::CooperativeMatrixProperties> shapes(n);
      if (get(pd, &n, shapes.data()) == VK_SUCCESS)
        for (const auto& sh : shapes)
          if (sh.scope == khr::subgroup)
            d.cooperative_matrix_khr_shapes.push_back(fmt::format("{}x{}x{} {}*{}+{}", sh.MSize, sh.NSize, sh.KSize,
                                                                  component_name(sh.AType), component_name(sh.BType),
                                                                  component_name(sh.CType)));
    }
  }

  VkPhysicalDeviceMemoryProperties memory{};
  vkGetPhysicalDeviceMemoryProperties(pd, &memory);
  for (std::uint32_t h = 0; h < memory.memoryHeapCount; ++h)
    d.heaps.push_back({memory.memoryHeaps[h].size, (memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});

  std::uint32_t families = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &families, nullptr);
  std::vector<VkQueueFamilyProperties> family(families);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &families, family.data());
  // Prefer a compute queue family without graphics (async compute), else any with compute.
  int chosen = -1;
  for (std::uint32_t i = 0; i < families; ++i)
    if ((family[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(family[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) {
      chosen = int(i);
      break;
    }
  for (std::uint32_t i = 0; chosen < 0 && i < families; ++i)
    if (family[i].queueFlags & VK_QUEUE_COMPUTE_BIT) chosen = int(i);
  if (chosen >= 0) {
    d.compute_queue_family = std::uint32_t(chosen);
    d.timestamp_valid_bits = family[std::size_t(chosen)].timestampValidBits;
    d.timestamps = d.timestamp_valid_bits > 0 && d.timestamp_period_ns > 0;
  }
  return d;
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

std::uint64_t DeviceDescription::device_local_bytes() const {
  std::uint64_t best = 0;
  for (const auto& h : heaps)
    if (h.device_local) best = std::max(best, h.bytes);
  return best;
}

nlohmann::json DeviceDescription::to_json() const {
  nlohmann::json heaps_json = nlohmann::json::array();
  for (const auto& h : heaps) heaps_json.push_back({{"bytes", h.bytes}, {"device_local", h.device_local}});
  return {{"index", index},
          {"name", name},
          {"type", type},
          {"driver", driver},
          {"api_version", api_version},
          {"vendor_id", vendor_id},
          {"device_id", device_id},
          {"memory_heaps", heaps_json},
          {"subgroup_size", subgroup_size},
          {"max_workgroup_size", max_workgroup_size},
          {"max_storage_buffer_range", max_storage_buffer_range},
          {"max_allocation_bytes", max_allocation_bytes},
          {"shader_float16", shader_float16},
          {"shader_int8", shader_int8},
          {"storage_8bit", storage_8bit},
          {"storage_16bit", storage_16bit},
          {"vulkan_memory_model", vulkan_memory_model},
          {"integer_dot_product", integer_dot_product},
          {"integer_dot_4x8_accelerated", integer_dot_4x8_accelerated},
          {"cooperative_matrix_nv", cooperative_matrix_nv},
          {"cooperative_matrix_shapes", cooperative_matrix_shapes},
          {"cooperative_matrix_compute", cooperative_matrix_compute},
          {"cooperative_matrix_khr", cooperative_matrix_khr},
          {"cooperative_matrix_khr_shapes", cooperative_matrix_khr_shapes},
          {"cooperative_matrix_khr_compute", cooperative_matrix_khr_compute},
          {"timestamps", timestamps},
          {"timestamp_valid_bits", timestamp_valid_bits},
          {"timestamp_period_ns", timestamp_period_ns}};
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
  for (std::size_t i = 0; i < devices.size(); ++i) out.push_back(describe(instance_, devices[i], int(i)));
  return out;
}

int select_device(const std::vector<DeviceDescription>& devices, const std::string& selector) {
  if (devices.empty()) throw Error("no Vulkan device");
  std::vector<std::string> names;
  for (const auto& d : devices) names.push_back(fmt::format("{}: {} ({})", d.index, d.name, d.type));
  if (!selector.empty()) {
    if (std::all_of(selector.begin(), selector.end(), [](unsigned char c) { return std::isdigit(c); })) {
      const int index = std::stoi(selector);
      if (index >= 0 && index < int(devices.size())) return index;
    } else {
      for (const auto& d : devices)
        if (lower(d.name).find(lower(selector)) != std::string::npos) return d.index;
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
  description_ = describe(instance.get(), physical_, index);
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

std::uint32_t Device::memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags required,
                                  VkMemoryPropertyFlags preferred) const {
  int fallback = -1;
  for (std::uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const auto flags = memory_.memoryTypes[i].propertyFlags;
    if ((flags & required) != required) continue;
    if ((flags & preferred) == preferred) return i;
    if (fallback < 0) fallback = int(i);
  }
  if (fallback < 0) throw Error("no Vulkan memory type with the required properties");
  return std::uint32_t(fallback);
}

bool Device::has_memory(VkMemoryPropertyFlags flags) const {
  for (std::uint32_t i = 0; i < memory_.memoryTypeCount; ++i)
    if ((memory_.memoryTypes[i].propertyFlags & flags) == flags) return true;
  return false;
}

Buffer::Buffer(const Device& device, std::uint64_t bytes, Memory memory) : device_(device), bytes_(bytes) {
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = bytes;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(device.get(), &info, nullptr, &buffer_), "vkCreateBuffer");
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(device.get(), buffer_, &req);
  VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  alloc.allocationSize = req.size;
  const VkMemoryPropertyFlags coherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  switch (memory) {
    case Memory::device_local:
      alloc.memoryTypeIndex = device.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
      break;
    case Memory::host_visible:
      alloc.memoryTypeIndex = device.memory_type(req.memoryTypeBits, coherent, VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
      break;
    case Memory::device_mapped:
      alloc.memoryTypeIndex = device.memory_type(req.memoryTypeBits, coherent | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
      break;
  }
  const VkResult r = vkAllocateMemory(device.get(), &alloc, nullptr, &memory_);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(device.get(), buffer_, nullptr);
    check(r, "vkAllocateMemory");
  }
  vkBindBufferMemory(device.get(), buffer_, memory_, 0);
  if (memory != Memory::device_local) check(vkMapMemory(device.get(), memory_, 0, VK_WHOLE_SIZE, 0, &mapped_), "vkMapMemory");
}

Buffer::~Buffer() {
  if (mapped_) vkUnmapMemory(device_.get(), memory_);
  vkDestroyBuffer(device_.get(), buffer_, nullptr);
  vkFreeMemory(device_.get(), memory_, nullptr);
}

ComputePipeline::ComputePipeline(const Device& device, std::span<const std::uint32_t> spirv, std::uint32_t bindings,
                                 std::uint32_t push_bytes, std::uint32_t local_size, std::uint32_t max_sets)
    : ComputePipeline(device, spirv, bindings, push_bytes, std::vector<std::uint32_t>{local_size}, max_sets) {}

ComputePipeline::ComputePipeline(const Device& device, std::span<const std::uint32_t> spirv, std::uint32_t bindings,
                                 std::uint32_t push_bytes, std::vector<std::uint32_t> specialization,
                                 std::uint32_t max_sets)
    : device_(device), bindings_(bindings), push_bytes_(push_bytes),
      local_size_(specialization.empty() ? 1 : specialization[0]), specialization_(std::move(specialization)) {
  VkDevice dev = device.get();
  VkShaderModuleCreateInfo module{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  module.codeSize = spirv.size_bytes();
  module.pCode = spirv.data();
  check(vkCreateShaderModule(dev, &module, nullptr, &module_), "vkCreateShaderModule");

  std::vector<VkDescriptorSetLayoutBinding> b(bindings);
  for (std::uint32_t i = 0; i < bindings; ++i) {
    b[i].binding = i;
    b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    b[i].descriptorCount = 1;
    b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo set{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  set.bindingCount = bindings;
  set.pBindings = b.data();
  check(vkCreateDescriptorSetLayout(dev, &set, nullptr, &set_layout_), "vkCreateDescriptorSetLayout");

  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
  VkPipelineLayoutCreateInfo layout{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout.setLayoutCount = 1;
  layout.pSetLayouts = &set_layout_;
  layout.pushConstantRangeCount = push_bytes ? 1 : 0;
  layout.pPushConstantRanges = &range;
  check(vkCreatePipelineLayout(dev, &layout, nullptr, &layout_), "vkCreatePipelineLayout");

  std::vector<VkSpecializationMapEntry> entries;
  for (std::uint32_t i = 0; i < specialization_.size(); ++i)
    entries.push_back({i, i * std::uint32_t(sizeof(std::uint32_t)), sizeof(std::uint32_t)});
  VkSpecializationInfo spec{std::uint32_t(entries.size()), entries.data(), specialization_.size() * sizeof(std::uint32_t),
                            specialization_.data()};
  VkComputePipelineCreateInfo pipeline{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  pipeline.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  pipeline.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  pipeline.stage.module = module_;
  pipeline.stage.pName = "main";
  pipeline.stage.pSpecializationInfo = &spec;
  pipeline.layout = layout_;
  check(vkCreateComputePipelines(dev, VK_NULL_HANDLE, 1, &pipeline, nullptr, &pipeline_), "vkCreateComputePipelines");

  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, std::max(1u, bindings) * max_sets};
  VkDescriptorPoolCreateInfo pool{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pool.maxSets = max_sets;
  pool.poolSizeCount = 1;
  pool.pPoolSizes = &size;
  check(vkCreateDescriptorPool(dev, &pool, nullptr, &pool_), "vkCreateDescriptorPool");
}

ComputePipeline::~ComputePipeline() {
  VkDevice dev = device_.get();
  vkDestroyDescriptorPool(dev, pool_, nullptr);
  vkDestroyPipeline(dev, pipeline_, nullptr);
  vkDestroyPipelineLayout(dev, layout_, nullptr);
  vkDestroyDescriptorSetLayout(dev, set_layout_, nullptr);
  vkDestroyShaderModule(dev, module_, nullptr);
}

VkDescriptorSet ComputePipeline::bind(const std::vector<const Buffer*>& buffers) {
  if (buffers.size() != bindings_) throw Error("descriptor set: wrong number of buffers");
  VkDescriptorSetAllocateInfo alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  alloc.descriptorPool = pool_;
  alloc.descriptorSetCount = 1;
  alloc.pSetLayouts = &set_layout_;
  VkDescriptorSet set = VK_NULL_HANDLE;
  check(vkAllocateDescriptorSets(device_.get(), &alloc, &set), "vkAllocateDescriptorSets");
  std::vector<VkDescriptorBufferInfo> infos(buffers.size());
  std::vector<VkWriteDescriptorSet> writes(buffers.size());
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    infos[i] = {buffers[i]->get(), 0, VK_WHOLE_SIZE};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = std::uint32_t(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(device_.get(), std::uint32_t(writes.size()), writes.data(), 0, nullptr);
  return set;
}

void ComputePipeline::dispatch(VkCommandBuffer cmd, VkDescriptorSet set, const void* push, std::uint32_t groups) const {
  dispatch2d(cmd, set, push, groups, 1);
}

void ComputePipeline::dispatch2d(VkCommandBuffer cmd, VkDescriptorSet set, const void* push, std::uint32_t groups_x,
                                 std::uint32_t groups_y) const {
  vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_);
  vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout_, 0, 1, &set, 0, nullptr);
  if (push_bytes_) vkCmdPushConstants(cmd, layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes_, push);
  vkCmdDispatch(cmd, groups_x, groups_y, 1);
}

Commands::Commands(const Device& device, std::uint32_t timestamp_slots) : device_(device), slots_(timestamp_slots) {
  VkDevice dev = device.get();
  VkCommandPoolCreateInfo pool{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool.queueFamilyIndex = device.description().compute_queue_family;
  check(vkCreateCommandPool(dev, &pool, nullptr, &pool_), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = pool_;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(dev, &alloc, &cmd_), "vkAllocateCommandBuffers");
  VkFenceCreateInfo fence{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(vkCreateFence(dev, &fence, nullptr, &fence_), "vkCreateFence");
  if (slots_ && device.description().timestamps) {
    VkQueryPoolCreateInfo q{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    q.queryType = VK_QUERY_TYPE_TIMESTAMP;
    q.queryCount = slots_;
    check(vkCreateQueryPool(dev, &q, nullptr, &queries_), "vkCreateQueryPool");
  }
}

Commands::~Commands() {
  VkDevice dev = device_.get();
  if (queries_) vkDestroyQueryPool(dev, queries_, nullptr);
  vkDestroyFence(dev, fence_, nullptr);
  vkDestroyCommandPool(dev, pool_, nullptr);
}

VkCommandBuffer Commands::begin() {
  check(vkResetCommandBuffer(cmd_, 0), "vkResetCommandBuffer");
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(cmd_, &begin), "vkBeginCommandBuffer");
  if (queries_) vkCmdResetQueryPool(cmd_, queries_, 0, slots_);
  return cmd_;
}

void Commands::timestamp(std::uint32_t slot) {
  if (!queries_) throw Error("this Vulkan device has no timestamps on its compute queue");
  vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, slot);
}

void Commands::submit_and_wait() {
  check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd_;
  check(vkResetFences(device_.get(), 1, &fence_), "vkResetFences");
  check(vkQueueSubmit(device_.queue(), 1, &submit, fence_), "vkQueueSubmit");
  check(vkWaitForFences(device_.get(), 1, &fence_, VK_TRUE, std::uint64_t(600) * 1000000000), "vkWaitForFences");
}

double Commands::seconds_between(std::uint32_t from, std::uint32_t to) const {
  if (!queries_) throw Error("this Vulkan device has no timestamps on its compute queue");
  std::uint64_t t[2] = {};
  check(vkGetQueryPoolResults(device_.get(), queries_, from, 1, sizeof t[0], &t[0], sizeof t[0],
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
        "vkGetQueryPoolResults");
  check(vkGetQueryPoolResults(device_.get(), queries_, to, 1, sizeof t[1], &t[1], sizeof t[1],
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
        "vkGetQueryPoolResults");
  const auto& d = device_.description();
  const std::uint64_t mask = d.timestamp_valid_bits >= 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << d.timestamp_valid_bits) - 1;
  const std::uint64_t ticks = (t[1] - t[0]) & mask;  // one wrap of the counter is tolerated
  return double(ticks) * d.timestamp_period_ns * 1e-9;
}

void compute_barrier(VkCommandBuffer cmd) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT;
  b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0,
                       nullptr, 0, nullptr);
}

void transfer_barrier(VkCommandBuffer cmd) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                    VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                       0, 1, &b, 0, nullptr, 0, nullptr);
}

void copy_buffer(VkCommandBuffer cmd, const Buffer& from, const Buffer& to, std::uint64_t from_offset,
                 std::uint64_t to_offset, std::uint64_t bytes) {
  VkBufferCopy region{from_offset, to_offset, bytes};
  vkCmdCopyBuffer(cmd, from.get(), to.get(), 1, &region);
}

}  // namespace roofaudit::vk
