#version 450
// One decode step y = x . W^T on the GPU: weights (rows x k) streamed once per batch
// tile. A workgroup of LOCAL invocations takes ROWS weight rows and up to VECS activation
// vectors (specialization constants; 64, 4, 8 by default); each invocation walks k in
// 16-byte chunks strided by LOCAL and keeps ROWS x VECS partial sums, reduced through
// shared memory at the end. LOCAL must be a power of two.
//   INT8: weights are packed signed bytes with one fp32 scale per row; activations are
//         packed signed bytes with one fp32 scale per vector.
//   otherwise: weights and activations are packed fp16 pairs.
// Products are summed in fp32 after unpacking (no dot-product instructions), exact for
// the small integers the probe uses.
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint LOCAL = 64;
layout(constant_id = 1) const uint ROWS = 4;
layout(constant_id = 2) const uint VECS = 8;
layout(std430, binding = 0) readonly buffer W { uvec4 w[]; };
layout(std430, binding = 1) readonly buffer X { uvec4 x[]; };
layout(std430, binding = 2) readonly buffer RowScale { float row_scale[]; };
layout(std430, binding = 3) readonly buffer XScale { float x_scale[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params { uint rows; uint chunks; uint batch; } p;  // chunks: 16-byte chunks per row
shared float partial[ROWS * VECS][LOCAL];

#ifdef INT8
float dot_chunk(uvec4 a, uvec4 b) {
  float s = 0.0;
  [[unroll]] for (uint c = 0; c < 4; ++c)
    [[unroll]] for (uint byte = 0; byte < 32; byte += 8)
      s += float(bitfieldExtract(int(a[c]), int(byte), 8)) * float(bitfieldExtract(int(b[c]), int(byte), 8));
  return s;
}
#else
float dot_chunk(uvec4 a, uvec4 b) {
  float s = 0.0;
  [[unroll]] for (uint c = 0; c < 4; ++c) {
    const vec2 u = unpackHalf2x16(a[c]), v = unpackHalf2x16(b[c]);
    s = fma(u.x, v.x, s);
    s = fma(u.y, v.y, s);
  }
  return s;
}
#endif

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.x * ROWS, vec0 = gl_WorkGroupID.y * VECS;
  float acc[ROWS][VECS];
  [[unroll]] for (uint r = 0; r < ROWS; ++r) [[unroll]] for (uint v = 0; v < VECS; ++v) acc[r][v] = 0.0;
  for (uint c = t; c < p.chunks; c += LOCAL) {
    uvec4 wr[ROWS];
    [[unroll]] for (uint r = 0; r < ROWS; ++r) wr[r] = row0 + r < p.rows ? w[(row0 + r) * p.chunks + c] : uvec4(0);
    [[unroll]] for (uint v = 0; v < VECS; ++v) {
      if (vec0 + v >= p.batch) break;
      const uvec4 xv = x[(vec0 + v) * p.chunks + c];
      [[unroll]] for (uint r = 0; r < ROWS; ++r) acc[r][v] += dot_chunk(wr[r], xv);
    }
  }
  [[unroll]] for (uint r = 0; r < ROWS; ++r) [[unroll]] for (uint v = 0; v < VECS; ++v) partial[r * VECS + v][t] = acc[r][v];
  barrier();
  for (uint width = LOCAL / 2; width > 0; width /= 2) {
    if (t < width)
      [[unroll]] for (uint i = 0; i < ROWS * VECS; ++i) partial[i][t] += partial[i][t + width];
    barrier();
  }
  for (uint i = t; i < ROWS * VECS; i += LOCAL) {
    const uint r = row0 + i / VECS, v = vec0 + i % VECS;
    if (r < p.rows && v < p.batch) {
#ifdef INT8
      y[v * p.rows + r] = partial[i][0] * row_scale[r] * x_scale[v];
#else
      y[v * p.rows + r] = partial[i][0];
#endif
    }
  }
}
