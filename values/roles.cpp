#include "values/roles.hpp"

namespace roofaudit {

std::string role_name(Role r) {
  switch (r) {
    case Role::none: return "none";
    case Role::memory_sweep: return "memory sweep";
    case Role::peak: return "peak";
    case Role::gemm: return "gemm";
    case Role::decode_sweep: return "decode sweep";
    case Role::attention: return "attention";
    case Role::host_link: return "host link";
    case Role::forward_pass: return "forward pass";
    case Role::network_link: return "network link";
    case Role::chip_link: return "chip link";
  }
  return "none";
}

}  // namespace roofaudit
