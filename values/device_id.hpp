#pragma once
// One typed identity for a device, whichever backend reached it: the backend, its
// ordinal there, and the physical device's UUID (as Vulkan and CUDA both report it), so
// that two backends' views of one GPU calibrate into one chip.
#include <optional>
#include <string>

#include "values/measurement.hpp"

namespace roofaudit {

enum class Backend { cpu, vulkan, cuda };

struct DeviceId {
  Backend backend = Backend::cpu;
  int ordinal = 0;
  std::string uuid;  // the physical device's, lower-case hex; empty where none was reported

  // The key measurements and fits carry: "cpu", "gpu:N" (Vulkan, as stored since the
  // first schema), "cuda:N".
  std::string key() const;
  // What names the silicon: the UUID where one was reported, else the key.
  std::string physical() const { return uuid.empty() ? key() : uuid; }
  bool is_gpu() const { return backend != Backend::cpu; }

  // A stored device row (kind "cpu" or "gpu", its ordinal, its properties' device_uuid).
  static DeviceId of(const DeviceInfo& info);
  // A key as key() writes it; nothing for any other text.
  static std::optional<DeviceId> parse(const std::string& key);
};

std::string backend_name(Backend b);  // "cpu", "vulkan", "cuda"

}  // namespace roofaudit
