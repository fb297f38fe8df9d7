// link.mpi as a probe of a single-machine run: the links between MPI ranks exist only in
// a fleet (`mpirun -np N roofaudit run --fleet`), where every rank measures them at once
// before the node probes (cli/fleet.cpp). Anywhere else the probe stores why it was
// skipped, never a figure.
#include <fmt/format.h>

#include "probes/link/mpi_links.hpp"
#include "probes/driver.hpp"
#include "probes/probe.hpp"

namespace roofaudit {
namespace {

constexpr ProbeIdentity kIdentity{"link.mpi", 1,
                                  "MPI links between the nodes of a fleet: ping-pong latency, windowed and bidirectional bandwidth, "
                                  "all-reduce, all-gather and reduce-scatter (nccl-tests bus bandwidth)",
                                  Role::network_link};

class LinkMpiProbe final : public DrivenProbe {
 public:
  LinkMpiProbe() : DrivenProbe(kIdentity) {}

  void run_with(ProbeDriver& driver) override {
#ifdef ROOFAUDIT_WITH_MPI
    const std::string why = "skipped: the links between MPI ranks are measured only in a fleet of two ranks or more "
                            "(mpirun -np N roofaudit run --fleet)";
#else
    const std::string why = "skipped: this roofaudit was built without MPI (install libopenmpi-dev and rebuild)";
#endif
    driver.progress(why);
    driver.unsupported({"p2p_latency", "latency", "s", false, ""}, why);
  }
};

ROOFAUDIT_REGISTER_PROBE(LinkMpiProbe);

}  // namespace
}  // namespace roofaudit
