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
#include "probes/pcie.hpp"
#include "values/measurement.hpp"

namespace roofaudit::cuda {

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
