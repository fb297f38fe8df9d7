// The peak sequences of 256- and 512-bit vectors, written once and included by
// peak_avx2.cpp and peak_avx512.cpp inside their own namespace, after a struct W that
// gives the vector types, the lane count, the chain counts and the instructions at that
// width (the file's -m flags build them for it), and ROOFAUDIT_PEAK_VNNI, the target of
// its int8 dot instruction.
//
// FMA and dot chains: W::kChains independent accumulators, lane l of chain c starting at
// c + l, each gaining the same exact amount per instruction, so the sum of every lane
// checks that every instruction ran. Enough chains cover the unit's latency on each pipe.

template <typename V, typename Step>
__attribute__((always_inline)) inline void advance_chains(V (&acc)[W::kChains], std::size_t iterations, Step step) {
  for (std::size_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int c = 0; c < W::kChains; ++c) acc[c] = step(acc[c]);
  }
}

// One FMA chain per accumulator, each lane gaining 1 * 1 per instruction.
template <typename Lane, typename V, typename Fma>
__attribute__((always_inline)) inline double fma_peak(std::size_t iterations, V (&acc)[W::kChains], V one, Fma fma) {
  V inc = one;
  opaque(one);
  advance_chains(acc, iterations, [one, inc, fma](V a) { return fma(a, one, inc); });
  return sum_lanes<Lane>(acc, W::kChains);
}

double fp64_fma(std::size_t iterations) {
  typename W::D acc[W::kChains];
  for (int c = 0; c < W::kChains; ++c) acc[c] = W::lanes_from_d(c);
  return fma_peak<double>(iterations, acc, W::set_pd(1.0), [](auto a, auto b, auto c) { return W::fma_pd(a, b, c); });
}
double fp32_fma(std::size_t iterations) {
  typename W::F acc[W::kChains];
  for (int c = 0; c < W::kChains; ++c) acc[c] = W::lanes_from_f(c);
  return fma_peak<float>(iterations, acc, W::set_ps(1.0f), [](auto a, auto b, auto c) { return W::fma(a, b, c); });
}
double fp64_expected(std::size_t iterations) {
  return start_sum(W::kChains, W::kLanes / 2) + double(W::kChains) * (W::kLanes / 2) * double(iterations);
}
double fp32_expected(std::size_t iterations) {
  return start_sum(W::kChains, W::kLanes) + double(W::kChains) * W::kLanes * double(iterations);
}

// vpdpbusd: each int32 lane gains four u8 x s8 products, 1 * 1 each.
__attribute__((target(ROOFAUDIT_PEAK_VNNI))) double int8_dot(std::size_t iterations) {
  typename W::I acc[W::kChains];
  for (int c = 0; c < W::kChains; ++c) acc[c] = W::lanes_from(c);
  typename W::I a = W::set8(1), b = W::set8(1);
  opaque(a);
  opaque(b);
  advance_chains(acc, iterations, [a, b](typename W::I x) __attribute__((target(ROOFAUDIT_PEAK_VNNI))) {
    return W::dpbusd(x, a, b);
  });
  return sum_lanes<std::int32_t>(acc, W::kChains);
}
double int8_expected(std::size_t iterations) {
  return start_sum(W::kChains, W::kLanes) + double(W::kChains) * W::kLanes * 4 * double(iterations);
}

// int8 (off the accumulator chain, so each chain multiplies a fresh operand by its own:
// otherwise the products would be hoisted out of the loop). vpmaddwd: each int32 lane gains
// two i16 products (1 * 1); vpmaddubsw + vpmaddwd: four u8 x s8 products, summed to i16
// pairs, then to i32 by a multiply with ones. Per lane: 2 pairs (4 ops) or 4 pairs (8 ops).
// The accumulator chains only carry a 1-cycle vpaddd, so fewer of them suffice
// (W::kMaddChains): accumulators, multipliers and the shared operands fit the register
// file without spilling the chains to memory.

// W::kMaddChains accumulators, each adding product(a, b[c]) per iteration: b[c] its own
// copy of `operand`, a the shared one made fresh every iteration (the products cannot be
// hoisted).
template <typename Product>
__attribute__((always_inline)) inline double madd_peak(std::size_t iterations, typename W::I operand, Product product) {
  typename W::I acc[W::kMaddChains], b[W::kMaddChains];
  for (int c = 0; c < W::kMaddChains; ++c) {
    acc[c] = W::lanes_from(c);
    b[c] = operand;
    opaque(b[c]);
  }
  typename W::I a = operand;
  for (std::size_t i = 0; i < iterations; ++i) {
    opaque(a);
#pragma GCC unroll 16
    for (int c = 0; c < W::kMaddChains; ++c) acc[c] = W::add32(acc[c], product(a, b[c]));
  }
  return sum_lanes<std::int32_t>(acc, W::kMaddChains);
}

double int8_madd(std::size_t iterations) {
  return madd_peak(iterations, W::set16(1), [](typename W::I a, typename W::I b) { return W::madd(a, b); });
}
double int8_madd_expected(std::size_t iterations) {
  return start_sum(W::kMaddChains, W::kLanes) + double(W::kMaddChains) * W::kLanes * 2 * double(iterations);
}

double int8_maddubs(std::size_t iterations) {
  typename W::I ones = W::set16(1);
  opaque(ones);
  return madd_peak(iterations, W::set8(1),
                   [ones](typename W::I a, typename W::I b) { return W::madd(W::maddubs(a, b), ones); });
}
double int8_maddubs_expected(std::size_t iterations) {
  return start_sum(W::kMaddChains, W::kLanes) + double(W::kMaddChains) * W::kLanes * 4 * double(iterations);
}

// bf16 without a bf16 dot: a vector of bf16 pairs widened to two fp32 vectors (shift,
// mask), each feeding half of the FMA chains, as the kernels' tiles share one widened
// weight vector between the rows of a tile. The pair vector is made opaque every
// iteration, so the widening is really executed each time. Its checksum is the fp32
// FMA kernel's (+1 per lane per iteration).
double bf16_widened(std::size_t iterations) {
  typename W::F acc[W::kChains];
  for (int c = 0; c < W::kChains; ++c) acc[c] = W::lanes_from_f(c);
  typename W::I pairs = W::set32(0x3f803f80);  // bf16 1.0 in both halves
  typename W::F one = W::set_ps(1.0f);
  opaque(one);
  for (std::size_t i = 0; i < iterations; ++i) {
    opaque(pairs);
    const typename W::F lo = W::low_bf16(pairs), hi = W::high_bf16(pairs);
#pragma GCC unroll 16
    for (int c = 0; c < W::kChains; ++c) acc[c] = W::fma(c % 2 ? hi : lo, one, acc[c]);
  }
  return sum_lanes<float>(acc, W::kChains);
}
