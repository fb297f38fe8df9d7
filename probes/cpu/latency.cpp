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
#include "probes/summary.hpp"
#include "probes/timing.hpp"
#include "probes/topology.hpp"

namespace roofaudit {
namespace {

using Clock = std::chrono::steady_clock;
using kernels::ChaseLine;

class CpuLatencyProbe final : public Probe {
 public:
  std::string_view name() const override { return "cpu.latency"; }
  std::string_view description() const override {
    return "load-to-use latency by random pointer chasing, one cache line per hop";
  }
  int version() const override { return 1; }

  void check(const RunSettings& settings, const Topology& topology) const override {
    check_fits_in_memory(max_working_set(settings, topology), "cpu.latency's largest working set");
  }

  void run(ProbeContext& ctx) override {
    const Topology& topo = ctx.topology;
    topo.pin_current_thread(0);
    const int reps = ctx.settings.repetitions > 0 ? ctx.settings.repetitions : (ctx.settings.quick ? 3 : 5);
    const double target_s = ctx.settings.sample_seconds > 0 ? ctx.settings.sample_seconds
                                                              : (ctx.settings.quick ? 0.003 : 0.01);
    const std::uint64_t lo = std::max<std::uint64_t>(ctx.settings.min_working_set_bytes, 4 * sizeof(ChaseLine));
    // Latency changes shape more slowly than bandwidth and each point costs a shuffle
    // of the whole working set, so the grid is coarser: sqrt(2) per step.
    const auto sizes = geometric_sizes(lo, max_working_set(ctx.settings, topo), 1.4143);
    HugeBuffer buffer(sizes.back());
    auto* lines = buffer.as<ChaseLine>();
    for (std::uint64_t ws : sizes) {
      if (ctx.stop_requested) return;
      ctx.progress(fmt::format("{}", human_bytes(double(ws))));
      ctx.emit(measure(lines, ws, reps, target_s, ctx.settings.seed));
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

  Measurement measure(ChaseLine* lines, std::uint64_t ws_requested, int reps, double target_s,
                      std::uint64_t seed) {
    const std::size_t n = std::max<std::size_t>(4, ws_requested / sizeof(ChaseLine));
    const auto order = kernels::link_random_cycle(lines, n, seed + n);
    const ChaseLine* start = &lines[order[0]];
    // Warm up with one full cycle so cache-resident sizes start resident; past 64 MiB no
    // cache holds the set and the calibration below is warm-up enough.
    if (n <= (std::size_t{64} << 20) / sizeof(ChaseLine)) kernels::chase(start, n);

    auto timed = [&](std::size_t hops, const ChaseLine** end) {
      const auto t0 = Clock::now();
      *end = kernels::chase(start, hops);
      return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    std::size_t hops = 1024;
    for (;;) {
      const ChaseLine* end = nullptr;
      const double s = timed(hops, &end);
      if (s >= target_s || hops >= (std::size_t{1} << 34)) break;
      const double scale = s > 0 ? target_s / s : 16;
      hops = std::size_t(std::ceil(double(hops) * std::clamp(scale * 1.05, 1.5, 16.0)));
    }
    const ChaseLine* expected_end = &lines[order[hops % n]];

    Measurement m;
    m.probe = std::string(name());
    m.probe_version = version();
    m.device = "cpu";
    m.variant = "chase";
    m.metric = "latency";
    m.unit = "s";
    m.higher_is_better = false;
    m.convention = "seconds per dependent load; one 64-byte line per hop, random single cycle";
    m.params = {{"working_set_bytes", std::uint64_t(n) * sizeof(ChaseLine)}, {"threads", 1},
                {"hops", hops}, {"thp", transparent_hugepage_mode()}};

    const auto timing = time_repetitions(
        fmt::format("cpu.latency/{}", n), 0, reps, [&]() -> double {
          const ChaseLine* end = nullptr;
          const double s = timed(hops, &end);
          if (end != expected_end)
            throw SampleFailed{fmt::format("chase of {} hops ended at line {}, expected line {}", hops,
                                           end - lines, expected_end - lines)};
          return s;
        });
    record_outcome(m, timing.seconds, timing.ok ? "" : timing.error,
                   "every repetition ended on the line the permutation predicts",
                   [&](double s) { return s / double(hops); });
    return m;
  }
};

ROOFAUDIT_REGISTER_PROBE(CpuLatencyProbe);

}  // namespace
}  // namespace roofaudit
