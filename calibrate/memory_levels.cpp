#include "calibrate/memory_levels.hpp"

#include <map>
#include <tuple>

namespace roofaudit::calibrate {

std::vector<CurveFit> fit_memory_levels(const std::vector<Measurement>& measurements,
                                        const PlateauOptions& options) {
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<CurvePoint>> curves;
  for (const auto& m : measurements) {
    if (!m.valid || !m.summary || !m.params.contains("working_set_bytes")) continue;
    curves[{m.device, m.probe, m.variant}].push_back(
        {m.params["working_set_bytes"].get<double>(), m.summary->best});
  }
  std::vector<CurveFit> fits;
  for (auto& [key, points] : curves) {
    CurveFit f;
    std::tie(f.device, f.probe, f.variant) = key;
    f.plateaus = detect_plateaus(points, options);
    fits.push_back(std::move(f));
  }
  return fits;
}

}  // namespace roofaudit::calibrate
