// roofaudit predict: the serving model on a catalogue chip or the user's own, for a
// catalogue model or a Hugging Face config.json.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "calibrate/catalog.hpp"
#include "calibrate/serving.hpp"
#include "calibrate/simulate.hpp"
#include "cli/chips.hpp"
#include "cli/objectives.hpp"
#include "cli/command.hpp"
#include "cli/validators.hpp"
#include "values/error.hpp"
#include "reports/serving_report.hpp"
#include "store/paths.hpp"
#include "store/store.hpp"
#include "reports/json_text.hpp"

namespace roofaudit::cli {
namespace {

using namespace roofaudit::calibrate;

struct PredictOptions {
  std::string model = "llama3-70b";
  std::string chip;
  std::string chips = "min";
  std::string weights;  // empty: bf16, or each of bf16/int8/int4 with --compare
  std::string kv;       // empty: the weights' dtype (int8 for int4 weights)
  std::int64_t context = 8192;
  std::string batch;  // empty: 1, or the largest that fits with --compare
  std::int64_t decode_len = 512;
  std::int64_t prompt_len = 0;  // 0: what the decoded tokens leave of the context
  double usable = 0.9;
  std::int64_t chunk = 512;
  int tp = 0;
  int pp = 0;  // 0: chosen where objectives search the configurations, else 1
  int ep = 0;  // the same
  bool overlap_kv = false;
  std::string sweep;
  bool compare = false;
  bool json = false;
  std::optional<double> price_per_hour, purchase_usd, lifetime_years, utilisation, watts, pue, usd_per_kwh;
  std::optional<double> bw_efficiency, matmul_efficiency, mfu, layer_overhead_us;
  std::string draft;
  int draft_len = 4;
  double accept = 0.8;
  std::optional<double> tpot_ms, ttft_ms;  // latency objectives
  std::optional<double> qps;               // load: requests per second
  bool simulate = false, disaggregated = false;
  std::string prompt_len_dist = "fixed", decode_len_dist = "fixed";
  std::int64_t requests = 10000;
  std::uint64_t seed = 1;
  std::int64_t run = 0;      // local chips: the calibrated run (0: the latest that calibrates the device)
  std::string price_config;  // owned-cost JSON file
  std::string workload;      // a CSV trace of prompt,decode: its means for the closed form, itself for --simulate
  bool context_given = false, prompt_given = false, decode_given = false;
  bool owned = false;        // every chip one can buy at its catalogue purchase price and power
};

void check_fraction(double v, const char* what, bool allow_above_one = false) {
  if (!std::isfinite(v) || v <= 0 || (!allow_above_one && v > 1))
    throw Error(fmt::format("{} must be in (0, 1], not {}", what, v));
}

// Applies price and efficiency overrides to a chip.
ChipSpec adjust_chip(ChipSpec c, const PredictOptions& o) {
  if (!o.price_config.empty() && !o.price_per_hour) {
    const LocalPrice p = price_from_json(read_json_file(o.price_config, "price file"), o.price_config);
    if (p.usd_per_hour) c.usd_per_hour = *p.usd_per_hour;
    else set_owned_price(c, *p.owned);
    c.provenance["price"] = {"given", o.price_config};
  } else if (o.price_per_hour) {
    if (!std::isfinite(*o.price_per_hour) || *o.price_per_hour < 0)
      throw Error(fmt::format("--price-per-hour must be a non-negative number, not {}", *o.price_per_hour));
    c.usd_per_hour = *o.price_per_hour;
    c.provenance["price"] = {"given", "--price-per-hour"};
  } else if (o.purchase_usd || (o.owned && c.list_purchase_usd > 0)) {
    // Owned: the given purchase price, else (--owned) the catalogue's board price and power.
    OwnedCost cost;
    cost.purchase_usd = o.purchase_usd ? *o.purchase_usd : c.list_purchase_usd;
    if (!o.purchase_usd) cost.watts = c.board_watts;
    if (o.lifetime_years) cost.lifetime_h = *o.lifetime_years * 8766.0;
    if (o.utilisation) cost.utilisation = *o.utilisation;
    if (o.watts) cost.watts = *o.watts;
    if (o.pue) cost.pue = *o.pue;
    if (o.usd_per_kwh) cost.usd_per_kwh = *o.usd_per_kwh;
    set_owned_price(c, cost);
    if (o.purchase_usd) {
      c.provenance["price"] = {"owned", "purchase, lifetime, utilisation and power flags"};
    } else {
      const auto source = [&](const char* figure) {
        const auto it = c.provenance.find(figure);
        return it == c.provenance.end() ? std::string("-") : it->second.source;
      };
      c.provenance["price"] = {"owned", fmt::format("catalogue purchase ({}) and power ({})", source("purchase"), source("power"))};
    }
  }
  if (o.bw_efficiency) check_fraction(c.efficiency.bandwidth = *o.bw_efficiency, "--bw-efficiency");
  if (o.matmul_efficiency) check_fraction(c.efficiency.decode_matmul = *o.matmul_efficiency, "--matmul-efficiency");
  if (o.mfu) check_fraction(c.efficiency.prefill_mfu = *o.mfu, "--mfu");
  if (o.layer_overhead_us) {
    if (!std::isfinite(*o.layer_overhead_us) || *o.layer_overhead_us < 0) throw Error("--layer-overhead-us must be >= 0");
    c.efficiency.layer_overhead_s = *o.layer_overhead_us * 1e-6;
  }
  return c;
}

// --workload fills what the flags leave: the mean lengths, and a context for the longest request.
PredictOptions with_workload(PredictOptions o) {
  if (o.workload.empty()) return o;
  const Workload w = read_workload(o.workload);
  if (o.prompt_given || o.decode_given)
    throw Error("--workload gives the prompt and decode lengths: drop --prompt-len and --decode-len");
  o.prompt_len = w.prompt_len;
  o.decode_len = w.decode_len;
  if (!o.context_given) o.context = std::max(w.longest, w.prompt_len + w.decode_len);
  return o;
}

Deployment base_deployment(const PredictOptions& o, const ModelSpec& m, Dtype weights) {
  if (o.context <= 0) throw Error(fmt::format("--context must be at least 1, not {}", o.context));
  if (o.decode_len <= 0) throw Error("--decode-len must be at least 1");
  if (o.prompt_len < 0) throw Error("--prompt-len must be positive");
  if (o.chunk < 0) throw Error("--chunk must be 0 (the prompt at once) or more tokens");
  if (o.prompt_len > o.context)
    throw Error(fmt::format("--prompt-len {} is longer than the context ({}): a prompt is part of its context", o.prompt_len,
                            o.context));
  if (!std::isfinite(o.usable) || o.usable <= 0 || o.usable > 1)
    throw Error(fmt::format("--usable must be in (0, 1], not {}", o.usable));
  Deployment d;
  d.weights = weights;
  d.kv = o.kv.empty() ? default_kv_dtype(weights) : parse_dtype(o.kv);
  d.context = o.context;
  d.decode_len = o.decode_len;
  d.prompt_len = o.prompt_len > 0 ? o.prompt_len : default_prompt_len(o.context, o.decode_len);
  d.usable = o.usable;
  d.prefill_chunk = o.chunk;
  d.tp_degree = o.tp;
  d.pp_degree = o.pp;
  d.ep_degree = o.ep;
  d.overlap_kv = o.overlap_kv;
  if (!o.draft.empty()) d.speculation = make_speculation(m, load_model(o.draft), o.draft_len, o.accept);
  return d;
}

// Digits only: std::stoll would also take a sign and leading spaces.
bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::int64_t parse_batch(const std::string& text) {
  if (text == "max") return -1;
  if (!all_digits(text)) throw Error(fmt::format("--batch takes a positive integer or 'max', not '{}'", text));
  std::size_t pos = 0;
  long long b = 0;
  try {
    b = std::stoll(text, &pos);
  } catch (...) {
    throw Error(fmt::format("--batch takes a positive integer or 'max', not '{}'", text));
  }
  if (pos != text.size()) throw Error(fmt::format("--batch takes a positive integer or 'max', not '{}'", text));
  if (b < 1) throw Error(fmt::format("--batch must be at least 1, not {}", b));
  return b;
}

// Resolves --chips and --batch (min / max) into a concrete deployment; throws "does not fit".
ServingEstimate plan(const ModelSpec& m, const ChipSpec& c, Deployment d, const std::string& chips_text,
                     std::int64_t batch) {
  if (chips_text == "min") {
    d.chips = chips_needed(m, c, d, std::max<std::int64_t>(batch, 1));
  } else {
    try {
      std::size_t pos = 0;
      if (!all_digits(chips_text)) throw std::invalid_argument(chips_text);
      d.chips = std::stoi(chips_text, &pos);
      if (pos != chips_text.size()) throw std::invalid_argument(chips_text);
    } catch (const std::exception&) {
      throw Error(fmt::format("--chips takes a positive integer or 'min', not '{}'", chips_text));
    }
    if (d.chips < 1) throw Error(fmt::format("--chips must be at least 1, not {}", d.chips));
    if (!is_legal_topology(c, d.chips))
      throw Error(fmt::format("{} chips is not a legal {} topology ({})", d.chips, c.name, fmt::join(c.topologies, ", ")));
  }
  if (d.tp_degree > 0 && (d.tp_degree > d.chips || d.chips % d.tp_degree != 0))
    throw Error(fmt::format("--tp {} {} the {} chips{}", d.tp_degree,
                            d.tp_degree > d.chips ? "is more than" : "does not divide", d.chips,
                            chips_text == "min" ? " that fit (give --chips)" : ""));
  if (d.pp_degree == 0) d.pp_degree = 1;
  if (d.ep_degree == 0) d.ep_degree = 1;
  check_parallelism(m, d);
  const std::int64_t fit = max_batch(m, c, d);
  d.batch = batch < 0 ? fit : batch;
  if (fit < 1 || d.batch > fit) {
    const int needed = chips_needed(m, c, d, std::max<std::int64_t>(d.batch, 1));
    throw Error(fmt::format("does not fit: {} ({} weights, {} KV, context {}, batch {}) needs {} chips of {}, not {}", m.name,
                            dtype_name(d.weights), dtype_name(d.kv), d.context, std::max<std::int64_t>(d.batch, 1), needed,
                            c.name, d.chips));
  }
  return estimate(m, c, d);
}

// plan() held to the objectives: with --batch max, the largest batch that meets them (the
// largest that fits is the cheapest on its chips); objectives checked either way. Under
// objectives, --chips min grows the chips (up to 64x the fewest that fit) and a free --pp
// and --ep choose the pipeline depth and whether experts spread: the cheapest configuration that meets them, else the nearest.
ServingEstimate plan_meeting(const ModelSpec& m, const ChipSpec& c, const Deployment& d, const std::string& chips,
                             std::int64_t batch, const LatencyObjectives& objectives) {
  ServingEstimate e = plan(m, c, d, chips, batch);
  if (objectives.any() && (chips == "min" || d.pp_degree == 0 || d.ep_degree == 0)) {
    if (auto found = cheapest_configuration(m, c, {d}, batch, objectives, chips == "min" ? 0 : e.deployment.chips))
      return *found;
  }
  if (batch < 0 && objectives.any()) return largest_batch_meeting(m, c, e.deployment, objectives);
  check_objectives(e, objectives);
  return e;
}

// --weights: one dtype, or options separated by commas ("bf16,int4").
std::vector<Dtype> weight_options(const std::string& text) {
  std::vector<Dtype> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const Dtype w = parse_dtype(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (std::find(out.begin(), out.end(), w) != out.end())
      throw Error(fmt::format("--weights names {} twice: '{}'", dtype_name(w), text));
    out.push_back(w);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Rows as JSON, each with what --qps needs of it.
void print_rows(const std::vector<ServingEstimate>& rows, const PredictOptions& o, const std::string& title) {
  if (o.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : rows) {
      auto j = reports::estimate_to_json(e);
      if (o.qps) reports::add_load_json(j, plan_load(e, *o.qps));
      arr.push_back(j);
    }
    std::cout << reports::json_text(arr) << "\n";
    return;
  }
  std::cout << title << reports::render_compare_text(rows);
  if (!o.qps) return;
  std::cout << fmt::format("\nfor {:g} QPS:\n{:<12} {:>7} {:>9} {:>12} {:>14} {:>16}\n", *o.qps, "chip", "weights", "replicas",
                           "chips total", "USD a day", "owned: capital");
  for (const auto& e : rows) {
    const LoadPlan p = plan_load(e, *o.qps);
    std::cout << fmt::format("{:<12} {:>7} {:>9} {:>12} {:>14} {:>16}\n", e.chip, dtype_name(e.deployment.weights), p.replicas,
                             p.chips_total, p.usd_per_day ? fmt::format("{:.0f}", *p.usd_per_day) : "-",
                             p.capital_usd_total ? fmt::format("USD {:.0f}", *p.capital_usd_total) : "-");
  }
}

int run_compare(const GlobalOptions& global, const PredictOptions& o, const ModelSpec& m, std::int64_t batch) {
  std::vector<Dtype> dtypes;
  if (o.weights.empty()) dtypes = {Dtype::bf16, Dtype::fp8, Dtype::int8, Dtype::int4, Dtype::fp4};
  else dtypes = weight_options(o.weights);
  // Options named one by one are shown one by one: each chip's cheapest setup per option.
  const bool per_option = dtypes.size() > 1 && !o.weights.empty();
  const LatencyObjectives objectives = latency_objectives(o.tpot_ms, o.ttft_ms);
  std::vector<ServingEstimate> rows;
  // This machine first, as the latest run measured it; then the catalogue.
  std::vector<ChipSpec> chips;
  try {
    chips.push_back(load_local_chip(global, "local", o.run));
  } catch (const Error& e) {
    std::cerr << fmt::format("roofaudit: local: not compared: {}\n", e.what());
  }
  chips.insert(chips.end(), catalog_chips().begin(), catalog_chips().end());
  for (const ChipSpec& listed : chips) {
    const ChipSpec c = is_local(listed.name) ? listed : adjust_chip(listed, o);
    std::vector<Deployment> bases;
    for (Dtype w : dtypes) bases.push_back(base_deployment(o, m, w));
    if (per_option) {
      for (const auto& base : bases)
        if (auto best = cheapest_configuration(m, c, {base}, batch, objectives)) rows.push_back(*best);
    } else if (auto best = cheapest_configuration(m, c, bases, batch, objectives)) {
      rows.push_back(*best);
    }
  }
  rank_estimates(rows, objectives);
  print_rows(rows, o,
             fmt::format("{} at context {}, batch {}, usable fraction {:.2f}; each chip at its cheapest fitting "
                         "configuration{}, by USD per 1M output tokens (unpriced chips last, by tokens/s per chip)\n",
                         m.name, o.context, batch < 0 ? std::string("max") : std::to_string(batch), o.usable,
                         objectives.any()
                             ? fmt::format(" meeting {} (those that cannot last, nearest first)", objectives_phrase(objectives))
                             : "") +
                 (o.owned ? fmt::format("owned: each board at its catalogue price and power over {:g} years at {:.2f} "
                                        "utilisation (chips not sold, the TPUs, at their rental price)\n",
                                        o.lifetime_years.value_or(5.0), o.utilisation.value_or(0.7))
                          : ""));
  return 0;
}

// --simulate's workload: lengths drawn around --prompt-len / --decode-len, or a trace.
SimulationSpec simulation_spec(const PredictOptions& o) {
  SimulationSpec s;
  s.qps = *o.qps;
  s.requests = o.requests;
  s.seed = o.seed;
  s.disaggregated = o.disaggregated;
  if (!o.workload.empty()) {
    if (o.prompt_len_dist != "fixed" || o.decode_len_dist != "fixed")
      throw Error("--workload is the trace --simulate draws from: drop --prompt-len-dist and --decode-len-dist");
    s.prompt.kind = s.decode.kind = LengthDistribution::Kind::trace;
    s.trace = read_workload(o.workload).trace;
    return s;
  }
  s.prompt = parse_length_distribution(o.prompt_len_dist, "--prompt-len-dist");
  s.decode = parse_length_distribution(o.decode_len_dist, "--decode-len-dist");
  const bool prompt_trace = s.prompt.kind == LengthDistribution::Kind::trace;
  const bool decode_trace = s.decode.kind == LengthDistribution::Kind::trace;
  if (prompt_trace || decode_trace) {
    if (prompt_trace && decode_trace && o.prompt_len_dist != o.decode_len_dist)
      throw Error("a trace gives both lengths: name the same file in --prompt-len-dist and --decode-len-dist");
    s.trace = read_length_trace(prompt_trace ? o.prompt_len_dist : o.decode_len_dist);
  }
  return s;
}

int run_predict(const GlobalOptions& global, const PredictOptions& given) {
  const PredictOptions o = with_workload(given);
  if (!o.purchase_usd && !o.owned) {
    const std::pair<const char*, bool> details[] = {{"--lifetime-years", o.lifetime_years.has_value()},
                                                    {"--utilisation", o.utilisation.has_value()},
                                                    {"--watts", o.watts.has_value()},
                                                    {"--pue", o.pue.has_value()},
                                                    {"--usd-per-kwh", o.usd_per_kwh.has_value()}};
    for (const auto& [flag, given] : details)
      if (given) throw Error(fmt::format("{} requires --purchase-usd or --owned", flag));
  }
  if (o.owned && !o.price_config.empty()) throw Error("--owned and --price-config both price the chips: give one");
  const ModelSpec m = load_model(o.model);
  const std::int64_t batch = parse_batch(o.batch.empty() ? (o.compare ? "max" : "1") : o.batch);
  base_deployment(o, m, Dtype::bf16);  // the lengths and the drafter refused before any chip is read
  if (o.compare) return run_compare(global, o, m, batch);
  if (o.chip.empty()) throw Error("--chip is required (or use --compare); see 'roofaudit catalog chips'");
  if (o.run != 0 && !is_local(o.chip))
    throw Error(fmt::format("--run names the run a local chip is calibrated from; {} is no local chip", o.chip));
  const ChipSpec c = adjust_chip(is_local(o.chip) ? load_local_chip(global, o.chip, o.run) : load_chip(o.chip), o);
  const LatencyObjectives objectives = latency_objectives(o.tpot_ms, o.ttft_ms);
  if (o.weights.find(',') != std::string::npos) {  // options on one chip, side by side
    std::vector<ServingEstimate> rows;
    for (Dtype w : weight_options(o.weights)) rows.push_back(plan_meeting(m, c, base_deployment(o, m, w), o.chips, batch, objectives));
    print_rows(rows, o, fmt::format("{} on {}: each weight option at its own chips and batch\n", m.name, c.name));
    return 0;
  }
  const Deployment d = base_deployment(o, m, o.weights.empty() ? Dtype::bf16 : parse_dtype(o.weights));
  const ServingEstimate e = plan_meeting(m, c, d, o.chips, batch, objectives);

  if (o.sweep == "batch") {
    const auto frontier = batch_frontier(m, c, e.deployment, objectives);
    if (o.json) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& p : frontier) arr.push_back(reports::estimate_to_json(p));
      std::cout << reports::json_text(arr) << "\n";
    } else {
      std::cout << fmt::format("{} on {} x {}: Pareto frontier of step time against cost, batch 1 to {}\n", m.name,
                               e.deployment.chips, c.name, e.max_batch)
                << reports::render_frontier_text(frontier);
    }
    return 0;
  }
  if (!o.sweep.empty()) throw Error(fmt::format("--sweep takes 'batch', not '{}'", o.sweep));

  std::optional<SpeculativeEstimate> spec;
  if (e.deployment.speculation) spec = speculative(m, c, e.deployment);
  std::optional<LoadPlan> load;
  if (o.qps) load = plan_load(e, *o.qps);
  std::optional<SimulationSpec> sim_spec;
  std::optional<SimulationResult> sim;
  if (o.simulate) {
    if (!o.qps) throw Error("--simulate needs --qps, the arrival rate at the simulated replica");
    sim_spec = simulation_spec(o);
    sim = calibrate::simulate(m, c, e.deployment, *sim_spec);
  }
  if (o.json) {
    auto j = reports::estimate_to_json(e);
    if (load) reports::add_load_json(j, *load);
    if (sim) j["simulation"] = reports::simulation_to_json(*sim, *sim_spec);
    if (spec)
      j["speculative"] = {{"expected_tokens", spec->expected_tokens}, {"t_iteration_s", spec->t_iteration_s},
                          {"t_plain_step_s", spec->t_plain_step_s}, {"speedup", spec->speedup},
                          {"max_batch", spec->max_batch}, {"plain_max_batch", spec->plain_max_batch}};
    std::cout << reports::json_text(j) << "\n";
  } else {
    std::cout << reports::render_estimate_text(e, c);
    if (spec) std::cout << reports::render_speculative_text(*spec);
    if (load) std::cout << reports::render_load_text(*load, e);
    if (sim) std::cout << reports::render_simulation_text(*sim, *sim_spec);
  }
  return 0;
}

// A simulation's requests: ten million take about 20 s and 1.2 GB (2-core EPYC VM); more would take
// minutes and memory.
constexpr long long kMostRequests = 10'000'000;

}  // namespace

void add_predict_verb(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd = app.add_subcommand("predict", "predict serving latency, throughput and cost of an LLM on a chip");
  auto o = std::make_shared<PredictOptions>();
  cmd->add_option("--model", o->model, "catalogue model or path to a Hugging Face config.json")->capture_default_str();
  auto* chip = cmd->add_option("--chip", o->chip,
                  "catalogue chip, path to a chip JSON file, or 'local[:DEVICE]' for this machine as a stored run "
                  "measured it (local: the CPU; local:gpu:0: a GPU)");
  cmd->add_option("--run", o->run, "local chips: the run to calibrate from (default: the latest that can)")
      ->check(whole_at_least(1));
  cmd->add_option("--price-config", o->price_config,
                  "owned-cost JSON: usd_per_hour, or purchase_usd, lifetime_years, utilisation, watts, pue, usd_per_kwh");
  cmd->add_option("--chips", o->chips, "number of chips, or 'min' for the smallest legal topology that fits")
      ->capture_default_str();
  cmd->add_option("--weights", o->weights, "weight dtype: bf16, fp8, int8, int4, fp4, or several separated by commas (default bf16; --compare tries each)");
  cmd->add_option("--kv", o->kv, "KV-cache dtype: bf16, fp8, int8, fp4 (default: as the weights; int8 beside int4, fp8 beside fp4)");
  cmd->add_option("--context", o->context, "context length S in tokens")->capture_default_str()->check(
      whole_in(1, kMostTokens));
  cmd->add_option("--batch", o->batch,
                  "sequences decoded together, or 'max' for the largest that fits (default 1; max with --compare)");
  cmd->add_option("--decode-len", o->decode_len, "median decoded tokens per request")->capture_default_str()->check(
      whole_in(1, kMostTokens));
  cmd->add_option("--prompt-len", o->prompt_len, "median prompt tokens, at most the context (default: the context less --decode-len)")
      ->check(whole_in(1, kMostTokens));
  cmd->add_option("--usable", o->usable, "usable fraction of device memory (1.0: the book's idealised tables)")
      ->capture_default_str()
      ->check(finite_in(0, 1));
  cmd->add_option("--chunk", o->chunk, "chunked-prefill chunk in tokens (0: the prompt at once)")
      ->capture_default_str()
      ->check(whole_in(0, kMostTokens));
  cmd->add_option("--workload", o->workload,
                  "a CSV trace of requests (prompt,decode tokens a line): the closed form takes its mean lengths and a "
                  "context for its longest, --simulate replays it");
  add_objective_options(*cmd, o->tpot_ms, o->ttft_ms);
  auto* qps = cmd->add_option("--qps", o->qps, "load: requests per second; the replicas it needs (with --simulate: the rate at one replica)")
      ->check(finite_in(0, 1e9));
  auto* simulate = cmd->add_flag("--simulate", o->simulate, "simulate one replica under Poisson arrivals at --qps, batching continuously");
  cmd->add_flag("--disaggregated", o->disaggregated, "--simulate: prefill on its own pool, not chunked into the steps")
      ->needs(simulate);
  cmd->add_option("--prompt-len-dist", o->prompt_len_dist,
                  "--simulate: fixed, exponential or lognormal:SIGMA around --prompt-len, or a CSV trace of prompt,decode")
      ->capture_default_str()
      ->needs(simulate);
  cmd->add_option("--decode-len-dist", o->decode_len_dist, "--simulate: the same around --decode-len")
      ->capture_default_str()
      ->needs(simulate);
  cmd->add_option("--requests", o->requests, "--simulate: requests to simulate")
      ->capture_default_str()
      ->check(whole_in(1, kMostRequests))
      ->needs(simulate);
  cmd->add_option("--seed", o->seed, "--simulate: random seed (the same seed, the same output)")
      ->capture_default_str()
      ->check(unsigned_whole())
      ->needs(simulate);
  cmd->add_option("--tp", o->tp, "tensor-parallel degree for the communication check, dividing the chips (default: all chips)")
      ->check(whole_in(1, 1 << 20));
  cmd->add_option("--pp", o->pp,
                  "pipeline stages, dividing the chips (tensor-parallel within each); default 1, or chosen with the "
                  "chips under --tpot-ms / --ttft-ms")
      ->check(whole_in(1, 1 << 20));
  cmd->add_option("--ep", o->ep,
                  "MoE: spread the experts over this many chips, all of them (attention data-parallel, two all-to-alls "
                  "an expert layer); default 1, or chosen with the chips under --tpot-ms / --ttft-ms")
      ->check(whole_in(1, 1 << 20));
  cmd->add_flag("--overlap-kv", o->overlap_kv,
                "the KV read overlaps the matmuls: step max(compute, weights + KV), as the book's cost tables take "
                "it (default: max(compute, weights) + KV, the specification's)");
  auto* sweep = cmd->add_option("--sweep", o->sweep, "'batch': the Pareto frontier from batch 1 to the largest that fits");
  auto* compare = cmd->add_flag("--compare", o->compare, "every catalogue chip at its cheapest fitting configuration");
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->add_option("--price-per-hour", o->price_per_hour, "USD per chip-hour, overriding the catalogue")
      ->check(price_field_check("usd_per_hour"));
  // The owned-cost details only mean something beside a purchase price or --owned (checked
  // in run_predict), and the drafting details beside a drafter: given alone they would be
  // silently ignored.
  auto* purchase = cmd->add_option("--purchase-usd", o->purchase_usd, "owned hardware: purchase price per chip")
                       ->check(price_field_check("purchase_usd"));
  auto* owned = cmd->add_flag("--owned", o->owned,
                              "owned hardware: each chip one can buy at the catalogue's board price and power (TPUs, not "
                              "sold, stay rented); the lifetime, utilisation, power and electricity flags apply");
  owned->excludes(purchase);
  owned->excludes("--price-per-hour");
  cmd->add_option("--lifetime-years", o->lifetime_years, "owned hardware: depreciation period (default 5)")
      ->check(price_field_check("lifetime_years"));
  cmd->add_option("--utilisation", o->utilisation, "owned hardware: fraction of hours in use (default 0.7)")
      ->check(price_field_check("utilisation"));
  cmd->add_option("--watts", o->watts, "owned hardware: power per chip at load")
      ->check(price_field_check("watts"));
  cmd->add_option("--pue", o->pue, "owned hardware: power usage effectiveness (default 1.3)")
      ->check(price_field_check("pue"));
  cmd->add_option("--usd-per-kwh", o->usd_per_kwh, "owned hardware: electricity price (default 0.15)")
      ->check(price_field_check("usd_per_kwh"));
  cmd->add_option("--bw-efficiency", o->bw_efficiency, "achieved fraction of memory bandwidth (default 1.0)")
      ->check(finite_in(0, 1));
  cmd->add_option("--matmul-efficiency", o->matmul_efficiency, "achieved fraction of matmul peak at decode (default 1.0)")
      ->check(finite_in(0, 1));
  cmd->add_option("--mfu", o->mfu, "prefill model FLOP utilisation (default 0.4)")->check(finite_in(0, 1));
  cmd->add_option("--layer-overhead-us", o->layer_overhead_us, "fixed time per layer per step (default 0)")
      ->check(finite_within(0, 1e6));
  auto* draft = cmd->add_option("--draft", o->draft, "speculative decoding: the drafter model (catalogue name or config.json), on the same chips; its weights, KV, steps and prefill count in every figure");
  cmd->add_option("--draft-len", o->draft_len, "speculative decoding: tokens drafted per step")
      ->capture_default_str()
      ->check(whole_in(1, 64))
      ->needs(draft);
  cmd->add_option("--accept", o->accept, "speculative decoding: acceptance probability per token")
      ->capture_default_str()
      ->check(finite_within(0, 0.99))
      ->needs(draft);
  // What one mode does not read is refused beside it, never silently ignored: --compare
  // ranks every chip at its own cheapest setup (no chip, no load, no sweep); --sweep prints
  // the batch frontier alone. A drafter is part of the deployment: every mode carries it.
  compare->excludes(chip)->excludes(sweep)->excludes(qps)->excludes(simulate);
  sweep->excludes(qps)->excludes(simulate);
  cmd->callback([&action, &global, o, cmd] {
    o->context_given = cmd->count("--context") > 0;
    o->prompt_given = cmd->count("--prompt-len") > 0;
    o->decode_given = cmd->count("--decode-len") > 0;
    action = [&global, o] { return run_predict(global, *o); };
  });
}

}  // namespace roofaudit::cli
