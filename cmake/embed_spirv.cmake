# Writes OUTPUT: a C++ source with every SPIR-V module in SPV_FILES as a word array, and
# the table kernels/vulkan/shaders.hpp declares. Run as cmake -P at build time.
set(table "")
set(arrays "")
foreach(spv IN LISTS SPV_FILES)
  get_filename_component(name "${spv}" NAME_WE)
  file(READ "${spv}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR remainder "${hex_length} % 8")
  if(NOT remainder EQUAL 0)
    message(FATAL_ERROR "${spv} is not a whole number of 32-bit words")
  endif()
  # Little-endian bytes -> 32-bit words.
  string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," words "${hex}")
  string(APPEND arrays "const std::uint32_t k_${name}[] = {${words}};\n")
  string(APPEND table "    {\"${name}\", {k_${name}, sizeof(k_${name}) / 4}},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from kernels/vulkan/*.comp by cmake/embed_spirv.cmake.
#include \"kernels/vulkan/shaders.hpp\"

#include <stdexcept>
#include <string>
#include <utility>

namespace roofaudit::kernels::vulkan {
namespace {
${arrays}

const std::pair<std::string_view, std::span<const std::uint32_t>> table[] = {
${table}};
}  // namespace

std::span<const std::uint32_t> shader(std::string_view name) {
  for (const auto& [n, code] : table)
    if (n == name) return code;
  throw std::invalid_argument(\"no compute shader named \" + std::string(name));
}

bool has_shader(std::string_view name) {
  for (const auto& entry : table)
    if (entry.first == name) return true;
  return false;
}

}  // namespace roofaudit::kernels::vulkan
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
