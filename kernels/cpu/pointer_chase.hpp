#pragma once
// Dependent-load latency: every load's address comes from the previous load, so the
// hardware cannot overlap them and the time per hop is the load-to-use latency of the
// level the working set lives in.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace roofaudit::kernels {

// One cache line per hop: the link sits in the first word, the rest is padding so that
// no two hops share a line.
struct alignas(64) ChaseLine {
  const ChaseLine* next;
  std::uint64_t pad[7];
};
static_assert(sizeof(ChaseLine) == 64);

// Links `lines[0..n)` into one random cycle and returns the visit order: starting at
// lines[order[0]], hop k lands on lines[order[k % n]]. A random order defeats the
// prefetchers; a single cycle guarantees every line is visited.
std::vector<std::uint32_t> link_random_cycle(ChaseLine* lines, std::size_t n, std::uint64_t seed);

// Follows `hops` links from `start` and returns where it ended.
const ChaseLine* chase(const ChaseLine* start, std::size_t hops);

}  // namespace roofaudit::kernels
