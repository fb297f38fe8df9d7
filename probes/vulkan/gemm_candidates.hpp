#pragma once
// gpu.gemm's race: the ways it computes a product on a Vulkan device, and which of them
// a device can run.
#include <cstdint>
#include <string>
#include <vector>

#include "probes/vulkan/vulkan.hpp"

namespace roofaudit::gpu {

// One way to compute a product: a shader, its specialization constants (constant 0 is
// the workgroup size) and the bm x bn block of C each workgroup computes.
struct Candidate {
  std::string shader;
  std::vector<std::uint32_t> spec;
  std::uint32_t bm = 0, bn = 0;
  std::uint32_t local = 0;         // invocations per workgroup
  std::uint32_t shared_bytes = 0;  // what the shader declares in shared memory
  std::string kernel;              // what the record names
};

// The candidates of one variant. Shared-memory tiles when `matrix_unit_shader` is empty
// (`shader` names the compiled tile shader); else the matrix-unit shader that reads its
// operands from device memory where this build has it, then the block-tiled forms where
// it has them (`matrix_unit_shader` + "_tiled"). `element_bytes`: 2 (fp16) or 1 (int8).
std::vector<Candidate> gemm_candidates(const std::string& shader, const std::string& matrix_unit_shader,
                                       const vk::DeviceDescription& d, int element_bytes = 2);
// Why the device cannot run `c` (its workgroup or shared memory is too large), or "".
std::string candidate_unfit(const Candidate& c, const vk::DeviceDescription& d);

}  // namespace roofaudit::gpu
