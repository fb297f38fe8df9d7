#include "cli/machine_info.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "build_info.hpp"
#include "probes/cpu/buffers.hpp"

namespace roofaudit::cli {
namespace {

std::string first_line(const std::string& path, const std::string& fallback) {
  std::ifstream in(path);
  std::string line;
  return std::getline(in, line) ? line : fallback;
}

std::string os_pretty_name() {
  std::ifstream in("/etc/os-release");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("PRETTY_NAME=", 0) != 0) continue;
    std::string v = line.substr(12);
    if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return "unknown";
}

std::string cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
  }
  return "unknown";
}

std::string fnv1a_hex(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", h);
}

// The memory this process may fill: MemTotal, or less where a cgroup (v2, else v1)
// limits it. Returns the bytes and how they were found.
std::pair<std::uint64_t, std::string> usable_memory() {
  std::uint64_t total = 0;
  {
    std::ifstream in("/proc/meminfo");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("MemTotal:", 0) == 0) total = std::strtoull(line.c_str() + 9, nullptr, 10) * 1024;
  }
  std::string source = "MemTotal of /proc/meminfo";
  std::string cgroup_path;
  {
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("0::", 0) == 0) cgroup_path = line.substr(3);
  }
  auto limit_from = [&](const std::string& path, const std::string& what) {
    const std::string text = first_line(path, "");
    if (text.empty() || text == "max") return;
    const std::uint64_t limit = std::strtoull(text.c_str(), nullptr, 10);
    if (limit > 0 && limit < total) {
      total = limit;
      source = what;
    }
  };
  if (!cgroup_path.empty()) limit_from("/sys/fs/cgroup" + cgroup_path + "/memory.max", "cgroup v2 memory.max");
  limit_from("/sys/fs/cgroup/memory/memory.limit_in_bytes", "cgroup v1 memory.limit_in_bytes");
  return {total, source};
}

}  // namespace

store::MachineRecord describe_machine(const Topology& topology) {
  utsname u{};
  uname(&u);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  store::MachineRecord m;
  m.hostname = host;
  m.cpu_model = topology.cpu_model();
  m.cpu_vendor = topology.cpu_vendor();
  m.architecture = u.machine;
  m.packages = topology.packages();
  m.cores = topology.cores();
  m.threads = topology.pus();
  m.numa_nodes = topology.numa_nodes();
  m.caches_reported = topology.to_json()["caches_reported"];
  m.memory_reported_bytes = topology.memory_reported_bytes();
  // Identity only from what does not drift: the memory hwloc reports moves between runs
  // in VMs (12.58 and 12.98 GB minutes apart here), so it is recorded, not hashed.
  m.fingerprint = fnv1a_hex(fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}", m.hostname, m.cpu_model, m.cpu_vendor,
                                        m.architecture, m.packages, m.cores, m.threads, m.numa_nodes,
                                        m.caches_reported.dump()));
  return m;
}

nlohmann::json describe_environment() {
  utsname u{};
  uname(&u);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  return {{"os", os_pretty_name()},
          {"kernel", u.release},
          {"kernel_version", u.version},
          {"compiler", build_info::compiler},
          {"build_flags", build_info::flags},
          {"build_type", build_info::build_type},
          {"roofaudit_version", build_info::version},
          {"roofaudit_commit", build_info::commit},
          {"governor", first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "unavailable")},
          {"microcode", cpuinfo_field("microcode")},
          {"load_average_1m", load[0]},
          {"memory_available_bytes", available_memory_bytes()},
          {"memory_usable_bytes", usable_memory().first},
          {"memory_usable_source", usable_memory().second},
          {"transparent_hugepages", transparent_hugepage_mode()}};
}

}  // namespace roofaudit::cli
