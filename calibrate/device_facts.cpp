// The device catalogue of GPU boards, matched to a measured device by PCI id, else by name.
#include "calibrate/device_facts.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace roofaudit::calibrate {

extern const char* const kDevicesJson;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

const nlohmann::json& devices() {
  static const nlohmann::json j = nlohmann::json::parse(kDevicesJson).at("devices");
  return j;
}

DeviceFacts facts_of(const nlohmann::json& e, std::string matched_by) {
  DeviceFacts f;
  f.name = e.at("name").get<std::string>();
  f.chip = e.value("chip", std::string());
  f.l2_bytes = e.value("l2_bytes", 0.0);
  f.purchase_usd = e.value("purchase_usd", 0.0);
  f.board_watts = e.value("board_watts", 0.0);
  f.host_link_bytes_per_s = e.value("host_link_bytes_per_s", 0.0);
  const auto& s = e.at("sources");
  f.l2_source = s.value("l2", std::string());
  f.price_source = s.value("price", std::string());
  f.power_source = s.value("power", std::string());
  f.host_link_source = s.value("host_link", std::string());
  f.matched_by = std::move(matched_by);
  return f;
}

}  // namespace

namespace {

std::optional<DeviceFacts> catalogue_facts(const DeviceInfo& device) {
  const auto& p = device.properties;
  const int vendor = p.is_object() ? p.value("vendor_id", -1) : -1;
  const int id = p.is_object() ? p.value("device_id", -1) : -1;
  // The PCI id first: names vary between drivers and APIs; the id names the board.
  for (const auto& e : devices())
    for (const auto& pair : e.value("pci_ids", nlohmann::json::array()))
      if (pair.size() == 2 && pair[0].get<int>() == vendor && pair[1].get<int>() == id)
        return facts_of(e, fmt::format("PCI id {:04x}:{:04x}", vendor, id));
  const std::string name = lower(device.name);
  for (const auto& e : devices())
    for (const auto& part : e.value("name_contains", nlohmann::json::array()))
      if (name.find(lower(part.get<std::string>())) != std::string::npos)
        return facts_of(e, fmt::format("name '{}'", part.get<std::string>()));
  return std::nullopt;
}

}  // namespace

std::optional<DeviceFacts> facts_for(const DeviceInfo& device) {
  if (device.kind == "cpu") return std::nullopt;
  auto facts = catalogue_facts(device);
  // CUDA states the L2 size, and either backend the PCIe link's limit (from the PCI
  // driver): those win over the catalogue's (the board in hand, not its datasheet), and
  // serve for boards the catalogue lacks.
  const auto& p = device.properties;
  if (p.is_object()) {
    const double l2 = device.kind == "cuda" ? p.value("l2_bytes", 0.0) : 0.0;
    const double link = p.value("pcie_bytes_per_s", 0.0);
    if ((l2 > 0 || link > 0) && !facts) facts = DeviceFacts{device.name, "", 0, 0, 0, 0, "", "", "", "", "the driver's description"};
    if (l2 > 0) {
      facts->l2_bytes = l2;
      facts->l2_source = "cudaDeviceProp::l2CacheSize";
    }
    if (link > 0) {
      facts->host_link_bytes_per_s = link;
      facts->host_link_source = fmt::format("PCIe {:g} GT/s x{} as the PCI driver states it (sysfs)",
                                            p.value("pcie_gigatransfers_per_s", 0.0), p.value("pcie_lanes", 0));
    }
  }
  return facts;
}

}  // namespace roofaudit::calibrate
