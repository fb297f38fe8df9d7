// cpu.latency: load-to-use latency by chasing pointers around a random single cycle of
// cache lines, one pinned thread, working sets from L1 to DRAM.
#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "kernels/cpu/pointer_chase.hpp"
#include "probes/cpu/buffers.hpp"
#include "probes/cpu/sweep.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"
#include "probes/topology.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"cpu.latency", 1,
                                  "load-to-use latency by random pointer chasing, one cache line per hop"};

using Clock = std::chrono::steady_clock;
using kernels::ChaseLine;

class CpuLatencyProbe final : public DrivenProbe {
 public:
  CpuLatencyProbe() : DrivenProbe(kIdentity) {}

  void check(const RunSettings& settings, const Topology& topology) const override {
    check_fits_in_memory(max_working_set(settings, topology), "cpu.latency's largest working set");
  }

  void run_with(ProbeDriver& driver) override {
    const Topology& topo = driver.topology();
    topo.pin_current_thread(0);
    const std::uint64_t lo = std::max<std::uint64_t>(driver.settings().min_working_set_bytes, 4 * sizeof(ChaseLine));
    // Latency changes shape more slowly than bandwidth and each point costs a shuffle
    // of the whole working set, so the grid is coarser: sqrt(2) per step.
    const auto sizes = geometric_sizes(lo, max_working_set(driver.settings(), topo), 1.4143);
    HugeBuffer buffer(sizes.back());
    auto* lines = buffer.as<ChaseLine>();
    for (std::uint64_t ws : sizes) {
      if (driver.stopped()) return;
      driver.progress(fmt::format("{}", human_bytes(double(ws))));
      measure(driver, lines, ws);
    }
  }

 private:
  static std::uint64_t max_working_set(const RunSettings& s, const Topology& topo) {
    // DRAM latency is reached well before the bandwidth sweep's end; 1 GiB (512 MiB when
    // quick) is past any last-level cache shipping today and keeps the shuffles, one
    // random write per line, affordable.
    if (s.max_working_set_bytes) return s.max_working_set_bytes;
    return std::min<std::uint64_t>(default_max_working_set(topo.last_level_cache_bytes()),
                                   std::uint64_t{s.quick ? 512u : 1024u} << 20);
  }

  void measure(const ProbeDriver& driver, ChaseLine* lines, std::uint64_t ws_requested) const {
    const std::size_t n = std::max<std::size_t>(4, ws_requested / sizeof(ChaseLine));
    const auto order = kernels::link_random_cycle(lines, n, driver.settings().seed + n);
    const ChaseLine* start = &lines[order[0]];
    // Warm up with one full cycle so cache-resident sizes start resident; past 64 MiB no
    // cache holds the set and the calibration below is warm-up enough.
    if (n <= (std::size_t{64} << 20) / sizeof(ChaseLine)) kernels::chase(start, n);
    std::size_t hops = 1024;
    // One sample: `hops` dependent loads, ending where the permutation says they must.
    auto chase = [&](std::string& problem) {
      const auto t0 = Clock::now();
      const ChaseLine* end = kernels::chase(start, hops);
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      const ChaseLine* expected_end = &lines[order[hops % n]];
      if (end != expected_end)
        problem = fmt::format("chase of {} hops ended at line {}, expected line {}", hops, end - lines,
                              expected_end - lines);
      return s;
    };
    std::string problem;
    calibrate_count(driver.sample_seconds(0.003, 0.01), hops, std::size_t{1} << 34, chase, problem);
    Measurement m = driver.measurement(
        {"chase", "latency", "s", false, "seconds per dependent load; one 64-byte line per hop, random single cycle"},
        {{"working_set_bytes", std::uint64_t(n) * sizeof(ChaseLine)}, {"threads", 1}, {"hops", hops},
         {"thp", transparent_hugepage_mode()}});
    driver.measure_unless(problem, std::move(m), fmt::format("cpu.latency/{}", n), chase,
                          "every repetition ended on the line the permutation predicts",
                          [&](double s) { return s / double(hops); }, 0);
  }
};

ROOFAUDIT_REGISTER_PROBE(CpuLatencyProbe);

}  // namespace
}  // namespace roofaudit
