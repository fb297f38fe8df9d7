#version 450
// Peak fp16, packed: as peak_fp32.comp with f16vec4 chains (two packed half2 FMAs
// each); the values stay small integers, exact in fp16.
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Out { float result[]; };
layout(push_constant) uniform Params { uint iterations; float a; float b; } p;
// Chains are separate variables, not an array: an array indexed in a loop may be
// left in memory by a driver that does not unroll it.
#define START(k) f16vec4((id + 4u * k) & 15u, (id + 4u * k + 1u) & 15u, (id + 4u * k + 2u) & 15u, (id + 4u * k + 3u) & 15u)
void main() {
  const uint id = gl_GlobalInvocationID.x;
  f16vec4 x0 = START(0u);
  f16vec4 x1 = START(1u);
  f16vec4 x2 = START(2u);
  f16vec4 x3 = START(3u);
  f16vec4 x4 = START(4u);
  f16vec4 x5 = START(5u);
  f16vec4 x6 = START(6u);
  f16vec4 x7 = START(7u);
  const f16vec4 a = f16vec4(float16_t(p.a)), b = f16vec4(float16_t(p.b));
  for (uint i = 0; i < p.iterations; ++i) {
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b); x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b);
    x0 = fma(x0, a, -b); x1 = fma(x1, a, -b); x2 = fma(x2, a, -b); x3 = fma(x3, a, -b); x4 = fma(x4, a, -b); x5 = fma(x5, a, -b); x6 = fma(x6, a, -b); x7 = fma(x7, a, -b);
  }
  const f16vec4 s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
  result[id] = float(s.x) + float(s.y) + float(s.z) + float(s.w);
}
