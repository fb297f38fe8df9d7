#version 450
// Fills a buffer with fill_word(word index, seed). mode 1: floats holding small integers
// (fill_word & 1023), so triad's results are exact; mode 2: pairs of fp16 small integers
// in [-8, 7] (decode weights), exact in any sum the probes make.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Dst { uvec4 dst[]; };
layout(push_constant) uniform Params { uint n; uint seed; uint mode; } p;
void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
    uvec4 v = uvec4(fill_word(4 * i, p.seed), fill_word(4 * i + 1, p.seed), fill_word(4 * i + 2, p.seed),
                    fill_word(4 * i + 3, p.seed));
    if (p.mode == 1) v = floatBitsToUint(vec4(v & 1023u));
    if (p.mode == 2)
      v = uvec4(packHalf2x16(vec2(v.x & 15u, (v.x >> 8) & 15u) - 8.0), packHalf2x16(vec2(v.y & 15u, (v.y >> 8) & 15u) - 8.0),
                packHalf2x16(vec2(v.z & 15u, (v.z >> 8) & 15u) - 8.0), packHalf2x16(vec2(v.w & 15u, (v.w >> 8) & 15u) - 8.0));
    dst[i] = v;
  }
}
