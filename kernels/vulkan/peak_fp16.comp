#version 450
// Peak fp16, packed: as peak_fp32.comp with f16vec4 chains (two packed half2 FMAs
// each); the values stay small integers, exact in fp16. With WIDE, 16 chains instead of
// 8: twice the independent packed FMAs in flight, for devices whose fp16 pipe needs more.
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
#ifdef WIDE
  f16vec4 x8 = START(8u), x9 = START(9u), x10 = START(10u), x11 = START(11u);
  f16vec4 x12 = START(12u), x13 = START(13u), x14 = START(14u), x15 = START(15u);
#endif
  const f16vec4 a = f16vec4(float16_t(p.a)), b = f16vec4(float16_t(p.b));
  for (uint i = 0; i < p.iterations; ++i) {
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b); x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b);
    x0 = fma(x0, a, -b); x1 = fma(x1, a, -b); x2 = fma(x2, a, -b); x3 = fma(x3, a, -b); x4 = fma(x4, a, -b); x5 = fma(x5, a, -b); x6 = fma(x6, a, -b); x7 = fma(x7, a, -b);
#ifdef WIDE
    x8 = fma(x8, a, b); x9 = fma(x9, a, b); x10 = fma(x10, a, b); x11 = fma(x11, a, b); x12 = fma(x12, a, b); x13 = fma(x13, a, b); x14 = fma(x14, a, b); x15 = fma(x15, a, b);
    x8 = fma(x8, a, -b); x9 = fma(x9, a, -b); x10 = fma(x10, a, -b); x11 = fma(x11, a, -b); x12 = fma(x12, a, -b); x13 = fma(x13, a, -b); x14 = fma(x14, a, -b); x15 = fma(x15, a, -b);
#endif
  }
  f16vec4 s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
#ifdef WIDE
  s += x8 + x9 + x10 + x11 + x12 + x13 + x14 + x15;
#endif
  result[id] = float(s.x) + float(s.y) + float(s.z) + float(s.w);
}
