// cuda.links: the links between the GPUs of one machine. Copies from each GPU to each
// other (cudaMemcpyPeerAsync: NVLink or PCIe, peer to peer where the driver allows it,
// else through the host), and NCCL's all-reduce, all-gather and reduce-scatter over all
// of them with algorithm and bus bandwidth as nccl-tests defines them (the figure the
// tensor-parallel term takes). NCCL is loaded when the probe runs (libnccl.so.2), so a
// machine without it stores the collectives as skipped, saying so; with one GPU every
// figure is skipped, saying two are needed. Every copy and every collective result is
// checked on the GPU that received it.
#include <dlfcn.h>

#include <algorithm>
#include <memory>
#include <type_traits>

#include <fmt/format.h>

#if __has_include(<nccl.h>)
#include <nccl.h>
#define ROOFAUDIT_HAS_NCCL_HEADER 1
#endif

#include "kernels/cuda/kernels.hpp"
#include "probes/cuda/session.hpp"
#include "probes/link/mpi_links.hpp"
#include "values/units.hpp"

namespace roofaudit::cuda {
namespace {

namespace k = kernels::cuda;

constexpr ProbeIdentity kIdentity{"cuda.links", 1,
                                  "links between the GPUs of this machine: peer copies each way, NCCL all-reduce, "
                                  "all-gather and reduce-scatter bus bandwidth (nccl-tests' convention)",
                                  Role::chip_link};
constexpr int kMaxGpus = 8;
constexpr std::uint32_t kSeed = 0x3c6ef372u;

const Figure kPeerCopy{"peer_copy", "bandwidth", "B/s", true,
                       "bytes copied from one GPU's memory to another's once (cudaMemcpyPeerAsync)"};

struct CollectiveKind {
  k::Collective kind;
  const char* name;  // as link.mpi names it
};
const CollectiveKind kCollectives[] = {{k::Collective::all_reduce, "allreduce"},
                                       {k::Collective::all_gather, "allgather"},
                                       {k::Collective::reduce_scatter, "reduce_scatter"}};

Figure bus_figure(const CollectiveKind& c) {
  return {c.name, "bus_bandwidth", "B/s", true,
          c.kind == k::Collective::all_reduce ? "nccl-tests busbw: algbw x 2(n-1)/n, algbw = buffer bytes / time"
                                              : "nccl-tests busbw: algbw x (n-1)/n, algbw = full buffer bytes / time"};
}

// The GPU's runtime state while the probe works on another one, put back however it ends.
class CurrentDevice {
 public:
  CurrentDevice() { cudaGetDevice(&saved_); }
  ~CurrentDevice() { cudaSetDevice(saved_); }
  CurrentDevice(const CurrentDevice&) = delete;
  CurrentDevice& operator=(const CurrentDevice&) = delete;
  static void set(int ordinal) { cuda::check(cudaSetDevice(ordinal), "cudaSetDevice"); }

 private:
  int saved_ = 0;
};

#ifdef ROOFAUDIT_HAS_NCCL_HEADER
// NCCL's entry points, from the library found at run time.
struct Nccl {
  void* library = nullptr;
  decltype(&ncclCommInitAll) comm_init_all = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclGroupStart) group_start = nullptr;
  decltype(&ncclGroupEnd) group_end = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclAllGather) all_gather = nullptr;
  decltype(&ncclReduceScatter) reduce_scatter = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
  decltype(&ncclGetVersion) get_version = nullptr;
  std::string missing;  // non-empty: why there is no NCCL

  Nccl() {
    library = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      missing = fmt::format("NCCL is not installed here ({})", dlerror());
      return;
    }
    bool all = true;
    auto load = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(library, name));
      all = all && fn;
    };
    load(comm_init_all, "ncclCommInitAll");
    load(comm_destroy, "ncclCommDestroy");
    load(group_start, "ncclGroupStart");
    load(group_end, "ncclGroupEnd");
    load(all_reduce, "ncclAllReduce");
    load(all_gather, "ncclAllGather");
    load(reduce_scatter, "ncclReduceScatter");
    load(error_string, "ncclGetErrorString");
    load(get_version, "ncclGetVersion");
    if (!all) missing = "libnccl.so.2 lacks an entry point this probe calls";
  }
  ~Nccl() {
    if (library) dlclose(library);
  }
  Nccl(const Nccl&) = delete;
  Nccl& operator=(const Nccl&) = delete;

  void check(ncclResult_t r, const char* call) const {
    if (r != ncclSuccess) throw Error(fmt::format("{}: {}", call, error_string(r)));
  }
  std::string version() const {
    int v = 0;
    get_version(&v);
    return fmt::format("{}.{}.{}", v / 10000, (v / 100) % 100, v % 100);
  }
};
#endif

class CudaLinksProbe final : public CudaProbe {
 public:
  CudaLinksProbe() : CudaProbe(kIdentity) {}

 protected:
  std::vector<Figure> figures() const override {
    std::vector<Figure> f{kPeerCopy};
    for (const auto& c : kCollectives) f.push_back(bus_figure(c));
    return f;
  }

  void run_on(ProbeDriver& driver, const DeviceView& device) override {
    Listing l = list_devices();
    if (l.devices.size() > std::size_t(kMaxGpus)) l.devices.resize(kMaxGpus);
    if (l.devices.size() < 2) {
      for (const auto& f : figures())
        driver.unsupported(f, fmt::format("skipped: {} is the only CUDA device here; links between GPUs need two or more",
                                          device.name));
      return;
    }
    const CurrentDevice restore;
    peer_copies(driver, l.devices);
    collectives(driver, l.devices);
  }

 private:
  static std::uint64_t largest(const ProbeDriver& driver, const std::vector<DeviceView>& gpus, std::uint64_t full) {
    std::uint64_t bytes = driver.settings().quick ? std::uint64_t(64) << 20 : full;
    if (driver.settings().max_working_set_bytes) bytes = std::min(bytes, driver.settings().max_working_set_bytes);
    for (const auto& g : gpus) bytes = std::min<std::uint64_t>(bytes, g.memory_bytes / 8);
    return std::max<std::uint64_t>(bytes / (1 << 20) * (1 << 20), 1 << 20);
  }

  static void peer_copies(ProbeDriver& driver, const std::vector<DeviceView>& gpus) {
    const std::uint64_t bytes = largest(driver, gpus, std::uint64_t(256) << 20);
    for (const auto& from : gpus)
      for (const auto& to : gpus) {
        if (from.ordinal == to.ordinal || driver.stopped()) continue;
        driver.progress(fmt::format("peer copy {} -> {}", from.key(), to.key()));
        int can = 0;
        cuda::check(cudaDeviceCanAccessPeer(&can, from.ordinal, to.ordinal), "cudaDeviceCanAccessPeer");
        CurrentDevice::set(to.ordinal);
        const DeviceMemory dst(bytes);
        const Counter bad;
        const Stream to_stream;
        CurrentDevice::set(from.ordinal);
        if (can) {
          const cudaError_t r = cudaDeviceEnablePeerAccess(to.ordinal, 0);
          if (r == cudaErrorPeerAccessAlreadyEnabled) cudaGetLastError();
          else cuda::check(r, "cudaDeviceEnablePeerAccess");
        }
        const DeviceMemory src(bytes);
        const Stream stream;
        k::fill_words(src.get(), bytes / 4, kSeed + std::uint32_t(from.ordinal), false, stream.get());
        cuda::check(cudaGetLastError(), "fill_words");
        stream.synchronize();
        const EventPair events;
        std::uint32_t copies = 1;
        auto sample = [&](std::string& problem) {
          CurrentDevice::set(to.ordinal);
          cuda::check(cudaMemsetAsync(dst.get(), 0, bytes, to_stream.get()), "cudaMemsetAsync");
          to_stream.synchronize();
          CurrentDevice::set(from.ordinal);
          events.start(stream.get());
          for (std::uint32_t c = 0; c < copies; ++c)
            cuda::check(cudaMemcpyPeerAsync(dst.get(), to.ordinal, src.get(), from.ordinal, bytes, stream.get()),
                  "cudaMemcpyPeerAsync");
          events.stop(stream.get());
          stream.synchronize();
          CurrentDevice::set(to.ordinal);
          bad.zero(to_stream.get());
          k::count_mismatches(dst.get(), bytes / 4, kSeed + std::uint32_t(from.ordinal), bad.get(), to_stream.get());
          cuda::check(cudaGetLastError(), "count_mismatches");
          if (const auto wrong = bad.read(to_stream))
            problem = fmt::format("{} of {} words that reached {} differ from {}'s", wrong, bytes / 4, to.key(), from.key());
          CurrentDevice::set(from.ordinal);
          return events.seconds();
        };
        std::string problem;
        calibrate_count(sample_seconds(driver.settings(), 0.01, 0.05), copies, std::uint32_t(256), sample, problem);
        const double moved = double(bytes) * copies;
        // Without peer access the copy is staged through the host, over both GPUs' PCIe
        // links: the slower link's signalling rate bounds it. (No limit is stated for NVLink.)
        double limit = 0;
        if (!can && from.pcie && to.pcie) limit = std::min(from.pcie->bytes_per_s(), to.pcie->bytes_per_s());
        Measurement m = driver.measurement(kPeerCopy, {{"from", from.key()},
                                                       {"to", to.key()},
                                                       {"bytes", bytes},
                                                       {"peer_access", bool(can)},
                                                       {"copies_per_sample", copies}});
        auto timed = driver.time(problem, fmt::format("cuda.links/peer_copy/{}-{}", from.ordinal, to.ordinal), sample, 0);
        if (timed.problem.empty() && limit > 0)
          for (double s : timed.seconds)
            if (moved / s > limit * 1.02) {
              timed.problem = fmt::format("impossible: {:.1f} GB/s through the host exceeds the PCIe limit {:.1f} GB/s",
                                          moved / s / 1e9, limit / 1e9);
              break;
            }
        driver.store(std::move(m), timed, "every word that reached the destination GPU, on that GPU",
                     [moved](double s) { return moved / s; });
      }
  }

  static void collectives(ProbeDriver& driver, const std::vector<DeviceView>& gpus) {
#ifndef ROOFAUDIT_HAS_NCCL_HEADER
    for (const auto& c : kCollectives)
      driver.unsupported(bus_figure(c), "skipped: this build found no nccl.h (NCCL's header) with the CUDA toolkit");
#else
    const Nccl nccl;
    if (!nccl.missing.empty()) {
      for (const auto& c : kCollectives) driver.unsupported(bus_figure(c), "skipped: " + nccl.missing);
      return;
    }
    const int n = int(gpus.size());
    std::vector<int> ordinals;
    for (const auto& g : gpus) ordinals.push_back(g.ordinal);
    std::vector<ncclComm_t> comms(std::size_t(n), nullptr);
    nccl.check(nccl.comm_init_all(comms.data(), n, ordinals.data()), "ncclCommInitAll");
    const auto destroy = [&nccl](std::vector<ncclComm_t>* all) {
      for (auto c : *all) nccl.comm_destroy(c);
    };
    const std::unique_ptr<std::vector<ncclComm_t>, decltype(destroy)> owned(&comms, destroy);

    // Per GPU: its input (the full buffer), its output, a stream, events and a counter.
    struct Rank {
      std::unique_ptr<DeviceMemory> in, out;
      std::unique_ptr<Stream> stream;
      std::unique_ptr<EventPair> events;
      std::unique_ptr<Counter> bad;
    };
    const std::uint64_t max_bytes = largest(driver, gpus, std::uint64_t(1) << 30);
    std::vector<Rank> ranks(static_cast<std::size_t>(n));
    for (int r = 0; r < n; ++r) {
      CurrentDevice::set(ordinals[std::size_t(r)]);
      auto& rank = ranks[std::size_t(r)];
      rank.in = std::make_unique<DeviceMemory>(max_bytes);
      rank.out = std::make_unique<DeviceMemory>(max_bytes);
      rank.stream = std::make_unique<Stream>();
      rank.events = std::make_unique<EventPair>();
      rank.bad = std::make_unique<Counter>();
      k::fill_words(rank.in->get(), max_bytes / 4, kSeed + std::uint32_t(r), false, rank.stream->get());
      cuda::check(cudaGetLastError(), "fill_words");
      rank.stream->synchronize();
    }
    const std::vector<std::uint64_t> sizes = [&] {
      std::vector<std::uint64_t> s;
      const std::uint64_t step = driver.settings().quick ? 16 : 4;
      for (std::uint64_t b = std::uint64_t(1) << 20; b <= max_bytes; b *= step) s.push_back(b);
      return s;
    }();
    for (const auto& c : kCollectives)
      for (std::uint64_t bytes : sizes) {
        if (driver.stopped()) return;
        // The buffer is a whole number of words per rank.
        const std::uint64_t words = bytes / 4 / std::uint64_t(n) * std::uint64_t(n);
        if (words == 0) continue;
        const std::uint64_t per_rank = words / std::uint64_t(n);
        driver.progress(fmt::format("{} {} over {} GPUs", c.name, human_bytes(double(words * 4)), n));
        std::uint32_t iterations = 1;
        auto sample = [&](std::string& problem) {
          for (int r = 0; r < n; ++r) {
            CurrentDevice::set(ordinals[std::size_t(r)]);
            auto& rank = ranks[std::size_t(r)];
            cuda::check(cudaMemsetAsync(rank.out->get(), 0xff, words * 4, rank.stream->get()), "cudaMemsetAsync");
            rank.events->start(rank.stream->get());
          }
          for (std::uint32_t i = 0; i < iterations; ++i) {
            nccl.check(nccl.group_start(), "ncclGroupStart");
            for (int r = 0; r < n; ++r) {
              auto& rank = ranks[std::size_t(r)];
              const auto comm = comms[std::size_t(r)];
              const cudaStream_t s = rank.stream->get();
              if (c.kind == k::Collective::all_reduce)
                nccl.check(nccl.all_reduce(rank.in->get(), rank.out->get(), words, ncclUint32, ncclSum, comm, s),
                           "ncclAllReduce");
              else if (c.kind == k::Collective::all_gather)
                nccl.check(nccl.all_gather(rank.in->get(), rank.out->get(), per_rank, ncclUint32, comm, s),
                           "ncclAllGather");
              else
                nccl.check(nccl.reduce_scatter(rank.in->get(), rank.out->get(), per_rank, ncclUint32, ncclSum, comm, s),
                           "ncclReduceScatter");
            }
            nccl.check(nccl.group_end(), "ncclGroupEnd");
          }
          double seconds = 0;
          for (int r = 0; r < n; ++r) {
            CurrentDevice::set(ordinals[std::size_t(r)]);
            auto& rank = ranks[std::size_t(r)];
            rank.events->stop(rank.stream->get());
            rank.stream->synchronize();
            seconds = std::max(seconds, rank.events->seconds());
            const std::uint64_t out_words = c.kind == k::Collective::reduce_scatter ? per_rank : words;
            rank.bad->zero(rank.stream->get());
            k::check_collective(c.kind, rank.out->get(), out_words, n, r, kSeed, rank.bad->get(), rank.stream->get());
            cuda::check(cudaGetLastError(), "check_collective");
            if (const auto wrong = rank.bad->read(*rank.stream); wrong && problem.empty())
              problem = fmt::format("{} of {} words of {}'s {} result differ from the exact one", wrong, out_words,
                                    gpus[std::size_t(r)].key(), c.name);
          }
          return seconds / iterations;
        };
        std::string problem;
        calibrate_count(sample_seconds(driver.settings(), 0.01, 0.05), iterations, std::uint32_t(1000),
                        [&](std::string& p) { return sample(p) * iterations; }, problem);
        const double buffer = double(words) * 4;
        Measurement m = driver.measurement(bus_figure(c), {{"bytes", words * 4},
                                                           {"gpus", n},
                                                           {"ranks", n},
                                                           {"nodes", 1},
                                                           {"library", "NCCL " + nccl.version()},
                                                           {"iterations_per_sample", iterations}});
        const std::string name = c.name;
        driver.measure_unless(problem, std::move(m), fmt::format("cuda.links/{}/{}", c.name, words * 4), sample,
                              "every GPU's result against the exact uint32 sums (or gathered blocks), on that GPU",
                              [buffer, name, n](double s) { return bus_bandwidth(name, buffer / s, n); }, 0);
      }
#endif
  }
};

ROOFAUDIT_REGISTER_PROBE(CudaLinksProbe);

}  // namespace
}  // namespace roofaudit::cuda
