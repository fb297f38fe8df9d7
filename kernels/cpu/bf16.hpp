#pragma once
// bf16 is the top half of an IEEE fp32: widening is a shift, narrowing drops (or rounds
// away) the low 16 bits of the mantissa. The one place the conversions live.
#include <bit>
#include <cstdint>

namespace roofaudit::kernels {

constexpr float bf16_to_float(std::uint16_t h) { return std::bit_cast<float>(std::uint32_t(h) << 16); }

// By truncation: exact for the small integers the probes and tests build their operands
// from.
constexpr std::uint16_t to_bf16(float f) { return std::uint16_t(std::bit_cast<std::uint32_t>(f) >> 16); }

// Rounded to the nearest, ties to even (finite inputs): what a model's weights and
// activations are stored as.
constexpr std::uint16_t round_bf16(float f) {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  bits += 0x7fff + ((bits >> 16) & 1);
  return std::uint16_t(bits >> 16);
}

}  // namespace roofaudit::kernels
