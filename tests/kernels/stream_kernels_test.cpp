#include <gtest/gtest.h>
#include "kernels/cpu/stream.hpp"
TEST(Placeholder, Builds) { EXPECT_FALSE(roofaudit::kernels::supported_isas().empty()); }
