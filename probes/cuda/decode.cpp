// cuda.decode: the decode-shaped product through cuBLASLt: a weight matrix past L2
// (rows x 8192, at least 8x L2 and 256 MiB) times B = 1..512 activation vectors, per
// weight precision (bf16, fp16, fp8, int8), so the knee is the one the vendor's library
// gives. Figures per batch as gpu.decode and cpu.decode store them: the step's time, the
// weight bytes streamed per second, and the operations per second; each step checked on
// the GPU.
#include <fmt/format.h>

#include "probes/cuda/lt_matmul.hpp"
#include "probes/driver.hpp"
#include "values/units.hpp"

namespace roofaudit::cuda {
namespace {

constexpr ProbeIdentity kIdentity{"cuda.decode", 1,
                                  "CUDA decode sweep through cuBLASLt: weights past L2 times B = 1..512 vectors, per "
                                  "weight precision",
                                  Role::decode_sweep};
constexpr std::uint64_t kK = 8192;
const char* const kVariants[] = {"bf16", "fp16", "fp8", "int8"};

struct Metric {
  const char* name;
  const char* unit;
  bool higher_is_better;
};

Figure figure(const std::string& variant, const Metric& mt, const Precision& p) {
  const std::string unit = std::string(mt.name) == "throughput" ? p.unit : mt.unit;
  return {variant, mt.name, unit, mt.higher_is_better,
          "one step: D (rows x B) = W^T X with W rows x 8192 in device memory; weight bytes streamed once per step"};
}
const Metric kMetrics[] = {{"step_time", "s", false}, {"weight_bandwidth", "B/s", true}, {"throughput", "", true}};

class CudaDecodeProbe final : public CudaProbe {
 public:
  CudaDecodeProbe() : CudaProbe(kIdentity) {}

 protected:
  std::vector<Figure> figures() const override {
    std::vector<Figure> f;
    for (const char* v : kVariants)
      for (const auto& mt : kMetrics) f.push_back(figure(v, mt, *precision(v)));
    return f;
  }

  void run_on(ProbeDriver& driver, const DeviceView& device) override {
    const Stream stream;
    const LtHandle handle;
    const DeviceMemory workspace(workspace_bytes(device));
    const std::vector<std::uint64_t> batches = driver.settings().quick
                                                   ? std::vector<std::uint64_t>{1, 8, 64, 512}
                                                   : std::vector<std::uint64_t>{1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
    for (const char* variant : kVariants) {
      const Precision& p = *precision(variant);
      if (device.compute_major * 10 + device.compute_minor < p.min_compute) {
        for (const auto& mt : kMetrics)
          driver.unsupported(figure(variant, mt, p),
                             fmt::format("unsupported: {} needs compute capability {}.{}; {} has {}.{}", p.name,
                                         p.min_compute / 10, p.min_compute % 10, device.name, device.compute_major,
                                         device.compute_minor),
                             {{"batch", 0}});
        continue;
      }
      const std::uint64_t rows = weight_rows(device, p);
      const std::uint64_t weight_bytes = rows * kK * kernels::cuda::element_bytes(p.a);
      for (std::uint64_t batch : batches) {
        if (driver.stopped()) return;
        driver.progress(fmt::format("{} B = {} ({} of weights)", variant, batch, human_bytes(double(weight_bytes))));
        measure(driver, device, handle, workspace, stream, p, rows, batch);
      }
    }
  }

 private:
  // Rows so the weights are at least 8x L2 and 256 MiB: every step streams them from
  // device memory. A multiple of 256 rows.
  static std::uint64_t weight_rows(const DeviceView& d, const Precision& p) {
    const std::uint64_t bytes = std::max<std::uint64_t>(std::uint64_t(256) << 20, 8 * d.l2_bytes);
    const std::uint64_t rows = bytes / (kK * kernels::cuda::element_bytes(p.a));
    return std::max<std::uint64_t>(256, (rows + 255) / 256 * 256);
  }

  static void measure(const ProbeDriver& driver, const DeviceView& device, const LtHandle& handle,
                      const DeviceMemory& workspace, const Stream& stream, const Precision& p, std::uint64_t rows,
                      std::uint64_t batch) {
    const Operands o(p, rows, batch, kK, std::uint32_t(rows * 31 + batch), stream);
    const LtMatmul mm(handle, o, workspace, 1);
    const double weight_bytes = double(rows * kK * kernels::cuda::element_bytes(p.a));
    nlohmann::json params{{"batch", batch},
                          {"rows", rows},
                          {"k", kK},
                          {"weight_bytes", std::uint64_t(weight_bytes)},
                          {"device_name", device.name},
                          {"library", "cuBLASLt"},
                          {"math", p.math},
                          {"peak_variant", p.name}};
    if (mm.algorithms() == 0) {
      for (const auto& mt : kMetrics)
        driver.unsupported(figure(p.name, mt, p),
                           fmt::format("unsupported: cuBLASLt offers no algorithm for {} at B = {}", p.math, batch),
                           params);
      return;
    }
    params["algorithm"] = mm.algorithm_name(0);
    const EventPair events;
    std::uint32_t launches = 1;
    auto sample = [&](std::string& problem) { return timed_products(mm, 0, o, stream, events, launches, problem); };
    std::string problem;
    calibrate_count(sample_seconds(driver.settings(), 0.01, 0.05), launches, std::uint32_t(2000),
                    [&](std::string& pr) { return sample(pr) * launches; }, problem);
    params["steps_per_sample"] = launches;
    const auto timed = driver.time(problem, fmt::format("cuda.decode/{}/{}", p.name, batch), sample, 0);
    const std::string checked =
        "all of D by Freivalds' check (fp64 on the GPU) and 256 sampled elements exactly, after every sample";
    const double ops = o.operations();
    for (const auto& mt : kMetrics) {
      const std::string name = mt.name;
      driver.store(driver.measurement(figure(p.name, mt, p), params), timed, checked, [&](double s) {
        return name == "step_time" ? s : name == "weight_bandwidth" ? weight_bytes / s : ops / s;
      });
    }
  }
};

ROOFAUDIT_REGISTER_PROBE(CudaDecodeProbe);

}  // namespace
}  // namespace roofaudit::cuda
