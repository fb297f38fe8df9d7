// One libFuzzer executable per target: ROOFAUDIT_FUZZ_TARGET names the function.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    roofaudit::fuzz::ROOFAUDIT_FUZZ_TARGET(data, size);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "finding: %s\n", e.what());
    std::abort();
  }
  return 0;
}
