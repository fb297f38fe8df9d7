// The CUDA backend of a build without it: no device, and the reason.
#include "probes/cuda/backend.hpp"

namespace roofaudit::cuda {

bool built() { return false; }

Listing list_devices() {
  return {{}, "this build has no CUDA backend (configured without the CUDA toolkit, or with ROOFAUDIT_CUDA=OFF)"};
}

}  // namespace roofaudit::cuda
