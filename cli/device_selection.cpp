#include "cli/device_selection.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "values/error.hpp"

namespace roofaudit::cli {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

BackendViews gather_backend_views() {
  BackendViews v;
  try {
    const vk::Instance instance(false);
    v.vulkan = instance.describe_devices();
    if (v.vulkan.empty()) v.vulkan_skipped = "the Vulkan driver reports no device";
  } catch (const vk::VulkanError& e) {
    v.vulkan_skipped = fmt::format("no Vulkan driver on this machine ({})", e.what());
  }
  v.cuda = cuda::list_devices();
  return v;
}

DeviceChoice resolve_device(const std::string& selector, const BackendViews& views) {
  DeviceChoice out;
  const bool names_cuda = lower(selector).rfind("cuda:", 0) == 0;
  std::optional<int> vulkan_index, cuda_ordinal;
  std::vector<std::string> misses;
  if (!names_cuda) {
    if (views.vulkan.empty()) {
      misses.push_back(fmt::format("no Vulkan device ({})", views.vulkan_skipped));
    } else {
      try {
        vulkan_index = vk::select_device(views.vulkan, selector);
      } catch (const Error& e) {
        misses.emplace_back(e.what());
      }
    }
  }
  if (!vulkan_index) {
    if (views.cuda.devices.empty()) {
      misses.push_back(fmt::format("no CUDA device ({})", views.cuda.skipped));
    } else {
      try {
        cuda_ordinal = cuda::select_device(views.cuda.devices, selector);
      } catch (const Error& e) {
        misses.emplace_back(e.what());
      }
    }
  }
  if (!vulkan_index && !cuda_ordinal)
    throw Error(fmt::format("--device {} matches no GPU: {}", selector, fmt::join(misses, "; ")));

  if (vulkan_index) {
    const auto& v = *std::find_if(views.vulkan.begin(), views.vulkan.end(),
                                  [&](const vk::DeviceDescription& d) { return d.index == *vulkan_index; });
    out.vulkan_device = std::to_string(v.index);
    const auto c = std::find_if(views.cuda.devices.begin(), views.cuda.devices.end(), [&](const cuda::DeviceView& d) {
      return !v.device_uuid.empty() && lower(d.uuid) == lower(v.device_uuid);
    });
    if (c != views.cuda.devices.end()) out.cuda_device = c->key();
    else if (views.cuda.devices.empty()) out.cuda_not_here = views.cuda.skipped;
    else out.cuda_not_here = fmt::format("--device {} is Vulkan's {} (UUID {}), which CUDA does not see", selector, v.name,
                                         v.device_uuid.empty() ? "unknown" : v.device_uuid);
  } else {
    const auto& c = *std::find_if(views.cuda.devices.begin(), views.cuda.devices.end(),
                                  [&](const cuda::DeviceView& d) { return d.ordinal == *cuda_ordinal; });
    out.cuda_device = c.key();
    const auto v = std::find_if(views.vulkan.begin(), views.vulkan.end(), [&](const vk::DeviceDescription& d) {
      return !c.uuid.empty() && lower(d.device_uuid) == lower(c.uuid);
    });
    if (v != views.vulkan.end()) out.vulkan_device = std::to_string(v->index);
    else if (views.vulkan.empty()) out.vulkan_not_here = views.vulkan_skipped;
    else out.vulkan_not_here = fmt::format("--device {} is CUDA's {} (UUID {}), which no Vulkan driver here shows",
                                           selector, c.name, c.uuid);
  }
  return out;
}

}  // namespace roofaudit::cli
