#version 450
// Peak of the matrix units (VK_NV_cooperative_matrix): four independent accumulators per
// subgroup, each C = A B + C with 16 x 16 x 16 fp16 tiles and fp32 accumulation. A is
// loaded from a buffer the host fills with zeros, so every accumulator keeps its start
// value (1, 2, 3, 4), stored as four tiles per workgroup; the shader cannot know A is
// zero.
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x_id = 0) in;  // the subgroup size
layout(std430, binding = 0) readonly buffer In { float16_t tiles[]; };  // A then B, 16 x 16 each
layout(std430, binding = 1) writeonly buffer Out { float result[]; };   // 4 tiles of 16 x 16 per workgroup
layout(push_constant) uniform Params { uint iterations; } p;
void main() {
  fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a, b;
  coopMatLoadNV(a, tiles, 0, 16, false);
  coopMatLoadNV(b, tiles, 256, 16, false);
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> c0 = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(1.0);
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> c1 = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(2.0);
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> c2 = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(3.0);
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> c3 = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(4.0);
  for (uint i = 0; i < p.iterations; ++i) {
    c0 = coopMatMulAddNV(a, b, c0);
    c1 = coopMatMulAddNV(a, b, c1);
    c2 = coopMatMulAddNV(a, b, c2);
    c3 = coopMatMulAddNV(a, b, c3);
  }
  const uint base = gl_WorkGroupID.x * 1024;
  coopMatStoreNV(c0, result, base, 16, false);
  coopMatStoreNV(c1, result, base + 256, 16, false);
  coopMatStoreNV(c2, result, base + 512, 16, false);
  coopMatStoreNV(c3, result, base + 768, 16, false);
}
