#include "calibrate/memory_levels.hpp"

#include <algorithm>
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

std::vector<LevelRow> level_table(const std::vector<Measurement>& measurements, const std::string& probe,
                                  const std::vector<Plateau>& reference) {
  std::vector<LevelRow> rows;
  for (const Plateau& level : reference) {
    LevelRow row{level, {}};
    std::vector<std::string> order;
    std::map<std::string, std::vector<double>> in_range;
    for (const auto& m : measurements) {
      if (m.probe != probe || !m.valid || !m.summary || !m.params.contains("working_set_bytes")) continue;
      const double ws = m.params["working_set_bytes"].get<double>();
      if (ws < level.from_bytes || ws > level.to_bytes) continue;
      if (!in_range.count(m.variant)) order.push_back(m.variant);
      in_range[m.variant].push_back(m.summary->best);
    }
    for (const auto& variant : order) {
      auto v = in_range[variant];
      std::sort(v.begin(), v.end());
      const double med = v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
      row.values.emplace_back(variant, med);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace roofaudit::calibrate
