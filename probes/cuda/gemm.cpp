// cuda.gemm: square matmul throughput per precision through cuBLASLt (the algorithm its
// heuristic puts first, as frameworks call it), n = 256 .. 8192; every product checked
// on the GPU (Freivalds' check of all of D, 256 elements exactly).
#include <fmt/format.h>

#include "probes/cuda/lt_matmul.hpp"
#include "probes/driver.hpp"

namespace roofaudit::cuda {
namespace {

constexpr ProbeIdentity kIdentity{"cuda.gemm", 1,
                                  "CUDA matmul per precision through cuBLASLt (heuristic's first algorithm), "
                                  "n = 256..8192, checked on the GPU",
                                  Role::gemm};

Figure figure(const Precision& p) {
  return {p.name, "gemm", p.unit, true, "2 n^3 operations per product (one multiply and one add each)"};
}

class CudaGemmProbe final : public CudaProbe {
 public:
  CudaGemmProbe() : CudaProbe(kIdentity) {}

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
    const std::vector<std::uint64_t> sizes = driver.settings().quick
                                                 ? std::vector<std::uint64_t>{1024, 4096}
                                                 : std::vector<std::uint64_t>{256, 512, 1024, 2048, 4096, 8192};
    for (const auto& p : precisions()) {
      if (device.compute_major * 10 + device.compute_minor < p.min_compute) {
        driver.unsupported(figure(p),
                           fmt::format("unsupported: {} needs compute capability {}.{}; {} has {}.{}", p.name,
                                       p.min_compute / 10, p.min_compute % 10, device.name, device.compute_major,
                                       device.compute_minor),
                           {{"n", 0}});
        continue;
      }
      for (std::uint64_t n : sizes) {
        if (driver.stopped()) return;
        driver.progress(fmt::format("{} n = {}", p.name, n));
        const Operands o(p, n, n, n, std::uint32_t(n * 7919 + 17), stream);
        const LtMatmul mm(handle, o, workspace, 1);
        if (mm.algorithms() == 0) {
          driver.unsupported(figure(p), fmt::format("unsupported: cuBLASLt offers no algorithm for {} at n = {}", p.math, n),
                             {{"n", n}});
          continue;
        }
        const EventPair events;
        std::uint32_t launches = 1;
        auto sample = [&](std::string& problem) { return timed_products(mm, 0, o, stream, events, launches, problem); };
        std::string problem;
        calibrate_count(sample_seconds(driver.settings(), 0.01, 0.05), launches, std::uint32_t(1000),
                        [&](std::string& pr) { return sample(pr) * launches; }, problem);
        Measurement m = driver.measurement(figure(p), {{"n", n},
                                                       {"device_name", device.name},
                                                       {"library", "cuBLASLt"},
                                                       {"algorithm", mm.algorithm_name(0)},
                                                       {"math", p.math},
                                                       {"products_per_sample", launches}});
        const double ops = o.operations();
        driver.measure_unless(problem, std::move(m), fmt::format("cuda.gemm/{}/{}", p.name, n), sample,
                              "all of D by Freivalds' check (D x = A^T (B x), fp64 on the GPU) and 256 sampled "
                              "elements against their exact dot product",
                              [ops](double s) { return ops / s; }, 0);
      }
    }
  }
};

ROOFAUDIT_REGISTER_PROBE(CudaGemmProbe);

}  // namespace
}  // namespace roofaudit::cuda
