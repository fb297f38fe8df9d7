#include "probes/driver.hpp"

#include <algorithm>
#include <cmath>

#include "probes/summary.hpp"
#include "probes/topology.hpp"
#include "probes/timing.hpp"

namespace roofaudit {

ProbeDriver::ProbeDriver(ProbeContext& ctx, const Probe& probe)
    : ctx_(ctx), probe_(probe.name()), version_(probe.version()) {}

int ProbeDriver::threads() const { return ctx_.settings.threads > 0 ? ctx_.settings.threads : ctx_.topology.cores(); }

void ProbeDriver::use_device(const DeviceInfo& info, std::string key) {
  ctx_.describe_device(info);
  device_ = std::move(key);
}

int ProbeDriver::repetitions(int quick, int full) const {
  return ctx_.settings.repetitions > 0 ? ctx_.settings.repetitions : (ctx_.settings.quick ? quick : full);
}

double ProbeDriver::sample_seconds(double quick_s, double full_s) const {
  return ctx_.settings.sample_seconds > 0 ? ctx_.settings.sample_seconds : (ctx_.settings.quick ? quick_s : full_s);
}

Measurement ProbeDriver::measurement(const Figure& f, nlohmann::json params) const {
  Measurement m;
  m.probe = probe_;
  m.probe_version = version_;
  m.device = device_;
  m.variant = f.variant;
  m.metric = f.metric;
  m.unit = f.unit;
  m.higher_is_better = f.higher_is_better;
  m.convention = f.convention;
  m.params = std::move(params);
  return m;
}

void ProbeDriver::unsupported(const Figure& f, const std::string& why, nlohmann::json params) const {
  Measurement m = measurement(f, std::move(params));
  m.supported = false;
  m.validation = why;
  ctx_.emit(std::move(m));
}

void ProbeDriver::measure(Measurement m, const std::string& bench_name, const CheckedSample& sample,
                          const std::string& checked, const std::function<double(double)>& value_of, int warmup) const {
  measure_unless("", std::move(m), bench_name, sample, checked, value_of, warmup);
}

void ProbeDriver::measure_unless(const std::string& problem, Measurement m, const std::string& bench_name,
                                 const CheckedSample& sample, const std::string& checked,
                                 const std::function<double(double)>& value_of, int warmup) const {
  store(std::move(m), time(problem, bench_name, sample, warmup), checked, value_of);
}

ProbeDriver::Timed ProbeDriver::time(const std::string& found, const std::string& bench_name, const CheckedSample& sample,
                                     int warmup, int reps) const {
  Timed t{{}, found};
  for (int i = 0; i < warmup && t.problem.empty(); ++i) sample(t.problem);
  if (!t.problem.empty()) return t;
  const auto timing = time_repetitions(bench_name, 0, reps > 0 ? reps : repetitions(), [&] {
    std::string p;
    const double s = sample(p);
    if (!p.empty()) throw SampleFailed{p};
    return s;
  });
  t.seconds = timing.seconds;
  if (!timing.ok) t.problem = timing.error;
  return t;
}

void ProbeDriver::store(Measurement m, const Timed& t, const std::string& checked,
                        const std::function<double(double)>& value_of) const {
  ctx_.emit(outcome(std::move(m), t, checked, value_of));
}

Measurement ProbeDriver::outcome(Measurement m, const Timed& t, const std::string& checked,
                                 const std::function<double(double)>& value_of) const {
  record_outcome(m, t.seconds, t.problem, checked, value_of);
  return m;
}

void calibrate(double target_s, std::uint64_t& count, std::uint64_t most, const std::function<void(std::uint64_t)>& set,
               const CheckedSample& sample, std::string& problem, double reach, double least_growth) {
  count = std::max<std::uint64_t>(count, 1);
  for (;;) {
    set(count);
    const double s = sample(problem);
    if (!problem.empty() || s >= target_s * reach || count >= most) return;
    const double scale = s > 0 ? target_s / s : 16;
    count = std::min<std::uint64_t>(most, std::uint64_t(std::ceil(double(count) * std::clamp(scale * 1.05, least_growth, 16.0))));
  }
}

}  // namespace roofaudit
