// Fleets under mpirun: two ranks on this host over shared memory, and two "hosts"
// (network namespaces joined by a veth pair, each with its own hostname) over TCP. The
// link probes themselves are tests/probes/links_test.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include <fmt/format.h>

#include "probes/link/mpi_links.hpp"
#include "store/store.hpp"
#include "test_util.hpp"

namespace roofaudit {
namespace {

using roofaudit::testing::read_all;
using roofaudit::testing::ScratchDir;
using roofaudit::testing::write_all;

struct Shell {
  int exit_code = -1;
  std::string out;
};

Shell sh(const ScratchDir& dir, const std::string& command) {
  static int counter = 0;
  const std::string log = dir.file(fmt::format("shell{}.log", counter++));
  const int status = std::system(fmt::format("({}) > {} 2>&1", command, log).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128, read_all(log)};
}

std::string roofaudit_command(const std::string& db, const std::string& args) {
  return fmt::format("{} --db {} {}", ROOFAUDIT_BINARY, db, args);
}

// Every figure of a run by variant and metric.
std::multimap<std::string, Measurement> by_variant(store::Store& s, std::int64_t run) {
  std::multimap<std::string, Measurement> out;
  for (auto& m : s.measurements(run)) out.emplace(m.probe + " " + m.variant + " " + m.metric, std::move(m));
  return out;
}

// A fleet of one process measures this machine alone, and says so.
TEST(Fleet, OneProcessIsThisMachineAlone) {
  ScratchDir dir;
  const auto alone = sh(dir, roofaudit_command(dir.file("links.db"), "run --fleet --probes link.mpi"));
  EXPECT_EQ(alone.exit_code, 0) << alone.out;
  EXPECT_NE(alone.out.find("this machine alone"), std::string::npos) << alone.out;
}

// .ci/install-deps.sh installs Debian's Open MPI; its absence is a broken setup, not a
// reason to pass.
void require_mpirun() {
  ASSERT_EQ(std::system("command -v mpirun > /dev/null 2>&1"), 0)
      << "mpirun is not installed (.ci/install-deps.sh installs Debian's openmpi-bin)";
}

// mpirun and the ranks it starts. Under AddressSanitizer the ranks keep every check but
// leak detection: Open MPI keeps process-lifetime allocations past MPI_Finalize in
// plugins it unloads, whose frames no suppression can name.
std::string mpirun() {
  const char* asan = std::getenv("ASAN_OPTIONS");
  return fmt::format("{}mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 ",
                     asan ? fmt::format("ASAN_OPTIONS={}:detect_leaks=0 ", asan) : "");
}

// Figures the fleet's rank 0 stored for its links: every one valid, nodes and ranks as
// started, bus bandwidth as nccl-tests derives it from the same timings.
void expect_links(store::Store& s, std::int64_t run, int nodes) {
  const auto ms = by_variant(s, run);
  EXPECT_GE(ms.count("link.mpi p2p_latency latency"), 2u);
  EXPECT_GE(ms.count("link.mpi p2p_bandwidth bandwidth"), 3u);
  EXPECT_GE(ms.count("link.mpi p2p_bidirectional bandwidth"), 3u);
  for (const char* c : {"allreduce", "allgather", "reduce_scatter"}) {
    const auto alg = ms.equal_range(fmt::format("link.mpi {} algorithm_bandwidth", c));
    const auto bus = ms.equal_range(fmt::format("link.mpi {} bus_bandwidth", c));
    ASSERT_EQ(std::distance(alg.first, alg.second), 2) << c;
    for (auto a = alg.first, b = bus.first; a != alg.second && b != bus.second; ++a, ++b) {
      ASSERT_TRUE(a->second.valid && b->second.valid) << c << ": " << a->second.validation;
      EXPECT_NEAR(b->second.summary->median / a->second.summary->median, bus_bandwidth(c, 1, 2), 1e-9) << c;
    }
  }
  for (const auto& [key, m] : ms) {
    if (m.probe != "link.mpi") continue;
    EXPECT_TRUE(m.valid) << key << ": " << m.validation;
    EXPECT_EQ(m.params.value("ranks", 0), 2) << key;
    EXPECT_EQ(m.params.value("nodes", 0), nodes) << key;
    // Point-to-point figures name their peer's host; collectives span every rank.
    const bool p2p = m.variant.rfind("p2p_", 0) == 0;
    EXPECT_EQ(m.params.contains("same_host"), p2p) << key;
    if (p2p) {
      EXPECT_EQ(m.params.value("same_host", false), nodes == 1) << key;
    }
  }
}

TEST(Fleet, TwoRanksOnThisHostShareOneRun) {
  ASSERT_NO_FATAL_FAILURE(require_mpirun());
  ScratchDir dir;
  const std::string db = dir.file("fleet.db");
  const auto r = sh(dir, mpirun() + roofaudit_command(db, "run --fleet --probes link.mpi,link.core --quick --repetitions 2"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("fleet of 2 ranks on 1 hosts"), std::string::npos) << r.out;
  store::Store s(db);
  const auto runs = s.runs();
  ASSERT_EQ(runs.size(), 1u) << "ranks on one host share the host's run";
  EXPECT_EQ(runs[0].status, "complete");
  expect_links(s, runs[0].id, 1);
  EXPECT_GE(by_variant(s, runs[0].id).count("link.core ping_pong latency"), 1u);
}

// Two network namespaces joined by a veth pair, torn down however the test ends.
struct TwoHosts {
  std::string a, b, veth;
  bool up = false;
  std::string why_not;
  TwoHosts(const ScratchDir& dir) {
    const std::string tag = std::to_string(getpid() % 100000);
    a = "rfa" + tag + "a";
    b = "rfa" + tag + "b";
    veth = "rfv" + tag;
    if (geteuid() != 0) {
      why_not = "network namespaces need root (the README's commands run as root)";
      return;
    }
    if (const auto uts = sh(dir, "unshare --uts true"); uts.exit_code != 0) {
      why_not = "cannot give a process its own hostname here (unshare --uts): " + uts.out;
      return;
    }
    const auto r = sh(dir, fmt::format("ip netns add {0} && ip netns add {1} && ip link add {2}a type veth peer name {2}b && "
                                       "ip link set {2}a netns {0} && ip link set {2}b netns {1} && "
                                       "ip -n {0} addr add 10.77.0.1/24 dev {2}a && ip -n {1} addr add 10.77.0.2/24 dev {2}b && "
                                       "ip -n {0} link set {2}a up && ip -n {1} link set {2}b up && "
                                       "ip -n {0} link set lo up && ip -n {1} link set lo up",
                                       a, b, veth));
    up = r.exit_code == 0;
    if (!up) why_not = "cannot create network namespaces here: " + r.out;
  }
  ~TwoHosts() {
    std::system(fmt::format("ip netns del {} > /dev/null 2>&1; ip netns del {} > /dev/null 2>&1", a, b).c_str());
  }
};

TEST(Fleet, TwoHostsOverTcp) {
  ASSERT_NO_FATAL_FAILURE(require_mpirun());
  ScratchDir dir;
  TwoHosts hosts(dir);
  ASSERT_TRUE(hosts.up) << hosts.why_not;
  // mpirun starts the remote rank through this agent instead of ssh: in the other
  // namespace, under its own hostname.
  const std::string agent = dir.file("agent.sh");
  write_all(agent, fmt::format("#!/bin/sh\nhost=$1; shift\ncase \"$host\" in\n"
                               "  10.77.0.1) ns={}; name=node-a ;;\n  10.77.0.2) ns={}; name=node-b ;;\n"
                               "  *) echo \"unknown host $host\" >&2; exit 1 ;;\nesac\n"
                               "exec ip netns exec $ns unshare --uts sh -c \"hostname $name; $*\"\n",
                               hosts.a, hosts.b));
  ASSERT_EQ(sh(dir, "chmod +x " + agent).exit_code, 0);
  const std::string db = dir.file("fleet.db");
  const std::string command = fmt::format(
      "{}--host 10.77.0.1,10.77.0.2 --mca plm_rsh_agent {} --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 "
      "--mca oob_tcp_if_include 10.77.0.0/24 {}",
      mpirun(), agent, roofaudit_command(db, "run --fleet --probes link.mpi,link.core --quick --repetitions 2"));
  const auto r = sh(dir, fmt::format("ip netns exec {} unshare --uts sh -c '{}'", hosts.a,
                                     "hostname node-a; " + command));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("fleet of 2 ranks on 2 hosts"), std::string::npos) << r.out;
  store::Store s(db);
  const auto runs = s.runs();
  ASSERT_EQ(runs.size(), 2u) << "one run per host";
  std::map<std::string, std::int64_t> run_of;
  for (const auto& run : runs) run_of[s.machine(run.machine_id)->hostname] = run.id;
  ASSERT_TRUE(run_of.count("node-a") && run_of.count("node-b")) << r.out;
  expect_links(s, run_of["node-a"], 2);
  EXPECT_EQ(by_variant(s, run_of["node-b"]).count("link.mpi p2p_latency latency"), 0u) << "the links are rank 0's";
  EXPECT_GE(by_variant(s, run_of["node-b"]).count("link.core ping_pong latency"), 1u);
}

}  // namespace
}  // namespace roofaudit
