#pragma once
// The CUDA backend as the rest of roofaudit sees it, whether or not this build has it:
// its options, its view of each NVIDIA GPU, and the listing `devices` prints. Plain C++
// (no CUDA header): cli/ and the tests use it in every build.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "probes/cuda/options.hpp"
#include "values/measurement.hpp"

namespace roofaudit::cuda {

// A PCIe link's signalling limit, as the kernel's PCI driver states it (sysfs).
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
// The link of the PCI device `bus_id` ("0000:1B:00.0", as CUDA prints it) under
// `sysfs_devices`; nothing where there is none (a GPU on NVLink-C2C, a VM that hides it).
std::optional<PcieLink> read_pcie_link(const std::string& bus_id,
                                       const std::string& sysfs_devices = "/sys/bus/pci/devices");
// The PCI device id (0x2335 for an H200 SXM) from the same place; -1 where unreadable.
int read_pci_device_id(const std::string& bus_id, const std::string& sysfs_devices = "/sys/bus/pci/devices");

struct DeviceView {
  int ordinal = 0;
  std::string name;
  std::string uuid;        // 8-4-4-4-12 lower-case hex, as the Vulkan device reports it
  std::string pci_bus_id;  // "0000:1b:00.0"
  int pci_device_id = -1;
  int compute_major = 0, compute_minor = 0;
  int multiprocessors = 0;
  std::uint64_t memory_bytes = 0;
  std::uint64_t l2_bytes = 0;
  int memory_bus_bits = 0;
  std::string driver_version, runtime_version;  // "13.0"
  std::optional<PcieLink> pcie;

  std::string key() const;  // "cuda:N"
  bool has_fp8() const { return compute_major * 10 + compute_minor >= 89; }
  nlohmann::json to_json() const;
  DeviceInfo device_info() const;  // kind "cuda", as the store records it
};

struct Listing {
  std::vector<DeviceView> devices;
  std::string skipped;  // non-empty: no device, and why
};

// Whether this build has the CUDA backend; the listing, or why there is none.
bool built();
Listing list_devices();

// The device a selector names: empty (device 0), an ordinal ("1" or "cuda:1"), a UUID
// (with or without nvidia-smi's "GPU-"), or a name substring. Throws Error naming the
// devices when none matches.
int select_device(const std::vector<DeviceView>& devices, const std::string& selector);

// A UUID of 16 bytes in the 8-4-4-4-12 form.
std::string uuid_text(const unsigned char (&bytes)[16]);

}  // namespace roofaudit::cuda
