#pragma once
// A calibrated chip's figures, listed once: the report's ceilings table shows them as
// text, its CSV, JSON and provenance table carry their values; each with where it came from.
#include <string>
#include <vector>

#include "calibrate/serving_types.hpp"

namespace roofaudit::reports {

struct ChipFigure {
  std::string section;     // "ceiling", "capacity", "interconnect", "efficiency", "price"
  std::string figure;      // its name in rows: "read bandwidth DRAM", "bandwidth int8"
  std::string label;       // its name in the ceilings table: "read bandwidth DRAM (1.00 MiB..64.0 MiB)"
  double value = 0;
  std::string unit;        // of `value`: "B/s", "fraction", ...
  std::string shown;       // the value as the table shows it: "4.27 TB/s", "0.56", "USD 1.1795/h"
  std::string provenance;  // "measured: run 1, gpu.bandwidth read, ..."
};

// "kind: source" of a figure's provenance key, or "" where the chip has none.
std::string provenance_of(const calibrate::ChipSpec& c, const std::string& key);

// In the report's order: memory levels, peaks, matmul rates, capacity, link, its latency,
// the efficiencies, the layer overhead, the price.
std::vector<ChipFigure> chip_figures(const calibrate::ChipSpec& c);

}  // namespace roofaudit::reports
