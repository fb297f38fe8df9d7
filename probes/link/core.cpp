// link.core: the links inside one machine. Core-to-core latency: a cache line handed
// back and forth between two pinned threads (every pair of cores, or a sample on large
// machines). NUMA node-to-node read bandwidth: memory bound to one node, read by every
// core of another (every pair of nodes; on a one-node machine the local figure, said so).
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "kernels/cpu/stream.hpp"
#include "probes/cpu/buffers.hpp"
#include "probes/cpu/sweep.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"
#include "probes/summary.hpp"
#include "probes/timing.hpp"
#include "probes/topology.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"link.core", 1,
                                  "core-to-core latency (cache-line ping-pong per pair of cores) and NUMA node-to-node read bandwidth"};

using Clock = std::chrono::steady_clock;

// Pairs of cores (pin slots) to measure: all of them up to 16 cores; beyond, core 0 with
// every other core plus a fixed random sample, so a 128-core machine costs ~200 pairs.
std::vector<std::pair<int, int>> core_pairs(int cores, std::uint64_t seed) {
  std::vector<std::pair<int, int>> pairs;
  if (cores <= 16) {
    for (int a = 0; a < cores; ++a)
      for (int b = a + 1; b < cores; ++b) pairs.emplace_back(a, b);
    return pairs;
  }
  for (int b = 1; b < cores; ++b) pairs.emplace_back(0, b);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pick(1, cores - 1);
  while (pairs.size() < std::size_t(cores - 1) + 64) {
    int a = pick(rng), b = pick(rng);
    if (a == b) continue;
    if (a > b) std::swap(a, b);
    if (std::find(pairs.begin(), pairs.end(), std::make_pair(a, b)) == pairs.end()) pairs.emplace_back(a, b);
  }
  return pairs;
}

struct alignas(64) SharedLine {
  std::atomic<std::uint64_t> value{0};
};

// `round_trips` hand-offs of one cache line between threads on slots a and b: a writes
// odd values, b answers with the next even one. Returns the seconds a measured; throws
// SampleFailed when either side saw a value out of sequence or the count is off.
double ping_pong(const Topology& topo, int slot_a, int slot_b, std::uint64_t round_trips) {
  SharedLine line;
  std::atomic<bool> out_of_order{false};
  std::atomic<int> ready{0};
  std::thread partner([&] {
    topo.pin_current_thread(slot_b);
    ready.fetch_add(1);
    for (std::uint64_t k = 0; k < round_trips; ++k) {
      const std::uint64_t expect = 2 * k + 1;
      std::uint64_t v;
      while ((v = line.value.load(std::memory_order_acquire)) != expect)
        if (v != expect - 1) {
          out_of_order = true;
          return;
        }
      line.value.store(expect + 1, std::memory_order_release);
    }
  });
  topo.pin_current_thread(slot_a);
  while (ready.load() == 0) std::this_thread::yield();
  const auto t0 = Clock::now();
  for (std::uint64_t k = 0; k < round_trips && !out_of_order; ++k) {
    line.value.store(2 * k + 1, std::memory_order_release);
    const std::uint64_t expect = 2 * k + 2;
    std::uint64_t v;
    while ((v = line.value.load(std::memory_order_acquire)) != expect && !out_of_order)
      if (v != expect - 1) out_of_order = true;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  partner.join();
  if (out_of_order || line.value.load() != 2 * round_trips)
    throw SampleFailed{fmt::format("the line between cores {} and {} ended at {} after {} round trips (expected {})", slot_a,
                                   slot_b, line.value.load(), round_trips, 2 * round_trips)};
  return seconds;
}

class LinkCoreProbe final : public DrivenProbe {
 public:
  LinkCoreProbe() : DrivenProbe(kIdentity) {}

  void check(const RunSettings& settings, const Topology& topology) const override {
    check_fits_in_memory(numa_bytes(settings, topology), "link.core's NUMA buffer");
  }

  void run_with(ProbeDriver& driver) override {
    const Topology& topo = driver.topology();
    const int cores = std::min(topo.cores(), topo.pus());
    if (cores < 2) {
      driver.progress("one core: no core-to-core latency");
    } else {
      for (const auto& [a, b] : core_pairs(cores, driver.settings().seed)) {
        if (driver.stopped()) return;
        driver.progress(fmt::format("cores {} <-> {}", a, b));
        measure_pair(driver, a, b);
      }
    }
    for (int mem = 0; mem < topo.numa_nodes(); ++mem)
      for (int cpu = 0; cpu < topo.numa_nodes(); ++cpu) {
        if (driver.stopped()) return;
        driver.progress(fmt::format("memory on node {}, cores of node {}", mem, cpu));
        measure_numa(driver, mem, cpu);
      }
  }

 private:
  static std::uint64_t numa_bytes(const RunSettings& s, const Topology& topo) {
    // Past the last-level cache: DRAM, not a cache, answers the reads.
    // Capped: hwloc misreports caches in VMs, and node-to-node bandwidth needs no more.
    if (s.max_working_set_bytes) return s.max_working_set_bytes;
    const std::uint64_t floor = std::uint64_t{s.quick ? 128u : 512u} << 20, cap = std::uint64_t{s.quick ? 512u : 2048u} << 20;
    return std::clamp<std::uint64_t>(4 * topo.last_level_cache_bytes(), floor, cap);
  }

  static void measure_pair(const ProbeDriver& driver, int a, int b) {
    const Topology& topo = driver.topology();
    std::uint64_t trips = 1000;
    auto sample = [&](std::string& problem) {
      try {
        return ping_pong(topo, a, b, trips);
      } catch (const SampleFailed& failed) {
        problem = failed.reason;
        return 0.0;
      }
    };
    // Round trips for the target time, from a short calibration.
    std::string problem;
    calibrate_count(driver.sample_seconds(0.003, 0.01), trips, std::uint64_t{1} << 26, sample, problem, 0.5, 2.0);
    Measurement m = driver.measurement(
        {"ping_pong", "latency", "s", false,
         "one-way latency: half the round trip of one 64-byte line written alternately by two pinned threads"},
        {{"from_core", a}, {"to_core", b}, {"from_pu", topo.pin_order()[std::size_t(a)]},
         {"to_pu", topo.pin_order()[std::size_t(b)]}, {"round_trips", trips}});
    driver.measure_unless(problem, std::move(m), fmt::format("link.core/ping_pong/{}/{}", a, b), sample,
                          "every hand-off saw the value before it, the line ended at 2 x round trips",
                          [&](double s) { return s / double(trips) / 2; }, 0);
  }

  static void measure_numa(const ProbeDriver& driver, int mem_node, int cpu_node) {
    const Topology& topo = driver.topology();
    const auto& k = kernels::stream_kernels(kernels::widest_isa());
    std::vector<int> slots = topo.numa_node_slots(cpu_node);
    // One thread per core of the node (slots are in pin order: first PU of each core first).
    const auto per_node_cores = std::max<std::size_t>(1, std::size_t(topo.cores() / std::max(1, topo.numa_nodes())));
    if (slots.size() > per_node_cores) slots.resize(per_node_cores);
    const int nodes = topo.numa_nodes();
    Measurement m = driver.measurement(
        {"numa_read", "bandwidth", "B/s", true, "bytes read per second by every core of one node from memory bound to another"},
        {{"memory_node", mem_node}, {"cpu_node", cpu_node}, {"threads", slots.size()}, {"nodes", nodes}});
    if (slots.empty()) {
      driver.store(std::move(m), {{}, fmt::format("NUMA node {} has no core this process may use", cpu_node)}, "", nullptr);
      return;
    }
    const int threads = int(slots.size());
    const std::size_t n_total = numa_bytes(driver.settings(), topo) / 8 / (kernels::kStreamBlockElems * std::size_t(threads)) *
                                (kernels::kStreamBlockElems * std::size_t(threads));
    const std::size_t n = n_total / std::size_t(threads);
    HugeBuffer buffer(n_total * 8);
    const bool bound = topo.bind_memory_to_node(buffer.as<void>(), buffer.bytes(), mem_node);
    auto* words = buffer.as<std::uint64_t>();
    std::vector<std::uint64_t> expected(slots.size());
    const Topology::BindingGuard unpin(topo);
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      topo.pin_current_thread(slots[std::size_t(t)]);
      fill_random(words + std::size_t(t) * n, n, driver.settings().seed + std::uint64_t(t));
      expected[std::size_t(t)] = k.read_sum(words + std::size_t(t) * n, n, 1);
    }
    std::vector<std::uint64_t> sums(slots.size());
    const auto timed = driver.time(
        "", fmt::format("link.core/numa_read/{}/{}", mem_node, cpu_node), [&](std::string& problem) {
          double start = 0, end = 0;
#pragma omp parallel num_threads(threads)
          {
            const int t = omp_get_thread_num();
            topo.pin_current_thread(slots[std::size_t(t)]);
#pragma omp barrier
#pragma omp master
            start = omp_get_wtime();
            sums[std::size_t(t)] = k.read_sum(words + std::size_t(t) * n, n, 1);
#pragma omp barrier
#pragma omp master
            end = omp_get_wtime();
          }
          for (int t = 0; t < threads && problem.empty(); ++t)
            if (sums[std::size_t(t)] != expected[std::size_t(t)])
              problem = fmt::format("thread {} read sum {:#x}, expected {:#x}", t, sums[std::size_t(t)],
                                    expected[std::size_t(t)]);
          return end - start;
        });
    std::string checked = "every thread's 64-bit wrapping sum equals the sum taken when the memory was filled";
    if (nodes == 1) checked += "; one NUMA node: the local figure only, no node-to-node link to measure";
    if (!bound) checked += "; memory not bound (first touch by the reading node's threads)";
    m.params["bytes"] = n_total * 8;
    driver.store(std::move(m), timed, checked, [&](double s) { return double(n_total * 8) / s; });
  }
};

ROOFAUDIT_REGISTER_PROBE(LinkCoreProbe);

}  // namespace
}  // namespace roofaudit
