// Streaming kernels built for generic (16-byte vectors) and their table; see stream_impl.hpp.
#define ROOFAUDIT_VEC_BYTES 16
#define ROOFAUDIT_ISA_NS generic
#include "kernels/cpu/stream_impl.hpp"
