// roofaudit calibrate --engine: a serving engine's own benchmark output fitted into a chip
// file, so that `predict --chip FILE` reproduces what the engine measured.
#include <iostream>

#include <fmt/format.h>

#include "calibrate/chip_codec.hpp"
#include "calibrate/engine_fit.hpp"
#include "calibrate/serving.hpp"
#include "cli/chips.hpp"
#include "cli/command.hpp"
#include "cli/output.hpp"
#include "cli/validators.hpp"
#include "reports/json_text.hpp"
#include "store/paths.hpp"
#include "values/user_file.hpp"

namespace roofaudit::cli {
namespace {

using namespace roofaudit::calibrate;

struct CalibrateOptions {
  std::string engine;  // the engine's output file
  std::string chip;
  std::string model = "llama3-8b";
  std::string weights;  // empty: the engine's own where it names one
  int chips = 1;
  std::string out;      // the fitted chip file (empty: printed)
  bool json = false;
};

std::string seconds_text(double s) { return s < 1e-3 ? fmt::format("{:.1f} us", s * 1e6) : fmt::format("{:.3f} ms", s * 1e3); }

int run_calibrate(const GlobalOptions& global, const CalibrateOptions& o) {
  const EngineRecord record = read_engine_output(read_user_file(o.engine, "engine output"), o.engine);
  const ModelSpec model = load_model(o.model);
  const ChipSpec chip = is_local(o.chip) ? load_local_chip(global, o.chip, 0) : load_chip(o.chip);
  const std::optional<Dtype> weights = o.weights.empty() ? std::nullopt : std::optional<Dtype>(parse_dtype(o.weights));
  const EngineFit fit = fit_engine(record, model, chip, o.chips, weights,
                                   fmt::format("{} output {} ({} on {} x {}, {} weights)", record.engine, o.engine, model.name,
                                               o.chips, chip.name, dtype_name(weights.value_or(record.weights.value_or(Dtype::bf16)))));
  const nlohmann::json chip_json = chip_to_catalogue_json(fit.chip);
  if (!o.out.empty()) write_output_file(o.out, reports::json_text(chip_json) + "\n", store::resolve_database_path(global.db));
  if (o.json) {
    nlohmann::json residuals = nlohmann::json::array();
    for (const auto& r : fit.residuals)
      residuals.push_back({{"label", r.label}, {"measured", r.measured}, {"predicted", r.predicted}});
    std::cout << reports::json_text({{"engine", record.engine}, {"device", record.device}, {"weights", dtype_name(fit.weights)},
                                     {"fitted", fit.fitted}, {"residuals", residuals}, {"chip", chip_json}})
              << "\n";
    return 0;
  }
  std::cout << fmt::format("{} output {}{}: {} points; {} on {} x {}, {} weights\n", record.engine, o.engine,
                           record.device.empty() ? "" : fmt::format(" (ran on {})", record.device), record.points.size(),
                           model.name, o.chips, chip.name, dtype_name(fit.weights));
  if (record.weight_bytes > 0) {
    const double modelled = param_bytes(model, fit.weights);
    if (std::abs(record.weight_bytes / modelled - 1) > 0.1)
      std::cout << fmt::format("  note: the engine's weights are {:.2f} GB ({}), the model's {} ones {:.2f} GB: the fitted "
                               "bandwidth takes in the difference\n",
                               record.weight_bytes / 1e9, record.weight_type, dtype_name(fit.weights), modelled / 1e9);
  }
  const auto& e = fit.chip.efficiency;
  std::cout << fmt::format("  fitted      {}: bandwidth {:.3f}, decode matmul {:.3f}, prefill MFU {:.3f}\n",
                           fmt::join(fit.fitted, ", "), e.bandwidth, e.decode_matmul, e.prefill_mfu);
  if (const auto it = e.decode_curve.find(fit.weights); it != e.decode_curve.end()) {
    std::string curve;
    for (const auto& [b, r] : it->second) curve += fmt::format(" B {:g}: {:.2f}", b, r);
    std::cout << "  curve      " << curve << " (measured step / modelled)\n";
  }
  std::cout << fmt::format("  {:<28} {:>14} {:>14} {:>8}\n", "point", "measured", "predicted", "ratio");
  for (const auto& r : fit.residuals) {
    const bool rate = r.label.find("concurrent") != std::string::npos;
    std::cout << fmt::format("  {:<28} {:>14} {:>14} {:>8.3f}\n", r.label,
                             rate ? fmt::format("{:.1f} tok/s", r.measured) : seconds_text(r.measured),
                             rate ? fmt::format("{:.1f} tok/s", r.predicted) : seconds_text(r.predicted),
                             r.predicted / r.measured);
  }
  if (o.out.empty()) std::cout << reports::json_text(chip_json) << "\n";
  else std::cout << fmt::format("  wrote {}: predict --chip {} --model {} uses it\n", o.out, o.out, o.model);
  return 0;
}

}  // namespace

void add_calibrate_verb(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd = app.add_subcommand(
      "calibrate", "fit a chip's serving efficiencies to a serving engine's own benchmark output (llama-bench, "
                   "llama-batched-bench, vLLM)");
  auto o = std::make_shared<CalibrateOptions>();
  cmd->add_option("--engine", o->engine,
                  "the engine's output: llama-bench -o json, llama-batched-bench's table or JSON lines, or vLLM's "
                  "benchmark_serving.py --save-result JSON")
      ->required();
  cmd->add_option("--chip", o->chip, "the chip it ran on: catalogue name, chip file, or local[:DEVICE]")->required();
  cmd->add_option("--model", o->model, "the model it ran: catalogue name or config.json")->capture_default_str();
  cmd->add_option("--weights", o->weights, "the weights' dtype (default: the engine's, where it names one)");
  cmd->add_option("--chips", o->chips, "chips the engine spread the model over")->capture_default_str()->check(whole_in(1, 4096));
  cmd->add_option("--out", o->out, "write the fitted chip file here (default: print it)");
  cmd->add_flag("--json", o->json, "print JSON: the fit, its residuals and the chip");
  cmd->callback([&action, &global, o] { action = [&global, o] { return run_calibrate(global, *o); }; });
}

}  // namespace roofaudit::cli
