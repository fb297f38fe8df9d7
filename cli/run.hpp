#pragma once
// roofaudit run on one machine, and as a fleet under mpirun.
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "values/measurement.hpp"

namespace roofaudit::cli {

struct RunOptions {
  std::vector<std::string> probes;
  bool quick = false;
  bool json = false;
  int threads = 0;
  std::string min_size;
  std::string max_size;
  int repetitions = 0;
  double sample_ms = 0;
  std::string device;
  std::string model = "llama3.2-1b";
  bool fleet = false;
  bool quiet = false;                     // no summary printed (a fleet node's run)
  std::vector<Measurement> premeasured;   // stored first, in place of their probe (one probe)
};

// Checks every input, then runs the selected probes into one stored run, each result
// committed as it is made. Returns 0, or 1 when a measurement failed its validation.
int execute_run(const GlobalOptions& global, const RunOptions& options);

// Under mpirun with two ranks or more: the MPI links first (every rank), then the node
// probes (one rank per host, into a scratch database), then rank 0 merges every node's
// run into the database. Without MPI, or outside mpirun, execute_run on this machine.
int run_fleet(const GlobalOptions& global, const RunOptions& options);

}  // namespace roofaudit::cli
