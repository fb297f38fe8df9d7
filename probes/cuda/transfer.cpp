// cuda.transfer: host <-> device bandwidth of pinned copies (cudaMemcpyAsync on the copy
// engines), one way each and both ways at once, 64 KiB .. 1 GiB, timed as nvbandwidth
// does: the copies are enqueued behind a spin kernel that waits for the host, so the
// events time the copies, not their enqueueing. What arrives is checked (on the GPU for
// device memory; every 4 KiB page's sampled word for host memory), and no figure above
// the PCIe link's signalling rate (read from the kernel's PCI driver) is stored as valid.
#include <cstring>

#include <memory>

#include <fmt/format.h>

#include "kernels/cuda/kernels.hpp"
#include "probes/cuda/session.hpp"
#include "values/units.hpp"

namespace roofaudit::cuda {
namespace {

namespace k = kernels::cuda;

constexpr ProbeIdentity kIdentity{"cuda.transfer", 1,
                                  "CUDA host<->device bandwidth: pinned cudaMemcpyAsync each way and both ways, "
                                  "enqueue hidden behind a spin kernel",
                                  Role::host_link};
enum class Way { h2d, d2h, both };
struct Variant {
  Way way;
  const char* name;
  const char* convention;
};
const Variant kVariants[] = {
    {Way::h2d, "h2d_copy", "bytes moved host->device once; pinned host memory, cudaMemcpyAsync"},
    {Way::d2h, "d2h_copy", "bytes moved device->host once; pinned host memory, cudaMemcpyAsync"},
    {Way::both, "bidirectional_copy",
     "bytes moved in both directions, summed; one copy each way on two streams at once"},
};
constexpr std::uint32_t kSeedHost = 0x51ed270bu, kSeedDevice = 0x2545f491u;
constexpr std::uint64_t kPage = 4096;
constexpr std::uint64_t kSpinTimeoutNs = 5'000'000'000ull;  // bounds every wait on the host

Figure figure(const Variant& v) { return {v.name, "bandwidth", "B/s", true, v.convention}; }

class CudaTransferProbe final : public CudaProbe {
 public:
  CudaTransferProbe() : CudaProbe(kIdentity) {}

 protected:
  std::vector<Figure> figures() const override {
    std::vector<Figure> f;
    for (const auto& v : kVariants) f.push_back(figure(v));
    return f;
  }

  void run_on(ProbeDriver& driver, const DeviceView& device) override {
    std::uint64_t max_bytes = driver.settings().quick ? std::uint64_t(64) << 20 : std::uint64_t(1) << 30;
    if (driver.settings().max_working_set_bytes)
      max_bytes = std::max<std::uint64_t>(driver.settings().max_working_set_bytes / 2 / kPage * kPage, 64 * 1024);
    max_bytes = std::min<std::uint64_t>(max_bytes, std::max<std::uint64_t>(device.memory_bytes / 8, 64 * 1024));
    driver.progress(fmt::format("{}: pinning 2 x {} of host memory", device.name, human_bytes(double(max_bytes))));
    Buffers b(max_bytes);
    for (const auto& v : kVariants)
      for (std::uint64_t bytes = 64 * 1024; bytes <= max_bytes; bytes *= 4) {
        if (driver.stopped()) return;
        driver.progress(fmt::format("{} {}", v.name, human_bytes(double(bytes))));
        measure(driver, device, b, v, bytes);
      }
  }

 private:
  struct Buffers {
    explicit Buffers(std::uint64_t bytes)
        : host_src(bytes), host_dst(bytes), device_src(bytes), device_dst(bytes), flag(sizeof(int), true) {
      // The host source holds fill_word(i, kSeedHost); the device source fill_word(i, kSeedDevice).
      auto* w = static_cast<std::uint32_t*>(host_src.get());
      for (std::uint64_t i = 0; i < bytes / 4; ++i) w[i] = k::fill_word(std::uint32_t(i), kSeedHost);
      k::fill_words(device_src.get(), bytes / 4, kSeedDevice, false, copy.get());
      cuda::check(cudaGetLastError(), "fill_words");
      copy.synchronize();
    }
    PinnedMemory host_src, host_dst;
    DeviceMemory device_src, device_dst;
    PinnedMemory flag;  // what the spin kernel waits for
    DeviceMemory timed_out{sizeof(int)};
    Counter bad;
    Stream copy, other;
  };

  // The host destination's sampled words (one per page, its offset moving with `tag`)
  // poisoned before a sample and checked after it.
  static std::uint64_t sampled_word(std::uint64_t page, std::uint32_t tag) {
    return page * (kPage / 4) + (k::fill_word(std::uint32_t(page), tag) % (kPage / 4));
  }

  static void measure(const ProbeDriver& driver, const DeviceView& device, Buffers& b, const Variant& v,
                      std::uint64_t bytes) {
    const EventPair events;
    cudaEvent_t raw = nullptr;
    cuda::check(cudaEventCreateWithFlags(&raw, cudaEventDisableTiming), "cudaEventCreate");
    const std::unique_ptr<CUevent_st, decltype(&cudaEventDestroy)> owned(raw, &cudaEventDestroy);
    cudaEvent_t joined = owned.get();
    std::uint32_t copies = 1, tag = 0;
    const std::uint64_t words = bytes / 4, pages = bytes / kPage;
    auto sample = [&](std::string& problem) {
      ++tag;
      volatile int* flag = static_cast<volatile int*>(b.flag.get());
      *flag = 0;
      auto* host_dst = static_cast<std::uint32_t*>(b.host_dst.get());
      for (std::uint64_t p = 0; p < pages; ++p) host_dst[sampled_word(p, tag)] = ~k::fill_word(std::uint32_t(sampled_word(p, tag)), kSeedDevice);
      cuda::check(cudaMemsetAsync(b.device_dst.get(), 0, bytes, b.copy.get()), "cudaMemsetAsync");
      cuda::check(cudaMemsetAsync(b.timed_out.get(), 0, sizeof(int), b.copy.get()), "cudaMemsetAsync");
      k::spin(static_cast<const volatile int*>(b.flag.device_pointer()), kSpinTimeoutNs, b.timed_out.as<int>(),
              b.copy.get());
      events.start(b.copy.get());
      if (v.way == Way::both) {
        cuda::check(cudaEventRecord(joined, b.copy.get()), "cudaEventRecord");
        cuda::check(cudaStreamWaitEvent(b.other.get(), joined, 0), "cudaStreamWaitEvent");
      }
      for (std::uint32_t c = 0; c < copies; ++c) {
        if (v.way != Way::d2h)
          cuda::check(cudaMemcpyAsync(b.device_dst.get(), b.host_src.get(), bytes, cudaMemcpyHostToDevice, b.copy.get()),
                "cudaMemcpyAsync");
        if (v.way != Way::h2d)
          cuda::check(cudaMemcpyAsync(b.host_dst.get(), b.device_src.get(), bytes, cudaMemcpyDeviceToHost,
                                v.way == Way::both ? b.other.get() : b.copy.get()),
                "cudaMemcpyAsync");
      }
      if (v.way == Way::both) {
        cuda::check(cudaEventRecord(joined, b.other.get()), "cudaEventRecord");
        cuda::check(cudaStreamWaitEvent(b.copy.get(), joined, 0), "cudaStreamWaitEvent");
      }
      events.stop(b.copy.get());
      *flag = 1;  // everything is enqueued: the copies start together
      b.copy.synchronize();
      b.other.synchronize();
      int timed_out = 0;
      cuda::check(cudaMemcpy(&timed_out, b.timed_out.get(), sizeof timed_out, cudaMemcpyDeviceToHost), "cudaMemcpy");
      if (timed_out) problem = "the spin kernel timed out before the copies were enqueued: the timing includes enqueueing";
      if (problem.empty() && v.way != Way::d2h) {
        b.bad.zero(b.copy.get());
        k::count_mismatches(b.device_dst.get(), words, kSeedHost, b.bad.get(), b.copy.get());
        if (const auto wrong = b.bad.read(b.copy))
          problem = fmt::format("{} of {} words copied to the device differ from the host's", wrong, words);
      }
      if (problem.empty() && v.way != Way::h2d)
        for (std::uint64_t p = 0; p < pages; ++p) {
          const std::uint64_t w = sampled_word(p, tag);
          if (host_dst[w] != k::fill_word(std::uint32_t(w), kSeedDevice)) {
            problem = fmt::format("word {} copied to the host differs from the device's", w);
            break;
          }
        }
      return events.seconds();
    };
    std::string problem;
    calibrate_count(0.02, copies, std::uint32_t(256), sample, problem);
    const double moved = double(bytes) * copies * (v.way == Way::both ? 2 : 1);
    Measurement m = driver.measurement(figure(v), {{"bytes", bytes},
                                                   {"device_name", device.name},
                                                   {"transfers_per_sample", copies},
                                                   {"link", device.pcie ? device.pcie->text() : "not read (no PCIe link in sysfs)"}});
    auto timed = driver.time(problem, fmt::format("cuda.transfer/{}/{}", v.name, bytes), sample, 0);
    // The physical limit: what the link's lanes carry one way (both ways: twice).
    if (timed.problem.empty() && device.pcie)
      timed.problem = exceeds_link(*device.pcie, moved, timed.seconds, v.way == Way::both ? 2 : 1);
    driver.store(std::move(m), timed,
                 v.way == Way::h2d ? "every word that reached the device, on the GPU"
                 : v.way == Way::d2h ? "one word per 4 KiB page that reached the host, at an offset new each sample"
                                     : "every word that reached the device (on the GPU) and one per 4 KiB page that "
                                       "reached the host",
                 [moved](double s) { return moved / s; });
  }
};

ROOFAUDIT_REGISTER_PROBE(CudaTransferProbe);

}  // namespace
}  // namespace roofaudit::cuda
