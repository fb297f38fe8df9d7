#pragma once
// Plain value types that cross folders (values/: below probes, store, calibrate and
// reports alike): what a probe measured, as the store keeps it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace roofaudit {

struct Summary {
  double best = 0;    // best repetition after warm-up: max when higher is better, else min
  double median = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double stddev = 0;  // sample standard deviation
  double cv = 0;      // stddev / mean
};

struct Sample {
  double value = 0;    // in the measurement's unit
  double seconds = 0;  // timed duration of this repetition
};

// What one probe variant measured on one device at one parameter point.
struct Measurement {
  std::string probe;        // "cpu.bandwidth"
  int probe_version = 1;    // bumped when the probe's method changes; results of
                            // different versions are not comparable
  std::string device;       // "cpu"
  std::string variant;      // "read", "copy_nt", ...
  std::string metric;       // "bandwidth", "latency"
  std::string unit;         // "B/s", "s"
  bool higher_is_better = true;
  std::string convention;   // how the figure was counted, e.g. STREAM byte counting
  nlohmann::json params = nlohmann::json::object();  // working_set_bytes, threads, isa, ...
  std::vector<Sample> samples;
  std::optional<Summary> summary;  // empty when validation failed
  bool valid = false;
  std::string validation;   // what was checked, or why it failed
  bool supported = true;    // false: the device lacks the feature; `validation` says which
};

// A device a probe ran on.
struct DeviceInfo {
  std::string kind;   // "cpu" or "gpu"
  int ordinal = 0;
  std::string name;
  nlohmann::json properties = nlohmann::json::object();
};

}  // namespace roofaudit
