#include "reports/chip_figures.hpp"

#include <fmt/format.h>

#include "calibrate/serving.hpp"
#include "reports/format.hpp"

namespace roofaudit::reports {

std::string provenance_of(const calibrate::ChipSpec& c, const std::string& key) {
  const auto it = c.provenance.find(key);
  return it == c.provenance.end() ? "" : fmt::format("{}: {}", it->second.kind, it->second.source);
}

std::vector<ChipFigure> chip_figures(const calibrate::ChipSpec& c) {
  using calibrate::dtype_name;
  std::vector<ChipFigure> out;
  auto add = [&](std::string section, std::string figure, std::string label, double value, std::string unit,
                 std::string shown, const std::string& key) {
    out.push_back({std::move(section), std::move(figure), std::move(label), value, std::move(unit), std::move(shown),
                   provenance_of(c, key)});
  };
  for (const auto& l : c.memory_levels)
    add("ceiling", "read bandwidth " + l.level,
        fmt::format("read bandwidth {} ({}..{})", l.level, format_bytes(l.from_bytes), format_bytes(l.to_bytes)),
        l.bytes_per_s, "B/s", format_value(l.bytes_per_s, "B/s"), "bandwidth." + l.level);
  for (const auto& [d, v] : c.peak_ops_per_s)
    add("ceiling", "peak " + dtype_name(d), "peak " + dtype_name(d), v, ops_unit(d), format_value(v, ops_unit(d)),
        "flops." + dtype_name(d));
  for (const auto& [d, v] : c.matmul_ops_per_s)
    add("ceiling", "matmul " + dtype_name(d), "matmul " + dtype_name(d), v, ops_unit(d), format_value(v, ops_unit(d)),
        "matmul." + dtype_name(d));
  add("capacity", "memory", "memory capacity", c.memory_bytes, "B", format_value(c.memory_bytes, "B"), "memory");
  add("interconnect", "link per direction", "link per direction", c.link_bytes_per_s, "B/s",
      format_value(c.link_bytes_per_s, "B/s"), "link");
  if (c.link_latency_s > 0)
    add("interconnect", "link latency", "link latency", c.link_latency_s, "s", format_value(c.link_latency_s, "s"),
        "link_latency");
  for (const auto& [d, v] : c.efficiency.bandwidth_by_dtype)
    add("efficiency", "bandwidth " + dtype_name(d), "decode bandwidth efficiency " + dtype_name(d), v, "fraction",
        fmt::format("{:.2f}", v), "efficiency.bandwidth." + dtype_name(d));
  for (const auto& [d, v] : c.efficiency.matmul_by_dtype)
    add("efficiency", "decode matmul " + dtype_name(d), "decode matmul efficiency " + dtype_name(d), v, "fraction",
        fmt::format("{:.2f}", v), "efficiency.matmul." + dtype_name(d));
  if (c.efficiency.kv_bandwidth > 0)
    add("efficiency", "attention KV bandwidth", "attention KV bandwidth efficiency", c.efficiency.kv_bandwidth, "fraction",
        fmt::format("{:.2f}", c.efficiency.kv_bandwidth), "efficiency.kv_bandwidth");
  add("efficiency", "prefill MFU", "prefill MFU", c.efficiency.prefill_mfu, "fraction",
      fmt::format("{:.2f}", c.efficiency.prefill_mfu), "efficiency.prefill_mfu");
  add("efficiency", "layer overhead", "layer overhead", c.efficiency.layer_overhead_s, "s",
      fmt::format("{:.0f} us", c.efficiency.layer_overhead_s * 1e6), "efficiency.layer_overhead");
  if (c.usd_per_hour)
    add("price", "USD per hour", "price", *c.usd_per_hour, "USD/h", fmt::format("USD {:.4f}/h", *c.usd_per_hour), "price");
  return out;
}

}  // namespace roofaudit::reports
