#version 450
// Peak int8 of the matrix units (VK_NV_cooperative_matrix with integer components): four
// independent accumulators per subgroup, each C = A B + C with 16 x 32 (A) and 32 x 16
// (B) int8 tiles and int32 accumulation. A is all zeros from a buffer, so every
// accumulator keeps its start value (1, 2, 3, 4), stored as four tiles per workgroup.
#extension GL_NV_cooperative_matrix : require
#extension GL_NV_integer_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#extension GL_EXT_shader_8bit_storage : require
layout(local_size_x_id = 0) in;  // the subgroup size
layout(std430, binding = 0) readonly buffer In { int8_t tiles[]; };  // A (16 x 32) then B (32 x 16)
layout(std430, binding = 1) writeonly buffer Out { int result[]; };  // 4 tiles of 16 x 16 per workgroup
layout(push_constant) uniform Params { uint iterations; } p;
#define ACC icoopmatNV<32, gl_ScopeSubgroup, 16, 16>
void main() {
  icoopmatNV<8, gl_ScopeSubgroup, 16, 32> a;
  icoopmatNV<8, gl_ScopeSubgroup, 32, 16> b;
  coopMatLoadNV(a, tiles, 0, 32, false);
  coopMatLoadNV(b, tiles, 512, 16, false);
  ACC c0 = ACC(1), c1 = ACC(2), c2 = ACC(3), c3 = ACC(4);
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
