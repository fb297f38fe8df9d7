// calibrate_device's link steps: a GPU's host link, the network between machines, its latency.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "calibrate/calibration_steps.hpp"

namespace roofaudit::calibrate::steps {

// A GPU's link to its host: the host-link role's copies each way, the slower. A copy
// faster than the link's signalling rate cannot have happened as counted: it is left out.
void host_link(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  double h2d = 0, d2h = 0;
  std::string probe;
  const double limit = d.facts ? d.facts->host_link_bytes_per_s : 0;
  int impossible = 0;
  for (const auto& m : ms) {
    if (!s.takes(m, Role::host_link)) continue;
    if (limit > 0 && m.summary->best > limit) {
      ++impossible;
      continue;
    }
    if (m.variant == "h2d_copy") h2d = std::max(h2d, m.summary->best);
    if (m.variant == "d2h_copy") d2h = std::max(d2h, m.summary->best);
    probe = m.probe;
  }
  if (h2d > 0 && d2h > 0) {
    c.link_bytes_per_s = std::min(h2d, d2h);
    c.link_topology = "network";  // full duplex: a ring collective uses both ways
    c.provenance["link"] = {"measured", fmt::format("{}, {} h2d_copy / d2h_copy, the slower way (host "
                                                    "link; a single-GPU machine reaches other chips through it)",
                                                    run, probe)};
    if (impossible > 0)
      c.provenance["link"].source += fmt::format("; {} figure{} above the link's {:.1f} GB/s ({}) left out as impossible",
                                                 impossible, impossible == 1 ? "" : "s", limit / 1e9,
                                                 d.facts->host_link_source);
  }
}

// The link between the GPUs of one machine: the chip-link role's all-gather and
// reduce-scatter bus bandwidth over two GPUs or more (NCCL), the slower of the two at the
// best size, as the network link below takes it. It replaces the host link: chips of one
// machine reach each other over it (NVLink, or PCIe peer to peer), not through the host.
void chip_link(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  std::map<double, std::map<std::string, double>> by_size;  // bytes -> variant -> busbw
  int gpus = 0;
  std::string probe, library;
  for (const auto& m : ms) {
    if (!s.takes(m, Role::chip_link) || m.metric != "bus_bandwidth") continue;
    if (m.params.value("gpus", 1) < 2 || (m.variant != "allgather" && m.variant != "reduce_scatter")) continue;
    by_size[m.params.value("bytes", 0.0)][m.variant] = m.summary->median;
    gpus = std::max(gpus, m.params.value("gpus", 1));
    probe = m.probe;
    library = m.params.value("library", std::string());
  }
  double link = 0, at_bytes = 0;
  for (const auto& [bytes, v] : by_size)
    if (v.size() == 2 && std::min(v.at("allgather"), v.at("reduce_scatter")) > link) {
      link = std::min(v.at("allgather"), v.at("reduce_scatter"));
      at_bytes = bytes;
    }
  if (link <= 0) return;
  c.link_bytes_per_s = link;
  c.link_topology = "collective";
  c.provenance["link"] = {
      "measured", fmt::format("{}, {} all-gather / reduce-scatter bus bandwidth over {} GPUs of this machine{}, the "
                              "slower of the two at {:.0f} MiB, the best size",
                              run, probe, gpus, library.empty() ? "" : " (" + library + ")", at_bytes / 1048576)};
}

// The link between machines: the network-link role's collectives over two hosts or more.
void network_link(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  // Per message size the slower of all-gather and reduce-scatter bus bandwidth (the
  // tensor-parallel term's pattern); the link's rate is the best size's (the beta of
  // alpha + bytes / beta: at small sizes latency dominates, and the latency is its own
  // figure). A GPU's chips reach the network through the host link, so the slower of the
  // two counts (the host link as a collective sees it: both ways). The figure is the
  // collective's own. A fleet's links belong to every device of the node.
  std::map<double, std::map<std::string, double>> by_size;  // bytes -> variant -> busbw
  int nodes = 0;
  std::string probe;
  for (const auto& m : ms) {
    if (role_of(roles, m.probe) != Role::network_link || m.metric != "bus_bandwidth" || !m.valid || !m.summary) continue;
    if (m.params.value("nodes", 1) < 2 || (m.variant != "allgather" && m.variant != "reduce_scatter")) continue;
    by_size[m.params.value("bytes", 0.0)][m.variant] = m.summary->median;
    nodes = std::max(nodes, m.params.value("nodes", 1));
    probe = m.probe;
  }
  double network = 0, at_bytes = 0;
  for (const auto& [bytes, v] : by_size)
    if (v.size() == 2 && std::min(v.at("allgather"), v.at("reduce_scatter")) > network) {
      network = std::min(v.at("allgather"), v.at("reduce_scatter"));
      at_bytes = bytes;
    }
  if (network > 0) {
    const std::string source = fmt::format(
        "{}, {} all-gather / reduce-scatter bus bandwidth over {} hosts, the slower of the two at {}, the best size", run,
        probe, nodes,
        at_bytes >= 1048576 ? fmt::format("{:.0f} MiB", at_bytes / 1048576) : fmt::format("{:.0f} KiB", at_bytes / 1024));
    if (c.link_bytes_per_s <= 0 || network < 2 * c.link_bytes_per_s) {
      c.provenance["link"] = {"measured", c.link_bytes_per_s > 0 ? source + " (slower than the host link)" : source};
      c.link_bytes_per_s = network;
      c.link_topology = "collective";
    }
  }
}

// The link's latency (the fleet's ping-pong), and the assumed link where none was measured.
void link_latency(const Step& s, ChipSpec& c) {
  const auto& [run, family, d, ms, fits, roles] = s;
  // The fleet's 8-byte ping-pong between two hosts.
  for (const auto& m : ms)
    if (role_of(roles, m.probe) == Role::network_link && m.variant == "p2p_latency" && m.valid && m.summary &&
        m.params.value("bytes", 0) == 8 && !m.params.value("same_host", true) &&
        (c.link_latency_s == 0 || m.summary->median > c.link_latency_s)) {
      c.link_latency_s = m.summary->median;
      c.provenance["link_latency"] = {"measured", fmt::format("{}, {} 8-byte ping-pong with rank {} on {}, one way "
                                                              "(the slowest peer)",
                                                              run, m.probe, m.params.value("peer_rank", 0),
                                                              m.params.value("peer_host", std::string("?")))};
    }
  if (c.link_bytes_per_s <= 0) {
    c.link_bytes_per_s = kAssumedNetworkBytesPerS;
    c.link_topology = "network";
    c.provenance["link"] = {"assumed", "100 Gb/s Ethernet between machines (12.5 GB/s per direction, both ways in a "
                                       "ring collective; not measured)"};
  }
}

}  // namespace roofaudit::calibrate::steps
