#pragma once
// link.mpi: the links between the ranks of an MPI job (the nodes of a fleet, or ranks
// on one node over shared memory). Point-to-point latency (blocking ping-pong) and
// bandwidth (windowed non-blocking sends, one way and both ways) between rank 0 and
// every other rank; all-reduce, all-gather and reduce-scatter over all ranks, with
// algorithm and bus bandwidth as nccl-tests defines them. Every payload is checked.
#include <string>
#include <vector>

#include "values/measurement.hpp"
#include "probes/probe.hpp"

namespace roofaudit {

// Bus bandwidth from algorithm bandwidth over n ranks (nccl-tests): all-reduce moves
// 2(n-1)/n of the data through each rank's link, all-gather and reduce-scatter (n-1)/n.
double bus_bandwidth(const std::string& collective, double algorithm_bandwidth, int ranks);

// The message sizes measured: point-to-point 64 B to 64 MiB by 4x (quick: 4 KiB, 1 MiB,
// 16 MiB), collectives 1 KiB to 64 MiB by 4x (quick: 64 KiB, 16 MiB).
std::vector<std::size_t> p2p_sizes(bool quick);
std::vector<std::size_t> collective_sizes(bool quick);

#ifdef ROOFAUDIT_WITH_MPI
// Called by every rank of MPI_COMM_WORLD at once; `hosts` names each rank's node.
// Returns the measurements on rank 0 (empty elsewhere). A payload that fails its check
// on any rank fails that measurement on rank 0; no rank throws mid-collective.
std::vector<Measurement> measure_mpi_links(const RunSettings& settings, const std::vector<std::string>& hosts,
                                           const std::function<void(const std::string&)>& progress);
#endif

}  // namespace roofaudit
