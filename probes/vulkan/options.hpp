#pragma once
// What a run asks of the Vulkan backend: which device, and whether the Khronos validation
// layer watches it. The backend's own options, held in RunSettings beside the other
// backends' (a new backend brings its own struct, not new fields across the settings).
#include <string>

namespace roofaudit::vk {

struct Options {
  std::string device;       // index or name substring (empty: discrete, then integrated, ...,
                            // Mesa's CPU implementation only when named)
  std::string not_here;     // non-empty: the GPU --device named has no Vulkan view, and why
  bool validation = false;  // the Khronos validation layer; any error fails the figure
};

}  // namespace roofaudit::vk
