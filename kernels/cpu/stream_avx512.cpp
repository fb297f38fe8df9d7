// Streaming kernels built for avx512 (64-byte vectors); see stream_impl.hpp.
#define ROOFAUDIT_VEC_BYTES 64
#define ROOFAUDIT_ISA_NS avx512
#include "kernels/cpu/stream_impl.hpp"

namespace roofaudit::kernels {
extern const StreamKernels kStream_avx512;
const StreamKernels kStream_avx512 = {Isa::avx512, avx512::read_sum, avx512::fill, avx512::fill_nt,
                                   avx512::copy, avx512::copy_nt, avx512::triad};
}  // namespace roofaudit::kernels
