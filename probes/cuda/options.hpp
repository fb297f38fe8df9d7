#pragma once
// What a run asks of the CUDA backend, held in RunSettings beside the Vulkan backend's.
#include <string>

namespace roofaudit::cuda {

struct Options {
  std::string device;    // empty: device 0; see select_device (probes/cuda/backend.hpp)
  std::string not_here;  // non-empty: the GPU --device named has no CUDA view, and why
};

}  // namespace roofaudit::cuda
