// cuda.peak: the matmul rate per precision the device reaches at all through cuBLASLt:
// the largest square product (n = 8192; 16384 where the precision's tensor cores need
// more work to fill the GPU), each of the heuristic's candidate algorithms raced, the
// fastest valid one measured and named. The figure the GPU's peak is calibrated from.
#include <fmt/format.h>

#include "probes/cuda/lt_matmul.hpp"
#include "probes/driver.hpp"

namespace roofaudit::cuda {
namespace {

constexpr ProbeIdentity kIdentity{"cuda.peak", 1,
                                  "CUDA peak per precision: the fastest of cuBLASLt's candidate algorithms on the "
                                  "largest square product, checked on the GPU",
                                  Role::peak};
constexpr int kCandidates = 8;

Figure figure(const Precision& p) {
  return {p.name, "peak", p.unit, true, "2 n^3 operations per product; the fastest valid algorithm"};
}

class CudaPeakProbe final : public CudaProbe {
 public:
  CudaPeakProbe() : CudaProbe(kIdentity) {}

 protected:
  std::vector<Figure> figures() const override {
    std::vector<Figure> f;
    for (const auto& p : precisions()) f.push_back(figure(p));
    return f;
  }

  void run_on(ProbeDriver& driver, const DeviceView& device) override {
    const Stream stream;
    const LtHandle handle;
    const DeviceMemory workspace(workspace_bytes(device));
    for (const auto& p : precisions()) {
      if (driver.stopped()) return;
      if (device.compute_major * 10 + device.compute_minor < p.min_compute) {
        driver.unsupported(figure(p),
                           fmt::format("unsupported: {} needs compute capability {}.{}; {} has {}.{}", p.name,
                                       p.min_compute / 10, p.min_compute % 10, device.name, device.compute_major,
                                       device.compute_minor),
                           {{"n", 0}});
        continue;
      }
      const std::uint64_t n = driver.settings().quick ? 4096 : 8192;
      driver.progress(fmt::format("{} n = {}: racing cuBLASLt's candidates", p.name, n));
      const Operands o(p, n, n, n, std::uint32_t(n * 104729 + 3), stream);
      const LtMatmul mm(handle, o, workspace, kCandidates);
      if (mm.algorithms() == 0) {
        driver.unsupported(figure(p), fmt::format("unsupported: cuBLASLt offers no algorithm for {} at n = {}", p.math, n),
                           {{"n", n}});
        continue;
      }
      // The race: each candidate timed briefly (its products checked); the fastest valid
      // one is then measured in full. A candidate that fails its check cannot win.
      const EventPair events;
      int best = -1;
      double best_s = 0;
      std::string first_problem;
      for (int a = 0; a < mm.algorithms(); ++a) {
        std::string problem;
        double s = 0;
        try {
          timed_products(mm, a, o, stream, events, 1, problem);  // warm-up
          if (problem.empty()) s = timed_products(mm, a, o, stream, events, 3, problem);
        } catch (const Error& e) {
          problem = e.what();
        }
        if (!problem.empty()) {
          if (first_problem.empty()) first_problem = fmt::format("{}: {}", mm.algorithm_name(a), problem);
          continue;
        }
        if (best < 0 || s < best_s) best = a, best_s = s;
      }
      Measurement m = driver.measurement(figure(p), {{"n", n},
                                                     {"device_name", device.name},
                                                     {"library", "cuBLASLt"},
                                                     {"math", p.math},
                                                     {"candidates", mm.algorithms()}});
      if (best < 0) {
        driver.measure_unless(first_problem, std::move(m), "", nullptr, "", [](double s) { return s; }, 0);
        continue;
      }
      m.params["algorithm"] = mm.algorithm_name(best);
      std::uint32_t launches = std::uint32_t(
          std::clamp(sample_seconds(driver.settings(), 0.01, 0.1) / std::max(best_s, 1e-6), 1.0, 1000.0));
      m.params["products_per_sample"] = launches;
      const double ops = o.operations();
      driver.measure_unless(
          "", std::move(m), fmt::format("cuda.peak/{}", p.name),
          [&](std::string& problem) { return timed_products(mm, best, o, stream, events, launches, problem); },
          "all of D by Freivalds' check and 256 sampled elements exactly, after every sample",
          [ops](double s) { return ops / s; }, 0);
    }
  }
};

ROOFAUDIT_REGISTER_PROBE(CudaPeakProbe);

}  // namespace
}  // namespace roofaudit::cuda
