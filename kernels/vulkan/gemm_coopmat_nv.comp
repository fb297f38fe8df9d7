#version 450
// Matmul on the device's matrix units (VK_NV_cooperative_matrix): fp16 inputs, fp32
// accumulate, n a multiple of 32. One subgroup per workgroup computes a 32 x 32 block of
// C as 2 x 2 tiles of 16 x 16 x 16, so each loaded A and B tile feeds two products.
// Used only where the device lists the 16x16x16 f16*f16+f32 shape for compute shaders.
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x_id = 0) in;  // the subgroup size
layout(std430, binding = 0) readonly buffer A { float16_t a[]; };
layout(std430, binding = 1) readonly buffer B { float16_t b[]; };
layout(std430, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Params { uint n; } p;
void main() {
  const uint n = p.n, row = gl_WorkGroupID.y * 32, col = gl_WorkGroupID.x * 32;
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> c00 = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> c01 = c00, c10 = c00, c11 = c00;
  for (uint k = 0; k < n; k += 16) {
    fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a0, a1, b0, b1;
    coopMatLoadNV(a0, a, row * n + k, n, false);
    coopMatLoadNV(a1, a, (row + 16) * n + k, n, false);
    coopMatLoadNV(b0, b, k * n + col, n, false);
    coopMatLoadNV(b1, b, k * n + col + 16, n, false);
    c00 = coopMatMulAddNV(a0, b0, c00);
    c01 = coopMatMulAddNV(a0, b1, c01);
    c10 = coopMatMulAddNV(a1, b0, c10);
    c11 = coopMatMulAddNV(a1, b1, c11);
  }
  coopMatStoreNV(c00, c, row * n + col, n, false);
  coopMatStoreNV(c01, c, row * n + col + 16, n, false);
  coopMatStoreNV(c10, c, (row + 16) * n + col, n, false);
  coopMatStoreNV(c11, c, (row + 16) * n + col + 16, n, false);
}
