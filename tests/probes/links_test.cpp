// The link probes in this process: link.core on this machine, link.mpi outside a fleet
// (skipped, with the reason), and the bus-bandwidth arithmetic of the collectives. Fleets
// under mpirun are tests/cli/fleet_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "probes/link/mpi_links.hpp"
#include "tests/probes/run_probe.hpp"

namespace roofaudit {
namespace {

TEST(Links, BusBandwidthIsNcclTests) {
  EXPECT_DOUBLE_EQ(bus_bandwidth("allreduce", 10, 2), 10);
  EXPECT_DOUBLE_EQ(bus_bandwidth("allreduce", 10, 8), 17.5);
  EXPECT_DOUBLE_EQ(bus_bandwidth("allgather", 10, 4), 7.5);
  EXPECT_DOUBLE_EQ(bus_bandwidth("reduce_scatter", 10, 2), 5);
  EXPECT_EQ(p2p_sizes(false).front(), 64u);
  EXPECT_EQ(p2p_sizes(false).back(), 64u << 20);
  EXPECT_EQ(collective_sizes(false).back(), 64u << 20);
}

TEST(Links, CoreLatencyEveryPairAndTheNumaNodes) {
  const auto ms = run_small("link.core");
  const Topology& topo = test_topology();
  std::multimap<std::string, Measurement> by_variant;
  for (const auto& m : ms) by_variant.emplace(m.variant, m);
  const int cores = std::min(topo.cores(), topo.pus());
  // Every pair up to 16 cores; beyond, core 0 with every core plus 64 sampled pairs.
  EXPECT_EQ(int(by_variant.count("ping_pong")), cores <= 16 ? cores * (cores - 1) / 2 : cores - 1 + 64);
  EXPECT_EQ(int(by_variant.count("numa_read")), topo.numa_nodes() * topo.numa_nodes());
  for (const auto& [variant, m] : by_variant) {
    EXPECT_TRUE(m.valid) << variant << ": " << m.validation;
    ASSERT_TRUE(m.summary) << variant;
    EXPECT_GT(m.summary->median, 0) << variant;
  }
  // A one-node machine says its figure is the local one; a multi-node machine does not.
  for (auto [it, end] = by_variant.equal_range("numa_read"); it != end; ++it)
    EXPECT_EQ(it->second.validation.find("one NUMA node: the local figure only") != std::string::npos,
              topo.numa_nodes() == 1)
        << it->second.validation;
}

TEST(Links, MpiOutsideAFleetIsSkippedWithTheReason) {
  const auto ms = run_small("link.mpi");
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_FALSE(ms[0].supported);
  EXPECT_EQ(ms[0].validation.rfind("skipped: ", 0), 0u) << ms[0].validation;
}

}  // namespace
}  // namespace roofaudit
