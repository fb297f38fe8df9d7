#pragma once
// What every GPU probe starts from: a Vulkan instance and the selected device, or the
// one-line reason there is none (no driver, no device), which the probe stores as its
// variants being skipped.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "probes/vulkan/vulkan.hpp"
#include "values/measurement.hpp"
#include "probes/driver.hpp"
#include "probes/probe.hpp"

namespace roofaudit::gpu {

struct Session {
  std::unique_ptr<vk::Instance> instance;
  std::unique_ptr<vk::Device> device;
  std::string skipped;  // non-empty: no device, and why
  // "gpu:N", the name measurements carry in `device`.
  std::string device_key() const;
  DeviceInfo device_info() const;
  // Validation-layer errors so far, as a failure reason (empty: none, or layer off).
  std::string validation_problem() const;
};

// Opens the device settings.vulkan.device selects. Throws Error when a selector was given
// and matches no device (bad input); a machine without Vulkan gives `skipped`.
Session open_session(const RunSettings& settings);

// A GPU probe's start: the session, with the device recorded by the driver (figures name
// it). Where there is no device (no driver, no device, only the CPU implementation
// unasked), each of `figures` is stored as skipped with the reason, and the session's
// device is empty.
Session open_session(ProbeDriver& driver, const std::vector<Figure>& figures);

// The figures of `variants`, each figure(v).
template <typename Variant, std::size_t N, typename ToFigure>
std::vector<Figure> figures_of(const Variant (&variants)[N], ToFigure figure) {
  std::vector<Figure> figures;
  for (const auto& v : variants) figures.push_back(figure(v));
  return figures;
}

// For Probe::check: throws Error when settings.vulkan.device names no device.
void check_device_selector(const RunSettings& settings);

// What every Vulkan probe shares before it runs: the --device selector is checked.
// Each opens its session here: where no device opens, every figure is stored as skipped
// with the reason, and run_on is not called.
class GpuProbe : public DrivenProbe {
 public:
  using DrivenProbe::DrivenProbe;
  void check(const RunSettings& settings, const Topology&) const override { check_device_selector(settings); }
 protected:
  // Every figure the probe can give.
  virtual std::vector<Figure> figures() const = 0;
  // The measurements on the opened device.
  virtual void run_on(ProbeDriver& driver, Session& session) = 0;

 private:
  void run_with(ProbeDriver& driver) final {
    Session session = open_session(driver, figures());
    if (!session.device) {
      driver.progress(session.skipped);
      return;
    }
    run_on(driver, session);
  }
};

// The matrix-unit (cooperative matrix) path for 16x16x16 fp16 products with fp32
// accumulation: VK_NV_cooperative_matrix where the device has it, else
// VK_KHR_cooperative_matrix when this build embeds its shader. Every gate is extension +
// feature + property (compute stage, the listed shape, 16-bit storage, the Vulkan memory
// model the shaders declare).
struct MatrixUnitPath {
  std::string shader;       // empty: unsupported
  std::string extension;    // which one the shader uses
  std::string unsupported;  // why, when `shader` is empty
};
inline constexpr const char* kMatrixUnitShape = "16x16x16 f16*f16+f32";
inline constexpr const char* kMatrixUnitShapeInt8 = "16x16x32 s8*s8+s32";
// `shape` picks the storage the shaders need: 16-bit for fp16, 8-bit and shaderInt8 for
// int8. An empty `khr_shader` means there is no KHR form of this shader.
MatrixUnitPath matrix_unit_path(const vk::DeviceDescription& d, const std::string& nv_shader,
                                const std::string& khr_shader, const std::string& shape = kMatrixUnitShape);

// How long one timed sample should run: --sample-ms when given; 10 ms with --quick;
// 200 ms on a GPU (many dispatches per submit); 50 ms on the CPU implementation, which
// is a correctness target and would otherwise make the audit crawl.
double sample_target_seconds(const RunSettings& settings, const vk::DeviceDescription& d);

}  // namespace roofaudit::gpu
