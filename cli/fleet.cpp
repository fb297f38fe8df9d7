// roofaudit run --fleet: one audit over the nodes of an MPI job. Every rank measures the
// MPI links together; then the first rank on each host runs the node probes into a
// scratch database of its own, exactly as a single-machine run; rank 0 receives every
// node's database and merges it into the real one (one run per node, the links in rank
// 0's node's run). A node whose run failed is stored as failed, or reported when it
// could not store anything; the other nodes' runs are kept.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#ifdef ROOFAUDIT_WITH_MPI
#include <mpi.h>
#endif

#include "cli/run.hpp"
#include "values/error.hpp"
#include "probes/link/mpi_links.hpp"
#include "store/paths.hpp"
#include "store/store.hpp"

namespace roofaudit::cli {
namespace {

#ifdef ROOFAUDIT_WITH_MPI

// mpirun (OpenMPI's or a PMIx launcher) sets these in every rank it starts.
bool started_by_mpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

// Waits for every rank without spinning: a rank waiting in a blocking MPI call polls a
// core, and the node probes of its host would measure one core short.
void quiet_barrier() {
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  int done = 0;
  for (;;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<std::string> all_hostnames(int ranks) {
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_Get_processor_name(name, &length);
  std::vector<char> all(std::size_t(ranks) * MPI_MAX_PROCESSOR_NAME);
  MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (int r = 0; r < ranks; ++r) out.emplace_back(all.data() + std::size_t(r) * MPI_MAX_PROCESSOR_NAME);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Rank 0 receives from every rank: a status line and the bytes of its scratch database
// (both empty for a rank that ran no node probes).
std::vector<std::pair<std::string, std::string>> gather_to_root(const std::string& status, const std::string& bytes,
                                                                int ranks, int rank) {
  std::vector<std::pair<std::string, std::string>> out(std::size_t(rank == 0 ? ranks : 0));
  for (const std::string* part : {&status, &bytes}) {
    long long size = static_cast<long long>(part->size());
    std::vector<long long> sizes(static_cast<std::size_t>(ranks));
    MPI_Gather(&size, 1, MPI_LONG_LONG, sizes.data(), 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    // Point to point, one rank at a time: a node's database may exceed an int count of a
    // single gather, never of its own message.
    if (rank == 0) {
      for (int r = 1; r < ranks; ++r) {
        std::string buffer(std::size_t(sizes[std::size_t(r)]), '\0');
        if (!buffer.empty()) MPI_Recv(buffer.data(), int(buffer.size()), MPI_BYTE, r, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        (part == &status ? out[std::size_t(r)].first : out[std::size_t(r)].second) = std::move(buffer);
      }
      (part == &status ? out[0].first : out[0].second) = *part;
    } else if (!part->empty()) {
      MPI_Send(part->data(), int(part->size()), MPI_BYTE, 0, 9, MPI_COMM_WORLD);
    }
  }
  return out;
}

struct MpiSession {
  MpiSession() { MPI_Init(nullptr, nullptr); }
  ~MpiSession() { MPI_Finalize(); }
};

// Step 2 on a host's first rank: its node probes into a scratch database, returned as
// the status line and the database's bytes (empty when nothing was stored).
std::pair<std::string, std::string> run_node(const GlobalOptions& global, const RunOptions& options, int rank,
                                             bool wants_links, const std::vector<Measurement>& links) {
  const auto scratch = std::filesystem::temp_directory_path() /
                       fmt::format("roofaudit-fleet-{}-{}.db", static_cast<long>(getpid()), rank);
  GlobalOptions node_global = global;
  node_global.db = scratch.string();
  RunOptions node = options;
  node.quiet = true;
  node.json = false;
  std::erase_if(node.probes, [](const std::string& p) { return p == "link.mpi"; });
  if (rank == 0 && wants_links) {
    node.premeasured = links;
    node.probes.emplace_back("link.mpi");
  }
  std::string status, bytes;
  try {
    const int rc = node.probes.empty() ? 0 : execute_run(node_global, node);
    status = node.probes.empty() ? "ok (no node probe selected; the links are rank 0's)"
             : rc == 0           ? "ok"
                                 : "a measurement failed its validation";
  } catch (const Error& e) {
    status = fmt::format("failed: {}", e.what());
  } catch (const std::exception& e) {
    status = fmt::format("failed: {}", e.what());
  }
  std::error_code ec;
  if (std::filesystem::exists(scratch, ec)) bytes = read_file(scratch.string());
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(scratch.string() + suffix, ec);
  return {status, bytes};
}

// Step 3 on rank 0: one node's database merged into the fleet's; what was stored, for
// its line (false when it could not be).
bool merge_node(store::Store& db, int r, const std::string& node_bytes, std::string& line) {
  const auto file = std::filesystem::temp_directory_path() /
                    fmt::format("roofaudit-fleet-{}-from-{}.db", static_cast<long>(getpid()), r);
  {
    std::ofstream out(file, std::ios::binary);
    out.write(node_bytes.data(), std::streamsize(node_bytes.size()));
  }
  bool ok = true;
  try {
    const auto merged = db.merge_from(file.string());
    for (const auto id : merged.new_run_ids) {
      const auto run = db.run(id);
      line += fmt::format("run {} ({}, {} measurements) ", id, run->status, run->measurement_count);
    }
  } catch (const Error& e) {
    line += fmt::format("could not be stored: {} ", e.what());
    ok = false;
  }
  std::error_code ec;
  std::filesystem::remove(file, ec);
  return ok;
}

int fleet(const GlobalOptions& global, const RunOptions& options) {
  MpiSession mpi;
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const auto hosts = all_hostnames(ranks);
  if (ranks == 1) {
    std::cerr << "roofaudit: --fleet with one rank: this machine alone\n";
    return execute_run(global, options);
  }
  // The first rank of each host runs that host's probes.
  bool leader = true;
  for (int r = 0; r < rank; ++r) leader = leader && hosts[std::size_t(r)] != hosts[std::size_t(rank)];
  const bool wants_links =
      std::find(options.probes.begin(), options.probes.end(), "link.mpi") != options.probes.end();
  const std::size_t host_count = std::set<std::string>(hosts.begin(), hosts.end()).size();

  // 1. The links, every rank at once, while no node probe runs.
  std::vector<Measurement> links;
  if (wants_links) {
    RunSettings settings;
    settings.quick = options.quick;
    settings.repetitions = options.repetitions;
    settings.sample_seconds = options.sample_ms / 1000.0;
    if (rank == 0) std::cerr << fmt::format("roofaudit: measuring the MPI links of {} ranks on {} hosts\n", ranks, host_count);
    links = measure_mpi_links(settings, hosts, nullptr);
  }
  quiet_barrier();

  // 2. The node probes, one rank per host, into a scratch database each.
  std::pair<std::string, std::string> node;  // status, database bytes
  if (leader) node = run_node(global, options, rank, wants_links, links);
  quiet_barrier();
  const auto received = gather_to_root(node.first, node.second, ranks, rank);
  if (rank != 0) return 0;

  // 3. Rank 0 merges every node's run.
  store::Store db(store::resolve_database_path(global.db), {global.busy_timeout_ms});
  int rc = 0;
  for (int r = 0; r < ranks; ++r) {
    const auto& [node_status, node_bytes] = received[std::size_t(r)];
    if (node_status.empty()) continue;  // not a host's first rank
    std::string line = fmt::format("rank {} on {}: ", r, hosts[std::size_t(r)]);
    if (!node_bytes.empty() && !merge_node(db, r, node_bytes, line)) rc = 1;
    if (node_status != "ok") rc = 1;
    std::cout << line << node_status << "\n";
  }
  std::cout << fmt::format("fleet of {} ranks on {} hosts stored in {}\n", ranks, host_count, db.path());
  return rc;
}

#endif

}  // namespace

int run_fleet(const GlobalOptions& global, const RunOptions& options) {
#ifdef ROOFAUDIT_WITH_MPI
  if (started_by_mpirun()) return fleet(global, options);
  std::cerr << "roofaudit: --fleet outside mpirun: this machine alone\n";
#else
  std::cerr << "roofaudit: this roofaudit was built without MPI: --fleet runs this machine alone\n";
#endif
  return execute_run(global, options);
}

}  // namespace roofaudit::cli
