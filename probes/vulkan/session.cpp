#include "probes/vulkan/session.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "kernels/vulkan/shaders.hpp"
#include "values/device_id.hpp"

namespace roofaudit::gpu {

std::string Session::device_key() const { return DeviceId{Backend::vulkan, device->description().index, {}}.key(); }

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
  if (!settings.vulkan.not_here.empty()) {
    s.skipped = "skipped: " + settings.vulkan.not_here;
    return s;
  }
  try {
    s.instance = std::make_unique<vk::Instance>(settings.vulkan.validation);
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
  const int index = vk::select_device(devices, settings.vulkan.device);
  // Mesa's llvmpipe (lavapipe) runs Vulkan on this CPU: a default run measuring it would
  // audit the CPU a second time, slowly, and price it as a GPU. Only when asked for.
  if (settings.vulkan.device.empty() && devices[std::size_t(index)].type == "cpu") {
    const std::string& name = devices[std::size_t(index)].name;
    s.skipped = fmt::format(
        "skipped: the only Vulkan device is {}, a CPU implementation of Vulkan (it measures this CPU, not a GPU); "
        "--device {} measures it",
        name, name.substr(0, name.find(' ')));
    return s;
  }
  s.device = std::make_unique<vk::Device>(*s.instance, index);
  return s;
}

Session open_session(ProbeDriver& driver, const std::vector<Figure>& figures) {
  Session s = open_session(driver.settings());
  if (!s.skipped.empty()) {
    driver.use_device_key("gpu");
    for (const auto& f : figures) driver.unsupported(f, s.skipped);
    return s;
  }
  driver.use_device(s.device_info(), s.device_key());
  return s;
}

MatrixUnitPath matrix_unit_path(const vk::DeviceDescription& d, const std::string& nv_shader,
                                const std::string& khr_shader, const std::string& shape) {
  auto listed = [&](const std::vector<std::string>& shapes) {
    return std::find(shapes.begin(), shapes.end(), shape) != shapes.end();
  };
  const bool int8 = shape.find("s8") != std::string::npos;
  if (int8 ? !(d.storage_8bit && d.shader_int8) : !d.storage_16bit)
    return {"", "", fmt::format("unsupported: the device lacks {}", int8 ? "8-bit storage or shaderInt8" : "16-bit storage")};
  if (!d.vulkan_memory_model) return {"", "", "unsupported: the device lacks the Vulkan memory model"};
  if (d.cooperative_matrix_nv && d.cooperative_matrix_compute && listed(d.cooperative_matrix_shapes))
    return {nv_shader, "VK_NV_cooperative_matrix", ""};
  if (d.cooperative_matrix_khr && d.cooperative_matrix_khr_compute && listed(d.cooperative_matrix_khr_shapes)) {
    if (!khr_shader.empty() && kernels::vulkan::has_shader(khr_shader))
      return {khr_shader, "VK_KHR_cooperative_matrix", ""};
    return {"", "",
            khr_shader.empty()
                ? fmt::format("unsupported: roofaudit has {} only in VK_NV_cooperative_matrix form", shape)
                : "unsupported in this build: the device has VK_KHR_cooperative_matrix, but the glslc it was built with "
                  "cannot compile GL_KHR_cooperative_matrix (rebuild with a newer shaderc)"};
  }
  return {"", "",
          fmt::format("unsupported: the device has no cooperative matrix (NV or KHR) with {} in compute shaders", shape)};
}

double sample_target_seconds(const RunSettings& settings, const vk::DeviceDescription& d) {
  if (settings.sample_seconds > 0) return settings.sample_seconds;
  if (settings.quick) return 0.01;
  return d.type == "cpu" ? 0.05 : 0.2;
}

void check_device_selector(const RunSettings& settings) {
  if (settings.vulkan.device.empty() || !settings.vulkan.not_here.empty()) return;
  std::unique_ptr<vk::Instance> instance;
  try {
    instance = std::make_unique<vk::Instance>(false);
  } catch (const vk::VulkanError& e) {
    throw Error(fmt::format("--device {}: no Vulkan driver on this machine ({})", settings.vulkan.device, e.what()));
  }
  vk::select_device(instance->describe_devices(), settings.vulkan.device);
}

}  // namespace roofaudit::gpu
