#include "reports/serving_report.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "calibrate/serving.hpp"

namespace roofaudit::reports {
namespace {

std::string ms(double s) {
  return s < 1e-3 ? fmt::format("{:.1f} us", s * 1e6) : fmt::format("{:.2f} ms", s * 1e3);
}
std::string gb(double bytes) { return fmt::format("{:.2f} GB", bytes / 1e9); }
std::string usd(const std::optional<double>& v, int digits = 2) {
  return v ? fmt::format("{:.{}f}", *v, digits) : std::string("-");
}

}  // namespace

std::string objectives_text(const calibrate::ServingEstimate& e) {
  if (!e.slo_met) return "";
  if (*e.slo_met) return "met";
  std::vector<std::string> parts;
  for (const auto& miss : e.misses)
    parts.push_back(fmt::format("{} {} > {} (+{:.0f}%)", miss.bound == "tpot" ? "TPOT" : "TTFT", ms(miss.value_s),
                                ms(miss.limit_s), 100 * (miss.value_s / miss.limit_s - 1)));
  return fmt::format("misses {}", fmt::join(parts, ", "));
}

nlohmann::json misses_json(const calibrate::ServingEstimate& e) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : e.misses)
    out.push_back({{"bound", m.bound}, {"limit_s", m.limit_s}, {"value_s", m.value_s}, {"over_by", m.value_s / m.limit_s - 1}});
  return out;
}

nlohmann::json estimate_to_json(const calibrate::ServingEstimate& e) {
  const auto& d = e.deployment;
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  nlohmann::json speculation = nullptr;
  if (d.speculation)
    speculation = {{"drafter", d.speculation->drafter.name}, {"draft_len", d.speculation->draft_len},
                   {"acceptance", d.speculation->acceptance}, {"drafter_param_bytes", e.drafter_param_bytes},
                   {"drafter_kv_bytes_per_token", e.drafter_kv_bytes_per_token}};
  return {{"model", e.model}, {"speculation", speculation}, {"tokens_per_step", e.tokens_per_step},
          {"pp_degree", d.pp()}, {"tp_group", d.tp_group()}, {"decode_bubble", e.decode_bubble},
          {"prefill_bubble", e.prefill_bubble}, {"t_pp_s", e.t_pp_s}, {"ep_degree", d.ep()},
          {"busiest_chip_experts", e.busiest_chip_experts}, {"t_all_to_all_s", e.t_all_to_all_s}, {"chip", e.chip}, {"chips", d.chips},
          {"weights", calibrate::dtype_name(d.weights)}, {"kv", calibrate::dtype_name(d.kv)},
          {"context", d.context}, {"batch", d.batch}, {"decode_len", d.decode_len}, {"prompt_len", d.prompt_len},
          {"usable", d.usable}, {"overlap_kv", d.overlap_kv}, {"param_bytes", e.param_bytes}, {"kv_bytes_per_token", e.kv_bytes_per_token},
          {"kv_bytes_per_seq", e.kv_bytes_per_seq}, {"max_batch", e.max_batch}, {"min_chips", e.min_chips},
          {"critical_batch", e.critical_batch}, {"t_param_s", e.t_param_s}, {"t_kv_s", e.t_kv_s},
          {"t_flops_s", e.t_flops_s}, {"t_comm_s", e.t_comm_s}, {"t_overhead_s", e.t_overhead_s},
          {"step_time_s", e.step_time_s}, {"served_step_s", e.served_step_s}, {"serving_mode", e.serving_mode}, {"prefill_share", e.prefill_share},
          {"decode_tokens_per_s", e.decode_tokens_per_s}, {"decode_tokens_per_s_per_chip", e.decode_tokens_per_s_per_chip},
          {"decode_qps", e.decode_qps}, {"decode_usd_per_mtok", opt(e.decode_usd_per_mtok)},
          {"tpot_aggregated_s", e.tpot_aggregated_s}, {"ttft_aggregated_s", e.ttft_aggregated_s},
          {"tpot_disaggregated_s", e.tpot_disaggregated_s}, {"ttft_disaggregated_s", e.ttft_disaggregated_s},
          {"t_kv_transfer_s", e.t_kv_transfer_s}, {"tokens_per_s", e.tokens_per_s},
          {"tokens_per_s_per_chip", e.tokens_per_s_per_chip}, {"qps", e.qps}, {"usd_per_hour", opt(e.usd_per_hour)},
          {"usd_per_mtok", opt(e.usd_per_mtok)}, {"fits", e.fits}, {"t_prefill_s", e.t_prefill_s},
          {"prefill_decode_ratio", e.prefill_decode_ratio}, {"t_chunk_s", e.t_chunk_s},
          {"prefill_wall_s", e.prefill_wall_s}, {"t_ici_s", e.t_ici_s}, {"t_hbm_s", e.t_hbm_s},
          {"t_math_s", e.t_math_s}, {"ici_bytes_per_s", e.ici_bytes_per_s}, {"comm_hidden", e.comm_hidden}, {"useful_tp_degree", e.useful_tp_degree},
          {"splits_kv_heads", e.splits_kv_heads}, {"tpot_s", e.tpot_s}, {"ttft_s", e.ttft_s},
          {"slo_met", e.slo_met ? nlohmann::json(*e.slo_met) : nlohmann::json(nullptr)}, {"slo_misses", misses_json(e)},
          {"capex_usd_per_hour", opt(e.capex_usd_per_hour)}, {"opex_usd_per_hour", opt(e.opex_usd_per_hour)},
          {"capex_usd_per_mtok", opt(e.capex_usd_per_mtok)}, {"opex_usd_per_mtok", opt(e.opex_usd_per_mtok)},
          {"capital_usd", opt(e.capital_usd)}};
}

std::string render_estimate_text(const calibrate::ServingEstimate& e, const calibrate::ChipSpec& chip) {
  const auto& d = e.deployment;
  std::string out = fmt::format("{} on {} x {} ({} weights, {} KV, context {}, batch {})\n", e.model, d.chips, chip.name,
                                calibrate::dtype_name(d.weights), calibrate::dtype_name(d.kv), d.context, d.batch);
  out += fmt::format("  memory      weights {}, KV {:.1f} kB/token ({} per sequence); min chips {}; max batch {} at usable "
                     "fraction {:.2f}{}\n",
                     gb(e.param_bytes), e.kv_bytes_per_token / 1e3, gb(e.kv_bytes_per_seq), e.min_chips, e.max_batch, d.usable,
                     d.usable == 1.0 ? " (the book's idealised tables)" : "");
  if (d.speculation)
    out += fmt::format("              of which drafter {}: weights {}, KV {:.1f} kB/token\n", d.speculation->drafter.name,
                       gb(e.drafter_param_bytes), e.drafter_kv_bytes_per_token / 1e3);
  const double curve = calibrate::decode_curve_ratio(chip, d.weights, double(d.batch));
  const std::string curve_text = curve != 1.0 ? fmt::format(" x {:.2f} (measured decode curve)", curve) : "";
  const std::string memory_and_math =
      d.overlap_kv ? fmt::format("max(compute {}, weights {}{} + KV {}, overlapped)", ms(e.t_flops_s), ms(e.t_param_s), curve_text, ms(e.t_kv_s))
                   : fmt::format("max(weights {}, compute {}){} + KV {}", ms(e.t_param_s), ms(e.t_flops_s), curve_text, ms(e.t_kv_s));
  out += fmt::format("  decode      step {} = {}{}{}{}\n", ms(e.step_time_s), memory_and_math,
                     e.t_comm_s > 0 ? " + exposed comm " + ms(e.t_comm_s) : "",
                     e.t_pp_s > 0 ? " + stage sends " + ms(e.t_pp_s) : "",
                     e.t_overhead_s > 0 ? " + layer overhead " + ms(e.t_overhead_s) : "");
  if (d.pp() > 1)
    out += fmt::format("              pipeline: {} stages of {} chips (tensor-parallel within), {} micro-batches of {:g} "
                       "sequences a step; decode bubble {:.0f}%, a prompt's prefill bubble {:.0f}%\n",
                       d.pp(), d.tp_group(), std::min<std::int64_t>(d.batch, d.pp()),
                       double(d.batch) / double(std::clamp<std::int64_t>(d.batch, 1, d.pp())), 100 * e.decode_bubble,
                       100 * e.prefill_bubble);
  if (d.ep() > 1)
    out += fmt::format("              experts: {} on each of {} chips, attention data-parallel ({:g} sequences a chip); the "
                       "busiest chip reads {:.2f} experts a layer; all-to-alls {} of the exposed comm\n",
                       e.experts_per_chip, d.chips, double(d.batch) / d.chips, e.busiest_chip_experts, ms(e.t_all_to_all_s));
  if (d.speculation)
    out += fmt::format("              speculative: {} drafts {} tokens, then the verifier checks {}; {:.2f} tokens a step "
                       "at acceptance {:.2f} (each part above sums both models)\n",
                       d.speculation->drafter.name, d.speculation->draft_len, d.speculation->draft_len + 1, e.tokens_per_step,
                       d.speculation->acceptance);
  out += fmt::format("              critical batch {:.0f}: batch {} is {}\n", e.critical_batch, d.batch,
                     double(d.batch) < e.critical_batch ? "bandwidth-bound" : "compute-bound");
  out += fmt::format("  served      {:.0f} output tokens/s, {:.1f} per chip, {:.2f} QPS ({}-token prompts, {} decoded "
                     "tokens; prefill {:.0f}% of the chips' time), {}\n",
                     e.tokens_per_s, e.tokens_per_s_per_chip, e.qps, d.prompt_len, d.decode_len, 100 * e.prefill_share,
                     e.serving_mode == "aggregated" ? std::string("prefill chunked into the decode steps")
                     : calibrate::chunk_too_small(e)
                         ? fmt::format("prefill on a pool of its own (a {}-token chunk cannot carry the {:.0f} prompt "
                                       "tokens a full batch needs each step)",
                                       d.prefill_chunk, calibrate::prompt_tokens_per_step(e))
                         : std::string("prefill on a pool of its own (only it meets the objectives)"));
  out += fmt::format("  latency     TPOT {}, TTFT {} at full load{}\n", ms(e.tpot_s), ms(e.ttft_s),
                     e.serving_mode == "aggregated"
                         ? fmt::format("; a prefill pool instead: TPOT {}, TTFT {}", ms(e.tpot_disaggregated_s),
                                       ms(e.ttft_disaggregated_s))
                         : fmt::format("; chunked into the steps instead: TPOT {}, TTFT {}", ms(e.tpot_aggregated_s),
                                       ms(e.ttft_aggregated_s)));
  out += fmt::format("  decode only {:.0f} tokens/s, {:.1f} per chip, {:.2f} QPS (the specification's figures: every step at the full context, no prefill){}\n",
                     e.decode_tokens_per_s, e.decode_tokens_per_s_per_chip, e.decode_qps,
                     e.decode_usd_per_mtok ? fmt::format(", USD {:.3f} per 1M tokens", *e.decode_usd_per_mtok) : "");
  if (e.slo_met)
    out += fmt::format("  objectives  TPOT {}, TTFT {}: {}\n", ms(e.tpot_s), ms(e.ttft_s), objectives_text(e));
  if (e.usd_per_mtok)
    out += fmt::format("  cost        {} USD/h, {} USD per 1M output tokens, prefill included\n", usd(e.usd_per_hour),
                       usd(e.usd_per_mtok, 3));
  else
    out += "  cost        no price for this chip (give --price-per-hour or the owned-hardware flags)\n";
  if (e.capital_usd)
    out += fmt::format("  owned       capital USD {:.3f}/h (USD {:.3f} per 1M tokens) + power USD {:.3f}/h (USD {:.3f} per 1M "
                       "tokens); USD {:.0f} of hardware\n",
                       *e.capex_usd_per_hour, *e.capex_usd_per_mtok, *e.opex_usd_per_hour, *e.opex_usd_per_mtok, *e.capital_usd);
  out += fmt::format("  prefill     {}-token prompt in {:.3f} s at MFU {:.2f}; {:.2f} prefill servers per decode server; "
                     "chunked by {}: {:.3f} s wall\n",
                     d.prompt_len, e.t_prefill_s, chip.efficiency.prefill_mfu, e.prefill_decode_ratio, d.prefill_chunk,
                     e.prefill_wall_s);
  if (d.chips > 1 || e.useful_tp_degree > 1)
    out += fmt::format("  tensor par. per MLP matmul: link {} ({:.0f} GB/s as the collective sees it) vs weights {} / math {}: "
                       "{}; useful TP degree up to {}{}\n",
                       ms(e.t_ici_s), e.ici_bytes_per_s / 1e9, ms(e.t_hbm_s), ms(e.t_math_s), e.comm_hidden ? "hidden" : "exposed",
                       e.useful_tp_degree, e.splits_kv_heads ? " (more chips than KV heads: heads are split)" : "");
  const auto& eff = chip.efficiency;
  const double bw = calibrate::bandwidth_efficiency(chip, d.weights), mm = calibrate::matmul_efficiency(chip, d.weights);
  const bool ideal = bw == 1.0 && mm == 1.0 && eff.layer_overhead_s == 0;
  out += fmt::format("  efficiency  bandwidth {:.2f}, decode matmul {:.2f} ({} weights), layer overhead {:.0f} us{}\n", bw,
                     mm, calibrate::dtype_name(d.weights), eff.layer_overhead_s * 1e6,
                     ideal ? " (idealised roofline: spec-sheet figures run 1.3-2x optimistic)" : "");
  if (d.chips > 1 && chip.name.rfind("local", 0) == 0) {
    const auto link = chip.provenance.find("link");
    out += fmt::format("  machines    {} machines of this kind hold the model; their tensor-parallel collectives see "
                       "{:.1f} GB/s{} ({}: {})\n",
                       d.chips, e.ici_bytes_per_s / 1e9,
                       chip.link_latency_s > 0 ? fmt::format(" and {:.1f} us per collective", chip.link_latency_s * 1e6) : "",
                       link == chip.provenance.end() ? "?" : link->second.kind,
                       link == chip.provenance.end() ? "" : link->second.source);
  }
  if (chip.name.rfind("local", 0) == 0) {
    out += "  provenance\n";
    for (const auto& [figure, p] : chip.provenance) out += fmt::format("    {:<28} {:<9} {}\n", figure, p.kind, p.source);
  }
  return out;
}

namespace {

// The objectives column, where the rows were checked against any.
bool any_objectives(const std::vector<calibrate::ServingEstimate>& rows) {
  return std::any_of(rows.begin(), rows.end(), [](const auto& e) { return e.slo_met.has_value(); });
}
std::string objectives_cell(const calibrate::ServingEstimate& e) {
  return e.slo_met ? "  " + objectives_text(e) : std::string();
}

}  // namespace

std::string render_frontier_text(const std::vector<calibrate::ServingEstimate>& frontier) {
  std::string out = fmt::format("{:>7} {:>11} {:>11} {:>14} {:>12} {:>10}{}\n", "batch", "step", "tokens/s", "tokens/s/chip",
                                "USD/1M tok", "KV bytes", any_objectives(frontier) ? "  objectives" : "");
  for (const auto& e : frontier)
    out += fmt::format("{:>7} {:>11} {:>11.0f} {:>14.1f} {:>12} {:>10}{}\n", e.deployment.batch, ms(e.step_time_s),
                       e.tokens_per_s, e.tokens_per_s_per_chip, usd(e.usd_per_mtok, 3),
                       gb(e.kv_bytes_per_seq * double(e.deployment.batch)), objectives_cell(e));
  return out;
}

// How the chips split the model: "TP 8", "TP 4 x PP 2", "EP 8".
std::string split_text(const calibrate::Deployment& d) {
  if (d.ep() > 1) return fmt::format("EP {}", d.ep());
  if (d.pp() > 1) return fmt::format("TP {} x PP {}", d.tp_group(), d.pp());
  return fmt::format("TP {}", d.tp_group());
}

std::string render_compare_text(const std::vector<calibrate::ServingEstimate>& rows) {
  std::string out = fmt::format("{:<12} {:>6} {:>12} {:>7} {:>7} {:>11} {:>10} {:>13} {:>9} {:>11}{}\n", "chip", "chips", "split",
                                "weights", "batch", "step", "tokens/s", "tokens/s/chip", "USD/h", "USD/1M tok",
                                any_objectives(rows) ? "  objectives" : "");
  for (const auto& e : rows)
    out += fmt::format("{:<12} {:>6} {:>12} {:>7} {:>7} {:>11} {:>10.0f} {:>13.1f} {:>9} {:>11}{}\n", e.chip, e.deployment.chips,
                       split_text(e.deployment), calibrate::dtype_name(e.deployment.weights), e.deployment.batch,
                       ms(e.step_time_s), e.tokens_per_s, e.tokens_per_s_per_chip, usd(e.usd_per_hour), usd(e.usd_per_mtok, 3),
                       objectives_cell(e));
  return out;
}

void add_load_json(nlohmann::json& j, const calibrate::LoadPlan& p) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  j["target_qps"] = p.qps;
  j["replicas"] = p.replicas;
  j["chips_total"] = p.chips_total;
  j["usd_per_hour_total"] = opt(p.usd_per_hour_total);
  j["usd_per_day"] = opt(p.usd_per_day);
  j["load_mode"] = p.mode;
  j["replicas_with_prefill"] = p.replicas_with_prefill;
  j["decode_replicas"] = p.decode_replicas;
  j["prefill_replicas"] = p.prefill_replicas;
  j["capital_usd_total"] = opt(p.capital_usd_total);
}

std::string render_load_text(const calibrate::LoadPlan& p, const calibrate::ServingEstimate& e) {
  const std::string cost = p.usd_per_hour_total
                               ? fmt::format(", USD {:.2f}/h, USD {:.0f} a day", *p.usd_per_hour_total, *p.usd_per_day)
                               : "";
  std::string out =
      p.mode == "disaggregated"
          ? fmt::format("  load        {:g} QPS, prefill included: {} decode + {} prefill replicas of {} chips ({} chips{}); "
                        "prefill on the same chips: {} replicas\n",
                        p.qps, p.decode_replicas, p.prefill_replicas, e.deployment.chips, p.chips_total, cost,
                        p.replicas_with_prefill)
          : fmt::format("  load        {:g} QPS, prefill included: {} replicas of {} chips ({} chips{}); a prefill pool "
                        "instead: {} decode + {} prefill replicas\n",
                        p.qps, p.replicas, e.deployment.chips, p.chips_total, cost, p.decode_replicas, p.prefill_replicas);
  if (p.capital_usd_total)
    out += fmt::format("              owned: USD {:.0f} of hardware for these replicas\n", *p.capital_usd_total);
  return out;
}

namespace {
nlohmann::json percentiles_json(const calibrate::Percentiles& p) {
  return {{"p50", p.p50}, {"p90", p.p90}, {"p99", p.p99}, {"mean", p.mean}};
}
}  // namespace

nlohmann::json simulation_to_json(const calibrate::SimulationResult& s, const calibrate::SimulationSpec& spec) {
  return {{"qps", spec.qps},
          {"requests", s.requests},
          {"seed", spec.seed},
          {"prefill", spec.disaggregated ? "disaggregated" : "chunked"},
          {"prefill_servers", s.prefill_servers},
          {"duration_s", s.duration_s},
          {"ttft_s", percentiles_json(s.ttft_s)},
          {"tpot_s", percentiles_json(s.tpot_s)},
          {"e2e_s", percentiles_json(s.e2e_s)},
          {"throughput_tokens_per_s", s.throughput_tokens_per_s},
          {"mean_batch", s.mean_batch},
          {"mean_in_system", s.mean_in_system},
          {"arrival_rate", s.arrival_rate},
          {"kv_capacity_tokens", s.kv_capacity_tokens},
          {"saturated", s.saturated}};
}

std::string render_simulation_text(const calibrate::SimulationResult& s, const calibrate::SimulationSpec& spec) {
  auto row = [](const char* name, const calibrate::Percentiles& p) {
    return fmt::format("              {:<5} p50 {:>10}  p90 {:>10}  p99 {:>10}\n", name, ms(p.p50), ms(p.p90), ms(p.p99));
  };
  std::string out = fmt::format("  simulated   {} requests at {:g} QPS on one replica (prefill {}{}), {:.1f} s: {:.0f} tokens/s, "
                                "mean batch {:.1f}{}\n",
                                s.requests, spec.qps, spec.disaggregated ? "disaggregated" : "chunked",
                                spec.disaggregated ? fmt::format(" on {} servers", s.prefill_servers) : "", s.duration_s,
                                s.throughput_tokens_per_s, s.mean_batch,
                                s.saturated ? "; SATURATED: the queue grows without bound at this rate" : "");
  return out + row("TTFT", s.ttft_s) + row("TPOT", s.tpot_s) + row("E2E", s.e2e_s);
}

std::string render_speculative_text(const calibrate::SpeculativeEstimate& s) {
  return fmt::format("  speculative {:.2f} tokens a step in {} against the verifier alone, one in {}: decode {:.2f}x "
                     "{}; max batch {} with the drafter, {} without\n",
                     s.expected_tokens, ms(s.t_iteration_s), ms(s.t_plain_step_s), s.speedup,
                     s.speedup >= 1 ? "faster" : "slower (past the critical batch verifying costs its math)", s.max_batch,
                     s.plain_max_batch);
}

}  // namespace roofaudit::reports
