#pragma once
// The compute shaders of kernels/vulkan/*.comp, compiled to SPIR-V by glslc at build
// time and embedded in the binary.
#include <cstdint>
#include <span>
#include <string_view>

namespace roofaudit::kernels::vulkan {

// The SPIR-V words of the shader compiled from kernels/vulkan/NAME.comp. Throws
// std::invalid_argument for an unknown name.
std::span<const std::uint32_t> shader(std::string_view name);
// Whether this build embeds the shader (optional ones need a newer glslc; see CMakeLists).
bool has_shader(std::string_view name);

}  // namespace roofaudit::kernels::vulkan
