#version 450
// a = b + scalar * c on small integers stored as floats: exact, so checkable bit for bit.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer A { vec4 a[]; };
layout(std430, binding = 1) readonly buffer B { vec4 b[]; };
layout(std430, binding = 2) readonly buffer C { vec4 c[]; };
layout(push_constant) uniform Params { uint n; float scalar; } p;
void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) a[i] = b[i] + p.scalar * c[i];
}
