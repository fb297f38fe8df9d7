#pragma once
// Internal to kernels/cpu: the portable low-precision products. Rows split over threads
// in blocks of 4, vectors in blocks of 4: each weight and activation element loaded once
// feeds 4 products, so a batch costs far less than as many single vectors, and each row
// block is read from memory once per call.
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/bf16.hpp"

namespace roofaudit::kernels::lowp {

// finish(b, r, dot) for every vector b < batch of x (batch x k) and row r < rows of w.
template <typename Acc, typename W, typename X, typename Widen, typename Finish>
void portable_product(const W* w, std::size_t rows, std::size_t k, const X* x, std::size_t batch, const Widen& widen,
                      const Finish& finish, int threads) {
  constexpr std::size_t kR = 4, kB = 4;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t r0 = 0; r0 < rows; r0 += kR) {
    const std::size_t nr = rows - r0 < kR ? rows - r0 : kR;
    for (std::size_t b0 = 0; b0 < batch; b0 += kB) {
      const std::size_t nb = batch - b0 < kB ? batch - b0 : kB;
      Acc acc[kR][kB] = {};
      const W* wr[kR];
      const X* xb[kB];
      for (std::size_t r = 0; r < kR; ++r) wr[r] = w + (r0 + (r < nr ? r : 0)) * k;  // short blocks repeat a row
      for (std::size_t b = 0; b < kB; ++b) xb[b] = x + (b0 + (b < nb ? b : 0)) * k;
      for (std::size_t i = 0; i < k; ++i) {
        Acc wv[kR], xv[kB];
        for (std::size_t r = 0; r < kR; ++r) wv[r] = widen(wr[r][i]);
        for (std::size_t b = 0; b < kB; ++b) xv[b] = widen(xb[b][i]);
        for (std::size_t r = 0; r < kR; ++r)
          for (std::size_t b = 0; b < kB; ++b) acc[r][b] += wv[r] * xv[b];
      }
      for (std::size_t r = 0; r < nr; ++r)
        for (std::size_t b = 0; b < nb; ++b) finish(b0 + b, r0 + r, acc[r][b]);
    }
  }
}

template <typename X, typename Finish>
void portable_int8(const std::int8_t* w, std::size_t rows, std::size_t k, const X* x, std::size_t batch,
                   const Finish& finish, int threads) {
  portable_product<std::int32_t>(w, rows, k, x, batch, [](auto v) { return std::int32_t(v); }, finish, threads);
}

template <typename Finish>
void portable_bf16(const std::uint16_t* w, std::size_t rows, std::size_t k, const std::uint16_t* x, std::size_t batch,
                   const Finish& finish, int threads) {
  portable_product<float>(w, rows, k, x, batch, bf16_to_float, finish, threads);
}

}  // namespace roofaudit::kernels::lowp
