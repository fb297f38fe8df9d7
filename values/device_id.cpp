#include "values/device_id.hpp"

#include <cctype>

namespace roofaudit {
namespace {

// The prefix of a backend's keys: Vulkan's devices have been "gpu" since the first schema.
const char* key_prefix(Backend b) {
  switch (b) {
    case Backend::cpu: return "cpu";
    case Backend::vulkan: return "gpu";
    case Backend::cuda: return "cuda";
  }
  return "cpu";
}

}  // namespace

std::string backend_name(Backend b) {
  switch (b) {
    case Backend::cpu: return "cpu";
    case Backend::vulkan: return "vulkan";
    case Backend::cuda: return "cuda";
  }
  return "cpu";
}

std::string DeviceId::key() const {
  if (backend == Backend::cpu) return "cpu";
  return std::string(key_prefix(backend)) + ":" + std::to_string(ordinal);
}

DeviceId DeviceId::of(const DeviceInfo& info) {
  DeviceId id;
  id.backend = info.kind == "cpu" ? Backend::cpu : info.kind == "cuda" ? Backend::cuda : Backend::vulkan;
  id.ordinal = id.backend == Backend::cpu ? 0 : info.ordinal;
  if (info.properties.is_object() && info.properties.contains("device_uuid") && info.properties["device_uuid"].is_string())
    id.uuid = info.properties["device_uuid"].get<std::string>();
  return id;
}

std::optional<DeviceId> DeviceId::parse(const std::string& key) {
  if (key == "cpu") return DeviceId{};
  for (Backend b : {Backend::vulkan, Backend::cuda}) {
    const std::string prefix = std::string(key_prefix(b)) + ":";
    if (key.rfind(prefix, 0) != 0 || key.size() == prefix.size() || key.size() > prefix.size() + 4) continue;
    int n = 0;
    for (std::size_t i = prefix.size(); i < key.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(key[i]))) return std::nullopt;
      n = n * 10 + (key[i] - '0');
    }
    return DeviceId{b, n, {}};
  }
  return std::nullopt;
}

}  // namespace roofaudit
