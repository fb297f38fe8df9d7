#version 450
// Fills a buffer with fill_word(word index, seed); float buffers get small integers
// (fill_word & 1023) so triad's results are exact.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Dst { uvec4 dst[]; };
layout(push_constant) uniform Params { uint n; uint seed; uint as_float; } p;
void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
    uvec4 v = uvec4(fill_word(4 * i, p.seed), fill_word(4 * i + 1, p.seed), fill_word(4 * i + 2, p.seed),
                    fill_word(4 * i + 3, p.seed));
    dst[i] = p.as_float != 0 ? floatBitsToUint(vec4(v & 1023u)) : v;
  }
}
