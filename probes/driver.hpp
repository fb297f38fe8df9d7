#pragma once
// The machinery every probe shares, owned once: the repetition and sample-time defaults,
// the identity of each figure, unsupported figures, and a point's whole life (validate,
// time under Google Benchmark, validate every sample, summarise, store). A probe says
// what its figures are and how to take one checked sample; the driver does the rest.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "probes/probe.hpp"
#include "values/measurement.hpp"

namespace roofaudit {

// What a figure is, before anything is measured.
struct Figure {
  std::string variant;
  std::string metric;
  std::string unit;
  bool higher_is_better = true;
  std::string convention;  // how it is counted
};

// One sample of a point: runs the measured work once, checks what it computed, and
// returns the seconds the timed part took. A non-empty `problem` says why the result is
// wrong; the figure is then stored as failed, with that reason, and no number.
using CheckedSample = std::function<double(std::string& problem)>;

class ProbeDriver {
 public:
  ProbeDriver(ProbeContext& ctx, const Probe& probe);

  const RunSettings& settings() const { return ctx_.settings; }
  const Topology& topology() const { return ctx_.topology; }
  bool stopped() const { return ctx_.stop_requested; }
  // --threads, else one per core.
  int threads() const;
  void progress(const std::string& what) const { ctx_.progress(what); }
  // Records a device other than the CPU; later figures name it ("gpu:N").
  void use_device(const DeviceInfo& info, std::string key);
  // Names the device figures carry without recording one ("gpu" where none was opened).
  void use_device_key(std::string key) { device_ = std::move(key); }
  const std::string& device() const { return device_; }

  // --repetitions, else 3 with --quick, else 5 (or the probe's own defaults).
  int repetitions() const { return repetitions(3, 5); }
  int repetitions(int quick, int full) const;
  // --sample-ms, else `quick_s` with --quick, else `full_s`.
  double sample_seconds(double quick_s, double full_s) const;

  // A Measurement of this probe and device with the figure's identity and `params`.
  Measurement measurement(const Figure& f, nlohmann::json params = nlohmann::json::object()) const;
  // A figure the device cannot give, stored as unsupported with the reason.
  void unsupported(const Figure& f, const std::string& why, nlohmann::json params = nlohmann::json::object()) const;
  // A point: `warmup` untimed samples (the first problem ends it, with no timing), then
  // repetitions() timed samples under the engine, each checked; then the outcome (every
  // sample worth value_of(seconds) in the figure's unit, or the failure) is stored.
  // `checked` says what was validated. `m` comes from measurement().
  void measure(Measurement m, const std::string& bench_name, const CheckedSample& sample, const std::string& checked,
               const std::function<double(double)>& value_of, int warmup = 1) const;
  // The same, after a probe's own calibration has found `problem` (stored as the failure
  // when non-empty, with nothing timed).
  void measure_unless(const std::string& problem, Measurement m, const std::string& bench_name,
                      const CheckedSample& sample, const std::string& checked,
                      const std::function<double(double)>& value_of, int warmup = 1) const;
  // The two halves of measure_unless, for a timing that several figures share (one
  // step's time, its weight bandwidth and its throughput): the timed seconds or the
  // problem, then one figure from them.
  struct Timed {
    std::vector<double> seconds;
    std::string problem;
  };
  // `repetitions` 0: repetitions().
  Timed time(const std::string& problem, const std::string& bench_name, const CheckedSample& sample,
             int warmup = 1, int repetitions = 0) const;
  void store(Measurement m, const Timed& t, const std::string& checked,
             const std::function<double(double)>& value_of) const;
  // store's outcome without storing it, for a probe that picks among candidates first.
  Measurement outcome(Measurement m, const Timed& t, const std::string& checked,
                      const std::function<double(double)>& value_of) const;
  // Stores a finished measurement as it is.
  void emit(Measurement m) const { ctx_.emit(std::move(m)); }

 private:
  ProbeContext& ctx_;
  std::string probe_;
  int version_;
  std::string device_ = "cpu";
};

// A probe measured through the driver: it states its identity once, and run() hands its
// run_with() a driver for the run. Adding one is a file with its class and registration.
class DrivenProbe : public Probe {
 public:
  explicit DrivenProbe(ProbeIdentity identity) : identity_(identity) {}
  std::string_view name() const final { return identity_.name; }
  std::string_view description() const final { return identity_.description; }
  int version() const final { return identity_.version; }
  Role role() const final { return identity_.role; }
  // Nothing to refuse unless the probe says otherwise.
  void check(const RunSettings&, const Topology&) const override {}
  void run(ProbeContext& ctx) final {
    ProbeDriver driver(ctx, *this);
    run_with(driver);
  }

 protected:
  virtual void run_with(ProbeDriver& driver) = 0;

 private:
  ProbeIdentity identity_;
};

// How much work makes one sample last about `target_s`: `count` (its value the first
// try) grows by the shortfall, at least x`least_growth` and at most x16 a try, until a
// sample reaches `reach` x the target or `most` units. `sample` runs with `count` set and
// may validate; its first problem ends the calibration (in `problem`). These samples are
// also the warm-up: caches hold the working set and clocks have ramped when timing starts.
void calibrate(double target_s, std::uint64_t& count, std::uint64_t most, const std::function<void(std::uint64_t)>& set,
               const CheckedSample& sample, std::string& problem, double reach, double least_growth);
template <typename Count>
void calibrate_count(double target_s, Count& count, Count most, const CheckedSample& sample, std::string& problem,
                     double reach = 1.0, double least_growth = 1.5) {
  std::uint64_t n = count;
  calibrate(target_s, n, most, [&](std::uint64_t k) { count = Count(k); }, sample, problem, reach, least_growth);
}

}  // namespace roofaudit
