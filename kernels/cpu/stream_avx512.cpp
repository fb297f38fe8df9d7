// Streaming kernels built for avx512 (64-byte vectors) and their table; see stream_impl.hpp.
#define ROOFAUDIT_VEC_BYTES 64
#define ROOFAUDIT_ISA_NS avx512
#include "kernels/cpu/stream_impl.hpp"
