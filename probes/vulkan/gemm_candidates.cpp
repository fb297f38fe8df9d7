// gpu.gemm's candidates: shared-memory tiles of two sizes, and on the matrix units a
// direct form and block-tiled forms of several shapes.
#include "probes/vulkan/gemm_candidates.hpp"

#include <array>

#include <fmt/format.h>

#include "kernels/vulkan/shaders.hpp"

namespace roofaudit::gpu {

namespace {

// The shared-memory shader: 16 x 16 invocations, each tm x tn outputs, k steps of 16.
Candidate tiled(std::uint32_t tm, std::uint32_t tn, const std::string& shader) {
  const std::uint32_t bm = 16 * tm, bn = 16 * tn;
  return {shader, {16, 16, tm, tn, 16}, bm, bn, 256, 0,
          fmt::format("shared-memory tiles {}x{}x16, {}x{} per invocation, fp32 accumulate", bm, bn, tm, tn)};
}

// The matrix-unit shaders. The direct one: one subgroup per 32 x 32 block, operands read
// from device memory. The block-tiled one: wm x wn subgroups, each tm x tn accumulators of
// 16 x 16, operands staged through padded shared memory in chunks of 32 along k.
Candidate coopmat_direct(const std::string& shader, std::uint32_t subgroup) {
  return {shader, {subgroup}, 32, 32, subgroup, 0, "cooperative matrix 16x16x16, one subgroup per 32x32 block, operands from device memory"};
}
// Chunks along k are 64 bytes of each row (32 fp16 or 64 int8 elements), rows padded by 16.
Candidate coopmat_tiled(const std::string& shader, std::uint32_t subgroup, std::uint32_t wm, std::uint32_t wn,
                        std::uint32_t tm, std::uint32_t tn, std::uint32_t element_bytes) {
  const std::uint32_t bm = wm * tm * 16, bn = wn * tn * 16, bk = 64 / element_bytes, pad = 16 / element_bytes;
  const std::uint32_t shared = (bm * (bk + pad) + bk * (bn + pad)) * element_bytes;
  return {shader, {wm * wn * subgroup, wm, wn, tm, tn}, bm, bn, wm * wn * subgroup, shared,
          fmt::format("cooperative matrix {}, {}x{} block per workgroup of {} subgroups, {} accumulators per "
                      "subgroup, operands staged in shared memory (k chunks of {}, next chunk prefetched)",
                      element_bytes == 1 ? "16x16x32 int8" : "16x16x16 fp16", bm, bn, wm * wn, tm * tn, bk)};
}

}  // namespace

std::vector<Candidate> gemm_candidates(const std::string& shader, const std::string& matrix_unit_shader,
                                       const vk::DeviceDescription& d, int element_bytes) {
  if (matrix_unit_shader.empty()) return {tiled(4, 4, shader), tiled(8, 8, shader)};
  std::vector<Candidate> out;
  if (kernels::vulkan::has_shader(matrix_unit_shader)) out.push_back(coopmat_direct(matrix_unit_shader, d.subgroup_size));
  const std::string tiled_shader = matrix_unit_shader + "_tiled";
  if (!kernels::vulkan::has_shader(tiled_shader)) return out;
  for (const auto& [wm, wn, tm, tn] : std::vector<std::array<std::uint32_t, 4>>{
           {2, 2, 2, 2}, {2, 2, 4, 4}, {2, 4, 4, 2}, {4, 2, 2, 4}, {2, 4, 4, 4}})
    out.push_back(coopmat_tiled(tiled_shader, d.subgroup_size, wm, wn, tm, tn, std::uint32_t(element_bytes)));
  return out;
}

// Why a device cannot run a candidate, or "".
std::string candidate_unfit(const Candidate& c, const vk::DeviceDescription& d) {
  if (d.max_workgroup_invocations && c.local > d.max_workgroup_invocations)
    return fmt::format("unsupported: a workgroup of {} invocations exceeds the device's {}", c.local,
                       d.max_workgroup_invocations);
  if (d.max_shared_memory_bytes && c.shared_bytes > d.max_shared_memory_bytes)
    return fmt::format("unsupported: {} bytes of shared memory exceed the device's {}", c.shared_bytes,
                       d.max_shared_memory_bytes);
  return "";
}

}  // namespace roofaudit::gpu
