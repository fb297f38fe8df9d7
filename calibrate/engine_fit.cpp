#include "calibrate/engine_fit.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "calibrate/serving.hpp"
#include "values/error.hpp"

namespace roofaudit::calibrate {
namespace {

// A field a reader needs: a finite number (integers and floats alike), else one line
// naming the field and the file.
double number(const nlohmann::json& j, const char* key, const std::string& origin, bool required = true,
              double fallback = 0) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) throw Error(fmt::format("{}: a result lacks '{}'", origin, key));
    return fallback;
  }
  if (!j[key].is_number() || !std::isfinite(j[key].get<double>()) || j[key].get<double>() < 0)
    throw Error(fmt::format("{}: '{}' must be a non-negative number, not {}", origin, key, j[key].dump()));
  return j[key].get<double>();
}

std::string text(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

// llama.cpp's ggml type names, to the serving model's nearest dtype (none for the 2-, 3-,
// 5- and 6-bit formats: give --weights).
std::optional<Dtype> ggml_dtype(const std::string& name) {
  const std::string n = lower(name);
  if (n.find("bf16") != std::string::npos) return Dtype::bf16;
  if (n.find("f16") != std::string::npos) return Dtype::fp16;
  if (n.find("f32") != std::string::npos) return Dtype::fp32;
  if (n.find("q8") != std::string::npos) return Dtype::int8;
  if (n.find("q4") != std::string::npos || n.find("iq4") != std::string::npos) return Dtype::int4;
  if (n.find("mxfp4") != std::string::npos) return Dtype::fp4;
  return std::nullopt;
}

EngineRecord read_llama_bench(const nlohmann::json& tests, const std::string& origin) {
  EngineRecord r;
  r.engine = "llama-bench";
  for (const auto& t : tests) {
    if (!t.is_object()) throw Error(fmt::format("{}: llama-bench results must be objects", origin));
    const double n_prompt = number(t, "n_prompt", origin), n_gen = number(t, "n_gen", origin);
    const double depth = number(t, "n_depth", origin, false, 0);
    const double rate = number(t, "avg_ts", origin);
    if (rate <= 0) throw Error(fmt::format("{}: avg_ts must be positive", origin));
    r.weight_bytes = number(t, "model_size", origin, false, r.weight_bytes);
    r.params = number(t, "model_n_params", origin, false, r.params);
    if (r.weight_type.empty()) {
      const std::string type = text(t, "model_type");
      // "llama 8B Q4_K - Medium": the type follows the size.
      const auto space = type.find(' ', type.find(' ') + 1);
      r.weight_type = space == std::string::npos ? type : type.substr(space + 1);
      r.weights = ggml_dtype(r.weight_type);
    }
    if (!r.kv && !text(t, "type_k").empty()) r.kv = ggml_dtype(text(t, "type_k"));
    if (r.device.empty()) r.device = !text(t, "gpu_info").empty() ? text(t, "gpu_info") : text(t, "cpu_info");
    EnginePoint p;
    if (n_gen > 0 && n_prompt == 0) {
      p.kind = EnginePoint::Kind::decode;
      p.context = depth + n_gen / 2;
      p.seconds = 1.0 / rate;
      p.label = fmt::format("tg{:g}{}", n_gen, depth > 0 ? fmt::format(" @ d{:g}", depth) : "");
    } else if (n_prompt > 0 && n_gen == 0) {
      p.kind = EnginePoint::Kind::prefill;
      p.context = depth + n_prompt / 2;
      p.seconds = 1.0 / rate;
      p.label = fmt::format("pp{:g}{}", n_prompt, depth > 0 ? fmt::format(" @ d{:g}", depth) : "");
    } else {
      continue;  // pp+tg combined: one rate over both, nothing to solve
    }
    r.points.push_back(p);
  }
  return r;
}

EnginePoint batched_decode(double pp, double tg, double batch, double t_tg) {
  EnginePoint p;
  p.kind = EnginePoint::Kind::decode;
  p.batch = std::int64_t(batch);
  p.context = pp + tg / 2;
  p.seconds = t_tg / tg;
  p.label = fmt::format("B {:g}, PP {:g}, TG {:g}", batch, pp, tg);
  return p;
}

EnginePoint batched_prefill(double pp, double batch, double t_pp, bool shared) {
  EnginePoint p;
  p.kind = EnginePoint::Kind::prefill;
  p.context = pp / 2;
  p.seconds = t_pp / (pp * (shared ? 1.0 : batch));
  p.label = fmt::format("PP {:g} x {:g}", pp, shared ? 1.0 : batch);
  return p;
}

void add_batched_row(EngineRecord& r, double pp, double tg, double batch, double t_pp, double t_tg, bool shared,
                     const std::string& origin) {
  if (batch < 1 || batch > 1e7 || batch != std::floor(batch))
    throw Error(fmt::format("{}: a batch of {:g} sequences is no batch", origin, batch));
  if (tg > 0 && t_tg > 0) r.points.push_back(batched_decode(pp, tg, batch, t_tg));
  if (pp > 0 && t_pp > 0) r.points.push_back(batched_prefill(pp, batch, t_pp, shared));
}

EngineRecord read_batched_jsonl(const std::vector<nlohmann::json>& rows, const std::string& origin) {
  EngineRecord r;
  r.engine = "llama-batched-bench";
  for (const auto& row : rows) {
    if (!row.contains("pl")) continue;  // its header line (the settings) carries no timings
    const bool shared = row.contains("is_pp_shared") && row["is_pp_shared"].is_boolean() && row["is_pp_shared"].get<bool>();
    add_batched_row(r, number(row, "pp", origin), number(row, "tg", origin), number(row, "pl", origin),
                    number(row, "t_pp", origin), number(row, "t_tg", origin), shared, origin);
  }
  return r;
}

std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string cell;
  std::getline(in, cell, '|');  // before the first bar
  while (std::getline(in, cell, '|')) {
    const auto a = cell.find_first_not_of(" \t"), b = cell.find_last_not_of(" \t\r");
    out.push_back(a == std::string::npos ? std::string() : cell.substr(a, b - a + 1));
  }
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

EngineRecord read_batched_table(const std::string& body, const std::string& origin) {
  EngineRecord r;
  r.engine = "llama-batched-bench";
  std::stringstream in(body);
  std::string line;
  std::map<std::string, std::size_t> column;
  bool shared = body.find("is_pp_shared = 1") != std::string::npos;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find('|') == std::string::npos) continue;
    const auto row = cells(line);
    if (column.empty()) {
      for (std::size_t i = 0; i < row.size(); ++i) column[row[i]] = i;
      for (const char* need : {"PP", "TG", "B", "T_PP s", "T_TG s"})
        if (!column.count(need)) throw Error(fmt::format("{}: the table has no '{}' column", origin, need));
      continue;
    }
    if (row.empty() || row[0].find_first_not_of("-: ") == std::string::npos) continue;  // the rule under the header
    auto at = [&](const char* name) {
      const std::size_t i = column.at(name);
      try {
        std::size_t used = 0;
        const double v = i < row.size() ? std::stod(row[i], &used) : -1;
        if (i >= row.size() || used != row[i].size() || !std::isfinite(v) || v < 0) throw std::invalid_argument(name);
        return v;
      } catch (const std::exception&) {
        throw Error(fmt::format("{}: line {}: '{}' is not a number", origin, line_no, i < row.size() ? row[i] : ""));
      }
    };
    add_batched_row(r, at("PP"), at("TG"), at("B"), at("T_PP s"), at("T_TG s"), shared, origin);
  }
  return r;
}

EngineRecord read_vllm(const nlohmann::json& j, const std::string& origin) {
  EngineRecord r;
  r.engine = "vllm";
  const double completed = number(j, "completed", origin);
  if (completed < 1) throw Error(fmt::format("{}: no request completed", origin));
  if (!j.contains("max_concurrency") || !j["max_concurrency"].is_number_integer() || j["max_concurrency"].get<long long>() < 1)
    throw Error(fmt::format("{}: 'max_concurrency' is missing: benchmark with --max-concurrency, the batch the fit needs",
                            origin));
  EnginePoint p;
  p.kind = EnginePoint::Kind::served;
  p.batch = j["max_concurrency"].get<std::int64_t>();
  p.prompt_len = std::max<std::int64_t>(1, std::llround(number(j, "total_input_tokens", origin) / completed));
  p.decode_len = std::max<std::int64_t>(1, std::llround(number(j, "total_output_tokens", origin) / completed));
  p.tokens_per_s = number(j, "output_throughput", origin);
  if (p.tokens_per_s <= 0) throw Error(fmt::format("{}: output_throughput must be positive", origin));
  p.context = double(p.prompt_len + p.decode_len);
  p.label = fmt::format("{} concurrent, {} in / {} out", p.batch, p.prompt_len, p.decode_len);
  r.points.push_back(p);
  return r;
}

}  // namespace

EngineRecord read_engine_output(const std::string& body, const std::string& origin) {
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw Error(fmt::format("{}: empty", origin));
  EngineRecord r;
  if (body[first] == '[' || body[first] == '{') {
    nlohmann::json whole = nlohmann::json::parse(body, nullptr, false);
    if (!whole.is_discarded() && whole.is_array()) {
      if (whole.empty() || !whole[0].is_object() || !whole[0].contains("avg_ts"))
        throw Error(fmt::format("{}: a JSON array, but not llama-bench's (-o json) results", origin));
      r = read_llama_bench(whole, origin);
    } else if (!whole.is_discarded() && whole.is_object() && whole.contains("output_throughput")) {
      r = read_vllm(whole, origin);
    } else {
      std::vector<nlohmann::json> rows;
      std::stringstream in(body);
      std::string line;
      std::size_t line_no = 0;
      while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto row = nlohmann::json::parse(line, nullptr, false);
        if (row.is_discarded() || !row.is_object())
          throw Error(fmt::format("{}: line {} is not a JSON object (llama-batched-bench's JSON lines expected)", origin, line_no));
        rows.push_back(std::move(row));
      }
      if (std::none_of(rows.begin(), rows.end(), [](const nlohmann::json& row) { return row.contains("pl"); }))
        throw Error(fmt::format("{}: JSON, but neither llama-bench's results, llama-batched-bench's lines (pp, tg, pl, ...) "
                                "nor a vLLM benchmark result (output_throughput, ...)",
                                origin));
      r = read_batched_jsonl(rows, origin);
    }
  } else if (body.find("T_TG s") != std::string::npos) {
    r = read_batched_table(body, origin);
  } else {
    throw Error(fmt::format("{}: neither llama-bench JSON, llama-batched-bench output nor a vLLM benchmark result", origin));
  }
  if (r.points.empty()) throw Error(fmt::format("{}: {} output with no timed test in it", origin, r.engine));
  return r;
}

namespace {

// The x in (0, hi] where f(x) = target, f decreasing in x (a time against an efficiency);
// nullopt when even hi leaves f above the target (faster than the chip allows).
std::optional<double> solve_decreasing(const std::function<double(double)>& f, double target, double hi) {
  if (f(hi) > target * (1 + 1e-9)) return std::nullopt;
  double lo = 1e-6;
  if (f(lo) < target) return lo;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (f(mid) > target ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Deployment at_point(const Deployment& base, const EnginePoint& p) {
  Deployment d = base;
  d.batch = std::max<std::int64_t>(p.batch, 1);
  d.context = std::max<std::int64_t>(1, std::llround(p.context));
  if (p.kind == EnginePoint::Kind::served) {
    d.prompt_len = p.prompt_len;
    d.decode_len = p.decode_len;
    d.context = p.prompt_len + p.decode_len;
  }
  return d;
}

}  // namespace

EngineFit fit_engine(const EngineRecord& record, const ModelSpec& model, const ChipSpec& chip, int chips,
                     std::optional<Dtype> weights, const std::string& source) {
  if (chips < 1) throw Error("--chips must be at least 1");
  EngineFit fit;
  fit.chip = chip;
  if (!weights) weights = record.weights;
  if (!weights)
    throw Error(fmt::format("{}'s weights ('{}') have no serving-model dtype: give --weights", record.engine,
                            record.weight_type));
  fit.weights = *weights;
  Deployment base;
  base.chips = chips;
  base.weights = *weights;
  base.kv = record.kv.value_or(default_kv_dtype(*weights));
  base.usable = 1.0;
  base.prefill_chunk = 8192;
  ChipSpec& c = fit.chip;
  // Fit from a clean slate: no measured per-dtype factors or curve of another origin.
  c.efficiency.bandwidth_by_dtype.erase(*weights);
  c.efficiency.matmul_by_dtype.erase(*weights);
  c.efficiency.decode_curve.erase(*weights);

  std::vector<const EnginePoint*> decode, prefill, served;
  for (const auto& p : record.points)
    (p.kind == EnginePoint::Kind::decode ? decode : p.kind == EnginePoint::Kind::prefill ? prefill : served).push_back(&p);

  const auto step_at = [&](const EnginePoint& p) { return decode_step(model, c, at_point(base, p)).total_s; };
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  const auto refuse = [&](const EnginePoint& p, const char* what) {
    throw Error(fmt::format("{} '{}' is faster than {} x {} allows for {} {} weights ({}): check --chip, --chips, --model and "
                            "--weights",
                            record.engine, p.label, chips, c.name, model.name, dtype_name(*weights), what));
  };

  if (!decode.empty()) {
    // Bandwidth from the smallest batch, where the weights' bytes set the step.
    std::int64_t smallest = decode.front()->batch;
    for (const auto* p : decode) smallest = std::min(smallest, p->batch);
    std::vector<double> found;
    for (const auto* p : decode) {
      if (p->batch != smallest) continue;
      const auto bw = solve_decreasing(
          [&](double x) {
            c.efficiency.bandwidth = x;
            return step_at(*p);
          },
          p->seconds, 1.0);
      if (!bw) refuse(*p, "its memory bandwidth");
      found.push_back(*bw);
    }
    c.efficiency.bandwidth = median(found);
    fit.fitted.push_back("bandwidth");
    // Matmul efficiency from the largest batch, where the matmuls bound its step even at
    // their peak (past the critical batch); short of it a slower step is the knee's, which
    // the decode curve below takes in.
    const EnginePoint* largest = decode.front();
    for (const auto* p : decode)
      if (p->batch > largest->batch) largest = p;
    if (largest->batch > smallest) {
      const Deployment d = at_point(base, *largest);
      c.efficiency.decode_matmul = 1.0;
      const StepTime ideal = decode_step(model, c, d);
      std::optional<double> mm;
      if (ideal.t_flops_s >= ideal.t_param_s && ideal.total_s < largest->seconds)
        mm = solve_decreasing(
            [&](double x) {
              c.efficiency.decode_matmul = x;
              return step_at(*largest);
            },
            largest->seconds, 1.0);
      c.efficiency.decode_matmul = mm ? *mm : chip.efficiency.decode_matmul;
      if (mm) fit.fitted.push_back("decode_matmul");
    }
    // The decode curve: measured step over the model's, per measured batch (mean over
    // contexts), where more than one batch was measured.
    std::map<std::int64_t, std::vector<double>> ratios;
    for (const auto* p : decode) {
      const StepTime s = decode_step(model, c, at_point(base, *p));
      const double shape = std::max(s.t_flops_s, s.t_param_s);
      const double rest = s.total_s - shape;
      if (shape > 0) ratios[p->batch].push_back(std::clamp((p->seconds - rest) / shape, 0.05, 100.0));
    }
    if (ratios.size() > 1) {
      auto& curve = c.efficiency.decode_curve[*weights];
      for (const auto& [batch, r] : ratios) curve.push_back({double(batch), median(r)});
      fit.fitted.push_back("decode_curve");
    }
  }
  if (!prefill.empty()) {
    std::vector<double> found;
    for (const auto* p : prefill) {
      const auto mfu = solve_decreasing(
          [&](double x) {
            c.efficiency.prefill_mfu = x;
            return prefill_s_per_token(model, c, at_point(base, *p));
          },
          p->seconds, 1.0);
      if (!mfu) refuse(*p, "its matmul peak");
      found.push_back(*mfu);
    }
    c.efficiency.prefill_mfu = median(found);
    fit.fitted.push_back("prefill_mfu");
  }
  for (const auto* p : served) {
    // One scale on every factor, so the served headline (prefill included) matches.
    const Efficiency start = c.efficiency;
    const double top = 1.0 / std::max({start.bandwidth, start.decode_matmul, start.prefill_mfu});
    const Deployment d = at_point(base, *p);
    if (max_batch(model, c, d) < d.batch)
      throw Error(fmt::format("{} '{}': {} concurrent requests do not fit {} x {} in the serving model", record.engine,
                              p->label, d.batch, chips, c.name));
    const auto scale = solve_decreasing(
        [&](double s) {
          c.efficiency.bandwidth = start.bandwidth * s;
          c.efficiency.decode_matmul = start.decode_matmul * s;
          c.efficiency.prefill_mfu = start.prefill_mfu * s;
          return 1.0 / estimate(model, c, d).tokens_per_s;
        },
        1.0 / p->tokens_per_s, top);
    if (!scale) refuse(*p, "its peaks");
    c.efficiency.bandwidth = start.bandwidth * *scale;
    c.efficiency.decode_matmul = start.decode_matmul * *scale;
    c.efficiency.prefill_mfu = start.prefill_mfu * *scale;
    fit.fitted.push_back("served scale");
  }
  c.efficiency.bandwidth_by_dtype[*weights] = c.efficiency.bandwidth;
  c.efficiency.matmul_by_dtype[*weights] = c.efficiency.decode_matmul;
  c.provenance["efficiency"] = {"fitted", source};
  c.display_name = fmt::format("{} (fitted to {})", chip.display_name, record.engine);

  for (const auto& p : record.points) {
    const Deployment d = at_point(base, p);
    double predicted = 0;
    switch (p.kind) {
      case EnginePoint::Kind::decode: predicted = decode_step(model, c, d).total_s; break;
      case EnginePoint::Kind::prefill: predicted = prefill_s_per_token(model, c, d); break;
      case EnginePoint::Kind::served: predicted = estimate(model, c, d).tokens_per_s; break;
    }
    fit.residuals.push_back({p.label, p.kind == EnginePoint::Kind::served ? p.tokens_per_s : p.seconds, predicted});
  }
  return fit;
}

}  // namespace roofaudit::calibrate
