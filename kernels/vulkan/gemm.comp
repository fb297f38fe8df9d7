#version 450
// Tiled shared-memory matmul C = A B, all n x n row-major. The tile shape is set by
// specialization constants: a workgroup of LX x LY invocations computes a
// (LY*TM) x (LX*TN) tile of C, each invocation a TM x TN block, over k in steps of TK
// staged through shared memory; n must be a multiple of both tile sides and of TK.
// Built twice: fp32 inputs, and (INPUT_F16) fp16 inputs through 16-bit storage; both
// accumulate in fp32.
#extension GL_EXT_control_flow_attributes : require
#ifdef INPUT_F16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define ELEM float16_t
#else
#define ELEM float
#endif
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 0) const uint LX = 16;
layout(constant_id = 1) const uint LY = 16;
layout(constant_id = 2) const uint TM = 4;
layout(constant_id = 3) const uint TN = 4;
layout(constant_id = 4) const uint TK = 16;
const uint BM = LY * TM, BN = LX * TN, THREADS = LX * LY;
layout(std430, binding = 0) readonly buffer A { ELEM a[]; };
layout(std430, binding = 1) readonly buffer B { ELEM b[]; };
layout(std430, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Params { uint n; } p;
shared float as[TK][BM + 1];  // [k][row], padded against bank conflicts
shared float bs[TK][BN];      // [k][column]
void main() {
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y, tid = ty * LX + tx;
  const uint row0 = gl_WorkGroupID.y * BM, col0 = gl_WorkGroupID.x * BN, n = p.n;
  float acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; ++i) [[unroll]] for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;
  for (uint k0 = 0; k0 < n; k0 += TK) {
    for (uint e = tid; e < BM * TK; e += THREADS) as[e % TK][e / TK] = float(a[(row0 + e / TK) * n + k0 + e % TK]);
    for (uint e = tid; e < TK * BN; e += THREADS) bs[e / BN][e % BN] = float(b[(k0 + e / BN) * n + col0 + e % BN]);
    barrier();
    [[unroll]] for (uint kk = 0; kk < TK; ++kk) {
      float av[TM], bv[TN];
      [[unroll]] for (uint i = 0; i < TM; ++i) av[i] = as[kk][ty + LY * i];
      [[unroll]] for (uint j = 0; j < TN; ++j) bv[j] = bs[kk][tx + LX * j];
      [[unroll]] for (uint i = 0; i < TM; ++i) [[unroll]] for (uint j = 0; j < TN; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    barrier();
  }
  [[unroll]] for (uint i = 0; i < TM; ++i)
    [[unroll]] for (uint j = 0; j < TN; ++j) c[(row0 + ty + LY * i) * n + col0 + tx + LX * j] = acc[i][j];
}
