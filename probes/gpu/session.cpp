#include "probes/gpu/session.hpp"

#include <fmt/format.h>

namespace roofaudit::gpu {

std::string Session::device_key() const { return fmt::format("gpu:{}", device->description().index); }

DeviceInfo Session::device_info() const {
  const auto& d = device->description();
  return {"gpu", d.index, d.name, d.to_json()};
}

std::string Session::validation_problem() const {
  if (!instance || instance->validation_errors() == 0) return "";
  for (const auto& m : instance->validation_messages())
    if (m.rfind("error", 0) == 0)
      return fmt::format("the Vulkan validation layer reported {} error(s), first: {}", instance->validation_errors(),
                         m.substr(0, 300));
  return fmt::format("the Vulkan validation layer reported {} error(s)", instance->validation_errors());
}

Session open_session(const RunSettings& settings) {
  Session s;
  try {
    s.instance = std::make_unique<vk::Instance>(settings.vulkan_validation);
  } catch (const vk::VulkanError& e) {
    s.skipped = e.result() == VK_ERROR_INCOMPATIBLE_DRIVER
                    ? "skipped: no Vulkan driver on this machine (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER)"
                    : fmt::format("skipped: {}", e.what());
    return s;
  }
  const auto devices = s.instance->describe_devices();
  if (devices.empty()) {
    s.skipped = "skipped: the Vulkan driver reports no device";
    return s;
  }
  s.device = std::make_unique<vk::Device>(*s.instance, vk::select_device(devices, settings.gpu_device));
  return s;
}

void check_device_selector(const RunSettings& settings) {
  if (settings.gpu_device.empty()) return;
  std::unique_ptr<vk::Instance> instance;
  try {
    instance = std::make_unique<vk::Instance>(false);
  } catch (const vk::VulkanError& e) {
    throw Error(fmt::format("--device {}: no Vulkan driver on this machine ({})", settings.gpu_device, e.what()));
  }
  vk::select_device(instance->describe_devices(), settings.gpu_device);
}

}  // namespace roofaudit::gpu
