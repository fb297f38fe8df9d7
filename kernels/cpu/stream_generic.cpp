// Streaming kernels built for generic (16-byte vectors); see stream_impl.hpp.
#define ROOFAUDIT_VEC_BYTES 16
#define ROOFAUDIT_ISA_NS generic
#include "kernels/cpu/stream_impl.hpp"

namespace roofaudit::kernels {
extern const StreamKernels kStream_generic;
const StreamKernels kStream_generic = {Isa::generic, generic::read_sum, generic::fill, generic::fill_nt,
                                   generic::copy, generic::copy_nt, generic::triad};
}  // namespace roofaudit::kernels
