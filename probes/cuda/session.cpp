#include "probes/cuda/session.hpp"

#include <chrono>
#include <thread>

#include <fmt/format.h>

namespace roofaudit::cuda {
namespace {

std::string version_text(int v) { return fmt::format("{}.{}", v / 1000, (v % 1000) / 10); }

DeviceView describe(int ordinal) {
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, ordinal), "cudaGetDeviceProperties");
  DeviceView d;
  d.ordinal = ordinal;
  d.name = p.name;
  unsigned char uuid[16];
  for (int i = 0; i < 16; ++i) uuid[i] = static_cast<unsigned char>(p.uuid.bytes[i]);
  d.uuid = uuid_text(uuid);
  char bus[32] = {};
  if (cudaDeviceGetPCIBusId(bus, sizeof bus, ordinal) == cudaSuccess) {
    d.pci_bus_id = bus;
    for (auto& c : d.pci_bus_id) c = char(std::tolower(static_cast<unsigned char>(c)));
    d.pcie = read_pcie_link(d.pci_bus_id);
    d.pci_device_id = read_pci_device_id(d.pci_bus_id);
  }
  d.compute_major = p.major;
  d.compute_minor = p.minor;
  d.multiprocessors = p.multiProcessorCount;
  d.memory_bytes = p.totalGlobalMem;
  d.l2_bytes = std::uint64_t(p.l2CacheSize);
  d.memory_bus_bits = p.memoryBusWidth;
  int driver = 0, runtime = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess) d.driver_version = version_text(driver);
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess) d.runtime_version = version_text(runtime);
  return d;
}

}  // namespace

void check(cudaError_t result, const char* call) {
  if (result == cudaSuccess) return;
  throw Error(fmt::format("{}: {} ({})", call, cudaGetErrorName(result), cudaGetErrorString(result)));
}

bool built() { return true; }

Listing list_devices() {
  Listing out;
  int count = 0;
  const cudaError_t r = cudaGetDeviceCount(&count);
  if (r == cudaErrorNoDevice || (r == cudaSuccess && count == 0)) {
    out.skipped = "the CUDA driver reports no device";
    return out;
  }
  if (r != cudaSuccess) {
    out.skipped = r == cudaErrorInsufficientDriver
                      ? fmt::format("no usable CUDA driver on this machine (cudaGetDeviceCount: {})", cudaGetErrorName(r))
                      : fmt::format("cudaGetDeviceCount: {} ({})", cudaGetErrorName(r), cudaGetErrorString(r));
    return out;
  }
  for (int i = 0; i < count; ++i) out.devices.push_back(describe(i));
  return out;
}

DeviceMemory::DeviceMemory(std::uint64_t bytes) : bytes_(bytes) {
  check(cudaMalloc(&ptr_, bytes ? bytes : 1), "cudaMalloc");
}
DeviceMemory::~DeviceMemory() { cudaFree(ptr_); }

PinnedMemory::PinnedMemory(std::uint64_t bytes, bool mapped) : bytes_(bytes) {
  check(cudaHostAlloc(&ptr_, bytes ? bytes : 1, mapped ? cudaHostAllocMapped : cudaHostAllocDefault), "cudaHostAlloc");
}
PinnedMemory::~PinnedMemory() { cudaFreeHost(ptr_); }
void* PinnedMemory::device_pointer() const {
  void* d = nullptr;
  check(cudaHostGetDevicePointer(&d, ptr_, 0), "cudaHostGetDevicePointer");
  return d;
}

Stream::Stream() { check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate"); }
Stream::~Stream() { cudaStreamDestroy(stream_); }

void Stream::synchronize(double timeout_s) const {
  // Polled, not cudaStreamSynchronize: that would wait without bound.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    const cudaError_t r = cudaStreamQuery(stream_);
    if (r == cudaSuccess) return;
    if (r != cudaErrorNotReady) check(r, "cudaStreamQuery");
    if (std::chrono::steady_clock::now() > deadline)
      throw Error(fmt::format("the CUDA stream was still busy after {:g} s", timeout_s));
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

EventPair::EventPair() {
  check(cudaEventCreate(&start_), "cudaEventCreate");
  check(cudaEventCreate(&stop_), "cudaEventCreate");
}
EventPair::~EventPair() {
  cudaEventDestroy(start_);
  cudaEventDestroy(stop_);
}
double EventPair::seconds() const {
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start_, stop_), "cudaEventElapsedTime");
  return double(ms) / 1e3;
}

void Counter::zero(cudaStream_t s) const { check(cudaMemsetAsync(get(), 0, sizeof(unsigned long long), s), "cudaMemsetAsync"); }
unsigned long long Counter::read(const Stream& s) const {
  unsigned long long v = 0;
  check(cudaMemcpyAsync(&v, get(), sizeof v, cudaMemcpyDeviceToHost, s.get()), "cudaMemcpyAsync");
  s.synchronize();
  return v;
}

Session open_session(const RunSettings& settings) {
  Session s;
  if (!settings.cuda.not_here.empty()) {
    s.skipped = "skipped: " + settings.cuda.not_here;
    return s;
  }
  Listing l = list_devices();
  if (!l.skipped.empty()) {
    s.skipped = "skipped: " + l.skipped;
    return s;
  }
  const int ordinal = select_device(l.devices, settings.cuda.device);
  check(cudaSetDevice(ordinal), "cudaSetDevice");
  for (auto& d : l.devices)
    if (d.ordinal == ordinal) s.device = d;
  return s;
}

double sample_seconds(const RunSettings& settings, double quick_s, double full_s) {
  if (settings.sample_seconds > 0) return settings.sample_seconds;
  return settings.quick ? quick_s : full_s;
}

void CudaProbe::check(const RunSettings& settings, const Topology&) const {
  if (settings.cuda.device.empty() || !settings.cuda.not_here.empty()) return;
  const Listing l = list_devices();
  if (l.skipped.empty()) select_device(l.devices, settings.cuda.device);  // else: stored as skipped
}

void CudaProbe::run_with(ProbeDriver& driver) {
  const Session s = open_session(driver.settings());
  if (!s.open()) {
    driver.use_device_key("cuda");
    for (const auto& f : figures()) driver.unsupported(f, s.skipped);
    driver.progress(s.skipped);
    return;
  }
  driver.use_device(s.device.device_info(), s.device.key());
  run_on(driver, s.device);
}

}  // namespace roofaudit::cuda
