#version 450
// gemm_coopmat_nv.comp in VK_KHR_cooperative_matrix form (AMD, Intel, newer NVIDIA
// drivers): same bindings, push constants and tiling. Built only where glslc accepts
// GL_KHR_cooperative_matrix (checked at configure time; Debian 12's glslang 12 does not).
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x_id = 0) in;  // the subgroup size
layout(std430, binding = 0) readonly buffer A { float16_t a[]; };
layout(std430, binding = 1) readonly buffer B { float16_t b[]; };
layout(std430, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Params { uint n; } p;
#define ACC coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>
void main() {
  const uint n = p.n, row = gl_WorkGroupID.y * 32, col = gl_WorkGroupID.x * 32;
  ACC c00 = ACC(0.0), c01 = ACC(0.0), c10 = ACC(0.0), c11 = ACC(0.0);
  for (uint k = 0; k < n; k += 16) {
    coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> a0, a1;
    coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB> b0, b1;
    coopMatLoad(a0, a, row * n + k, n, gl_CooperativeMatrixLayoutRowMajor);
    coopMatLoad(a1, a, (row + 16) * n + k, n, gl_CooperativeMatrixLayoutRowMajor);
    coopMatLoad(b0, b, k * n + col, n, gl_CooperativeMatrixLayoutRowMajor);
    coopMatLoad(b1, b, k * n + col + 16, n, gl_CooperativeMatrixLayoutRowMajor);
    c00 = coopMatMulAdd(a0, b0, c00);
    c01 = coopMatMulAdd(a0, b1, c01);
    c10 = coopMatMulAdd(a1, b0, c10);
    c11 = coopMatMulAdd(a1, b1, c11);
  }
  coopMatStore(c00, c, row * n + col, n, gl_CooperativeMatrixLayoutRowMajor);
  coopMatStore(c01, c, row * n + col + 16, n, gl_CooperativeMatrixLayoutRowMajor);
  coopMatStore(c10, c, (row + 16) * n + col, n, gl_CooperativeMatrixLayoutRowMajor);
  coopMatStore(c11, c, (row + 16) * n + col + 16, n, gl_CooperativeMatrixLayoutRowMajor);
}
