#pragma once
// Decode-shaped products: a batch of B activation vectors times a weight matrix far
// larger than the caches, y = x . W^T, as one linear layer of a decode step. The weights
// are packed once (they are static while a model serves); every step then streams all
// of them, so at small B the step is bound by memory bandwidth and at large B by the
// dot-product units.
//   int8: signed int8 weights with one fp32 scale per row, signed int8 activations with
//         one fp32 scale per vector: y[b][r] = x_scale[b] * row_scale[r] * (x[b] . w[r]).
//   bf16: bf16 weights and activations, products summed in fp32.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu/aligned.hpp"
#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/lowp.hpp"

namespace roofaudit::kernels {

using DecodeType = LowpType;
// Which code runs the product: see lowp.hpp.
using DecodeKernel = LowpKernel;

class DecodeWeights {
 public:
  // Throw std::invalid_argument when the CPU (within ROOFAUDIT_MAX_ISA) cannot run `kernel`.
  // fill(row, dst) writes the k weights of one row (bf16 as its 16 bits). Called once per
  // row, from several threads at once.
  using FillInt8 = std::function<void(std::size_t row, std::int8_t* dst)>;
  using FillBf16 = std::function<void(std::size_t row, std::uint16_t* dst)>;

  static DecodeWeights int8(std::size_t rows, std::size_t k, const FillInt8& fill, std::vector<float> row_scale,
                            DecodeKernel kernel, int threads);
  static DecodeWeights bf16(std::size_t rows, std::size_t k, const FillBf16& fill, DecodeKernel kernel, int threads);

  DecodeType type() const { return type_; }
  DecodeKernel kernel() const { return kernel_; }
  std::size_t rows() const { return rows_; }
  std::size_t k() const { return k_; }
  // Bytes a step streams: every weight, plus the row scales of int8.
  std::size_t weight_bytes() const;
  // The instruction the product runs on, for the record.
  std::string kernel_name() const;

  // y: batch x rows, row-major. Throws std::invalid_argument on a type mismatch.
  void step_int8(const std::int8_t* x, const float* x_scale, std::size_t batch, float* y, int threads) const;
  void step_bf16(const std::uint16_t* x, std::size_t batch, float* y, int threads) const;

 private:
  DecodeWeights(DecodeType type, DecodeKernel kernel, std::size_t rows, std::size_t k)
      : type_(type), kernel_(kernel), rows_(rows), k_(k) {}
  DecodeType type_;
  DecodeKernel kernel_;
  std::size_t rows_, k_;
  Panel packed_;                   // panels of lowp_panel_rows(kernel) rows in k-groups; portable: rows in order
  std::vector<float> row_scale_;   // int8
  std::vector<std::int32_t> row_sum_;  // int8, avx512_dot: sum of each row's weights
};

// The kernel this CPU runs `type` fastest on `threads` threads, within ROOFAUDIT_MAX_ISA:
// where it has several (a dot instruction and a widening path), each is timed on a small
// compute-bound step (512 rows x 2048, 64 vectors, in cache; a few milliseconds) and the
// fastest kept for the process. Instruction tables do not decide this: vdpbf16ps zmm
// measured half the widened fp32 FMA rate on one Xeon and twice it elsewhere.
struct KernelChoice {
  DecodeKernel kernel;
  std::vector<std::pair<DecodeKernel, double>> seconds;  // each candidate's best step
};
KernelChoice fastest_decode_kernel(DecodeType type, int threads);


}  // namespace roofaudit::kernels
