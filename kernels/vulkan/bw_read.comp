#version 450
// Sums every word of the buffer (modulo 2^32) into sums[slot]: each dispatch of a timed
// batch has its own slot, so every dispatch is checked to have read everything.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint kLocal = 256;
layout(std430, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(std430, binding = 1) buffer Sums { uint sums[]; };
layout(push_constant) uniform Params { uint n; uint slot; } p;
shared uint partial[kLocal];
void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  uvec4 acc = uvec4(0);
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) acc += src[i];
  partial[gl_LocalInvocationID.x] = acc.x + acc.y + acc.z + acc.w;
  barrier();
  for (uint width = kLocal / 2; width > 0; width /= 2) {
    if (gl_LocalInvocationID.x < width) partial[gl_LocalInvocationID.x] += partial[gl_LocalInvocationID.x + width];
    barrier();
  }
  if (gl_LocalInvocationID.x == 0) atomicAdd(sums[p.slot], partial[0]);
}
