#pragma once
// VK_KHR_cooperative_matrix, defined here: Debian 12's Vulkan headers (1.3.239) predate
// it. Names are roofaudit's own; the layouts, structure types and enum values are the
// registry's, and tests/probes/gpu_test.cpp checks every field offset.
#include <vulkan/vulkan.h>

#include <cstdint>

namespace roofaudit::vk::khr {

inline constexpr const char* kCooperativeMatrixExtension = "VK_KHR_cooperative_matrix";
inline constexpr VkStructureType kCooperativeMatrixFeaturesType = VkStructureType(1000506000);
inline constexpr VkStructureType kCooperativeMatrixPropertiesType = VkStructureType(1000506001);
inline constexpr VkStructureType kCooperativeMatrixDevicePropertiesType = VkStructureType(1000506002);

// VkComponentTypeKHR: the basic values equal VkComponentTypeNV's.
enum ComponentType : std::int32_t { f16 = 0, f32 = 1, f64 = 2, s8 = 3, s16 = 4, s32 = 5, s64 = 6, u8 = 7, u16 = 8, u32 = 9, u64 = 10 };
// VkScopeKHR
enum Scope : std::int32_t { device = 1, workgroup = 2, subgroup = 3, queue_family = 5 };

struct CooperativeMatrixFeatures {  // VkPhysicalDeviceCooperativeMatrixFeaturesKHR
  VkStructureType sType = kCooperativeMatrixFeaturesType;
  void* pNext = nullptr;
  VkBool32 cooperativeMatrix = VK_FALSE;
  VkBool32 cooperativeMatrixRobustBufferAccess = VK_FALSE;
};

struct CooperativeMatrixDeviceProperties {  // VkPhysicalDeviceCooperativeMatrixPropertiesKHR
  VkStructureType sType = kCooperativeMatrixDevicePropertiesType;
  void* pNext = nullptr;
  VkShaderStageFlags cooperativeMatrixSupportedStages = 0;
};

struct CooperativeMatrixProperties {  // VkCooperativeMatrixPropertiesKHR
  VkStructureType sType = kCooperativeMatrixPropertiesType;
  void* pNext = nullptr;
  std::uint32_t MSize = 0;
  std::uint32_t NSize = 0;
  std::uint32_t KSize = 0;
  std::int32_t AType = 0;
  std::int32_t BType = 0;
  std::int32_t CType = 0;
  std::int32_t ResultType = 0;
  VkBool32 saturatingAccumulation = VK_FALSE;
  std::int32_t scope = 0;
};

// vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR
using GetCooperativeMatrixProperties = VkResult(VKAPI_PTR*)(VkPhysicalDevice, std::uint32_t*,
                                                           CooperativeMatrixProperties*);

}  // namespace roofaudit::vk::khr
