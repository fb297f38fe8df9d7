#pragma once
// A probe run in this process, as `run` runs it, over tiny working sets: what it emitted.
#include <atomic>
#include <string>
#include <vector>

#include "probes/probe.hpp"
#include "probes/topology.hpp"

namespace roofaudit {

inline const Topology& test_topology() {
  static Topology topology;
  return topology;
}

inline std::vector<Measurement> run_small(const std::string& name) {
  const Topology& topology = test_topology();
  RunSettings settings;
  settings.quick = true;
  settings.min_working_set_bytes = 4096;
  settings.max_working_set_bytes = 256 * 1024;
  settings.repetitions = 2;
  settings.sample_seconds = 0.0005;
  std::atomic<bool> stop{false};
  std::vector<Measurement> out;
  auto probe = std::move(ProbeRegistry::instance().select({name}).front());
  probe->check(settings, topology);
  ProbeContext ctx{settings, topology, [&](Measurement m) { out.push_back(std::move(m)); }, [](const std::string&) {},
                   stop, [](const DeviceInfo&) {}};
  probe->run(ctx);
  return out;
}

}  // namespace roofaudit
