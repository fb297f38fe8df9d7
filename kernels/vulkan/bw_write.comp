#version 450
// Writes a pattern that depends on the dispatch (value), so a skipped dispatch shows.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Dst { uvec4 dst[]; };
layout(push_constant) uniform Params { uint n; uint value; } p;
void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) dst[i] = uvec4(4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3) ^ p.value;
}
