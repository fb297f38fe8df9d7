#include "probes/cpu/sweep.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "values/error.hpp"
#include "probes/topology.hpp"

namespace roofaudit {

std::vector<std::uint64_t> geometric_sizes(std::uint64_t lo, std::uint64_t hi, double max_ratio) {
  if (lo == 0 || hi < lo) throw Error(fmt::format("invalid working-set range {} .. {} bytes", lo, hi));
  const double span = std::log(double(hi) / double(lo));
  const int steps = std::max(1, int(std::ceil(span / std::log(max_ratio) - 1e-9)));
  std::vector<std::uint64_t> sizes;
  for (int i = 0; i <= steps; ++i) {
    const auto s = std::uint64_t(std::llround(double(lo) * std::exp(span * i / steps)));
    if (sizes.empty() || s > sizes.back()) sizes.push_back(s);
  }
  sizes.back() = hi;
  return sizes;
}

std::uint64_t default_max_working_set(std::uint64_t reported_llc_bytes) {
  return std::max<std::uint64_t>(4 * reported_llc_bytes, std::uint64_t{1} << 30);
}

void check_fits_in_memory(std::uint64_t bytes, const std::string& what) {
  const std::uint64_t available = available_memory_bytes();
  // Keep a margin: the OS, the page tables and the database need memory too.
  if (double(bytes) > 0.8 * double(available))
    throw Error(fmt::format("{} needs {} but only {} of memory is available", what,
                            human_bytes(double(bytes)), human_bytes(double(available))));
}

}  // namespace roofaudit
