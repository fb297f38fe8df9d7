// cpu.peak: peak arithmetic rate per precision (fp64/fp32 FMA, bf16 and int8 dot
// products) with the widest ISA this CPU has, on one pinned thread and on all of them.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "kernels/cpu/peak.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"
#include "probes/topology.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"cpu.peak", 2,
                                  "peak arithmetic per precision: fp64/fp32 FMA, bf16 and int8 (the fastest sequence the CPU has); one "
                                  "thread and all threads",
                                  Role::peak};

using Clock = std::chrono::steady_clock;
using kernels::PeakKernel;
using kernels::Precision;

class CpuPeakProbe final : public DrivenProbe {
 public:
  // 2: bf16 and int8 on every CPU (widening sequences where no dot instruction exists),
  // the fastest of several candidate sequences per precision.
  CpuPeakProbe() : DrivenProbe(kIdentity) {}

  void run_with(ProbeDriver& driver) override {
    const int all = driver.threads();
    // ROOFAUDIT_MAX_ISA caps the kernels, to audit what an older CPU would reach.
    const auto kernels = kernels::peak_kernels();
    warm_up(kernels.front(), all, driver.settings().quick ? 0.2 : 0.5, driver.topology());
    for (Precision p : {Precision::fp64, Precision::fp32, Precision::bf16, Precision::int8}) {
      std::vector<const PeakKernel*> candidates;
      for (const auto& k : kernels)
        if (k.precision == p) candidates.push_back(&k);
      std::vector<int> thread_counts{1};
      if (all > 1) thread_counts.push_back(all);
      for (int threads : thread_counts) {
        if (driver.stopped()) return;
        driver.progress(fmt::format("{} x{}", kernels::precision_name(p), threads));
        if (candidates.empty()) driver.unsupported(figure(p), "unsupported: no kernel for this precision on this CPU", {{"threads", threads}});
        else driver.emit(best_of(driver, candidates, threads));
      }
    }
  }

 private:
  static Figure figure(Precision p) {
    return {kernels::precision_name(p), "peak", p == Precision::int8 ? "OP/s" : "FLOP/s", true,
            "a fused multiply-add counts 2 operations; a dot-product lane counts a multiply and an add per pair"};
  }

  // Every candidate sequence measured; the fastest validated one is the measurement, and
  // the others' best figures are kept beside it (a failed candidate fails the whole
  // measurement: a wrong checksum is a fault, not a slower path).
  Measurement best_of(const ProbeDriver& driver, const std::vector<const PeakKernel*>& candidates, int threads) const {
    std::vector<Measurement> runs;
    for (const PeakKernel* k : candidates) runs.push_back(measure(driver, *k, threads));
    for (const auto& m : runs)
      if (!m.valid) return m;
    std::size_t best = 0;
    for (std::size_t i = 1; i < runs.size(); ++i)
      if (runs[i].summary && (!runs[best].summary || runs[i].summary->best > runs[best].summary->best)) best = i;
    Measurement m = runs[best];
    if (runs.size() > 1) {
      nlohmann::json others = nlohmann::json::object();
      for (std::size_t i = 0; i < runs.size(); ++i)
        if (i != best && runs[i].summary)
          others[candidates[i]->instruction] = runs[i].summary->best;
      m.params["other_sequences"] = others;
    }
    return m;
  }

  // Busy cores before the first figure: clocks and power states ramp up over hundreds of
  // milliseconds, and the first precision measured would otherwise pay for it.
  static void warm_up(const PeakKernel& k, int threads, double seconds, const Topology& topo) {
    std::vector<double> results;
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) timed_region(k, threads, 1 << 20, topo, results);
  }

  // All threads start together after a barrier; the clock stops when the last finishes.
  static double timed_region(const PeakKernel& k, int threads, std::size_t iterations, const Topology& topo,
                             std::vector<double>& results) {
    Clock::time_point t0, t1;
    results.assign(std::size_t(threads), 0);
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      topo.pin_current_thread(t);
#pragma omp barrier
#pragma omp single
      t0 = Clock::now();
      results[std::size_t(t)] = k.run(iterations);
#pragma omp barrier
#pragma omp single
      t1 = Clock::now();
    }
    return std::chrono::duration<double>(t1 - t0).count();
  }

  static Measurement measure(const ProbeDriver& driver, const PeakKernel& k, int threads) {
    const Topology& topo = driver.topology();
    std::vector<double> results;
    std::size_t iterations = 4096;
    // One sample: every thread's chains, then each thread's checksum against the closed form.
    auto sample = [&](std::string& problem) {
      const double s = timed_region(k, threads, iterations, topo, results);
      const double expected = k.expected(iterations);
      for (int t = 0; t < threads && problem.empty(); ++t)
        if (results[std::size_t(t)] != expected)
          problem = fmt::format("thread {} checksum {} != expected {}", t, results[std::size_t(t)], expected);
      return s;
    };
    // Calibration doubles as warm-up (clocks ramp up, the code is hot).
    std::string problem;
    calibrate_count(driver.sample_seconds(0.005, 0.02), iterations, k.max_iterations, sample, problem);
    Measurement m = driver.measurement(figure(k.precision),
                                       {{"threads", threads}, {"isa", k.isa}, {"instruction", k.instruction},
                                        {"iterations", iterations}, {"ops_per_iteration", k.ops_per_iteration}});
    return driver.outcome(std::move(m),
                          driver.time(problem, fmt::format("cpu.peak/{}/{}", kernels::precision_name(k.precision), threads),
                                      sample, 0),
                          "every thread's chains ended on the exact closed-form value in every repetition",
                          [&](double s) { return k.ops_per_iteration * double(iterations) * threads / s; });
  }
};

ROOFAUDIT_REGISTER_PROBE(CpuPeakProbe);

}  // namespace
}  // namespace roofaudit
