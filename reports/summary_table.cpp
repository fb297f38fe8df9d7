#include "reports/summary_table.hpp"
#include "reports/format.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "calibrate/knee.hpp"
#include "calibrate/local_chip.hpp"
#include "calibrate/memory_levels.hpp"
#include "calibrate/plateaus.hpp"
#include "values/units.hpp"
#include "reports/history.hpp"

namespace roofaudit::reports {
namespace {

// Display scale for a unit: bandwidth in GB/s (1e9 B/s), time in ns.
struct Scale {
  double factor;
  const char* label;
};
Scale display_scale(const std::string& unit) {
  if (unit == "B/s") return {1e-9, "GB/s"};
  if (unit == "s") return {1e9, "ns"};
  if (unit == "FLOP/s") return {1e-9, "GFLOP/s"};
  if (unit == "OP/s") return {1e-9, "GOP/s"};
  return {1.0, unit.c_str()};
}

std::vector<std::string> ordered_unique(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& s : items)
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  return out;
}

// Levels come from the probe's first curve (read for bandwidth); every variant is shown
// at those levels' working sets.
void render_probe_levels(std::string& out, const std::string& probe, const std::vector<Measurement>& all,
                         const std::vector<const Measurement*>& ms, const store::FitRecord& reference) {
  const Measurement& first = *ms.front();
  const Scale scale = display_scale(first.unit);
  const auto rows = calibrate::level_table(all, probe, calibrate::plateaus_from_json(reference.result));
  std::vector<std::string> variants;
  for (const auto* m : ms) variants.push_back(m->variant);
  variants = ordered_unique(variants);

  const auto threads = first.params.value("threads", 1);
  const std::string where = first.params.contains("device_name")
                                ? first.params["device_name"].get<std::string>()
                                : fmt::format("{} thread{}", threads, threads == 1 ? "" : "s");
  out += fmt::format("\n{} ({}, best repetition; {})\n", probe, scale.label, where);
  out += fmt::format("  {:<6} {:<20}", "level", "working sets");
  for (const auto& v : variants) out += fmt::format(" {:>9}", v);
  out += "\n";
  for (const auto& row : rows) {
    const auto& p = row.level;
    out += fmt::format("  {:<6} {:<20}", p.level, fmt::format("{}..{}", format_bytes(p.from_bytes), format_bytes(p.to_bytes)));
    for (const auto& v : variants) {
      const auto it = std::find_if(row.values.begin(), row.values.end(), [&](const auto& kv) { return kv.first == v; });
      out += it == row.values.end() ? fmt::format(" {:>9}", "-") : fmt::format(" {:>9.4g}", it->second * scale.factor);
    }
    out += "\n";
  }
  std::vector<std::string> ends;
  for (const auto& row : rows)
    if (row.level.boundary_bytes > 0) ends.push_back(fmt::format("{} near {}", row.level.level, format_bytes(row.level.boundary_bytes)));
  if (!ends.empty())
    out += fmt::format("  levels from the {} curve; measured capacities: {}\n", reference.variant, fmt::join(ends, ", "));
  out += fmt::format("  counting: {}\n", first.convention);
}

// Best figure per (variant, threads, BLAS core type), with where it came from.
void render_probe_points(std::string& out, const std::string& probe, const std::vector<const Measurement*>& ms) {
  // A probe skipped as a whole (no such device) is one line.
  const bool all_skipped = std::all_of(ms.begin(), ms.end(), [&](const Measurement* m) {
    return !m->supported && m->validation == ms.front()->validation;
  });
  if (all_skipped) {
    out += fmt::format("\n{}: {}\n", probe, ms.front()->validation);
    return;
  }
  out += fmt::format("\n{} (best repetition)\n", probe);
  std::vector<std::string> order;
  std::map<std::string, const Measurement*> best;
  for (const auto* m : ms) {
    const std::string key = fmt::format("{}|{}|{}", m->variant, m->params.value("threads", 1), m->params.value("coretype", ""));
    if (!best.count(key)) order.push_back(key);
    const Measurement*& slot = best[key];
    const bool better = m->summary && (!slot || !slot->summary || m->summary->best > slot->summary->best);
    if (!slot || better) slot = m;
  }
  std::size_t width = 8;
  for (const auto* m : ms) width = std::max(width, m->variant.size());
  for (const auto& key : order) {
    const Measurement* m = best[key];
    const Scale scale = display_scale(m->unit);
    std::vector<std::string> where;
    if (m->params.contains("threads")) where.push_back(fmt::format("{} thr", m->params["threads"].get<int>()));
    if (m->params.contains("n")) where.push_back(fmt::format("n={}", m->params["n"].get<int>()));
    if (m->params.contains("bytes")) where.push_back(format_bytes(m->params["bytes"].get<double>()));
    for (const char* k : {"tile", "device_name", "memory"})
      if (m->params.contains(k)) where.push_back(m->params[k].get<std::string>());
    for (const char* k : {"instruction", "corename"})
      if (m->params.contains(k)) where.push_back(m->params[k].get<std::string>());
    if (m->params.contains("coretype")) where.push_back("OPENBLAS_CORETYPE=" + m->params["coretype"].get<std::string>());
    if (m->summary)
      out += fmt::format("  {:<{}} {:>10.4g} {:<8} {}\n", m->variant, width, m->summary->best * scale.factor, scale.label,
                         fmt::join(where, ", "));
    else
      out += fmt::format("  {:<{}} {:>10} ({})\n", m->variant, width, m->supported ? "invalid" : "unsupported",
                         m->validation);
  }
}

// The decode sweep: one row per batch size with each variant's step time, effective
// weight bandwidth and arithmetic rate, then each variant's fitted knee beside the
// roofline's prediction from the same run's peak and DRAM bandwidth.
void render_decode(std::string& out, const std::string& probe, const std::vector<const Measurement*>& ms,
                   const std::vector<store::FitRecord>& fits) {
  std::vector<std::string> variants;
  std::map<std::string, std::map<int, std::map<std::string, const Measurement*>>> at;  // variant, B, metric
  std::map<std::string, const Measurement*> any;
  for (const auto* m : ms) {
    variants.push_back(m->variant);
    at[m->variant][m->params.value("batch", 0)][m->metric] = m;
    any[m->variant] = m;
  }
  variants = ordered_unique(variants);
  const Measurement& first = *ms.front();
  const std::string where = first.params.contains("device_name")
                                ? first.params["device_name"].get<std::string>()
                                : fmt::format("{} threads", first.params.value("threads", 1));
  out += fmt::format("\n{} (best repetition; {}; k = {})\n", probe, where, first.params.value("k", 0));
  for (const auto& v : variants) {
    const Measurement& m = *any[v];
    out += fmt::format("  {} weights: {} rows, {}, {}\n", v, m.params.value("rows", 0),
                       format_bytes(m.params.value("weight_bytes", 0.0)), m.params.value("kernel", "?"));
  }
  out += fmt::format("  {:>5}", "B");
  for (const auto& v : variants) out += fmt::format("  {:>10} {:>7} {:>9}", v + " step", "GB/s", v == "int8" ? "GOP/s" : "GFLOP/s");
  out += "\n";
  std::vector<int> batches;
  for (const auto& v : variants)
    for (const auto& [b, metrics] : at[v]) batches.push_back(b);
  std::sort(batches.begin(), batches.end());
  batches.erase(std::unique(batches.begin(), batches.end()), batches.end());
  for (int b : batches) {
    out += fmt::format("  {:>5}", b);
    for (const auto& v : variants) {
      auto cell = [&](const char* metric, double factor, const char* spec) {
        const auto it = at[v][b].find(metric);
        if (it == at[v][b].end()) return std::string("-");
        const Measurement& m = *it->second;
        if (!m.summary) return std::string(m.supported ? "invalid" : "unsupp.");
        return fmt::format(fmt::runtime(spec), m.summary->best * factor);
      };
      out += fmt::format("  {:>10} {:>7} {:>9}", cell("step_time", 1e3, "{:.1f} ms"), cell("weight_bandwidth", 1e-9, "{:.3g}"),
                         cell("throughput", 1e-9, "{:.4g}"));
    }
    out += "\n";
  }
  for (const auto& f : fits) {
    if (f.probe != probe || f.kind != "decode_knee") continue;
    const auto k = calibrate::decode_knee_from_json(f.probe, f.variant, f.result);
    std::string measured =
        k.fit.within_sweep
            ? fmt::format("measured B* = {:.1f} (memory-bound step {:.3g} ms, then {:.3g} ms per vector)", k.fit.knee_batch,
                          k.fit.memory_step_time_s * 1e3, k.fit.per_sequence_time_s * 1e3)
            : fmt::format("no knee inside the sweep (fit bound B* = {:.1f})", k.fit.knee_batch);
    std::vector<std::string> missing;
    const std::string family = probe.substr(0, probe.find('.'));
    if (!k.peak_ops) missing.push_back(family + ".peak");
    if (!k.memory_bandwidth) missing.push_back(family + ".bandwidth sweep into device memory");
    std::string predicted = fmt::format("no roofline prediction: this run has no {}", fmt::join(missing, " and no "));
    if (k.roofline_knee)
      predicted = fmt::format("roofline peak/bandwidth predicts B* = {:.1f} ({:.4g} {} x {:.3g} B per weight / 2 / {:.3g} GB/s), "
                              "measured/predicted {:.2f}",
                              *k.roofline_knee, *k.peak_ops * 1e-9, k.variant == "int8" ? "GOP/s" : "GFLOP/s",
                              k.bytes_per_weight, *k.memory_bandwidth * 1e-9, k.fit.knee_batch / *k.roofline_knee);
    out += fmt::format("  knee {}: {}; {}\n", k.variant, measured, predicted);
    if (!k.bound.empty()) out += fmt::format("  knee {}: {}\n", k.variant, k.bound);
    if (k.batch1_fraction)
      out += fmt::format("  B=1 {}: weights stream at {:.3g} GB/s, {:.0f}% of this run's DRAM read bandwidth ({:.3g} GB/s; "
                         "target 90%)\n",
                         k.variant, k.batch1_bandwidth * 1e-9, 100 * *k.batch1_fraction, *k.memory_bandwidth * 1e-9);
  }
  out += fmt::format("  counting: {}\n", first.convention);
}

// When a wider OpenBLAS core type beat the one OpenBLAS picked, say so and how to get it.
// model.decode: tokens/s per shape beside the serving model's prediction on the chip
// calibrated from the same run.
void render_model_decode(std::string& out, const std::vector<const Measurement*>& ms,
                         const std::vector<store::FitRecord>& fits) {
  std::vector<calibrate::PredictionCheck> checks;
  for (const auto& f : fits)
    if (f.kind == "model_prediction" && f.device == "cpu") checks = calibrate::prediction_checks_from_json(f.result);
  const auto& first = *ms.front();
  const auto model = first.params.value("model", nlohmann::json::object());
  out += fmt::format("\nmodel.decode ({}, {} layers, d_model {}; KV cache bf16; {} threads; median of repetitions)\n",
                     model.value("name", "?"), model.value("layers", 0), model.value("d_model", 0),
                     first.params.value("threads", 0));
  out += fmt::format("  {:<7} {:>7} {:>5} {:>10} {:>9} {:>12} {:>8}\n", "weights", "context", "B", "tokens/s", "step ms",
                     "predicted", "error");
  for (const auto* m : ms) {
    const auto batch = m->params.value("batch", 0);
    const auto context = m->params.value("context", 0);
    if (!m->valid || !m->summary) {
      out += fmt::format("  {:<7} {:>7} {:>5} {:>10}\n", m->variant, context, batch, "failed");
      continue;
    }
    const double tps = m->summary->median;
    std::string predicted = "-", error = "-";
    for (const auto& c : checks)
      if (c.variant == m->variant && c.batch == batch && c.context == context) {
        predicted = fmt::format("{:.4g}", c.predicted_tokens_per_s);
        error = c.calibration_point ? "(fit)" : fmt::format("{:+.1f}%", c.error * 100);
      }
    out += fmt::format("  {:<7} {:>7} {:>5} {:>10.4g} {:>9.2f} {:>12} {:>8}\n", m->variant, context, batch, tps,
                       1e3 * double(batch) / tps, predicted, error);
  }
  if (const auto e = calibrate::prediction_error(checks); e.shapes > 0) {
    out += fmt::format("  predicted by the serving model on this run's calibrated CPU ('predict --chip local'; its per-layer "
                       "overhead fitted on the points marked (fit)): median |error| {:.1f}%, worst {:.1f}% over {} shapes\n",
                       100 * e.median, 100 * e.worst, e.shapes);
  } else {
    out += "  no prediction beside it: the run lacks the CPU calibration (cpu.bandwidth, cpu.peak)\n";
  }
}

void render_blas_advice(std::string& out, const std::vector<Measurement>& all) {
  std::map<std::string, double> peak, picked, wider;
  std::map<std::string, std::string> picked_core, wider_core;
  for (const auto& m : all) {
    if (!m.summary) continue;
    const int threads = m.params.value("threads", 1);
    if (m.probe == "cpu.peak") peak[m.variant] = std::max(peak[m.variant], threads > 1 || !peak.count(m.variant) ? m.summary->best : 0.0);
    if (m.probe != "cpu.gemm" || m.params.value("library", "") != "blas") continue;
    if (m.params.contains("coretype")) {
      if (m.summary->best > wider[m.variant]) {
        wider[m.variant] = m.summary->best;
        wider_core[m.variant] = m.params["coretype"].get<std::string>();
      }
    } else if (m.summary->best > picked[m.variant]) {
      picked[m.variant] = m.summary->best;
      picked_core[m.variant] = m.params.value("corename", "?");
    }
  }
  for (const auto& [variant, rate] : wider) {
    if (!picked.count(variant) || rate < 1.10 * picked[variant]) continue;
    std::string of_peak;
    if (peak.count(variant) && peak[variant] > 0)
      of_peak = fmt::format(" ({:.0f}% of the measured {} peak, against {:.0f}%)", 100 * rate / peak[variant], variant,
                            100 * picked[variant] / peak[variant]);
    out += fmt::format("  note: OpenBLAS picked its {} kernels for {}: {:.1f} GFLOP/s. With OPENBLAS_CORETYPE={} it reaches "
                       "{:.1f} GFLOP/s (+{:.0f}%){}; export OPENBLAS_CORETYPE={} for programs using this BLAS\n",
                       picked_core[variant], variant, picked[variant] / 1e9, wider_core[variant], rate / 1e9,
                       100 * (rate / picked[variant] - 1), of_peak, wider_core[variant]);
  }
}

// int8 / bf16 GEMM: roofaudit's kernel beside oneDNN's matmul, each at its best size on
// all threads. The headline (the calibration's matmul rate) is the faster of the two.
void render_lowp_gemm_comparison(std::string& out, const std::vector<const Measurement*>& gemm) {
  struct Best {
    double rate = 0;
    std::string kernel, unit;
  };
  std::map<std::string, std::map<std::string, Best>> best;  // variant -> library -> best
  int most_threads = 0;
  for (const auto* m : gemm) most_threads = std::max(most_threads, m->params.value("threads", 1));
  for (const auto* m : gemm) {
    const std::string library = m->params.value("library", "");
    if (!m->summary || (library != "roofaudit" && library != "onednn") || m->params.value("threads", 1) != most_threads)
      continue;
    Best& b = best[m->variant][library];
    if (m->summary->best > b.rate) b = {m->summary->best, m->params.value("kernel", "?"), m->unit};
  }
  for (const auto& [variant, libs] : best) {
    if (!libs.count("roofaudit") || !libs.count("onednn")) continue;
    const Best& own = libs.at("roofaudit");
    const Best& dnnl = libs.at("onednn");
    const bool own_wins = own.rate >= dnnl.rate;
    out += fmt::format("  {} GEMM: roofaudit {} ({}) against oneDNN {} ({}): {} is {:.2f}x faster and is the headline\n",
                       variant, format_value(own.rate, own.unit), own.kernel, format_value(dnnl.rate, dnnl.unit), dnnl.kernel,
                       own_wins ? "roofaudit" : "oneDNN", own_wins ? own.rate / dnnl.rate : dnnl.rate / own.rate);
  }
}

}  // namespace

std::string render_run_text(const RunView& v) {
  const auto& r = v.run;
  std::string out = fmt::format("run {} ({}) {} started {}", r.id, r.uuid.substr(0, 8), r.status, r.started_at);
  if (!r.finished_at.empty()) out += fmt::format(", finished {}", r.finished_at);
  out += "\n";
  if (!r.error.empty()) out += fmt::format("  note: {}\n", r.error);
  if (v.machine) {
    const auto& m = *v.machine;
    out += fmt::format("machine: {} on {} ({} cores, {} threads, {} NUMA node{}, {} reported)\n", m.cpu_model,
                       m.hostname, m.cores, m.threads, m.numa_nodes, m.numa_nodes == 1 ? "" : "s",
                       format_bytes(double(m.memory_reported_bytes)));
    std::vector<std::string> caches;
    for (const auto& c : m.caches_reported)
      caches.push_back(fmt::format("L{} {} x{}", c.value("level", 0), format_bytes(c.value("size_bytes", 0.0)),
                                   c.value("instances", 0)));
    if (!caches.empty()) out += fmt::format("caches as reported: {}\n", fmt::join(caches, ", "));
  }
  const auto& env = r.environment;
  if (env.is_object() && env.contains("kernel"))
    out += fmt::format("system: {}, kernel {}, {} {} build, roofaudit {} ({})\n", env.value("os", "?"),
                       env.value("kernel", "?"), env.value("compiler", "?"), env.value("build_type", "?"),
                       env.value("roofaudit_version", "?"), env.value("roofaudit_commit", "?"));

  std::map<std::string, std::vector<const Measurement*>> by_probe;
  std::vector<std::string> probes;
  int valid = 0, unsupported = 0;
  std::vector<const Measurement*> failed;
  for (const auto& m : v.measurements) {
    by_probe[m.probe].push_back(&m);
    probes.push_back(m.probe);
    if (m.valid) ++valid;
    else if (!m.supported) ++unsupported;
    else failed.push_back(&m);
  }
  for (const auto& probe : ordered_unique(probes)) {
    const store::FitRecord* reference = nullptr;
    for (const auto& f : v.fits)
      if (!reference && f.probe == probe && f.kind == "plateaus" && f.variant == by_probe[probe].front()->variant &&
          !f.result.empty())
        reference = &f;
    if (probe == "model.decode") render_model_decode(out, by_probe[probe], v.fits);
    else if (probe.ends_with(".decode") && by_probe[probe].front()->supported) render_decode(out, probe, by_probe[probe], v.fits);
    else if (reference) render_probe_levels(out, probe, v.measurements, by_probe[probe], *reference);
    else render_probe_points(out, probe, by_probe[probe]);
    if (probe == "cpu.gemm") {
      render_lowp_gemm_comparison(out, by_probe[probe]);
      render_blas_advice(out, v.measurements);
    }
  }
  out += fmt::format("\nvalidation: {} of {} measurements passed{}\n", valid, v.measurements.size() - unsupported,
                     unsupported ? fmt::format(" ({} variants unsupported on this device)", unsupported) : "");
  for (std::size_t i = 0; i < failed.size() && i < 5; ++i)
    out += fmt::format("  FAILED {} {} {}: {}\n", failed[i]->probe, failed[i]->variant,
                       failed[i]->params.dump(), failed[i]->validation);
  return out;
}

std::string render_runs_text(const std::vector<store::RunRecord>& runs) {
  if (runs.empty()) return "no runs stored\n";
  std::string out = fmt::format("{:>5}  {:<8}  {:<24}  {:<11}  {:>12}  {}\n", "id", "uuid", "started", "status",
                                "measurements", "command");
  for (const auto& r : runs)
    out += fmt::format("{:>5}  {:<8}  {:<24}  {:<11}  {:>12}  {}\n", r.id, r.uuid.substr(0, 8), r.started_at,
                       r.status, r.measurement_count, r.command_line);
  return out;
}

}  // namespace roofaudit::reports
