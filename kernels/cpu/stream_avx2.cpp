// Streaming kernels built for avx2 (32-byte vectors); see stream_impl.hpp.
#define ROOFAUDIT_VEC_BYTES 32
#define ROOFAUDIT_ISA_NS avx2
#include "kernels/cpu/stream_impl.hpp"

namespace roofaudit::kernels {
extern const StreamKernels kStream_avx2;
const StreamKernels kStream_avx2 = {Isa::avx2, avx2::read_sum, avx2::fill, avx2::fill_nt,
                                   avx2::copy, avx2::copy_nt, avx2::triad};
}  // namespace roofaudit::kernels
