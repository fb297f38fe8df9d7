// cpu.bandwidth: STREAM-shaped kernels swept over the working-set size, with OpenMP
// threads pinned one per core and every page first-touched by the thread that uses it.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "kernels/cpu/random.hpp"
#include "kernels/cpu/stream.hpp"
#include "probes/cpu/buffers.hpp"
#include "probes/cpu/sweep.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"
#include "probes/topology.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"cpu.bandwidth", 1,
                                  "memory bandwidth over working-set size: read, write, copy, triad, and NT-store write/copy",
                                  Role::memory_sweep};

using Clock = std::chrono::steady_clock;

enum class Kind { read, write, write_nt, copy, copy_nt, triad };

struct Variant {
  Kind kind;
  const char* name;
  int streams;  // arrays the kernel touches
};

// Order matters: the variants share one randomised region per thread. Reads and copies
// run on the random words, triad then turns them into random small doubles in place,
// and the write variants, which never read, overwrite them last.
constexpr Variant kVariants[] = {
    {Kind::read, "read", 1},   {Kind::copy, "copy", 2},   {Kind::copy_nt, "copy_nt", 2},
    {Kind::triad, "triad", 3}, {Kind::write, "write", 1}, {Kind::write_nt, "write_nt", 1},
};

// Streams inside a region are skewed by this much so that a[i] and b[i] never share
// their low 12 address bits (4K aliasing makes loads wait on unrelated stores).
constexpr std::size_t kStreamSkewBytes = 1088;

constexpr const char* kConvention =
    "stream: bytes the kernel reads plus bytes it writes, once each; write-allocate "
    "traffic not counted; working set = all arrays of all threads";

// Triad inputs are random integers below 2^20, and the scalar is 3: every b + 3c is
// exact in double, so fused and unfused multiply-add agree bit for bit with the check.
constexpr double kTriadScalar = 3.0;
constexpr std::uint64_t kTriadMask = (std::uint64_t{1} << 20) - 1;

class CpuBandwidthProbe final : public DrivenProbe {
 public:
  CpuBandwidthProbe() : DrivenProbe(kIdentity) {}

  void check(const RunSettings& settings, const Topology& topology) const override {
    const auto max_ws = max_working_set(settings, topology);
    if (max_ws < settings.min_working_set_bytes)
      throw Error("the largest working set is smaller than the smallest");
    check_fits_in_memory(max_ws, "cpu.bandwidth's largest working set");
  }

  void run_with(ProbeDriver& driver) override {
    const Topology& topo = driver.topology();
    threads_ = driver.settings().threads > 0 ? driver.settings().threads : topo.cores();
    kernels_ = &kernels::stream_kernels(kernels::widest_isa());
    const auto sizes = geometric_sizes(driver.settings().min_working_set_bytes,
                                       max_working_set(driver.settings(), topo), 1.2);
    driver.progress("allocating");
    allocate(sizes.back(), topo, driver.settings().seed);
    for (const Variant& v : kVariants) {
      if (driver.stopped()) return;
      streams_ = v.streams;
      if (v.kind == Kind::triad) randomise_as_doubles(topo);
      std::uint64_t previous = 0;
      for (std::uint64_t ws : sizes) {
        if (driver.stopped()) return;
        // Small sizes round to whole blocks per thread; measure each distinct size once.
        if (rounded_working_set(v, ws) == previous) continue;
        previous = rounded_working_set(v, ws);
        driver.progress(fmt::format("{} {}", v.name, human_bytes(double(ws))));
        measure(driver, v, ws);
      }
    }
    regions_.clear();
  }

 private:
  static std::uint64_t max_working_set(const RunSettings& s, const Topology& topo) {
    return s.max_working_set_bytes ? s.max_working_set_bytes
                                   : default_max_working_set(topo.last_level_cache_bytes());
  }

  // One region per thread, allocated and randomised by its own pinned thread (first
  // touch), large enough for the largest working set's share of any variant.
  void allocate(std::uint64_t max_ws, const Topology& topo, std::uint64_t seed) {
    regions_.clear();
    regions_.resize(std::size_t(threads_));
    region_bytes_ = std::max<std::size_t>(max_ws / std::uint64_t(threads_), kernels::kStreamBlockElems * 8 * 3) +
                    3 * kStreamSkewBytes + 3 * 4096;
    // Mapped here, where a failure throws to the caller (an exception cannot leave an
    // OpenMP region); first touched by the pinned thread that streams it, so each region's
    // pages sit on that thread's NUMA node.
    for (auto& region : regions_) region = HugeBuffer(region_bytes_);
#pragma omp parallel num_threads(threads_)
    {
      const int t = omp_get_thread_num();
      topo.pin_current_thread(t);
      fill_random(regions_[std::size_t(t)].as<std::uint64_t>(), region_bytes_ / 8, seed + std::uint64_t(t) * 0x9e37);
    }
  }

  // Random words -> random integers below 2^20 as doubles (see kTriadMask).
  void randomise_as_doubles(const Topology& topo) {
#pragma omp parallel num_threads(threads_)
    {
      const int t = omp_get_thread_num();
      topo.pin_current_thread(t);
      auto* w = regions_[std::size_t(t)].as<std::uint64_t>();
      auto* d = regions_[std::size_t(t)].as<double>();
      for (std::size_t i = 0; i < region_bytes_ / 8; ++i) d[i] = double(w[i] & kTriadMask);
    }
  }

  std::size_t elements_per_stream(const Variant& v, std::uint64_t ws) const {
    const std::uint64_t per_stream_bytes = ws / (std::uint64_t(threads_) * v.streams);
    const std::size_t block = kernels::kStreamBlockElems;
    return std::max<std::size_t>(block, (per_stream_bytes / 8) / block * block);
  }
  std::uint64_t rounded_working_set(const Variant& v, std::uint64_t ws) const {
    return std::uint64_t(elements_per_stream(v, ws)) * 8 * v.streams * threads_;
  }

  // Stream s of the current variant inside a thread's region.
  std::uint64_t* stream(int thread, int s) const {
    const std::size_t stride = (region_bytes_ - streams_ * kStreamSkewBytes) / streams_ / 4096 * 4096;
    auto* base = regions_[std::size_t(thread)].as<char>();
    return reinterpret_cast<std::uint64_t*>(base + std::size_t(s) * (stride + kStreamSkewBytes));
  }

  // One timed region: all threads start together after a barrier; the clock stops when
  // the last one finishes. Per-thread read sums land in sums_.
  double timed_region(const Variant& v, std::size_t n, std::size_t inner, std::uint64_t value,
                      const Topology& topo) {
    Clock::time_point t0, t1;
    const kernels::StreamKernels& k = *kernels_;
#pragma omp parallel num_threads(threads_)
    {
      const int t = omp_get_thread_num();
      topo.pin_current_thread(t);
      std::uint64_t* a = stream(t, 0);
      std::uint64_t* b = v.streams > 1 ? stream(t, 1) : nullptr;
      std::uint64_t* c = v.streams > 2 ? stream(t, 2) : nullptr;
      std::uint64_t sum = 0;
#pragma omp barrier
#pragma omp single
      t0 = Clock::now();
      switch (v.kind) {
        case Kind::read: sum = k.read_sum(a, n, inner); break;
        case Kind::write: k.fill(a, n, value, inner); break;
        case Kind::write_nt: k.fill_nt(a, n, value, inner); break;
        case Kind::copy: k.copy(b, a, n, inner); break;
        case Kind::copy_nt: k.copy_nt(b, a, n, inner); break;
        case Kind::triad:
          k.triad(reinterpret_cast<double*>(a), reinterpret_cast<const double*>(b),
                  reinterpret_cast<const double*>(c), kTriadScalar, n, inner);
          break;
      }
#pragma omp barrier
#pragma omp single
      t1 = Clock::now();
      sums_[std::size_t(t)] = sum;
    }
    return std::chrono::duration<double>(t1 - t0).count();
  }

  // Scalar reference sums of each thread's first n words, extended from the previous
  // (smaller) size so the whole sweep costs one scalar pass over the region.
  void extend_reference_sums(std::size_t n) {
    if (reference_sums_.size() != std::size_t(threads_) || n < reference_n_) {
      reference_sums_.assign(std::size_t(threads_), 0);
      reference_n_ = 0;
    }
    for (int t = 0; t < threads_; ++t) {
      const std::uint64_t* a = stream(t, 0);
      std::uint64_t sum = reference_sums_[std::size_t(t)];
      for (std::size_t i = reference_n_; i < n; ++i) sum += a[i];
      reference_sums_[std::size_t(t)] = sum;
    }
    reference_n_ = n;
  }

  // Overwrites every output array so a kernel that writes nothing cannot pass the check
  // on what an earlier size left behind.
  void poison_outputs(const Variant& v, std::size_t n) {
    if (v.kind != Kind::copy && v.kind != Kind::copy_nt && v.kind != Kind::triad) return;
    const int out = v.kind == Kind::triad ? 0 : 1;
    for (int t = 0; t < threads_; ++t) std::memset(stream(t, out), 0xA5, n * 8);
  }

  // Checks what the last repetition left in memory. Empty string: valid.
  std::string validate_outputs(const Variant& v, std::size_t n, std::uint64_t last_value) {
    for (int t = 0; t < threads_; ++t) {
      const std::uint64_t* a = stream(t, 0);
      switch (v.kind) {
        case Kind::read: break;
        case Kind::write:
        case Kind::write_nt:
          for (std::size_t i = 0; i < n; ++i)
            if (a[i] != last_value) return fmt::format("thread {} word {} holds {:#x}, expected {:#x}", t, i, a[i], last_value);
          break;
        case Kind::copy:
        case Kind::copy_nt:
          if (std::memcmp(stream(t, 1), a, n * 8) != 0) return fmt::format("thread {}: copy differs from its source", t);
          break;
        case Kind::triad: {
          const auto* x = reinterpret_cast<const double*>(a);
          const auto* b = reinterpret_cast<const double*>(stream(t, 1));
          const auto* c = reinterpret_cast<const double*>(stream(t, 2));
          for (std::size_t i = 0; i < n; ++i)
            if (x[i] != b[i] + kTriadScalar * c[i]) return fmt::format("thread {} element {}: {} != {} + 3*{}", t, i, x[i], b[i], c[i]);
          break;
        }
      }
    }
    return {};
  }

  void measure(const ProbeDriver& driver, const Variant& v, std::uint64_t ws_requested) {
    const Topology& topo = driver.topology();
    sums_.assign(std::size_t(threads_), 0);
    const std::size_t n = elements_per_stream(v, ws_requested);
    const std::uint64_t ws = rounded_working_set(v, ws_requested);
    const std::uint64_t bytes_per_pass = ws;  // every array is read or written once per pass

    if (v.kind == Kind::read) extend_reference_sums(n);
    const std::vector<std::uint64_t> expected_sums = reference_sums_;
    poison_outputs(v, n);

    std::size_t inner = 1;
    std::uint64_t value = 0x0123456789abcdefULL;
    // One sample: `inner` passes; a read's per-thread sums checked against the reference
    // (what the writes leave is checked after the last repetition).
    auto sample = [&](std::string& problem) {
      const double s = timed_region(v, n, inner, ++value, topo);
      if (v.kind == Kind::read)
        for (int t = 0; t < threads_ && problem.empty(); ++t)
          if (sums_[std::size_t(t)] != expected_sums[std::size_t(t)] * inner)
            problem = fmt::format("thread {} read sum {:#x} != expected {:#x}", t, sums_[std::size_t(t)],
                                  expected_sums[std::size_t(t)] * inner);
      return s;
    };
    // Grow the inner repetition count until one region lasts about the target. These
    // calibration regions are also the warm-up: caches and TLBs hold the working set
    // when the timed repetitions start.
    std::string problem;
    calibrate_count(driver.sample_seconds(0.002, 0.01), inner, std::size_t{1} << 30, sample, problem);
    Measurement m = driver.measurement(
        {v.name, "bandwidth", "B/s", true, kConvention},
        {{"working_set_bytes", ws}, {"threads", threads_}, {"isa", std::string(kernels::isa_name(kernels_->isa))},
         {"streams", v.streams}, {"inner_passes", inner}, {"bytes_per_pass", bytes_per_pass},
         {"thp", transparent_hugepage_mode()}});
    auto timed = driver.time(problem, fmt::format("cpu.bandwidth/{}/{}", v.name, ws), sample, 0);
    if (timed.problem.empty()) timed.problem = validate_outputs(v, n, value);
    driver.store(std::move(m), timed,
                 v.kind == Kind::read ? "every repetition's per-thread sums matched the scalar reference"
                                      : "output arrays matched the scalar reference after the last repetition",
                 [&](double s) { return double(bytes_per_pass) * double(inner) / s; });
  }

  int threads_ = 1;
  int streams_ = 1;
  const kernels::StreamKernels* kernels_ = nullptr;
  std::vector<HugeBuffer> regions_;
  std::size_t region_bytes_ = 0;
  std::vector<std::uint64_t> sums_;
  std::vector<std::uint64_t> reference_sums_;
  std::size_t reference_n_ = 0;
};

ROOFAUDIT_REGISTER_PROBE(CpuBandwidthProbe);

}  // namespace
}  // namespace roofaudit
