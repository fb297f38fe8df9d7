#version 450
// Peak fp32: eight independent vec4 FMA chains per invocation. Each iteration applies
// x = fma(x, a, b) then x = fma(x, a, -b); with a = 1 and b = 1 from push constants
// (unknown to the compiler) every chain returns to its start exactly, so every
// invocation's result is known: the sum of its chains' starting values.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Params { uint iterations; float a; float b; } p;
// Chains are separate variables, not an array: an array indexed in a loop may be
// left in memory by a driver that does not unroll it.
#define START(k) vec4((id + 4u * k) & 15u, (id + 4u * k + 1u) & 15u, (id + 4u * k + 2u) & 15u, (id + 4u * k + 3u) & 15u)
void main() {
  const uint id = gl_GlobalInvocationID.x;
  vec4 x0 = START(0u);
  vec4 x1 = START(1u);
  vec4 x2 = START(2u);
  vec4 x3 = START(3u);
  vec4 x4 = START(4u);
  vec4 x5 = START(5u);
  vec4 x6 = START(6u);
  vec4 x7 = START(7u);
  const vec4 a = vec4(p.a), b = vec4(p.b);
  for (uint i = 0; i < p.iterations; ++i) {
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b); x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b);
    x0 = fma(x0, a, -b); x1 = fma(x1, a, -b); x2 = fma(x2, a, -b); x3 = fma(x3, a, -b); x4 = fma(x4, a, -b); x5 = fma(x5, a, -b); x6 = fma(x6, a, -b); x7 = fma(x7, a, -b);
  }
  const vec4 s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
  result[id] = float(s.x) + float(s.y) + float(s.z) + float(s.w);
}
