#pragma once
// What every CUDA probe starts from: the selected device opened (a stream, events), or
// the one-line reason there is none, stored as each figure being skipped. RAII owners for
// device and pinned host memory, and the timing and checking every probe shares.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "probes/cuda/backend.hpp"
#include "probes/driver.hpp"
#include "probes/probe.hpp"
#include "values/error.hpp"

namespace roofaudit::cuda {

// A failed CUDA runtime call: what was called and the runtime's name and text for it.
void check(cudaError_t result, const char* call);

class DeviceMemory {
 public:
  explicit DeviceMemory(std::uint64_t bytes);
  ~DeviceMemory();
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;
  void* get() const { return ptr_; }
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }
  std::uint64_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::uint64_t bytes_ = 0;
};

// Page-locked host memory; `mapped`: also addressable by the device (device_pointer()).
class PinnedMemory {
 public:
  PinnedMemory(std::uint64_t bytes, bool mapped = false);
  ~PinnedMemory();
  PinnedMemory(const PinnedMemory&) = delete;
  PinnedMemory& operator=(const PinnedMemory&) = delete;
  void* get() const { return ptr_; }
  void* device_pointer() const;
  std::uint64_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::uint64_t bytes_ = 0;
};

class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }
  // Waits for everything enqueued, bounded: a stream still busy after `timeout_s` is an
  // Error (a hung kernel must not hang the audit).
  void synchronize(double timeout_s = 60) const;

 private:
  cudaStream_t stream_ = nullptr;
};

// Two events around enqueued work: GPU time between them.
class EventPair {
 public:
  EventPair();
  ~EventPair();
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  void start(cudaStream_t s) const { check(cudaEventRecord(start_, s), "cudaEventRecord"); }
  void stop(cudaStream_t s) const { check(cudaEventRecord(stop_, s), "cudaEventRecord"); }
  cudaEvent_t stop_event() const { return stop_; }
  double seconds() const;  // after the stream was synchronised

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// A counter of failures in device memory (what the checking kernels add to).
class Counter {
 public:
  Counter() : memory_(sizeof(unsigned long long)) {}
  unsigned long long* get() const { return memory_.as<unsigned long long>(); }
  void zero(cudaStream_t s) const;
  unsigned long long read(const Stream& s) const;  // synchronises

 private:
  DeviceMemory memory_;
};

struct Session {
  DeviceView device;
  std::string skipped;  // non-empty: no device, and why
  bool open() const { return skipped.empty(); }
};

// Opens the device settings.cuda.device selects (cudaSetDevice). Throws Error when a
// selector was given and names no device; a machine without a driver or a device gives
// `skipped`.
Session open_session(const RunSettings& settings);

// The sample target of a CUDA probe: --sample-ms, else `quick_s` / `full_s`.
double sample_seconds(const RunSettings& settings, double quick_s, double full_s);

// What every CUDA probe shares: the selector checked before anything runs, the session
// opened, the device recorded (figures name it "cuda:N"), or each figure stored as
// skipped with the reason.
class CudaProbe : public DrivenProbe {
 public:
  using DrivenProbe::DrivenProbe;
  void check(const RunSettings& settings, const Topology&) const override;

 protected:
  virtual std::vector<Figure> figures() const = 0;
  virtual void run_on(ProbeDriver& driver, const DeviceView& device) = 0;

 private:
  void run_with(ProbeDriver& driver) final;
};

}  // namespace roofaudit::cuda
