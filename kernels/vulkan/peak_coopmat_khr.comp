#version 450
// peak_coopmat_nv.comp in VK_KHR_cooperative_matrix form; built only where glslc
// accepts GL_KHR_cooperative_matrix (checked at configure time).
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x_id = 0) in;  // the subgroup size
layout(std430, binding = 0) readonly buffer In { float16_t tiles[]; };  // A then B, 16 x 16 each
layout(std430, binding = 1) writeonly buffer Out { float result[]; };   // 4 tiles of 16 x 16 per workgroup
layout(push_constant) uniform Params { uint iterations; } p;
#define ACC coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>
void main() {
  coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> a;
  coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> b;
  coopMatLoad(a, tiles, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
  coopMatLoad(b, tiles, 256, 16, gl_CooperativeMatrixLayoutRowMajor);
  ACC c0 = ACC(1.0), c1 = ACC(2.0), c2 = ACC(3.0), c3 = ACC(4.0);
  for (uint i = 0; i < p.iterations; ++i) {
    c0 = coopMatMulAdd(a, b, c0);
    c1 = coopMatMulAdd(a, b, c1);
    c2 = coopMatMulAdd(a, b, c2);
    c3 = coopMatMulAdd(a, b, c3);
  }
  const uint base = gl_WorkGroupID.x * 1024;
  coopMatStore(c0, result, base, 16, gl_CooperativeMatrixLayoutRowMajor);
  coopMatStore(c1, result, base + 256, 16, gl_CooperativeMatrixLayoutRowMajor);
  coopMatStore(c2, result, base + 512, 16, gl_CooperativeMatrixLayoutRowMajor);
  coopMatStore(c3, result, base + 768, 16, gl_CooperativeMatrixLayoutRowMajor);
}
