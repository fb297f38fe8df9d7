#pragma once
// A serving engine's own benchmark output, read and fitted: the chip's efficiency factors
// solved so the serving model reproduces what the engine measured on it.
//
// Readers (the format is recognised from the text):
//   - llama.cpp `llama-bench -o json`: an array of tests, each token generation (n_gen > 0)
//     at batch 1 or prompt processing (n_prompt > 0), its mean tokens/s (avg_ts), and the
//     model file's size and parameters;
//   - llama.cpp `llama-batched-bench`: its table (| PP | TG | B | N_KV | T_PP s | S_PP t/s |
//     T_TG s | S_TG t/s | ...) or its JSON lines (pp, tg, pl, t_pp, speed_pp, t_tg, speed_tg):
//     decode steps at several batches and the prompts' rate;
//   - vLLM's serving benchmark result (benchmark_serving.py --save-result): the output
//     throughput at a concurrency, with the mean input and output lengths.
#include <optional>
#include <string>
#include <vector>

#include "calibrate/serving_types.hpp"

namespace roofaudit::calibrate {

// One measured point, in the serving model's terms.
struct EnginePoint {
  enum class Kind { decode, prefill, served } kind = Kind::decode;
  std::int64_t batch = 1;        // sequences decoded together (decode, served)
  double context = 0;            // mean KV length over the measured steps
  double seconds = 0;            // decode: one step; prefill: one prompt token
  double tokens_per_s = 0;       // served: output tokens per second
  std::int64_t prompt_len = 0, decode_len = 0;  // served: the mean lengths
  std::string label;             // what the engine called it ("tg128 @ d4096", "pp512", ...)
};

struct EngineRecord {
  std::string engine;            // "llama-bench", "llama-batched-bench", "vllm"
  std::vector<EnginePoint> points;
  double weight_bytes = 0;       // the model file's size where the engine states it (llama-bench)
  double params = 0;             // its parameters where stated
  std::string weight_type;       // the engine's name for the weights' type ("Q4_K - Medium", "F16", ...)
  std::optional<Dtype> weights;  // the serving model's dtype closest to it, where one is
  std::optional<Dtype> kv;       // the cache's (type_k), where stated
  std::string device;            // what the engine says it ran on (gpu_info, cpu_info)
};

// Recognises and reads one of the formats above. Throws Error naming the file and what is
// missing or malformed (one line).
EngineRecord read_engine_output(const std::string& text, const std::string& origin);

struct FitResidual {
  std::string label;
  double measured = 0, predicted = 0;  // seconds a step / a prompt token, or served tokens/s
};

struct EngineFit {
  ChipSpec chip;                       // the input chip with the fitted efficiencies and their provenance
  Dtype weights = Dtype::bf16;
  std::vector<std::string> fitted;     // which factors the data determined ("bandwidth", ...)
  std::vector<FitResidual> residuals;  // every point, measured against the fitted chip's prediction
};

// Fits the chip's efficiencies for `model` with `weights` (the record's own where it names
// one and `weights` is empty) on `chips` chips:
//   - bandwidth from the smallest-batch decode steps (weights + KV bytes over the step);
//   - decode matmul from the largest batch, where it is past the critical batch even at
//     the matmul peak;
//   - the decode curve (measured step / the model's step) per measured batch;
//   - prefill MFU from the prompt rate;
//   - a served throughput (vLLM): one scale on bandwidth, matmul and MFU, bisected until the
//     served headline matches.
// Each fitted figure is a fraction in (0, 1]; a point implying more than the chip's peak
// (a faster step than its bandwidth allows) is refused, naming it. `source` goes into the
// provenance ("fitted: llama-bench results.json").
EngineFit fit_engine(const EngineRecord& record, const ModelSpec& model, const ChipSpec& chip, int chips,
                     std::optional<Dtype> weights, const std::string& source);

}  // namespace roofaudit::calibrate
