// Streaming kernels built for avx2 (32-byte vectors) and their table; see stream_impl.hpp.
#define ROOFAUDIT_VEC_BYTES 32
#define ROOFAUDIT_ISA_NS avx2
#include "kernels/cpu/stream_impl.hpp"
