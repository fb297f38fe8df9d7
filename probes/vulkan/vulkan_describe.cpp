// What a physical device is and can do, from its properties, features and extensions:
// what `roofaudit devices` lists and what the GPU probes gate their variants on.
#include <algorithm>

#include <fmt/format.h>

#include "probes/vulkan/khr_cooperative_matrix.hpp"
#include "probes/vulkan/vulkan.hpp"

namespace roofaudit::vk {
namespace {

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

// VkComponentTypeNV and VkComponentTypeKHR agree on the first eleven; the later ones are
// written as numbers because Debian 12's headers predate them.
std::string component_name(int t) {
  switch (t) {
    case 0: return "f16";
    case 1: return "f32";
    case 2: return "f64";
    case 3: return "s8";
    case 4: return "s16";
    case 5: return "s32";
    case 6: return "s64";
    case 7: return "u8";
    case 8: return "u16";
    case 9: return "u32";
    case 10: return "u64";
    case 1000141000: return "bf16";      // VK_COMPONENT_TYPE_BFLOAT16_KHR (VK_KHR_shader_bfloat16)
    case 1000491000: return "s8packed";  // VK_COMPONENT_TYPE_SINT8_PACKED_NV
    case 1000491001: return "u8packed";  // VK_COMPONENT_TYPE_UINT8_PACKED_NV
    case 1000491002: return "e4m3";      // VK_COMPONENT_TYPE_FLOAT_E4M3_NV (fp8)
    case 1000491003: return "e5m2";      // VK_COMPONENT_TYPE_FLOAT_E5M2_NV (fp8)
    default: return fmt::format("type{}", t);
  }
}

std::string uuid_text(const std::uint8_t (&u)[VK_UUID_SIZE]) {
  std::string out;
  for (std::size_t i = 0; i < VK_UUID_SIZE; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += fmt::format("{:02x}", u[i]);
  }
  return out;
}

// What the device's API version and extensions allow asking for. The instance asks for
// Vulkan 1.2, so 1.3 core features come through their extensions.
struct Reach {
  bool v12 = false, dot = false, coop_nv = false, coop_khr = false, pci = false;
};

// The property bits that qualify a feature: accelerated 4x8 dot products, matrix units in
// compute shaders.
struct Qualifiers {
  bool dot_4x8 = false, coop_nv_compute = false, coop_khr_compute = false;
};

// Properties: subgroup (1.1), maintenance3 (max allocation), driver (1.2), dot product,
// cooperative matrices.
Qualifiers read_properties(VkPhysicalDevice pd, const VkPhysicalDeviceProperties& base, const Reach& x, DeviceDescription& d) {
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maint3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceIDProperties ids{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
  VkPhysicalDeviceShaderIntegerDotProductProperties dot_props{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
  VkPhysicalDeviceCooperativeMatrixPropertiesNV coop_props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_NV};
  khr::CooperativeMatrixDeviceProperties coop_khr_props;
  VkPhysicalDevicePCIBusInfoPropertiesEXT pci{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PCI_BUS_INFO_PROPERTIES_EXT};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  props.pNext = &subgroup;
  subgroup.pNext = &maint3;
  void** tail = &maint3.pNext;
  auto chain = [&tail](auto& s) {
    *tail = &s;
    tail = &s.pNext;
  };
  if (x.v12) chain(driver);
  chain(ids);  // core since 1.1: the physical device's UUID, as CUDA reports it too
  if (x.dot) chain(dot_props);
  if (x.coop_nv) chain(coop_props);
  if (x.coop_khr) chain(coop_khr_props);
  if (x.pci) chain(pci);  // where the GPU sits on PCIe: its link's limit is read from sysfs
  vkGetPhysicalDeviceProperties2(pd, &props);
  if (x.pci) {
    d.pci_bus_id = fmt::format("{:04x}:{:02x}:{:02x}.{:x}", pci.pciDomain, pci.pciBus, pci.pciDevice, pci.pciFunction);
    d.pcie = read_pcie_link(d.pci_bus_id);
  }
  d.subgroup_size = subgroup.subgroupSize;
  d.device_uuid = uuid_text(ids.deviceUUID);
  d.max_allocation_bytes = maint3.maxMemoryAllocationSize;
  d.driver = x.v12 ? fmt::format("{} {}", driver.driverName, driver.driverInfo) : version_string(base.driverVersion);
  return {x.dot && dot_props.integerDotProduct4x8BitPackedSignedAccelerated,
          x.coop_nv && (coop_props.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0,
          x.coop_khr && (coop_khr_props.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0};
}

void read_features(VkPhysicalDevice pd, const Reach& x, const Qualifiers& q, DeviceDescription& d) {
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  khr::CooperativeMatrixFeatures coop_khr;
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  void** tail = &features.pNext;
  auto chain = [&tail](auto& s) {
    *tail = &s;
    tail = &s.pNext;
  };
  if (x.v12) {
    chain(f11);
    chain(f12);
  } else {
    chain(s16);
  }
  if (x.dot) chain(dot);
  if (x.coop_nv) chain(coop);
  if (x.coop_khr) chain(coop_khr);
  vkGetPhysicalDeviceFeatures2(pd, &features);
  if (x.v12) {
    d.shader_float16 = f12.shaderFloat16;
    d.shader_int8 = f12.shaderInt8;
    d.storage_8bit = f12.storageBuffer8BitAccess;
    d.storage_16bit = f11.storageBuffer16BitAccess;
    d.vulkan_memory_model = f12.vulkanMemoryModel;
    d.vulkan_memory_model_device_scope = f12.vulkanMemoryModelDeviceScope;
  } else {
    d.storage_16bit = s16.storageBuffer16BitAccess;
  }
  d.integer_dot_product = x.dot && dot.shaderIntegerDotProduct;
  d.integer_dot_4x8_accelerated = d.integer_dot_product && q.dot_4x8;
  d.cooperative_matrix_nv = x.coop_nv && coop.cooperativeMatrix;
  d.cooperative_matrix_compute = d.cooperative_matrix_nv && q.coop_nv_compute;
  d.cooperative_matrix_khr = x.coop_khr && coop_khr.cooperativeMatrix;
  d.cooperative_matrix_khr_compute = d.cooperative_matrix_khr && q.coop_khr_compute;
}

template <typename Shape>
std::string shape_name(const Shape& s) {
  return fmt::format("{}x{}x{} {}*{}+{}", s.MSize, s.NSize, s.KSize, component_name(s.AType), component_name(s.BType),
                     component_name(s.CType));
}

// The matrix shapes each extension offers; its entry point is only looked up once the
// extension is known present.
std::vector<std::string> nv_shapes(VkInstance instance, VkPhysicalDevice pd) {
  std::vector<std::string> out;
  auto get = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
      vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
  std::uint32_t n = 0;
  if (!get || get(pd, &n, nullptr) != VK_SUCCESS || n == 0) return out;
  std::vector<VkCooperativeMatrixPropertiesNV> shapes(n, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
  if (get(pd, &n, shapes.data()) == VK_SUCCESS)
    for (const auto& s : shapes) out.push_back(shape_name(s));
  return out;
}

std::vector<std::string> khr_shapes(VkInstance instance, VkPhysicalDevice pd) {
  std::vector<std::string> out;
  auto get = reinterpret_cast<khr::GetCooperativeMatrixProperties>(
      vkGetInstanceProcAddr(instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR"));
  std::uint32_t n = 0;
  if (!get || get(pd, &n, nullptr) != VK_SUCCESS || n == 0) return out;
  std::vector<khr::CooperativeMatrixProperties> shapes(n);
  if (get(pd, &n, shapes.data()) == VK_SUCCESS)
    for (const auto& s : shapes)
      if (s.scope == khr::subgroup) out.push_back(shape_name(s));
  return out;
}

void read_heaps(VkPhysicalDevice pd, DeviceDescription& d) {
  VkPhysicalDeviceMemoryProperties memory{};
  vkGetPhysicalDeviceMemoryProperties(pd, &memory);
  for (std::uint32_t h = 0; h < memory.memoryHeapCount; ++h)
    d.heaps.push_back({memory.memoryHeaps[h].size, (memory.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});
}

// A compute queue family without graphics (async compute), else any with compute, and
// whether it has timestamps.
void choose_queue(VkPhysicalDevice pd, DeviceDescription& d) {
  std::uint32_t families = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &families, nullptr);
  std::vector<VkQueueFamilyProperties> family(families);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &families, family.data());
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
}

}  // namespace

DeviceDescription describe_device(VkInstance instance, VkPhysicalDevice pd, int index) {
  DeviceDescription d;
  d.index = index;
  VkPhysicalDeviceProperties base{};
  vkGetPhysicalDeviceProperties(pd, &base);
  d.name = base.deviceName;
  d.type = type_name(base.deviceType);
  d.api_version = version_string(base.apiVersion);
  d.api_version_number = base.apiVersion;
  d.vendor_id = base.vendorID;
  d.device_id = base.deviceID;
  d.max_workgroup_size = base.limits.maxComputeWorkGroupSize[0];
  d.max_workgroup_invocations = base.limits.maxComputeWorkGroupInvocations;
  d.max_shared_memory_bytes = base.limits.maxComputeSharedMemorySize;
  d.max_storage_buffer_range = base.limits.maxStorageBufferRange;
  d.timestamp_period_ns = base.limits.timestampPeriod;
  const auto extensions = device_extensions(pd);
  const Reach x{base.apiVersion >= VK_API_VERSION_1_2, has(extensions, "VK_KHR_shader_integer_dot_product"),
                has(extensions, "VK_NV_cooperative_matrix"), has(extensions, khr::kCooperativeMatrixExtension),
                has(extensions, "VK_EXT_pci_bus_info")};
  read_features(pd, x, read_properties(pd, base, x, d), d);
  // bf16 arithmetic (VK_KHR_shader_bfloat16) and the newer matrix paths: named so that a
  // report can say what the device has beyond what was measured.
  d.shader_bfloat16 = has(extensions, "VK_KHR_shader_bfloat16");
  for (const char* e : {"VK_NV_cooperative_matrix2", "VK_NV_cooperative_vector", "VK_KHR_shader_bfloat16",
                        "VK_EXT_shader_float8"})
    if (has(extensions, e)) d.matrix_extensions.emplace_back(e);
  if (d.cooperative_matrix_nv) d.cooperative_matrix_shapes = nv_shapes(instance, pd);
  if (d.cooperative_matrix_khr) d.cooperative_matrix_khr_shapes = khr_shapes(instance, pd);
  read_heaps(pd, d);
  choose_queue(pd, d);
  return d;
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
  nlohmann::json j{{"index", index},
          {"name", name},
          {"type", type},
          {"driver", driver},
          {"api_version", api_version},
          {"vendor_id", vendor_id},
          {"device_id", device_id},
          {"device_uuid", device_uuid},
          {"memory_heaps", heaps_json},
          {"subgroup_size", subgroup_size},
          {"max_workgroup_size", max_workgroup_size},
          {"max_workgroup_invocations", max_workgroup_invocations},
          {"max_shared_memory_bytes", max_shared_memory_bytes},
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
          {"shader_bfloat16", shader_bfloat16},
          {"matrix_extensions", matrix_extensions},
          {"timestamps", timestamps},
          {"timestamp_valid_bits", timestamp_valid_bits},
          {"timestamp_period_ns", timestamp_period_ns}};
  if (!pci_bus_id.empty()) j["pci_bus_id"] = pci_bus_id;
  if (pcie) {  // the same keys as CUDA's view
    j["pcie_gigatransfers_per_s"] = pcie->gigatransfers_per_s;
    j["pcie_lanes"] = pcie->lanes;
    j["pcie_bytes_per_s"] = pcie->bytes_per_s();
  }
  return j;
}

}  // namespace roofaudit::vk
