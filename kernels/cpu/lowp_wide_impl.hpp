// One definition of the widening low-precision products (see lowp_wide.hpp), included
// by one translation unit per ISA. The including file includes every header it needs,
// then switches the target with #pragma GCC target, defines ROOFAUDIT_WIDE_NS and a
// struct Vec (its vectors and the handful of instructions below), and includes this.
// Nothing here instantiates a library template, and the library headers it uses
// (<cstdlib>, <new>, <utility>) are included before the target switch, so no function
// compiled for one ISA can be picked by the linker for a caller built for another.

namespace roofaudit::kernels::lowp::ROOFAUDIT_WIDE_NS {

using I = Vec::I;
using F = Vec::F;
constexpr std::size_t kLanes = Vec::kLanes;
constexpr std::size_t kV = 2;                  // vectors per panel row of a tile
constexpr std::size_t kPanel = kV * kLanes;    // weight rows per panel
constexpr std::size_t kMr = Vec::kMr;          // activation vectors per tile
// k-groups per block: the block of one weight panel (8-16 KiB on AVX2) stays in L1 while
// every activation panel passes over it.
constexpr std::size_t kKc = 256;
// Software prefetch ahead of the weight stream at small batches, where the step is bound
// by memory: the AVX-512 tiles measured 83% of the read bandwidth on the hardware
// prefetchers alone and 92-96% with a prefetch 2-8 KiB ahead.
constexpr std::size_t kAheadBytes = 4096;

template <std::size_t N>
using ic = std::integral_constant<std::size_t, N>;

constexpr std::size_t kG = Vec::kInt8Group;  // int8 elements per k-group: 2 (i16 pairs) or 4 (byte quads)
// Quads (kG 4): whether the dot instruction takes the activations as unsigned bytes
// (vpdpbusd: u8 x s8, the default) or as signed ones (AArch64's sdot: s8 x s8). Activations
// of the other signedness go in with their top bit flipped (+-128), and each row's weight
// sum times 128 takes the offset back out.
template <typename V>
constexpr bool quads_signed() {
  if constexpr (requires { V::kSignedQuads; }) return V::kSignedQuads;
  else return false;
}
constexpr bool kQuadsSigned = quads_signed<Vec>();
// bf16: whether Vec has a bf16 pair-dot instruction (AArch64's bfdot): activations then stay
// bf16 pairs and each fp32 lane gains a pair of products per instruction; otherwise both are
// widened to fp32 and run FMAs.
template <typename V>
constexpr bool bf16_pair_dot() {
  if constexpr (requires { V::kBf16PairDot; }) return V::kBf16PairDot;
  else return false;
}
constexpr bool kBf16Dot = bf16_pair_dot<Vec>();
// Matrix tiles (AArch64's SMMLA / USMMLA / BFMMLA): Vec::kMmla. One instruction multiplies
// a pair of activation vectors by a pair of weight rows over 8 bytes of k (8 int8 or 4
// bf16) into a 2 x 2 block of the result. Both sides are packed in 8-byte groups: weight
// rows 2j and 2j + 1 of a panel side by side, activation vectors 2i and 2i + 1 likewise.
template <typename V>
constexpr bool matrix_tiles() {
  if constexpr (requires { V::kMmla; }) return V::kMmla;
  else return false;
}
constexpr bool kMmla = matrix_tiles<Vec>();

// One M x kPanel tile over `groups` k-groups. w: the panel's first group (kPanel x kG
// bytes per group); x: kMr words per group: (x[2q] | x[2q+1] << 16) as 16-bit integers,
// or the quad x[4q..4q+3] as unsigned bytes. out (row stride kPanel) is overwritten, or
// added to when `add`.
template <std::size_t M, typename V = Vec>
void tile_int8(const std::int8_t* w, const std::uint32_t* x, std::size_t groups, std::int32_t* out, bool add) {
  if constexpr (!matrix_tiles<V>()) {
  I acc[M][kV];
#pragma GCC unroll 16
  for (std::size_t i = 0; i < M; ++i)
#pragma GCC unroll 2
    for (std::size_t v = 0; v < kV; ++v) acc[i][v] = Vec::zero_i();
#pragma GCC unroll 2
  for (std::size_t q = 0; q < groups; ++q) {
    const std::int8_t* wq = w + q * kPanel * kG;
    Vec::prefetch(wq + kAheadBytes);
    I wv[kV];
#pragma GCC unroll 2
    for (std::size_t v = 0; v < kV; ++v) wv[v] = V::load_int8(wq + v * kLanes * kG);
#pragma GCC unroll 16
    for (std::size_t i = 0; i < M; ++i) {
      const I b = Vec::bcast_i(x[q * kMr + i]);
#pragma GCC unroll 2
      for (std::size_t v = 0; v < kV; ++v) acc[i][v] = V::dot_int8(acc[i][v], wv[v], b);
    }
  }
#pragma GCC unroll 16
  for (std::size_t i = 0; i < M; ++i)
#pragma GCC unroll 2
    for (std::size_t v = 0; v < kV; ++v) {
      std::int32_t* p = out + i * kPanel + v * kLanes;
      Vec::store_i(p, add ? Vec::add_i(Vec::load_i(p), acc[i][v]) : acc[i][v]);
    }
  }
}

// The bf16 tile: w: kPanel uint32 pairs per group; x: kMr x 2 floats per group. The
// even and odd element of each pair go to separate accumulators, and at one vector two
// groups at a time too: at small M the FMA latency (4 cycles), not the memory, would
// otherwise bound the loop.
template <std::size_t M>
void tile_bf16(const std::uint32_t* w, const float* x, std::size_t groups, float* out, bool add) {
  constexpr std::size_t kSets = M == 1 ? 4 : M == 2 ? 2 : 1;
  F acc[kSets][M][kV];
#pragma GCC unroll 4
  for (std::size_t s = 0; s < kSets; ++s)
#pragma GCC unroll 16
    for (std::size_t i = 0; i < M; ++i)
#pragma GCC unroll 2
      for (std::size_t v = 0; v < kV; ++v) acc[s][i][v] = Vec::zero_f();
  auto group = [&](auto even, auto odd, std::size_t q) {
    constexpr std::size_t E = decltype(even)::value, O = decltype(odd)::value;
    const std::uint32_t* wq = w + q * kPanel;
    Vec::prefetch(wq + kAheadBytes / 4);
    F we[kV], wo[kV];
#pragma GCC unroll 2
    for (std::size_t v = 0; v < kV; ++v) {
      const I raw = Vec::load_u32(wq + v * kLanes);
      we[v] = Vec::low_bf16(raw);
      wo[v] = Vec::high_bf16(raw);
    }
#pragma GCC unroll 16
    for (std::size_t i = 0; i < M; ++i) {
      const F be = Vec::bcast_f(x[(q * kMr + i) * 2]), bo = Vec::bcast_f(x[(q * kMr + i) * 2 + 1]);
#pragma GCC unroll 2
      for (std::size_t v = 0; v < kV; ++v) {
        acc[E][i][v] = Vec::fma(we[v], be, acc[E][i][v]);
        acc[O][i][v] = Vec::fma(wo[v], bo, acc[O][i][v]);
      }
    }
  };
  std::size_t q = 0;
  if constexpr (kSets == 4)
    for (; q + 2 <= groups; q += 2) {
      group(ic<0>{}, ic<1>{}, q);
      group(ic<2>{}, ic<3>{}, q + 1);
    }
  for (; q < groups; ++q) group(ic<0>{}, ic<(kSets > 1 ? 1 : 0)>{}, q);
#pragma GCC unroll 16
  for (std::size_t i = 0; i < M; ++i)
#pragma GCC unroll 2
    for (std::size_t v = 0; v < kV; ++v) {
      F sum = acc[0][i][v];
#pragma GCC unroll 4
      for (std::size_t s = 1; s < kSets; ++s) sum = Vec::add_f(sum, acc[s][i][v]);
      float* p = out + i * kPanel + v * kLanes;
      Vec::store_f(p, add ? Vec::add_f(Vec::load_f(p), sum) : sum);
    }
}

// The bf16 tile on a pair-dot instruction: w: kPanel uint32 pairs per group; x: kMr uint32
// pairs per group (each vector's two bf16 of the group). Two accumulator sets at small M,
// for the same latency reason as above.
template <std::size_t M, typename V = Vec>
void tile_bf16_dot(const std::uint32_t* w, const std::uint32_t* x, std::size_t groups, float* out, bool add) {
  if constexpr (kBf16Dot) {
    constexpr std::size_t kSets = M <= 2 ? 2 : 1;
    F acc[kSets][M][kV];
#pragma GCC unroll 2
    for (std::size_t s = 0; s < kSets; ++s)
#pragma GCC unroll 16
      for (std::size_t i = 0; i < M; ++i)
#pragma GCC unroll 2
        for (std::size_t v = 0; v < kV; ++v) acc[s][i][v] = Vec::zero_f();
    for (std::size_t q = 0; q < groups; ++q) {
      const std::uint32_t* wq = w + q * kPanel;
      Vec::prefetch(wq + kAheadBytes / 4);
      I wv[kV];
#pragma GCC unroll 2
      for (std::size_t v = 0; v < kV; ++v) wv[v] = Vec::load_u32(wq + v * kLanes);
      const std::size_t s = kSets > 1 ? q % kSets : 0;
#pragma GCC unroll 16
      for (std::size_t i = 0; i < M; ++i) {
        const I b = Vec::bcast_i(x[q * kMr + i]);
#pragma GCC unroll 2
        for (std::size_t v = 0; v < kV; ++v) acc[s][i][v] = V::dot_bf16(acc[s][i][v], wv[v], b);
      }
    }
#pragma GCC unroll 16
    for (std::size_t i = 0; i < M; ++i)
#pragma GCC unroll 2
      for (std::size_t v = 0; v < kV; ++v) {
        F sum = acc[0][i][v];
        if constexpr (kSets > 1) sum = Vec::add_f(sum, acc[1][i][v]);
        float* p = out + i * kPanel + v * kLanes;
        Vec::store_f(p, add ? Vec::add_f(Vec::load_f(p), sum) : sum);
      }
  }
}

// The matrix tile: M vectors (rounded up to pairs; the padding vector is zero) by the
// panel's kPanel rows over `groups` 8-byte groups. kKind: 0 int8 with signed activations
// (smmla), 1 int8 with unsigned ones (usmmla), 2 bf16 (bfmmla). w: the panel's first group
// (kPanel x 8 bytes per group); x: kMr 8-byte words per group. out as the other tiles.
template <std::size_t M, int kKind, typename V = Vec>
void tile_mmla(const void* wv, const std::uint64_t* x, std::size_t groups, void* out, bool add) {
  if constexpr (matrix_tiles<V>()) {
    constexpr std::size_t P = (M + 1) / 2, R = kPanel / 2;
    static_assert(kPanel % 2 == 0 && kMr % 2 == 0);
    using A = decltype(V::template mmla_zero<kKind>());
    const auto* w = static_cast<const unsigned char*>(wv);
    A acc[P][R];
#pragma GCC unroll 8
    for (std::size_t p = 0; p < P; ++p)
#pragma GCC unroll 8
      for (std::size_t r = 0; r < R; ++r) acc[p][r] = V::template mmla_zero<kKind>();
    for (std::size_t q = 0; q < groups; ++q) {
      const unsigned char* wq = w + q * kPanel * 8;
      V::prefetch(wq + kAheadBytes);
      typename V::I wp[R];
#pragma GCC unroll 8
      for (std::size_t r = 0; r < R; ++r) wp[r] = V::load_16(wq + r * 16);
#pragma GCC unroll 8
      for (std::size_t p = 0; p < P; ++p) {
        const typename V::I xp = V::load_16(x + q * kMr + 2 * p);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < R; ++r) acc[p][r] = V::template mmla<kKind>(acc[p][r], xp, wp[r]);
      }
    }
    using Out = std::conditional_t<kKind == 2, float, std::int32_t>;
#pragma GCC unroll 8
    for (std::size_t p = 0; p < P; ++p)
#pragma GCC unroll 8
      for (std::size_t r = 0; r < R; ++r) {
        Out* row0 = static_cast<Out*>(out) + 2 * p * kPanel + 2 * r;
        V::store_2x2(row0, row0 + kPanel, acc[p][r], add);
      }
  }
}
template <std::size_t M>
void tile_mmla_s8(const std::int8_t* w, const std::uint64_t* x, std::size_t groups, std::int32_t* out, bool add) {
  tile_mmla<M, 0>(w, x, groups, out, add);
}
template <std::size_t M>
void tile_mmla_u8(const std::int8_t* w, const std::uint64_t* x, std::size_t groups, std::int32_t* out, bool add) {
  tile_mmla<M, 1>(w, x, groups, out, add);
}
template <std::size_t M>
void tile_mmla_bf16(const std::uint16_t* w, const std::uint64_t* x, std::size_t groups, float* out, bool add) {
  tile_mmla<M, 2>(w, x, groups, out, add);
}

using Int8Tile = void (*)(const std::int8_t*, const std::uint32_t*, std::size_t, std::int32_t*, bool);
using MmlaInt8Tile = void (*)(const std::int8_t*, const std::uint64_t*, std::size_t, std::int32_t*, bool);
using MmlaBf16Tile = void (*)(const std::uint16_t*, const std::uint64_t*, std::size_t, float*, bool);
using Bf16Tile = void (*)(const std::uint32_t*, const float*, std::size_t, float*, bool);
using Bf16DotTile = void (*)(const std::uint32_t*, const std::uint32_t*, std::size_t, float*, bool);
template <std::size_t... N>
struct Tiles {
  static constexpr Int8Tile int8[] = {tile_int8<N + 1>...};
  static constexpr Bf16Tile bf16[] = {tile_bf16<N + 1>...};
  static constexpr Bf16DotTile bf16_dot[] = {tile_bf16_dot<N + 1>...};
  static constexpr MmlaInt8Tile mmla_s8[] = {tile_mmla_s8<N + 1>...};
  static constexpr MmlaInt8Tile mmla_u8[] = {tile_mmla_u8<N + 1>...};
  static constexpr MmlaBf16Tile mmla_bf16[] = {tile_mmla_bf16<N + 1>...};
};
template <std::size_t... N>
Tiles<N...> tiles_of(std::index_sequence<N...>);
using AllTiles = decltype(tiles_of(std::make_index_sequence<kMr>{}));

// Activations into panels of kMr vectors: for each k-group the word of each vector in
// turn (a pair of 16-bit integers, or a quad of bytes, top bit flipped where their
// signedness is not the dot instruction's: see kQuadsSigned). Vectors past `batch` and
// elements past k are zero. bf16 activations for a pair-dot take the same shape.
template <typename T>
const std::uint32_t* pack_int8_activations(const T* x, std::size_t batch, std::size_t k) {
  constexpr std::size_t kG = sizeof(T) == 2 ? 2 : lowp::ROOFAUDIT_WIDE_NS::kG;  // bf16: pairs
  const std::size_t groups = (k + kG - 1) / kG, panels = (batch + kMr - 1) / kMr;
  thread_local ScratchBuffer scratch;
  auto* out = static_cast<std::uint32_t*>(scratch.get(panels * groups * kMr * 4));
  constexpr bool kSigned = T(-1) < T(0);
  for (std::size_t b = 0; b < panels * kMr; ++b) {
    std::uint32_t* dst = out + (b / kMr) * groups * kMr + b % kMr;
    for (std::size_t q = 0; q < groups; ++q) {
      std::uint32_t word = 0;
      if (b < batch)
        for (std::size_t e = 0; e < kG; ++e) {
          const T v = kG * q + e < k ? x[b * k + kG * q + e] : T(0);
          if constexpr (kG == 2 || sizeof(T) == 2) word |= std::uint32_t(std::uint16_t(v)) << (16 * e);
          else word |= std::uint32_t(std::uint8_t(kSigned != kQuadsSigned ? std::uint8_t(v) ^ 0x80u : std::uint8_t(v))) << (8 * e);
        }
      dst[q * kMr] = word;
    }
  }
  return out;
}

// Activations for the matrix tiles: per panel of kMr vectors and per group, each vector's
// 8 bytes of k in turn (8 int8 or 4 bf16, zero past k; vectors past `batch` zero).
template <typename T>
const std::uint64_t* pack_mmla_activations(const T* x, std::size_t batch, std::size_t k) {
  constexpr std::size_t E = 8 / sizeof(T);
  const std::size_t groups = (k + E - 1) / E, panels = (batch + kMr - 1) / kMr;
  thread_local ScratchBuffer scratch;
  auto* out = static_cast<std::uint64_t*>(scratch.get(panels * groups * kMr * 8));
  for (std::size_t b = 0; b < panels * kMr; ++b) {
    std::uint64_t* dst = out + (b / kMr) * groups * kMr + b % kMr;
    for (std::size_t q = 0; q < groups; ++q) {
      std::uint64_t word = 0;
      if (b < batch) std::memcpy(&word, x + b * k + E * q, (k - E * q < E ? k - E * q : E) * sizeof(T));
      dst[q * kMr] = word;
    }
  }
  return out;
}

const float* pack_bf16_activations(const std::uint16_t* x, std::size_t batch, std::size_t k) {
  const std::size_t groups = (k + 1) / 2, panels = (batch + kMr - 1) / kMr;
  thread_local ScratchBuffer scratch;
  auto* out = static_cast<float*>(scratch.get(panels * groups * kMr * 2 * 4));
  for (std::size_t b = 0; b < panels * kMr; ++b) {
    float* dst = out + ((b / kMr) * groups * kMr + b % kMr) * 2;
    for (std::size_t q = 0; q < groups; ++q)
      for (std::size_t e = 0; e < 2; ++e)
        dst[q * kMr * 2 + e] = b < batch && 2 * q + e < k ? bf16_to_float(x[b * k + 2 * q + e]) : 0.0f;
  }
  return out;
}

// Every thread takes whole weight panels in order, so each streams its own contiguous
// part of the weights once per call; per panel, every activation panel's tile
// accumulates over blocks of kKc groups, then `finish(b, r, value)` writes each result.
// wstride / xstride: weight and activation elements per group and row / vector.
template <typename Acc, typename WT, typename XT, typename Tile, typename Finish>
void run_panels(const WT* w, std::size_t wstride, std::size_t rows, std::size_t groups, const XT* xp,
                std::size_t xstride, std::size_t batch, const Tile* tiles, const Finish& finish, int threads) {
  const std::size_t m_panels = (batch + kMr - 1) / kMr, n_panels = (rows + kPanel - 1) / kPanel;
  // Each thread's accumulators, allocated before the region: a failed allocation throws to
  // the caller (an exception cannot leave an OpenMP region, and a null one cannot be used).
  const std::size_t acc_elems = (m_panels * kMr * kPanel * sizeof(Acc) + 63) / 64 * 64 / sizeof(Acc);
  Acc* const accs = static_cast<Acc*>(std::aligned_alloc(64, std::size_t(threads > 0 ? threads : 1) * acc_elems * sizeof(Acc)));
  if (!accs) throw std::bad_alloc();
#pragma omp parallel num_threads(threads)
  {
    Acc* acc = accs + std::size_t(omp_get_thread_num()) * acc_elems;
#pragma omp for schedule(static)
    for (std::size_t jp = 0; jp < n_panels; ++jp) {
      for (std::size_t q0 = 0; q0 < groups; q0 += kKc) {
        const std::size_t qn = groups - q0 < kKc ? groups - q0 : kKc;
        const WT* w_block = w + (jp * groups + q0) * kPanel * wstride;
        for (std::size_t ip = 0; ip < m_panels; ++ip) {
          const std::size_t vectors = batch - ip * kMr < kMr ? batch - ip * kMr : kMr;
          tiles[vectors - 1](w_block, xp + (ip * groups + q0) * kMr * xstride, qn, acc + ip * kMr * kPanel, q0 > 0);
        }
      }
      const std::size_t r0 = jp * kPanel, cols = rows - r0 < kPanel ? rows - r0 : kPanel;
      for (std::size_t b = 0; b < batch; ++b) {
        const Acc* a = acc + (b / kMr) * kMr * kPanel + (b % kMr) * kPanel;
        for (std::size_t c = 0; c < cols; ++c) finish(b, r0 + c, a[c]);
      }
    }
  }
  std::free(accs);
}

// Each row's weight sum, read back from the panels (zero padding adds nothing).
const std::int32_t* packed_row_sums(const std::int8_t* w, std::size_t rows, std::size_t groups) {
  thread_local ScratchBuffer scratch;
  auto* sums = static_cast<std::int32_t*>(scratch.get(rows * sizeof(std::int32_t)));
  for (std::size_t r = 0; r < rows; ++r) {
    std::int32_t s = 0;
    const std::int8_t* panel = w + (r / kPanel) * groups * kPanel * kG + (r % kPanel) * kG;
    for (std::size_t q = 0; q < groups; ++q)
      for (std::size_t e = 0; e < kG; ++e) s += panel[q * kPanel * kG + e];
    sums[r] = s;
  }
  return sums;
}

// Runs the product's tiles and hands each result to `finish(b, r, dot)`.
template <typename Finish>
void run_int8(const std::int8_t* w, std::size_t rows, std::size_t k, const void* x, bool x_unsigned,
              std::size_t batch, const Finish& finish, int threads) {
  const std::size_t groups = (k + kG - 1) / kG;
  if constexpr (kMmla) {
    const std::uint64_t* xp = x_unsigned ? pack_mmla_activations(static_cast<const std::uint8_t*>(x), batch, k)
                                         : pack_mmla_activations(static_cast<const std::int8_t*>(x), batch, k);
    run_panels<std::int32_t>(w, kG, rows, groups, xp, 1, batch, x_unsigned ? AllTiles::mmla_u8 : AllTiles::mmla_s8,
                             finish, threads);
  } else {
    const std::uint32_t* xp = x_unsigned ? pack_int8_activations(static_cast<const std::uint8_t*>(x), batch, k)
                                         : pack_int8_activations(static_cast<const std::int8_t*>(x), batch, k);
    run_panels<std::int32_t>(w, kG, rows, groups, xp, 1, batch, AllTiles::int8, finish, threads);
  }
}

void product_int8(const std::int8_t* w, std::size_t rows, std::size_t k, const void* x, bool x_unsigned,
                  std::size_t batch, const Int8Out& out, int threads) {
  const std::size_t groups = (k + kG - 1) / kG;
  // Quads whose signedness was flipped ran as x + 128 (signed x, unsigned dot) or x - 128
  // (unsigned x, signed dot): the row sums take the offset back out. A caller that packed
  // no row sums (the GEMM) gets them computed here from the packed weights.
  const bool offset = kG == 4 && x_unsigned == kQuadsSigned;
  const std::int32_t* row_sum = out.row_sum;
  if (offset && !row_sum) row_sum = packed_row_sums(w, rows, groups);
  const std::int32_t sign = kQuadsSigned ? 1 : -1;
  auto dot_of = [&](std::size_t r, std::int32_t dot) { return offset ? dot + sign * 128 * row_sum[r] : dot; };
  if (out.y)
    run_int8(
        w, rows, k, x, x_unsigned, batch,
        [&](std::size_t b, std::size_t r, std::int32_t dot) {
          out.y[b * out.ld + r] = float(dot_of(r, dot)) * (out.row_scale ? out.row_scale[r] : 1.0f) *
                                  (out.x_scale ? out.x_scale[b] : 1.0f);
        },
        threads);
  else
    run_int8(
        w, rows, k, x, x_unsigned, batch,
        [&](std::size_t b, std::size_t r, std::int32_t dot) { out.c[b * out.ld + r] = dot_of(r, dot); }, threads);
}

// w: the packed bf16 weights (2-element groups as uint32 pairs; 4-element groups for the
// matrix tiles).
void product_bf16(const std::uint32_t* w, std::size_t rows, std::size_t k, const std::uint16_t* x, std::size_t batch,
                  float* y, std::size_t ldy, int threads) {
  auto finish = [&](std::size_t b, std::size_t r, float dot) { y[b * ldy + r] = dot; };
  if constexpr (kMmla)
    run_panels<float>(reinterpret_cast<const std::uint16_t*>(w), 4, rows, (k + 3) / 4, pack_mmla_activations(x, batch, k),
                      1, batch, AllTiles::mmla_bf16, finish, threads);
  else if constexpr (kBf16Dot)
    run_panels<float>(w, 1, rows, (k + 1) / 2, pack_int8_activations(x, batch, k), 1, batch, AllTiles::bf16_dot,
                      finish, threads);
  else
    run_panels<float>(w, 1, rows, (k + 1) / 2, pack_bf16_activations(x, batch, k), 2, batch, AllTiles::bf16, finish,
                      threads);
}

}  // namespace roofaudit::kernels::lowp::ROOFAUDIT_WIDE_NS
