// The CUDA backend's plain parts, built with or without CUDA: the device view, its
// selection.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "probes/cuda/backend.hpp"
#include "values/error.hpp"

namespace roofaudit::cuda {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 6 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

std::string uuid_text(const unsigned char (&bytes)[16]) {
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += fmt::format("{:02x}", bytes[i]);
  }
  return out;
}

std::string DeviceView::key() const { return fmt::format("cuda:{}", ordinal); }

nlohmann::json DeviceView::to_json() const {
  nlohmann::json j{{"backend", "cuda"},
                   {"ordinal", ordinal},
                   {"name", name},
                   {"device_uuid", uuid},
                   {"pci_bus_id", pci_bus_id},
                   {"vendor_id", 0x10de},
                   {"compute_capability", fmt::format("{}.{}", compute_major, compute_minor)},
                   {"multiprocessors", multiprocessors},
                   {"memory_bytes", memory_bytes},
                   {"l2_bytes", l2_bytes},
                   {"memory_bus_bits", memory_bus_bits},
                   {"driver", driver_version},
                   {"runtime", runtime_version}};
  if (pci_device_id >= 0) j["device_id"] = pci_device_id;
  if (pcie) {
    j["pcie_gigatransfers_per_s"] = pcie->gigatransfers_per_s;
    j["pcie_lanes"] = pcie->lanes;
    j["pcie_bytes_per_s"] = pcie->bytes_per_s();
  }
  return j;
}

DeviceInfo DeviceView::device_info() const { return {"cuda", ordinal, name, to_json()}; }

int select_device(const std::vector<DeviceView>& devices, const std::string& selector) {
  std::vector<std::string> names;
  for (const auto& d : devices) names.push_back(fmt::format("cuda:{} {} (UUID {})", d.ordinal, d.name, d.uuid));
  const auto fail = [&] {
    return Error(fmt::format("no CUDA device matches '{}'; devices: {}", selector,
                             names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, "; "))));
  };
  if (devices.empty()) throw fail();
  if (selector.empty()) return devices.front().ordinal;
  std::string s = lower(selector);
  if (s.rfind("cuda:", 0) == 0) {
    s = s.substr(5);
    if (!all_digits(s)) throw fail();
  }
  if (all_digits(s)) {
    const int n = std::stoi(s);
    for (const auto& d : devices)
      if (d.ordinal == n) return n;
    throw fail();
  }
  const std::string uuid = s.rfind("gpu-", 0) == 0 ? s.substr(4) : s;
  for (const auto& d : devices)
    if (!d.uuid.empty() && d.uuid == uuid) return d.ordinal;
  for (const auto& d : devices)
    if (lower(d.name).find(s) != std::string::npos) return d.ordinal;
  throw fail();
}

}  // namespace roofaudit::cuda
