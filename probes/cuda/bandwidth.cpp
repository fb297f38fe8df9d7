// cuda.bandwidth: the bandwidth an NVIDIA GPU delivers from L1 through L2 to device
// memory: read (sum), write, copy, triad over working-set size, with 16-byte vector
// accesses (kernels/cuda/sweep.cu). Each launch moves at least 4 GiB (about 1 ms from
// device memory, a few hundred microseconds from L2), so launch overhead is noise;
// timed with CUDA events; every sample's result is checked on the GPU.
#include <algorithm>

#include <fmt/format.h>

#include "kernels/cuda/kernels.hpp"
#include "probes/cpu/sweep.hpp"
#include "probes/cuda/session.hpp"
#include "values/units.hpp"

namespace roofaudit::cuda {
namespace {

namespace k = kernels::cuda;

constexpr ProbeIdentity kIdentity{"cuda.bandwidth", 1,
                                  "CUDA bandwidth over working-set size, L1 to device memory: read, write, copy, triad "
                                  "(own kernels, CUDA events)",
                                  Role::memory_sweep};

struct Variant {
  k::Sweep kind;
  const char* name;
  int streams;  // buffers the kernel touches; the working set is split among them
};
const Variant kVariants[] = {{k::Sweep::read, "read", 1}, {k::Sweep::write, "write", 1}, {k::Sweep::copy, "copy", 2},
                             {k::Sweep::triad, "triad", 3}};
constexpr std::uint32_t kSeedA = 0x1234567u, kSeedB = 0xabcdefu, kSeedC = 0x7654321u;
constexpr std::uint64_t kBytesPerLaunch = std::uint64_t(4) << 30;
constexpr std::uint32_t kThreads = 256, kBlocksPerSm = 8;  // 2048 resident threads per SM

Figure figure(const Variant& v) {
  return {v.name, "bandwidth", "B/s", true,
          "bytes the kernel loads plus bytes it stores, every access counted (a working set smaller than the grid is "
          "read by many threads: its bytes come from L1 or L2); working set = distinct bytes of all buffers"};
}

class CudaBandwidthProbe final : public CudaProbe {
 public:
  CudaBandwidthProbe() : CudaProbe(kIdentity) {}

 protected:
  std::vector<Figure> figures() const override {
    std::vector<Figure> f;
    for (const auto& v : kVariants) f.push_back(figure(v));
    return f;
  }

  void run_on(ProbeDriver& driver, const DeviceView& device) override {
    const std::uint64_t max_ws = max_working_set(driver.settings(), device);
    const std::uint64_t min_ws = std::max<std::uint64_t>(driver.settings().min_working_set_bytes, 16 * 1024);
    const auto sizes = geometric_sizes(std::min(min_ws, max_ws), max_ws, driver.settings().quick ? 4.0 : 1.5);
    // The largest working sets are device memory's once they are 8x the L2 the runtime states.
    const bool reaches = device.l2_bytes > 0 && max_ws >= 8 * device.l2_bytes;
    driver.progress(fmt::format("{}: allocating 3 x {}", device.name, human_bytes(double(max_ws))));
    Buffers b{DeviceMemory(max_ws), DeviceMemory(max_ws), DeviceMemory(max_ws), Counter(), Counter(), Stream()};
    for (const auto& v : kVariants) {
      k::fill_words(b.a.get(), max_ws / 4, kSeedA, false, b.stream.get());
      k::fill_words(b.b.get(), max_ws / 4, kSeedB, v.kind == k::Sweep::triad, b.stream.get());
      k::fill_words(b.c.get(), max_ws / 4, kSeedC, true, b.stream.get());
      cuda::check(cudaGetLastError(), "fill_words");
      b.stream.synchronize();
      std::uint32_t previous = 0;
      for (std::uint64_t ws : sizes) {
        if (driver.stopped()) return;
        const auto n = std::uint32_t(ws / std::uint64_t(v.streams) / 16);
        if (n == 0 || n == previous) continue;
        previous = n;
        driver.progress(fmt::format("{} {}", v.name, human_bytes(double(ws))));
        measure(driver, device, b, v, n, reaches);
      }
    }
  }

 private:
  struct Buffers {
    DeviceMemory a, b, c;
    Counter sum, bad;
    Stream stream;
  };

  // Past 4x L2 by a wide margin, within an eighth of device memory; --max-size caps it.
  static std::uint64_t max_working_set(const RunSettings& s, const DeviceView& d) {
    std::uint64_t wanted = std::max<std::uint64_t>(std::uint64_t(1) << 30, 16 * d.l2_bytes);
    if (s.quick) wanted = std::max<std::uint64_t>(std::uint64_t(256) << 20, 8 * d.l2_bytes);
    if (s.max_working_set_bytes) wanted = s.max_working_set_bytes;
    wanted = std::min<std::uint64_t>(wanted, std::max<std::uint64_t>(d.memory_bytes / 8, 1 << 20));
    wanted = std::min<std::uint64_t>(wanted, std::uint64_t(0xffffffffu) * 16);  // 32-bit vector indices
    return std::max<std::uint64_t>(wanted / 64 * 64, 64 * 1024);
  }

  static k::SweepShape shape_for(const DeviceView& d, const Variant& v, std::uint32_t n) {
    k::SweepShape s;
    s.threads = kThreads;
    s.blocks = std::uint32_t(std::max(1, d.multiprocessors)) * kBlocksPerSm;
    s.n = n;
    const std::uint64_t grid = std::uint64_t(s.blocks) * s.threads;
    const std::uint64_t wanted = std::max<std::uint64_t>(n, kBytesPerLaunch / 16 / std::uint64_t(v.streams));
    s.iterations = std::uint32_t((wanted + grid - 1) / grid);
    return s;
  }

  static void measure(const ProbeDriver& driver, const DeviceView& device, Buffers& b, const Variant& v,
                      std::uint32_t n, bool reaches) {
    const k::SweepShape shape = shape_for(device, v, n);
    const cudaStream_t s = b.stream.get();
    unsigned long long per_launch_sum = 0;
    if (v.kind == k::Sweep::read) {
      b.sum.zero(s);
      k::expected_read_sum(shape, kSeedA, b.sum.get(), s);
      cuda::check(cudaGetLastError(), "expected_read_sum");
      per_launch_sum = b.sum.read(b.stream);
    }
    const EventPair events;
    std::uint32_t launches = 1, tag = 0;
    auto sample = [&](std::string& problem) {
      ++tag;
      b.sum.zero(s);
      if (v.kind != k::Sweep::read) cuda::check(cudaMemsetAsync(b.a.get(), 0xff, std::uint64_t(n) * 16, s), "cudaMemsetAsync");
      events.start(s);
      for (std::uint32_t i = 0; i < launches; ++i)
        k::sweep(v.kind, shape, b.a.get(), b.b.get(), b.c.get(), tag, b.sum.get(), s);
      events.stop(s);
      cuda::check(cudaGetLastError(), "the sweep kernel");
      if (v.kind == k::Sweep::read) {
        const unsigned long long got = b.sum.read(b.stream);
        if (got != per_launch_sum * launches)
          problem = fmt::format("the sum of the words read ({:#x}) is not {} launches of the expected {:#x}", got,
                                launches, per_launch_sum);
      } else {
        b.bad.zero(s);
        k::check_sweep(v.kind, shape, b.a.get(), tag, kSeedB, kSeedC, b.bad.get(), s);
        cuda::check(cudaGetLastError(), "check_sweep");
        if (const auto wrong = b.bad.read(b.stream))
          problem = fmt::format("{} of {} words written differ from what the {} kernel must write", wrong,
                                std::uint64_t(n) * 4, v.name);
      }
      return events.seconds();
    };
    std::string problem;
    calibrate_count(sample_seconds(driver.settings(), 0.01, 0.02), launches, std::uint32_t(4096), sample, problem);
    const double bytes = double(shape.vectors_per_buffer()) * 16.0 * v.streams * launches;
    Measurement m = driver.measurement(
        figure(v), {{"working_set_bytes", std::uint64_t(n) * 16 * std::uint64_t(v.streams)},
                    {"sweep_reaches_memory", reaches},
                    {"device_name", device.name},
                    {"kernel", fmt::format("16-byte vectors, {} x {} threads, {} per thread per launch", shape.blocks,
                                           shape.threads, shape.iterations)},
                    {"bytes_per_launch", double(shape.vectors_per_buffer()) * 16.0 * v.streams},
                    {"launches_per_sample", launches}});
    driver.measure_unless(problem, std::move(m), fmt::format("cuda.bandwidth/{}/{}", v.name, std::uint64_t(n) * 16 * v.streams),
                          sample,
                          v.kind == k::Sweep::read
                              ? "the sum of every word read equals the GPU's recomputation of the same walk"
                              : "every word of the target checked on the GPU after the sample",
                          [bytes](double seconds) { return bytes / seconds; }, 0);
  }
};

ROOFAUDIT_REGISTER_PROBE(CudaBandwidthProbe);

}  // namespace
}  // namespace roofaudit::cuda
