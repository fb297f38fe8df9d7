#pragma once
// A PCIe link's signalling limit, as the kernel's PCI driver states it in sysfs: what no
// copy between a GPU and its host can exceed, whichever backend (Vulkan, CUDA) made it.
#include <optional>
#include <string>
#include <vector>

namespace roofaudit {

struct PcieLink {
  double gigatransfers_per_s = 0;  // per lane
  int lanes = 0;
  // Bytes per second one way after line encoding (8b/10b to 5 GT/s, 128b/130b from
  // 8 GT/s, FLIT 242/256 at 64 GT/s): no copy one way can exceed it.
  double bytes_per_s() const;
  std::string text() const;  // "PCIe 32 GT/s x16 (63.0 GB/s)"
};

// "32.0 GT/s PCIe" and "16" as sysfs writes max_link_speed and max_link_width; nothing
// when either is unreadable ("Unknown", empty, garbage).
std::optional<PcieLink> parse_pcie_link(const std::string& speed, const std::string& width);
// The link of the PCI device `bus_id` ("0000:1B:00.0", as CUDA prints it; any case) under
// `sysfs_devices`; nothing where there is none (a GPU on NVLink-C2C, a VM that hides it).
std::optional<PcieLink> read_pcie_link(const std::string& bus_id, const std::string& sysfs_devices = "/sys/bus/pci/devices");
// The PCI device id (0x2335 for an H200 SXM) from the same place; -1 where unreadable.
int read_pci_device_id(const std::string& bus_id, const std::string& sysfs_devices = "/sys/bus/pci/devices");

// "impossible: ..." when a sample moved `bytes` (summed over `directions` ways at once)
// faster than the link carries them, beyond 2% of timer error; "" when every sample fits.
// A figure above the link is not a measurement of it (a cache served the bytes, or the
// timing missed some of the work), and is stored as failed with this reason.
std::string exceeds_link(const PcieLink& link, double bytes, const std::vector<double>& seconds, int directions = 1);

}  // namespace roofaudit
