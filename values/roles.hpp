#pragma once
// The role a probe's figures play in calibration. A probe declares its role once, at its
// registration; calibration takes, per role and per physical device, the best validated
// candidate and names it (the CPU's own GEMM beside oneDNN, Vulkan's beside CUDA's).
#include <map>
#include <string>

namespace roofaudit {

enum class Role {
  none,          // not read by calibration (latency, core-to-core links, ...)
  memory_sweep,  // read/write/copy/triad bandwidth over working-set sizes
  peak,          // peak arithmetic per precision
  gemm,          // matmul per precision
  decode_sweep,  // weights past the caches times B = 1..512 vectors
  attention,     // the KV cache read at decode shapes
  host_link,     // host <-> device copies
  forward_pass,  // a real transformer decode step (model.decode)
  network_link,  // between machines (link.mpi)
  chip_link,     // between the GPUs of one machine (cuda.links: peer copies, NCCL collectives)
};

std::string role_name(Role r);

// Probe name -> role, as the registered probes declare them.
using RoleMap = std::map<std::string, Role, std::less<>>;

inline Role role_of(const RoleMap& roles, const std::string& probe) {
  const auto it = roles.find(probe);
  return it == roles.end() ? Role::none : it->second;
}

}  // namespace roofaudit
