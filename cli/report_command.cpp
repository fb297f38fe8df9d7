// roofaudit report: a stored run's calibrated machine, its roofline and the serving
// table of a model beside the catalogue chips, as text, Markdown, JSON, CSV or HTML.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "calibrate/catalog.hpp"
#include "calibrate/knee.hpp"
#include "calibrate/serving.hpp"
#include "calibrate/simulate.hpp"
#include "cli/chips.hpp"
#include "probes/probe.hpp"
#include "cli/command.hpp"
#include "cli/validators.hpp"
#include "cli/objectives.hpp"
#include "cli/output.hpp"
#include "cli/series.hpp"
#include "values/error.hpp"
#include "reports/audit_report.hpp"
#include "store/paths.hpp"
#include "store/store.hpp"
#include "reports/json_text.hpp"

namespace roofaudit::cli {
namespace {

using namespace roofaudit::calibrate;

struct ReportOptions {
  std::int64_t run = 0;
  std::string model = "llama3-70b";
  std::string format = "text";
  std::string output;
  std::int64_t context = 8192;
  double usable = 0.9;
  std::optional<double> price_per_hour;
  std::string price_config;
  std::optional<double> tpot_ms, ttft_ms;
  std::string workload;  // a CSV trace: the serving table at its mean lengths
  // The lengths the serving table serves: the workload's means, else the context less 512
  // decoded tokens.
  std::int64_t decode_len = Deployment{}.decode_len, prompt_len = 0;
};

// Measured points for the roofline: each decode step and GEMM at its arithmetic intensity.
std::vector<reports::RooflinePoint> roofline_points(const reports::RunView& v) {
  std::vector<reports::RooflinePoint> out;
  std::map<std::tuple<std::string, std::string, std::string, int>, std::pair<double, double>> decode;  // ops, bytes/s
  const RoleMap& roles = ProbeRegistry::instance().roles();
  for (const auto& m : v.measurements) {
    if (!m.valid || !m.summary) continue;
    const std::string chip = local_chip_name(m.device);
    const Role role = role_of(roles, m.probe);
    if (role == Role::decode_sweep) {
      auto& slot = decode[{chip, m.probe, m.variant, m.params.value("batch", 0)}];
      if (m.metric == "throughput") slot.first = m.summary->best;
      if (m.metric == "weight_bandwidth") slot.second = m.summary->best;
    } else if (role == Role::gemm && m.params.contains("n")) {
      const double n = m.params.value("n", 0.0);
      const double bytes = m.variant.starts_with("fp32") ? 4 : m.variant.starts_with("int8") ? 1 : 2;
      // Three n x n operands moved once: the intensity a perfectly blocked product reaches.
      out.push_back({chip, fmt::format("{} {} n={:.0f}", m.probe, m.variant, n), 2.0 * n / (3.0 * bytes), m.summary->best});
    } else if (role == Role::forward_pass) {
      // A step does 2 P operations per token and reads the weights and the KV cache once.
      const double bytes = m.params.value("weight_bytes", 0.0) + m.params.value("kv_bytes", 0.0);
      try {
        const double ops_per_token = 2.0 * model_from_json(m.params.at("model")).total_params();
        if (bytes > 0)
          out.push_back({chip, fmt::format("model.decode {} B={}", m.variant, m.params.value("batch", 0)),
                         ops_per_token * m.params.value("batch", 0.0) / bytes, ops_per_token * m.summary->best});
      } catch (const nlohmann::json::exception&) {
      }
    }
  }
  for (const auto& [key, v] : decode) {
    const auto& [chip, probe, variant, batch] = key;
    if (v.first > 0 && v.second > 0)
      out.push_back({chip, fmt::format("{} {} B={}", probe, variant, batch), v.first / v.second, v.first});
  }
  return out;
}

constexpr auto kReportFormats = {reports::Format::text, reports::Format::markdown, reports::Format::json, reports::Format::csv,
                                 reports::Format::html};

void check_report_options(const ReportOptions& o) {
  if (o.context < 1) throw Error(fmt::format("--context must be at least 1, not {}", o.context));
  if (!std::isfinite(o.usable) || o.usable <= 0 || o.usable > 1)
    throw Error(fmt::format("--usable must be in (0, 1], not {}", o.usable));
  if (!o.output.empty()) {
    const auto dir = std::filesystem::path(o.output).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
      throw Error(fmt::format("cannot write {}: no directory {}", o.output, dir.string()));
  }
}

std::optional<LocalPrice> report_price(const ReportOptions& o) {
  if (o.price_per_hour) {
    if (!std::isfinite(*o.price_per_hour) || *o.price_per_hour < 0)
      throw Error("--price-per-hour must be a non-negative number");
    return LocalPrice{*o.price_per_hour, std::nullopt};
  }
  if (!o.price_config.empty()) return price_from_json(read_json_file(o.price_config, "price file"), o.price_config);
  return std::nullopt;
}

// Each local device calibrated from the run, with its decode knees.
std::vector<reports::LocalSection> local_sections(store::Store& db, const reports::RunView& view,
                                                  const std::optional<LocalPrice>& price) {
  std::vector<reports::LocalSection> out;
  for (auto& c : calibrate_stored_run(db, view, price)) {
    reports::LocalSection s;
    s.device = c.device;
    s.chip = c.chip;
    s.problem = c.problem;
    s.checks = c.checks;
    for (const auto& k : c.knees) s.knees.push_back({k.variant, k.fit.knee_batch, k.roofline_knee, k.bound});
    s.candidates = c.candidates;
    out.push_back(std::move(s));
  }
  return out;
}

// The serving table: every local and catalogue chip at its cheapest fitting configuration
// (priced first, cheapest first), its Pareto frontier, and a note for each chip that
// cannot serve the model or needs several machines.
void add_serving(reports::AuditReport& r, const ModelSpec& model, const ReportOptions& o) {
  std::vector<Deployment> bases;
  for (Dtype w : {Dtype::bf16, Dtype::int8, Dtype::int4}) {
    Deployment d;
    d.weights = w;
    d.kv = default_kv_dtype(w);
    d.context = o.context;
    d.decode_len = o.decode_len;
    d.prompt_len = o.prompt_len;
    d.usable = o.usable;
    bases.push_back(d);
  }
  std::vector<ChipSpec> chips;
  for (const auto& s : r.local)
    if (s.chip) chips.push_back(*s.chip);
  chips.insert(chips.end(), r.catalogue.begin(), r.catalogue.end());
  for (const auto& c : chips) {
    const auto best = cheapest_configuration(model, c, bases, -1, r.objectives);
    if (!best) {
      r.notes.push_back(fmt::format("{}: {} does not fit in any configuration up to 4096 chips", c.name, model.name));
      continue;
    }
    r.serving.push_back(*best);
    auto frontier = batch_frontier(model, c, best->deployment, r.objectives);
    if (!frontier.empty()) r.pareto.emplace_back(c.name, std::move(frontier));
    if (is_local(c.name) && best->deployment.chips > 1) {
      const auto link = c.provenance.find("link");
      r.notes.push_back(fmt::format(
          "{}: {} needs {} machines of this kind; their tensor-parallel collectives see {:.1f} GB/s between them ({})",
          c.name, model.name, best->deployment.chips, ici_bytes_per_s(c, int(best->deployment.chips)) / 1e9,
          link == c.provenance.end() ? "unknown" : link->second.kind + ": " + link->second.source));
    }
  }
  rank_estimates(r.serving, r.objectives);
  // The answer first: this machine's best configuration, beside the cheapest catalogue
  // chip that meets the same objectives.
  for (const auto& e : r.serving) {
    const bool local = is_local(e.chip);
    if (local && !r.answer.local) r.answer.local = e;
    if (!local && !r.answer.catalogue && e.slo_met.value_or(true) && e.usd_per_mtok) r.answer.catalogue = e;
  }
}

int run_report(const GlobalOptions& global, const ReportOptions& o) {
  const reports::Format format = reports::parse_format(o.format, kReportFormats);
  check_report_options(o);
  const ModelSpec model = load_model(o.model);
  const std::optional<LocalPrice> price = report_price(o);
  const auto store = open_existing_store(global);
  store::Store& db = *store;
  const auto view = load_run_view(db, o.run > 0 ? o.run : latest_complete_run(db));

  reports::AuditReport r;
  r.view = view;
  r.model = model.name;
  r.deployment = fmt::format("context {}, usable memory fraction {:.2f}, the largest batch that fits, weights bf16, int8 "
                             "or int4 (KV int8 for int4), prompts of {} tokens and {} decoded (tokens/s and prices include the prefill)",
                             o.context, o.usable, o.prompt_len, o.decode_len);
  r.objectives = latency_objectives(o.tpot_ms, o.ttft_ms);
  if (r.objectives.any()) r.objectives_text = objectives_phrase(r.objectives);
  r.local = local_sections(db, view, price);
  r.catalogue = catalog_chips();
  r.points = roofline_points(view);
  add_serving(r, model, o);
  // The headline metrics' history over the last 30 runs: memory levels (names without
  // '/') and peaks.
  r.history = build_history(
      db, view.run, {},
      [](const std::string& name) {
        return name.find('/') == std::string::npos || name.rfind("cpu.peak/", 0) == 0 || name.rfind("gpu.peak/", 0) == 0;
      },
      30);

  const std::string text = reports::render_report(r, format);
  if (o.output.empty()) std::cout << text;
  else write_output_file(o.output, text, store::resolve_database_path(global.db));
  return 0;
}

}  // namespace

void add_report_verb(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd = app.add_subcommand("report", "a run's calibrated machine, roofline and serving table beside the catalogue");
  auto o = std::make_shared<ReportOptions>();
  cmd->add_option("--run", o->run, "the run (default: the latest complete run)")->check(whole_at_least(1));
  cmd->add_option("--model", o->model, "catalogue model or path to a Hugging Face config.json")->capture_default_str();
  cmd->add_option("--format", o->format, reports::format_list(kReportFormats))->capture_default_str();
  cmd->add_option("--output", o->output, "write to this file instead of standard output");
  cmd->add_option("--context", o->context, "context length of the serving table")
      ->capture_default_str()
      ->check(whole_in(1, kMostTokens));
  cmd->add_option("--usable", o->usable, "usable fraction of each chip's memory")
      ->capture_default_str()
      ->check(finite_in(0, 1));
  cmd->add_option("--price-per-hour", o->price_per_hour, "this machine's USD per hour (default: the stated owned cost)")
      ->check(price_field_check("usd_per_hour"));
  add_objective_options(*cmd, o->tpot_ms, o->ttft_ms);
  cmd->add_option("--price-config", o->price_config,
                  "owned-cost JSON: usd_per_hour, or purchase_usd, lifetime_years, utilisation, watts, pue, usd_per_kwh");
  cmd->add_option("--workload", o->workload,
                  "a CSV trace of requests (prompt,decode tokens a line): the serving table at its mean lengths, its "
                  "context the longest request's unless --context is given");
  cmd->callback([&action, &global, o, cmd] {
    const bool context_given = cmd->count("--context") > 0;
    action = [&global, o, context_given] {
      ReportOptions r = *o;
      if (!r.workload.empty()) {
        const calibrate::Workload w = calibrate::read_workload(r.workload);
        r.prompt_len = w.prompt_len;
        r.decode_len = w.decode_len;
        if (!context_given) r.context = std::max(w.longest, w.prompt_len + w.decode_len);
        if (r.prompt_len > r.context)
          throw Error(fmt::format("--workload's mean prompt ({} tokens) is longer than --context {}", r.prompt_len, r.context));
      } else {
        r.prompt_len = calibrate::default_prompt_len(r.context, r.decode_len);
      }
      return run_report(global, r);
    };
  });
}

}  // namespace roofaudit::cli
