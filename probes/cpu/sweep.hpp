#pragma once
// Working-set sweeps shared by the memory probes.
#include <cstdint>
#include <string>
#include <vector>

#include "probes/probe.hpp"
#include "values/units.hpp"

namespace roofaudit {

// Geometric grid from lo to hi (both included) with a ratio of at most `max_ratio`
// between neighbours.
std::vector<std::uint64_t> geometric_sizes(std::uint64_t lo, std::uint64_t hi, double max_ratio);

// The largest working set the memory sweeps reach by default: four times the reported
// last-level cache and at least 1 GiB, so the last plateau is DRAM even if the
// topology understates the cache.
std::uint64_t default_max_working_set(std::uint64_t reported_llc_bytes);

// Throws Error if `bytes` will not fit in the memory this process can use.
void check_fits_in_memory(std::uint64_t bytes, const std::string& what);

}  // namespace roofaudit
