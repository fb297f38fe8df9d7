#version 450
// Sums the buffer's words (modulo 2^32) into sums[slot], reading it `total / n` times over
// in one dispatch: the grid walks `total` virtual indices, index i reading vector i mod n,
// so a working set that fits a cache is re-read from it by every workgroup for long
// enough that the dispatch's fixed cost is noise. Each dispatch of a timed batch has its
// own slot, so every dispatch is checked to have read everything, every time.
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint kLocal = 256;
layout(std430, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(std430, binding = 1) buffer Sums { uint sums[]; };
layout(push_constant) uniform Params { uint n; uint slot; uint total; } p;
shared uint partial[kLocal];
void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  // j = i mod n, kept by one add and one conditional subtract (no division in the loop).
  const uint step = stride % p.n;
  uint j = gl_GlobalInvocationID.x % p.n;
  uvec4 acc = uvec4(0);
  for (uint i = gl_GlobalInvocationID.x; i < p.total; i += stride) {
    acc += src[j];
    j += step;
    if (j >= p.n) j -= p.n;
  }
  partial[gl_LocalInvocationID.x] = acc.x + acc.y + acc.z + acc.w;
  barrier();
  for (uint width = kLocal / 2; width > 0; width /= 2) {
    if (gl_LocalInvocationID.x < width) partial[gl_LocalInvocationID.x] += partial[gl_LocalInvocationID.x + width];
    barrier();
  }
  if (gl_LocalInvocationID.x == 0) atomicAdd(sums[p.slot], partial[0]);
}
