// Keeps the Vulkan driver and layer libraries loaded until exit in the test binary. The
// Vulkan loader unloads them in vkDestroyInstance; what they allocated for process
// lifetime then shows in LeakSanitizer's exit report with no module name, and cannot be
// told apart from roofaudit's own leaks. Loaded with RTLD_NODELETE they stay named, and
// tests/lsan.supp suppresses leaks inside them (and only there).
#include <dlfcn.h>

#include <initializer_list>

namespace {

struct KeepVulkanModulesLoaded {
  KeepVulkanModulesLoaded() {
    for (const char* name : {"libvulkan_lvp.so", "libVkLayer_khronos_validation.so"}) dlopen(name, RTLD_LAZY | RTLD_NODELETE);
  }
};
const KeepVulkanModulesLoaded keep;

}  // namespace
