#include "calibrate/memory_levels.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "values/units.hpp"

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

namespace {

std::string size_text(double bytes) { return human_bytes(bytes); }

}  // namespace

std::vector<LevelFinding> gpu_memory_levels(std::vector<CurvePoint> read, double l2_bytes, const std::string& l2_source,
                                            const std::vector<Plateau>& inner, bool reaches_memory,
                                            const std::string& cite) {
  std::sort(read.begin(), read.end(), [](const auto& a, const auto& b) { return a.working_set_bytes < b.working_set_bytes; });
  if (read.empty()) return {};
  const double largest = read.back().working_set_bytes;
  const double boundary = l2_bytes > 0 ? 4 * l2_bytes : largest / 4;
  if (!(l2_bytes > 0) && !reaches_memory) return {};
  std::vector<CurvePoint> memory;
  for (const auto& p : read)
    if (p.working_set_bytes >= boundary) memory.push_back(p);
  if (memory.empty()) return {};
  const auto best = std::max_element(memory.begin(), memory.end(), [](const auto& a, const auto& b) { return a.value < b.value; });
  LevelFinding mem;
  mem.level = {"device memory", best->value, memory.front().working_set_bytes, memory.back().working_set_bytes};
  std::string source = fmt::format(
      "{}, device memory: the best of the {} working sets from {} to {} ({}), at {}", cite, memory.size(),
      size_text(memory.front().working_set_bytes), size_text(memory.back().working_set_bytes),
      l2_bytes > 0 ? fmt::format("past 4x its {} L2", size_text(l2_bytes))
                   : std::string("the sweep's largest quarter; the L2 size is not in the device catalogue"),
      size_text(best->working_set_bytes));
  // Still rising at the end: the shorter launches were launch-bound, so even the best is
  // a lower bound of what the memory gives.
  if (&*best == &memory.back() && memory.size() >= 2 && memory[memory.size() - 2].value < 0.9 * best->value)
    source += "; still rising at the largest working set (the smaller ones' launches were too short), so a lower bound";
  mem.provenance = {"measured", source};

  std::vector<LevelFinding> out;
  auto add_inner = [&](MemoryLevel l, const std::string& what) {
    LevelFinding f{l, {"measured", fmt::format("{}, {}", cite, what)}};
    if (l.bytes_per_s < mem.level.bytes_per_s)
      f.provenance = {"kernel", fmt::format("{}, {}: slower than device memory ({:.3g} B/s), so the sweep's launches there "
                                            "were too short to measure the level (launch-bound); the kernel's figure, not "
                                            "the level's",
                                            cite, what, mem.level.bytes_per_s)};
    out.push_back(std::move(f));
  };
  if (l2_bytes > 0) {
    double value = 0, from = 0, to = 0;
    for (const auto& p : read)
      if (p.working_set_bytes <= 0.75 * l2_bytes) {
        if (from == 0) from = p.working_set_bytes;
        to = p.working_set_bytes;
        value = std::max(value, p.value);
      }
    if (value > 0)
      add_inner({"L2", value, from, to},
                fmt::format("L2: the best of the working sets up to 3/4 of its {} ({})", size_text(l2_bytes), l2_source));
  } else {
    for (const auto& p : inner)
      if (p.to_bytes < boundary)
        add_inner({p.level, p.value, p.from_bytes, p.to_bytes},
                  fmt::format("{} plateau over {:.0f}..{:.0f} bytes", p.level, p.from_bytes, p.to_bytes));
  }
  out.push_back(std::move(mem));
  return out;
}

}  // namespace roofaudit::calibrate
