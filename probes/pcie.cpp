// The PCIe link's limit from the PCI driver's sysfs files.
#include "probes/pcie.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace roofaudit {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return line;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 6 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

double PcieLink::bytes_per_s() const {
  const double encoding = gigatransfers_per_s <= 5.0 ? 8.0 / 10.0 : gigatransfers_per_s >= 64.0 ? 242.0 / 256.0 : 128.0 / 130.0;
  return gigatransfers_per_s * 1e9 * lanes * encoding / 8.0;
}

std::string PcieLink::text() const {
  return fmt::format("PCIe {:g} GT/s x{} ({:.1f} GB/s)", gigatransfers_per_s, lanes, bytes_per_s() / 1e9);
}

std::optional<PcieLink> parse_pcie_link(const std::string& speed, const std::string& width) {
  std::istringstream s(speed);
  double gts = 0;
  std::string unit;
  if (!(s >> gts >> unit) || unit != "GT/s" || !(gts > 0 && gts <= 256)) return std::nullopt;
  const std::string w = width.substr(0, width.find_last_not_of(" \n") + 1);
  if (!all_digits(w)) return std::nullopt;
  const int lanes = std::stoi(w);
  if (lanes < 1 || lanes > 32) return std::nullopt;
  return PcieLink{gts, lanes};
}

std::optional<PcieLink> read_pcie_link(const std::string& bus_id, const std::string& sysfs_devices) {
  const std::string dir = sysfs_devices + "/" + lower(bus_id);
  return parse_pcie_link(read_line(dir + "/max_link_speed"), read_line(dir + "/max_link_width"));
}

int read_pci_device_id(const std::string& bus_id, const std::string& sysfs_devices) {
  const std::string text = read_line(sysfs_devices + "/" + lower(bus_id) + "/device");
  if (text.size() < 3 || text.size() > 6 || text.rfind("0x", 0) != 0) return -1;
  try {
    return std::stoi(text.substr(2), nullptr, 16);
  } catch (const std::exception&) {
    return -1;
  }
}

std::string exceeds_link(const PcieLink& link, double bytes, const std::vector<double>& seconds, int directions) {
  const double limit = link.bytes_per_s() * std::max(1, directions);
  for (double s : seconds)
    if (s > 0 && bytes / s > limit * 1.02)
      return fmt::format("impossible: {:.1f} GB/s exceeds the {} signalling limit{}", bytes / s / 1e9, link.text(),
                         directions > 1 ? fmt::format(" ({} ways at once)", directions) : "");
  return "";
}

}  // namespace roofaudit
