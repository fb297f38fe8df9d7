// model.decode: a real forward pass, not a kernel. One decode step of a complete
// LLaMA-shaped transformer (every layer, attention over a KV cache of the given context,
// output projection) with int8 or bf16 weights, on the CPU's OpenMP threads, at several
// batch sizes and context lengths: tokens/s per shape, the figure the serving model's
// prediction for this machine is checked against. Every point's logits are checked
// against a plain reference pass over regenerated weights.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "kernels/cpu/transformer.hpp"
#include "probes/cpu/model_shape.hpp"
#include "probes/cpu/sweep.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "probes/driver.hpp"
#include "probes/topology.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"model.decode", 1,
                                  "a full transformer decode step (int8 and bf16 weights) at batch 1..64 and several contexts: tokens/s",
                                  Role::forward_pass};

using kernels::DecodeKernel;
using kernels::DecodeType;
using kernels::Transformer;
using kernels::TransformerShape;

constexpr double kMaxKvBytes = 2.0 * (1ull << 30);  // shapes whose cache is larger are left out
constexpr double kSampleSeconds = 0.1;
// Per layer from the fast path's own input, fast and reference differ by float sums in
// another order (1e-7) and by the occasional activation that rounds to the neighbouring
// int8 or bf16 value (one such step moves a layer's update by 1e-4..1e-2). A wrong
// kernel moves every layer by tens of percent: the median must stay at rounding level,
// the worst below a few int8 steps.
constexpr double kMedianTolerance = 1e-4;
constexpr double kWorstTolerance = 0.05;

TransformerShape shape_of(const nlohmann::json& m) {
  if (m.value("experts", 0) > 0) throw Error("model.decode runs dense models only, not mixtures of experts");
  return transformer_shape(m, "model.decode");
}

struct Shape {
  std::size_t batch, context;
};

std::vector<Shape> shapes(const RunSettings& s, const TransformerShape& t) {
  std::vector<std::size_t> batches = {1, 4, 16, 64}, contexts = {256, 1024, 4096};
  if (s.quick) {
    batches = {1, 16};
    contexts = {512};
  }
  std::vector<Shape> out;
  for (std::size_t c : contexts)
    for (std::size_t b : batches)
      if (double(b) * double(c) * t.kv_bytes_per_token() <= kMaxKvBytes || (b == 1 && c == contexts.front()))
        out.push_back({b, c});
  return out;
}

double largest_kv_bytes(const RunSettings& s, const TransformerShape& t) {
  double most = 0;
  for (const auto& p : shapes(s, t)) most = std::max(most, double(p.batch) * double(p.context) * t.kv_bytes_per_token());
  return most;
}

class ModelDecodeProbe final : public DrivenProbe {
 public:
  ModelDecodeProbe() : DrivenProbe(kIdentity) {}

  void check(const RunSettings& settings, const Topology&) const override {
    const TransformerShape t = shape_of(settings.model);
    const double weights = t.streamed_weight_bytes(DecodeType::bf16);
    check_fits_in_memory(std::uint64_t(weights + largest_kv_bytes(settings, t)), "model.decode's weights and KV cache");
  }

  void run_with(ProbeDriver& driver) override {
    const TransformerShape t = shape_of(driver.settings().model);
    const int threads = driver.threads();
#pragma omp parallel num_threads(threads)
    driver.topology().pin_current_thread(omp_get_thread_num());
    for (DecodeType type : {DecodeType::int8, DecodeType::bf16}) {
      if (driver.stopped()) return;
      const DecodeKernel kernel = kernels::fastest_decode_kernel(type, threads).kernel;  // within ROOFAUDIT_MAX_ISA
      const char* variant = type == DecodeType::int8 ? "int8" : "bf16";
      driver.progress(fmt::format("{} {} weights: generating and packing", driver.settings().model.value("name", "model"), variant));
      Transformer model(t, type, kernel, driver.settings().seed + (type == DecodeType::int8 ? 11 : 12), threads);
      for (const Shape& p : shapes(driver.settings(), t)) {
        if (driver.stopped()) return;
        driver.progress(fmt::format("{} batch {} context {}", variant, p.batch, p.context));
        measure(driver, model, variant, p, threads);
      }
    }
  }

 private:
  void measure(const ProbeDriver& driver, Transformer& model, const char* variant, const Shape& p, int threads) const {
    const TransformerShape& t = model.shape();
    const RunSettings& settings = driver.settings();
    model.prepare(p.batch, p.context, settings.seed ^ (p.batch * 1000003 + p.context), threads);
    std::vector<std::int32_t> tokens(p.batch);
    for (std::size_t b = 0; b < p.batch; ++b) tokens[b] = std::int32_t((b * 7919 + p.context * 31) % std::size_t(t.vocab));
    std::vector<float> logits(p.batch * std::size_t(t.vocab));

    Measurement m = driver.measurement(
        {variant, "throughput", "tokens/s", true,
         "output tokens per second: batch / time of one decode step (every layer and the output projection; one "
         "token per sequence at the last context position)"},
        {{"model", settings.model}, {"batch", p.batch}, {"context", p.context}, {"weights", variant}, {"kv", "bf16"},
         {"threads", threads}, {"kernel", model.kernel_name()}, {"weight_bytes", model.streamed_weight_bytes()},
         {"kv_bytes", double(p.batch) * double(p.context) * t.kv_bytes_per_token()}});

    std::string problem;
    // Validation first: a traced step of the first and last sequence, every layer's
    // update and the logits against the reference pass.
    try {
      kernels::StepTrace trace;
      trace.sequences = {0};
      if (p.batch > 1) trace.sequences.push_back(p.batch - 1);
      model.step(tokens.data(), logits.data(), threads, &trace);
      std::vector<std::int32_t> traced_tokens;
      for (std::size_t s : trace.sequences) traced_tokens.push_back(tokens[s]);
      const auto check = model.check_step(trace, traced_tokens, threads);
      m.params["reference_error"] = {{"median", check.median}, {"worst", check.worst}, {"worst_at", check.where}};
      if (!(check.worst <= kWorstTolerance))
        problem = fmt::format("{} differs from the reference by {:.3g} RMS-relative (limit {})", check.where, check.worst,
                              kWorstTolerance);
      else if (!(check.median <= kMedianTolerance))
        problem = fmt::format("layer updates differ from the reference by {:.3g} RMS-relative in the median (limit {})",
                              check.median, kMedianTolerance);
    } catch (const std::exception& e) {
      problem = e.what();
    }

    // Each repetition times whole steps until kSampleSeconds have passed.
    auto sample = [&](std::string& failure) {
      int steps = 0;
      const auto t0 = std::chrono::steady_clock::now();
      double elapsed = 0;
      do {
        model.step(tokens.data(), logits.data(), threads);
        ++steps;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      } while (elapsed < kSampleSeconds && steps < 1000);
      for (std::size_t i = 0; i < logits.size() && failure.empty(); i += std::size_t(t.vocab) + 1)
        if (!std::isfinite(logits[i])) failure = "non-finite logits";
      return elapsed / steps;
    };
    const double batch = double(p.batch);
    driver.store(std::move(m),
                 driver.time(problem, fmt::format("model.decode/{}/{}x{}", variant, p.batch, p.context), sample, 1,
                             driver.repetitions(2, 3)),
                 fmt::format("every layer's update and the logits of sequences 0 and {} against a reference pass "
                             "over regenerated weights: median within {}, worst within {} RMS-relative",
                             p.batch - 1, kMedianTolerance, kWorstTolerance),
                 [batch](double s) { return batch / s; });
  }
};

ROOFAUDIT_REGISTER_PROBE(ModelDecodeProbe);

}  // namespace
}  // namespace roofaudit
