// The collective checks: each GPU recomputes what its output must hold from the fill
// formula of every rank's input and counts the words that differ.
#include "kernels/cuda/kernels.hpp"

namespace roofaudit::kernels::cuda {
namespace {

__global__ void collective_kernel(Collective kind, const std::uint32_t* out, std::uint64_t words, int ranks, int rank,
                                  std::uint32_t seed, unsigned long long* bad) {
  unsigned long long wrong = 0;
  const std::uint64_t per_rank = words / std::uint64_t(ranks);
  for (std::uint64_t i = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x; i < words;
       i += std::uint64_t(gridDim.x) * blockDim.x) {
    std::uint32_t want = 0;
    if (kind == Collective::all_gather) {
      const std::uint64_t q = i / per_rank;
      want = fill_word(std::uint32_t(i - q * per_rank), seed + std::uint32_t(q));
    } else {
      const std::uint64_t index = kind == Collective::all_reduce ? i : std::uint64_t(rank) * words + i;
      for (int q = 0; q < ranks; ++q) want += fill_word(std::uint32_t(index), seed + std::uint32_t(q));
    }
    wrong += out[i] != want;
  }
  if (wrong) atomicAdd(bad, wrong);
}

}  // namespace

void check_collective(Collective kind, const void* out, std::uint64_t words, int ranks, int rank, std::uint32_t seed,
                      unsigned long long* bad, cudaStream_t stream) {
  collective_kernel<<<1024, 256, 0, stream>>>(kind, static_cast<const std::uint32_t*>(out), words, ranks, rank, seed,
                                              bad);
}

}  // namespace roofaudit::kernels::cuda
