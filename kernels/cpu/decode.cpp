#include "kernels/cpu/decode.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/lowp_tiles.hpp"

namespace roofaudit::kernels {
namespace {

// Rows into panels of lowp::kTileCols rows in 32-bit k-groups of `group` elements (zero
// past k and past the last row). Each thread fills and packs whole panels.
template <typename T, typename Fill>
void pack_rows(Panel& out, std::size_t rows, std::size_t k, std::size_t group, const Fill& fill, int threads,
               std::vector<std::int32_t>* row_sum) {
  constexpr std::size_t kCols = lowp::kTileCols;
  const std::size_t groups = (k + group - 1) / group, panels = (rows + kCols - 1) / kCols;
  out.assign(panels * groups * kCols, 0);
  if (row_sum) row_sum->assign(rows, 0);
#pragma omp parallel num_threads(threads)
  {
    std::vector<T> row(groups * group);
#pragma omp for schedule(static)
    for (std::size_t p = 0; p < panels; ++p)
      for (std::size_t c = 0; c < kCols && p * kCols + c < rows; ++c) {
        const std::size_t r = p * kCols + c;
        std::fill(row.begin(), row.end(), T(0));
        fill(r, row.data());
        if (row_sum) {
          std::int32_t sum = 0;
          for (std::size_t i = 0; i < k; ++i) sum += std::int32_t(row[i]);
          (*row_sum)[r] = sum;
        }
        for (std::size_t q = 0; q < groups; ++q) std::memcpy(&out[(p * groups + q) * kCols + c], &row[q * group], 4);
      }
  }
}

template <typename T, typename Fill>
void copy_rows(Panel& out, std::size_t rows, std::size_t k, const Fill& fill, int threads) {
  out.assign((rows * k * sizeof(T) + 3) / 4, 0);
  T* base = reinterpret_cast<T*>(out.data());
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t r = 0; r < rows; ++r) fill(r, base + r * k);
}

// The portable kernels: eight partial sums per dot product, which the compiler keeps in
// one vector register; rows split over threads, every activation vector per row, so each
// weight row is read from memory once per step.
void portable_int8(const std::int8_t* w, const float* row_scale, std::size_t rows, std::size_t k,
                   const std::int8_t* x, const float* x_scale, std::size_t batch, float* y, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int8_t* wr = w + r * k;
    for (std::size_t b = 0; b < batch; ++b) {
      const std::int8_t* xb = x + b * k;
      std::int32_t part[8] = {};
      std::size_t i = 0;
      for (; i + 8 <= k; i += 8)
        for (std::size_t l = 0; l < 8; ++l) part[l] += std::int32_t(wr[i + l]) * std::int32_t(xb[i + l]);
      std::int32_t dot = 0;
      for (; i < k; ++i) dot += std::int32_t(wr[i]) * std::int32_t(xb[i]);
      for (std::int32_t v : part) dot += v;
      y[b * rows + r] = float(dot) * row_scale[r] * x_scale[b];
    }
  }
}

void portable_bf16(const std::uint16_t* w, std::size_t rows, std::size_t k, const std::uint16_t* x, std::size_t batch,
                   float* y, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint16_t* wr = w + r * k;
    for (std::size_t b = 0; b < batch; ++b) {
      const std::uint16_t* xb = x + b * k;
      float part[8] = {};
      std::size_t i = 0;
      for (; i + 8 <= k; i += 8)
        for (std::size_t l = 0; l < 8; ++l) part[l] += bf16_to_float(wr[i + l]) * bf16_to_float(xb[i + l]);
      float dot = 0;
      for (; i < k; ++i) dot += bf16_to_float(wr[i]) * bf16_to_float(xb[i]);
      for (float v : part) dot += v;
      y[b * rows + r] = dot;
    }
  }
}

}  // namespace

bool decode_avx512_supported(DecodeType type) {
  return type == DecodeType::int8 ? lowp_gemm_supported_int8() : lowp_gemm_supported_bf16();
}

DecodeWeights DecodeWeights::int8(std::size_t rows, std::size_t k, const FillInt8& fill, std::vector<float> row_scale,
                                  DecodeKernel kernel, int threads) {
  if (rows == 0 || k == 0 || row_scale.size() != rows) throw std::invalid_argument("decode weights: bad shape");
  if (kernel == DecodeKernel::avx512 && !decode_avx512_supported(DecodeType::int8))
    throw std::invalid_argument("decode weights: this CPU lacks AVX512_VNNI");
  DecodeWeights w(DecodeType::int8, kernel, rows, k);
  w.row_scale_ = std::move(row_scale);
  if (kernel == DecodeKernel::avx512) pack_rows<std::int8_t>(w.packed_, rows, k, 4, fill, threads, &w.row_sum_);
  else copy_rows<std::int8_t>(w.packed_, rows, k, fill, threads);
  return w;
}

DecodeWeights DecodeWeights::bf16(std::size_t rows, std::size_t k, const FillBf16& fill, DecodeKernel kernel,
                                  int threads) {
  if (rows == 0 || k == 0) throw std::invalid_argument("decode weights: bad shape");
  if (kernel == DecodeKernel::avx512 && !decode_avx512_supported(DecodeType::bf16))
    throw std::invalid_argument("decode weights: this CPU lacks AVX512_BF16");
  DecodeWeights w(DecodeType::bf16, kernel, rows, k);
  if (kernel == DecodeKernel::avx512) pack_rows<std::uint16_t>(w.packed_, rows, k, 2, fill, threads, nullptr);
  else copy_rows<std::uint16_t>(w.packed_, rows, k, fill, threads);
  return w;
}

std::size_t DecodeWeights::weight_bytes() const {
  return type_ == DecodeType::int8 ? rows_ * k_ + rows_ * sizeof(float) : rows_ * k_ * 2;
}

std::string DecodeWeights::kernel_name() const {
  if (kernel_ == DecodeKernel::portable) return "portable C++";
  return type_ == DecodeType::int8 ? "vpdpbusd 8x32 tile" : "vdpbf16ps 8x32 tile";
}

void DecodeWeights::step_int8(const std::int8_t* x, const float* x_scale, std::size_t batch, float* y,
                              int threads) const {
  if (type_ != DecodeType::int8) throw std::invalid_argument("decode: int8 step on bf16 weights");
  if (kernel_ == DecodeKernel::avx512)
    lowp::decode_tiles_int8(packed_.data(), rows_, k_, row_sum_.data(), row_scale_.data(), x, x_scale, batch, y,
                            threads);
  else
    portable_int8(reinterpret_cast<const std::int8_t*>(packed_.data()), row_scale_.data(), rows_, k_, x, x_scale,
                  batch, y, threads);
}

void DecodeWeights::step_bf16(const std::uint16_t* x, std::size_t batch, float* y, int threads) const {
  if (type_ != DecodeType::bf16) throw std::invalid_argument("decode: bf16 step on int8 weights");
  if (kernel_ == DecodeKernel::avx512) lowp::decode_tiles_bf16(packed_.data(), rows_, k_, x, batch, y, threads);
  else portable_bf16(reinterpret_cast<const std::uint16_t*>(packed_.data()), rows_, k_, x, batch, y, threads);
}

}  // namespace roofaudit::kernels
