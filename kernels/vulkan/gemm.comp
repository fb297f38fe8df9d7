#version 450
// Tiled shared-memory matmul C = A B, all n x n row-major, n a multiple of 64. A
// workgroup of 16 x 16 invocations computes a 64 x 64 tile of C, each invocation a
// 4 x 4 block, over k in steps of 16 staged through shared memory. Built twice: fp32
// inputs, and (INPUT_F16) fp16 inputs through 16-bit storage; both accumulate in fp32.
#extension GL_EXT_control_flow_attributes : require
#ifdef INPUT_F16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define ELEM float16_t
#else
#define ELEM float
#endif
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) readonly buffer A { ELEM a[]; };
layout(std430, binding = 1) readonly buffer B { ELEM b[]; };
layout(std430, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Params { uint n; } p;
shared float as[16][65];  // [k][row], padded against bank conflicts
shared float bs[16][64];  // [k][column]
void main() {
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y, tid = ty * 16 + tx;
  const uint row0 = gl_WorkGroupID.y * 64, col0 = gl_WorkGroupID.x * 64, n = p.n;
  float acc[4][4];
  [[unroll]] for (uint i = 0; i < 4; ++i) [[unroll]] for (uint j = 0; j < 4; ++j) acc[i][j] = 0.0;
  for (uint k0 = 0; k0 < n; k0 += 16) {
    [[unroll]] for (uint i = 0; i < 4; ++i) {
      const uint e = tid + i * 256;
      as[e % 16][e / 16] = float(a[(row0 + e / 16) * n + k0 + e % 16]);
      bs[e / 64][e % 64] = float(b[(k0 + e / 64) * n + col0 + e % 64]);
    }
    barrier();
    [[unroll]] for (uint kk = 0; kk < 16; ++kk) {
      float av[4], bv[4];
      [[unroll]] for (uint i = 0; i < 4; ++i) av[i] = as[kk][ty + 16 * i];
      [[unroll]] for (uint j = 0; j < 4; ++j) bv[j] = bs[kk][tx + 16 * j];
      [[unroll]] for (uint i = 0; i < 4; ++i) [[unroll]] for (uint j = 0; j < 4; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    barrier();
  }
  [[unroll]] for (uint i = 0; i < 4; ++i) [[unroll]] for (uint j = 0; j < 4; ++j) c[(row0 + ty + 16 * i) * n + col0 + tx + 16 * j] = acc[i][j];
}
