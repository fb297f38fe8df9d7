#include "calibrate/knee.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "values/error.hpp"
#include "values/stored.hpp"

namespace roofaudit::calibrate {

KneeFit fit_decode_knee(std::vector<KneePoint> points) {
  if (points.size() < 3) throw Error(fmt::format("a decode knee needs at least 3 batch sizes, not {}", points.size()));
  for (const auto& p : points)
    if (!(p.batch >= 1) || !(p.step_time_s > 0) || !std::isfinite(p.step_time_s))
      throw Error("decode knee: every point needs batch >= 1 and a positive step time");
  std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.batch < b.batch; });

  const double lo = std::log(points.front().batch / 4), hi = std::log(points.back().batch * 4);
  KneeFit best;
  double best_sse = std::numeric_limits<double>::infinity();
  constexpr int kGrid = 2000;  // 0.3% steps over a 64x range: finer than any measurement
  for (int g = 0; g <= kGrid; ++g) {
    const double knee = std::exp(lo + (hi - lo) * g / kGrid);
    // For a fixed knee the best log t_mem is the mean residual; the SSE follows.
    double mean = 0;
    for (const auto& p : points) mean += std::log(p.step_time_s) - std::log(std::max(1.0, p.batch / knee));
    mean /= double(points.size());
    double sse = 0;
    for (const auto& p : points) {
      const double r = std::log(p.step_time_s) - (mean + std::log(std::max(1.0, p.batch / knee)));
      sse += r * r;
    }
    if (sse < best_sse) {
      best_sse = sse;
      best.knee_batch = knee;
      best.memory_step_time_s = std::exp(mean);
    }
  }
  best.per_sequence_time_s = best.memory_step_time_s / best.knee_batch;
  // A flat (or linear) curve fits equally well with any knee past (before) its end; the
  // grid then stops at the end itself, which is a bound, not a measured knee.
  best.within_sweep = best.knee_batch > points.front().batch * 1.01 && best.knee_batch < points.back().batch / 1.01;
  best.rms_log_error = std::sqrt(best_sse / double(points.size()));
  return best;
}

std::vector<DecodeKnee> fit_decode_knees(const std::vector<Measurement>& measurements,
                                         const std::map<std::string, double>& memory_bandwidth, const RoleMap& roles) {
  using Key = std::tuple<std::string, std::string, std::string>;  // probe, device, variant
  std::map<Key, std::map<double, double>> step_time;             // -> batch -> best seconds
  std::map<Key, double> batch1, bytes_per_weight;
  std::map<Key, std::string> peak_variant;
  std::map<std::pair<std::string, std::string>, std::pair<int, double>> peak;  // (device, variant)
  for (const auto& m : measurements) {
    if (!m.valid || !m.summary) continue;
    const Role role = role_of(roles, m.probe);
    if (role == Role::peak) {
      auto& slot = peak[{m.device, m.variant}];
      const int threads = m.params.value("threads", 1);
      if (threads >= slot.first) slot = {threads, m.summary->best};
      continue;
    }
    if (role != Role::decode_sweep || !m.params.contains("batch")) continue;
    const Key key{m.probe, m.device, m.variant};
    const double batch = m.params["batch"].get<double>();
    if (m.metric == "step_time") step_time[key][batch] = m.summary->best;
    if (m.metric == "weight_bandwidth" && batch == 1) batch1[key] = m.summary->best;
    const double weights = m.params.value("rows", 0.0) * m.params.value("k", 0.0);
    if (weights > 0) bytes_per_weight[key] = m.params.value("weight_bytes", 0.0) / weights;
    peak_variant[key] = m.params.value("peak_variant", m.variant);
  }
  std::vector<DecodeKnee> out;
  for (const auto& [key, curve] : step_time) {
    if (curve.size() < 3) continue;
    std::vector<KneePoint> points;
    for (const auto& [batch, seconds] : curve) points.push_back({batch, seconds});
    DecodeKnee k;
    std::tie(k.probe, k.device, k.variant) = key;
    k.fit = fit_decode_knee(points);
    k.bytes_per_weight = bytes_per_weight[key];
    k.batch1_bandwidth = batch1.count(key) ? batch1[key] : 0;
    if (const auto bw = memory_bandwidth.find(k.device); bw != memory_bandwidth.end() && bw->second > 0) {
      k.memory_bandwidth = bw->second;
      if (k.batch1_bandwidth > 0) k.batch1_fraction = k.batch1_bandwidth / bw->second;
    }
    if (const auto p = peak.find({k.device, peak_variant[key]}); p != peak.end()) {
      k.peak_ops = p->second.second;
      if (k.memory_bandwidth) k.roofline_knee = *k.peak_ops * k.bytes_per_weight / (2 * *k.memory_bandwidth);
    }
    out.push_back(std::move(k));
  }
  return out;
}

namespace {
template <typename T>
void put_optional(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
template <typename T>
std::optional<T> get_optional(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return j[key].get<T>();
}
}  // namespace

nlohmann::json decode_knee_to_json(const DecodeKnee& k) {
  nlohmann::json j = {{"knee_batch", k.fit.knee_batch},
                      {"memory_step_time_s", k.fit.memory_step_time_s},
                      {"per_sequence_time_s", k.fit.per_sequence_time_s},
                      {"within_sweep", k.fit.within_sweep},
                      {"rms_log_error", k.fit.rms_log_error},
                      {"bytes_per_weight", k.bytes_per_weight},
                      {"batch1_bandwidth", k.batch1_bandwidth},
                      {"device", k.device}};
  put_optional(j, "memory_bandwidth", k.memory_bandwidth);
  put_optional(j, "peak_ops", k.peak_ops);
  put_optional(j, "roofline_knee", k.roofline_knee);
  put_optional(j, "batch1_fraction", k.batch1_fraction);
  if (!k.bound.empty()) j["bound"] = k.bound;
  return j;
}

DecodeKnee decode_knee_from_json(const std::string& probe, const std::string& variant, const nlohmann::json& j) {
  return read_stored("decode knee fit", [&] {
    DecodeKnee k;
    k.probe = probe;
    k.device = j.value("device", "cpu");
    k.variant = variant;
    k.fit.knee_batch = j.value("knee_batch", 0.0);
    k.fit.memory_step_time_s = j.value("memory_step_time_s", 0.0);
    k.fit.per_sequence_time_s = j.value("per_sequence_time_s", 0.0);
    k.fit.within_sweep = j.value("within_sweep", false);
    k.fit.rms_log_error = j.value("rms_log_error", 0.0);
    k.bytes_per_weight = j.value("bytes_per_weight", 0.0);
    k.batch1_bandwidth = j.value("batch1_bandwidth", 0.0);
    k.memory_bandwidth = get_optional<double>(j, "memory_bandwidth");
    k.peak_ops = get_optional<double>(j, "peak_ops");
    k.roofline_knee = get_optional<double>(j, "roofline_knee");
    k.batch1_fraction = get_optional<double>(j, "batch1_fraction");
    k.bound = j.value("bound", std::string());
    return k;
  });
}

}  // namespace roofaudit::calibrate
