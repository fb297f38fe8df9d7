#pragma once
// What the GPU probes' host side needs to produce or predict shader data.
#include <cstdint>

namespace roofaudit::gpu {

// The contents the fill shader writes: a hash of the word index and a seed. Must match
// kernels/vulkan/common.glsl, so the host can recompute any word for validation.
inline std::uint32_t fill_word(std::uint32_t index, std::uint32_t seed) {
  std::uint32_t x = index * 0x9e3779b9u ^ seed;
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// An integer as fp16 bits; exact for |v| <= 2048, which is all the probes use.
inline std::uint16_t to_half(int v) {
  if (v == 0) return 0;
  const std::uint16_t sign = v < 0 ? 0x8000 : 0;
  unsigned m = unsigned(v < 0 ? -v : v);
  int e = 0;
  while ((m >> e) > 1) ++e;
  return std::uint16_t(sign | ((e + 15) << 10) | ((m << (10 - e)) & 0x3ff));
}

}  // namespace roofaudit::gpu
