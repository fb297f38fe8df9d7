#pragma once
// A probe measures one capability of a device. Adding one is one new file with a class
// derived from Probe and one ROOFAUDIT_REGISTER_PROBE line.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probes/cuda/options.hpp"
#include "probes/vulkan/options.hpp"
#include "values/measurement.hpp"
#include "values/roles.hpp"

namespace roofaudit {

class Topology;

struct RunSettings {
  int threads = 0;                       // 0: one per core the process may use
  bool quick = false;
  std::uint64_t min_working_set_bytes = 4096;
  std::uint64_t max_working_set_bytes = 0;  // 0: the probe's default
  int repetitions = 0;                   // 0: the probe's default
  double sample_seconds = 0;             // 0: the probe's default target per repetition
  std::uint64_t seed = 0x5eed;
  std::string executable;                // roofaudit itself, for probes that need a child
                                         // process (empty: those parts are skipped)
  vk::Options vulkan;                    // the Vulkan backend's device and validation
  cuda::Options cuda;                    // the CUDA backend's device
  nlohmann::json model = nlohmann::json::object();  // model.decode's shape: name, layers, d_model,
                                         // d_ff, q_heads, kv_heads, head_dim, vocab, tied_embeddings
};

// Everything a probe may use while it runs, and the one way its results leave it.
struct ProbeContext {
  const RunSettings& settings;
  const Topology& topology;
  std::function<void(Measurement)> emit;          // stores one result, in its own transaction
  std::function<void(const std::string&)> progress;  // what is being measured now
  const std::atomic<bool>& stop_requested;
  // Records a device other than the CPU (a GPU) before its measurements are emitted;
  // measurements name it in `device` ("gpu:N").
  std::function<void(const DeviceInfo&)> describe_device = [](const DeviceInfo&) {};
};

class Probe {
 public:
  virtual ~Probe() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  virtual int version() const = 0;
  // What calibration takes its figures for (values/roles.hpp); none: not calibrated.
  virtual Role role() const { return Role::none; }
  // Throws Error if the settings cannot work (e.g. more memory than the machine has);
  // called for every selected probe before any probe runs, so bad input stores nothing.
  virtual void check(const RunSettings& settings, const Topology& topology) const = 0;
  virtual void run(ProbeContext& ctx) = 0;
};

// What names a probe's measurements in the store: its name, its method's version (a new
// version starts a new series) and what it measures.
struct ProbeIdentity {
  std::string_view name;
  int version = 1;
  std::string_view description;
  Role role = Role::none;  // what calibration takes its figures for
};


using ProbeFactory = std::function<std::unique_ptr<Probe>()>;

class ProbeRegistry {
 public:
  static ProbeRegistry& instance();
  void add(ProbeFactory factory);
  // All registered probes, sorted by name.
  std::vector<std::unique_ptr<Probe>> all() const;
  // The named probes, in the order given. A name may be a prefix ending in '.' or '*'
  // ("cpu." or "cpu.*"). Throws Error naming any unknown name.
  std::vector<std::unique_ptr<Probe>> select(const std::vector<std::string>& names) const;
  // Every registered probe's declared role, by name: what calibration reads figures for
  // (made once: every report and prediction asks).
  const RoleMap& roles() const;

 private:
  std::vector<ProbeFactory> factories_;
  mutable std::optional<RoleMap> roles_;  // emptied by add()
};

struct ProbeRegistration {
  explicit ProbeRegistration(ProbeFactory factory) {
    ProbeRegistry::instance().add(std::move(factory));
  }
};

#define ROOFAUDIT_REGISTER_PROBE(Type) \
  static const ::roofaudit::ProbeRegistration roofaudit_probe_registration_##Type( \
      [] { return std::make_unique<Type>(); })

}  // namespace roofaudit
