#pragma once
// --device across the GPU backends. One selector is resolved against every backend's view
// of the machine's GPUs, and the backends that did not match it directly follow the one
// that did by the physical device's UUID, so Vulkan's and CUDA's figures in one run are of
// the same GPU. A backend that cannot see that GPU is told why (its figures are stored as
// skipped with the reason).
#include <string>
#include <vector>

#include "probes/cuda/backend.hpp"
#include "probes/vulkan/vulkan.hpp"

namespace roofaudit::cli {

struct BackendViews {
  std::vector<vk::DeviceDescription> vulkan;
  std::string vulkan_skipped;  // non-empty: no Vulkan view, and why
  cuda::Listing cuda;
};

// What the drivers report (creates a Vulkan instance, initialises CUDA).
BackendViews gather_backend_views();

struct DeviceChoice {
  std::string vulkan_device, vulkan_not_here;
  std::string cuda_device, cuda_not_here;
};

// `selector`: a Vulkan index (bare or "gpu:N" / "vulkan:N"), "cuda:N", a UUID (with or
// without nvidia-smi's "GPU-"), or a name substring; Vulkan's reading is tried first,
// then CUDA's. Throws Error (one line, both backends' devices) when no backend matches.
DeviceChoice resolve_device(const std::string& selector, const BackendViews& views);

}  // namespace roofaudit::cli
