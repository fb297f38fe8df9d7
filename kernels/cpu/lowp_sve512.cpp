// The SVE products built for 512-bit vectors; see lowp_sve_impl.hpp.
#include "kernels/cpu/lowp_sve_impl.hpp"
