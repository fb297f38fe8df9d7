#pragma once
// Facts about a physical GPU that its driver does not state through Vulkan: the size of
// its last-level cache, its purchase price and board power, and the catalogue chip of the
// same silicon. A data file (calibrate/catalog/devices.json), every figure with its source
// and date, matched by PCI ids or by name.
#include <optional>
#include <string>

#include "values/measurement.hpp"

namespace roofaudit::calibrate {

struct DeviceFacts {
  std::string name;          // as the catalogue names the board
  std::string chip;          // catalogue chip of the same silicon ("h200")
  double l2_bytes = 0;       // 0: not known
  double purchase_usd = 0;   // 0: not known
  double board_watts = 0;    // 0: not known
  double host_link_bytes_per_s = 0;  // the host link's signalling limit per direction (0: not known)
  std::string l2_source, price_source, power_source, host_link_source;
  std::string matched_by;    // "PCI id 10de:2335", "name 'H200'"
};

// The entry for a device row (vendor_id / device_id / name as the Vulkan layer stores
// them), or nothing when the catalogue does not know it.
std::optional<DeviceFacts> facts_for(const DeviceInfo& device);

}  // namespace roofaudit::calibrate
