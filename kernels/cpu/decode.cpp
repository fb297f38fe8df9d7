#include "kernels/cpu/decode.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <stdexcept>

#include "kernels/cpu/gemm_lowp.hpp"
#include "kernels/cpu/lowp_amx.hpp"
#include "kernels/cpu/lowp_portable.hpp"
#include "kernels/cpu/lowp_tiles.hpp"
#include "kernels/cpu/lowp_wide.hpp"

namespace roofaudit::kernels {
namespace {

// Rows into panels of `panel` rows in k-groups of `group` elements (zero past k and past
// the last row); portable (panel 1, group k) keeps rows in order. Each thread fills and
// packs whole panels. row_sum: the sum of each row's weights (the AVX512_VNNI path's
// unsigned-offset correction).
template <typename T, typename Fill>
void pack_rows(Panel& out, std::size_t rows, std::size_t k, std::size_t group, std::size_t panel, const Fill& fill,
               int threads, std::vector<std::int32_t>* row_sum) {
  const std::size_t groups = (k + group - 1) / group, panels = (rows + panel - 1) / panel;
  const std::size_t group_bytes = group * sizeof(T);
  out.assign((panels * groups * panel * group_bytes + 3) / 4, 0);
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (row_sum) row_sum->assign(rows, 0);
  // One row of scratch per thread, allocated before the region: a bad_alloc must reach the
  // caller, and an exception cannot leave an OpenMP region.
  std::vector<T> scratch(std::size_t(std::max(threads, 1)) * groups * group);
#pragma omp parallel num_threads(threads)
  {
    T* row = &scratch[std::size_t(omp_get_thread_num()) * groups * group];
#pragma omp for schedule(static)
    for (std::size_t p = 0; p < panels; ++p)
      for (std::size_t c = 0; c < panel && p * panel + c < rows; ++c) {
        const std::size_t r = p * panel + c;
        std::fill(row, row + groups * group, T(0));
        fill(r, row);
        if (row_sum) {
          std::int32_t sum = 0;
          for (std::size_t i = 0; i < k; ++i) sum += std::int32_t(row[i]);
          (*row_sum)[r] = sum;
        }
        for (std::size_t q = 0; q < groups; ++q)
          std::memcpy(&bytes[((p * groups + q) * panel + c) * group_bytes], &row[q * group], group_bytes);
      }
  }
}

template <typename T, typename Fill>
void pack_for(DecodeKernel kernel, Panel& out, std::size_t rows, std::size_t k, const Fill& fill, int threads,
              std::vector<std::int32_t>* row_sum) {
  switch (kernel) {
#if ROOFAUDIT_X86
    case DecodeKernel::amx:         // the same packing: its tiles read it directly
    case DecodeKernel::avx512_dot:  // 32-bit groups: 4 int8 or 2 bf16
      return pack_rows<T>(out, rows, k, 4 / sizeof(T), lowp::kTileCols, fill, threads, row_sum);
#endif
    case DecodeKernel::portable: return pack_rows<T>(out, rows, k, k, 1, fill, threads, nullptr);
    default: {
      const auto& wide = lowp::wide_kernels(kernel);
      const bool quads = sizeof(T) == 1 && wide.int8_group == 4;  // vpdpbusd, sdot: 4 bytes and the row sums
      return pack_rows<T>(out, rows, k, sizeof(T) == 1 ? wide.int8_group : wide.bf16_group, wide.panel, fill, threads,
                          quads ? row_sum : nullptr);
    }
  }
}

}  // namespace

DecodeWeights DecodeWeights::int8(std::size_t rows, std::size_t k, const FillInt8& fill, std::vector<float> row_scale,
                                  DecodeKernel kernel, int threads) {
  if (rows == 0 || k == 0 || row_scale.size() != rows) throw std::invalid_argument("decode weights: bad shape");
  require_lowp_kernel(kernel, DecodeType::int8, "decode weights");
  DecodeWeights w(DecodeType::int8, kernel, rows, k);
  w.row_scale_ = std::move(row_scale);
  pack_for<std::int8_t>(kernel, w.packed_, rows, k, fill, threads, &w.row_sum_);
  return w;
}

DecodeWeights DecodeWeights::bf16(std::size_t rows, std::size_t k, const FillBf16& fill, DecodeKernel kernel,
                                  int threads) {
  if (rows == 0 || k == 0) throw std::invalid_argument("decode weights: bad shape");
  require_lowp_kernel(kernel, DecodeType::bf16, "decode weights");
  DecodeWeights w(DecodeType::bf16, kernel, rows, k);
  pack_for<std::uint16_t>(kernel, w.packed_, rows, k, fill, threads, nullptr);
  return w;
}

std::size_t DecodeWeights::weight_bytes() const {
  return type_ == DecodeType::int8 ? rows_ * k_ + rows_ * sizeof(float) : rows_ * k_ * 2;
}

std::string DecodeWeights::kernel_name() const { return lowp_kernel_name(kernel_, type_); }

void DecodeWeights::step_int8(const std::int8_t* x, const float* x_scale, std::size_t batch, float* y,
                              int threads) const {
  if (type_ != DecodeType::int8) throw std::invalid_argument("decode: int8 step on bf16 weights");
  lowp::Int8Out out;  // scaled outputs, y[b * rows + r]
  out.y = y;
  out.row_scale = row_scale_.data();
  out.x_scale = x_scale;
  out.ld = rows_;
  out.row_sum = row_sum_.data();
  switch (kernel_) {
#if ROOFAUDIT_X86
    case DecodeKernel::amx:
      if (lowp::amx_shape_ok(k_, batch, false))
        return lowp::amx_int8(packed_.data(), rows_, k_, x, false, batch, out, threads);
      [[fallthrough]];
    case DecodeKernel::avx512_dot:
      return lowp::decode_tiles_int8(packed_.data(), rows_, k_, row_sum_.data(), row_scale_.data(), x, x_scale, batch,
                                     y, threads);
#endif
    case DecodeKernel::portable:
      return lowp::portable_int8(
          reinterpret_cast<const std::int8_t*>(packed_.data()), rows_, k_, x, batch,
          [&](std::size_t b, std::size_t r, std::int32_t dot) {
            y[b * rows_ + r] = float(dot) * row_scale_[r] * x_scale[b];
          },
          threads);
    default: {
      lowp::wide_kernels(kernel_).int8(reinterpret_cast<const std::int8_t*>(packed_.data()), rows_, k_, x, false, batch, out,
                         threads);
    }
  }
}

void DecodeWeights::step_bf16(const std::uint16_t* x, std::size_t batch, float* y, int threads) const {
  if (type_ != DecodeType::bf16) throw std::invalid_argument("decode: bf16 step on int8 weights");
  switch (kernel_) {
#if ROOFAUDIT_X86
    case DecodeKernel::amx:
      if (lowp::amx_shape_ok(k_, batch, true)) return lowp::amx_bf16(packed_.data(), rows_, k_, x, batch, y, rows_, threads);
      [[fallthrough]];
    case DecodeKernel::avx512_dot: return lowp::decode_tiles_bf16(packed_.data(), rows_, k_, x, batch, y, threads);
#endif
    case DecodeKernel::portable:
      return lowp::portable_bf16(
          reinterpret_cast<const std::uint16_t*>(packed_.data()), rows_, k_, x, batch,
          [&](std::size_t b, std::size_t r, float dot) { y[b * rows_ + r] = dot; }, threads);
    default: lowp::wide_kernels(kernel_).bf16(packed_.data(), rows_, k_, x, batch, y, rows_, threads);
  }
}

KernelChoice fastest_decode_kernel(DecodeType type, int threads) {
  static std::mutex lock;
  static std::map<std::tuple<DecodeType, std::string, int>, KernelChoice> chosen;
  const std::scoped_lock guard(lock);
  const auto key = std::make_tuple(type, isa_cap(), threads);
  if (auto it = chosen.find(key); it != chosen.end()) return it->second;
  KernelChoice choice;
  std::vector<DecodeKernel> candidates = lowp_kernels(type, cpu_features());
  if (candidates.size() > 1) candidates.pop_back();  // portable is never the fastest where another runs
  choice.kernel = candidates.front();
  if (candidates.size() > 1) {
    constexpr std::size_t rows = 512, k = 2048, batch = 64;
    std::vector<std::int8_t> x8(batch * k, 3);
    std::vector<std::uint16_t> x16(batch * k, 0x3f80);
    std::vector<float> xs(batch, 1.0f), y(batch * rows);
    double best = 0;
    for (DecodeKernel kernel : candidates) {
      const DecodeWeights w =
          type == DecodeType::int8
              ? DecodeWeights::int8(
                    rows, k, [](std::size_t r, std::int8_t* d) { std::fill_n(d, k, std::int8_t(r % 7 - 3)); },
                    std::vector<float>(rows, 1.0f), kernel, threads)
              : DecodeWeights::bf16(
                    rows, k, [](std::size_t, std::uint16_t* d) { std::fill_n(d, k, std::uint16_t(0x3f80)); }, kernel,
                    threads);
      double fastest = 1e30;
      for (int rep = 0; rep < 8; ++rep) {  // the first warms caches and clocks; a shared machine needs the rest
        const auto t0 = std::chrono::steady_clock::now();
        if (type == DecodeType::int8) w.step_int8(x8.data(), xs.data(), batch, y.data(), threads);
        else w.step_bf16(x16.data(), batch, y.data(), threads);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (rep > 0) fastest = std::min(fastest, s);
      }
      choice.seconds.emplace_back(kernel, fastest);
      if (best == 0 || fastest < best) {
        best = fastest;
        choice.kernel = kernel;
      }
    }
  }
  chosen[key] = choice;
  return choice;
}

}  // namespace roofaudit::kernels
