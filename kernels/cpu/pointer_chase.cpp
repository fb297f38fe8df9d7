#include "kernels/cpu/pointer_chase.hpp"

#include <numeric>
#include <utility>

#include "kernels/cpu/random.hpp"

namespace roofaudit::kernels {

std::vector<std::uint32_t> link_random_cycle(ChaseLine* lines, std::size_t n, std::uint64_t seed) {
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0U);
  SplitMix64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  for (std::size_t k = 0; k < n; ++k) lines[order[k]].next = &lines[order[(k + 1) % n]];
  return order;
}

__attribute__((noinline)) const ChaseLine* chase(const ChaseLine* start, std::size_t hops) {
  const ChaseLine* p = start;
  std::size_t k = 0;
  // Unrolled by 8 so the loop branch is a small fraction of even an L1 hit.
  for (; k + 8 <= hops; k += 8) {
    p = p->next; p = p->next; p = p->next; p = p->next;
    p = p->next; p = p->next; p = p->next; p = p->next;
  }
  for (; k < hops; ++k) p = p->next;
  return p;
}

}  // namespace roofaudit::kernels
