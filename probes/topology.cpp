#include "probes/topology.hpp"

#include <hwloc.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "values/error.hpp"

namespace roofaudit {
namespace {

std::string read_cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    return value;
  }
  return {};
}

std::uint64_t read_u64_file(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return std::numeric_limits<std::uint64_t>::max();
  try {
    return std::stoull(text);
  } catch (...) {
    return std::numeric_limits<std::uint64_t>::max();
  }
}

}  // namespace

// AArch64's /proc/cpuinfo names no model: it gives the MIDR's implementer and part
// numbers, which name the core (the table of Arm's and the server vendors' published
// MIDR values). Empty when the pair is not one of these.
std::string arm_core_name(const std::string& implementer, const std::string& part) {
  struct Core {
    unsigned implementer, part;
    const char* name;
  };
  static const Core cores[] = {
      {0x41, 0xd08, "Arm Cortex-A72"},   {0x41, 0xd0b, "Arm Cortex-A76"},   {0x41, 0xd0c, "Arm Neoverse N1"},
      {0x41, 0xd40, "Arm Neoverse V1"},  {0x41, 0xd49, "Arm Neoverse N2"},  {0x41, 0xd4f, "Arm Neoverse V2"},
      {0x41, 0xd8e, "Arm Neoverse N3"},  {0x41, 0xd84, "Arm Neoverse V3"},  {0x46, 0x001, "Fujitsu A64FX"},
      {0xc0, 0xac3, "Ampere AmpereOne"}, {0xc0, 0xac4, "Ampere AmpereOne"},
  };
  try {
    const unsigned i = unsigned(std::stoul(implementer, nullptr, 0)), p = unsigned(std::stoul(part, nullptr, 0));
    for (const auto& c : cores)
      if (c.implementer == i && c.part == p) return c.name;
  } catch (...) {
  }
  return {};
}

Topology::Topology() {
  if (hwloc_topology_init(&topo_) != 0 || hwloc_topology_load(topo_) != 0)
    throw Error("hwloc could not read the machine topology");

  packages_ = std::max(1, hwloc_get_nbobjs_by_type(topo_, HWLOC_OBJ_PACKAGE));
  cores_ = hwloc_get_nbobjs_by_type(topo_, HWLOC_OBJ_CORE);
  numa_nodes_ = std::max(1, hwloc_get_nbobjs_by_type(topo_, HWLOC_OBJ_NUMANODE));

  if (auto* pkg = hwloc_get_obj_by_type(topo_, HWLOC_OBJ_PACKAGE, 0)) {
    if (const char* m = hwloc_obj_get_info_by_name(pkg, "CPUModel")) cpu_model_ = m;
    if (const char* v = hwloc_obj_get_info_by_name(pkg, "CPUVendor")) cpu_vendor_ = v;
  }
  if (cpu_model_.empty()) cpu_model_ = read_cpuinfo_field("model name");
  if (cpu_vendor_.empty()) cpu_vendor_ = read_cpuinfo_field("vendor_id");
  if (cpu_model_.empty()) {  // AArch64: the core from the MIDR fields, else the fields themselves
    const std::string implementer = read_cpuinfo_field("CPU implementer"), part = read_cpuinfo_field("CPU part");
    if (!implementer.empty()) {
      cpu_model_ = arm_core_name(implementer, part);
      if (cpu_model_.empty()) cpu_model_ = "AArch64 implementer " + implementer + " part " + part;
      if (cpu_vendor_.empty()) cpu_vendor_ = "implementer " + implementer;
    }
  }
  if (cpu_model_.empty()) cpu_model_ = "unknown";
  cpu_model_.erase(cpu_model_.find_last_not_of(" \t") + 1);

  hwloc_obj_t root = hwloc_get_root_obj(topo_);
  memory_bytes_ = root->total_memory;

  const hwloc_obj_type_t cache_types[] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE,
                                          HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE};
  for (hwloc_obj_type_t t : cache_types) {
    const int n = hwloc_get_nbobjs_by_type(topo_, t);
    if (n <= 0) continue;
    hwloc_obj_t c = hwloc_get_obj_by_type(topo_, t, 0);
    CacheLevel level;
    level.level = static_cast<int>(c->attr->cache.depth);
    level.type = c->attr->cache.type == HWLOC_OBJ_CACHE_DATA ? "data" : "unified";
    level.size_bytes = c->attr->cache.size;
    level.instances = n;
    level.pus_per_instance = hwloc_bitmap_weight(c->cpuset);
    caches_.push_back(level);
  }

  // First PU of each core, then the second of each core, and so on.
  std::vector<std::vector<int>> per_core;
  for (int i = 0; i < cores_; ++i) {
    hwloc_obj_t core = hwloc_get_obj_by_type(topo_, HWLOC_OBJ_CORE, static_cast<unsigned>(i));
    std::vector<int> pus;
    for (int pu = hwloc_bitmap_first(core->cpuset); pu != -1; pu = hwloc_bitmap_next(core->cpuset, pu))
      pus.push_back(pu);
    per_core.push_back(pus);
  }
  for (std::size_t round = 0;; ++round) {
    bool any = false;
    for (const auto& pus : per_core) {
      if (round < pus.size()) {
        pin_order_.push_back(pus[round]);
        any = true;
      }
    }
    if (!any) break;
  }
  if (pin_order_.empty()) {
    for (int pu = hwloc_bitmap_first(root->cpuset); pu != -1; pu = hwloc_bitmap_next(root->cpuset, pu))
      pin_order_.push_back(pu);
  }
  if (cores_ <= 0) cores_ = static_cast<int>(pin_order_.size());
}

Topology::~Topology() {
  if (topo_) hwloc_topology_destroy(topo_);
}

std::uint64_t Topology::last_level_cache_bytes() const {
  if (caches_.empty()) return 0;
  const CacheLevel& llc = caches_.back();
  return llc.size_bytes * static_cast<std::uint64_t>(std::max(1, llc.instances));
}

Topology::BindingGuard::BindingGuard(const Topology& topology) : topology_(topology), saved_(hwloc_bitmap_alloc()) {
  if (hwloc_get_cpubind(topology_.topo_, static_cast<hwloc_bitmap_t>(saved_), HWLOC_CPUBIND_THREAD) != 0) {
    hwloc_bitmap_free(static_cast<hwloc_bitmap_t>(saved_));
    saved_ = nullptr;
  }
}

Topology::BindingGuard::~BindingGuard() {
  if (!saved_) return;
  hwloc_set_cpubind(topology_.topo_, static_cast<hwloc_bitmap_t>(saved_), HWLOC_CPUBIND_THREAD);
  hwloc_bitmap_free(static_cast<hwloc_bitmap_t>(saved_));
}

bool Topology::pin_current_thread(int slot) const {
  if (pin_order_.empty()) return false;
  const int pu = pin_order_[static_cast<std::size_t>(slot) % pin_order_.size()];
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  hwloc_bitmap_only(set, static_cast<unsigned>(pu));
  const int rc = hwloc_set_cpubind(topo_, set, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT);
  hwloc_bitmap_free(set);
  return rc == 0;
}

std::vector<int> Topology::numa_node_slots(int node) const {
  std::vector<int> slots;
  hwloc_obj_t numa = hwloc_get_obj_by_type(topo_, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(node));
  for (std::size_t i = 0; i < pin_order_.size(); ++i)
    if (numa ? hwloc_bitmap_isset(numa->cpuset, static_cast<unsigned>(pin_order_[i])) : node == 0)
      slots.push_back(static_cast<int>(i));
  return slots;
}

bool Topology::bind_memory_to_node(void* addr, std::size_t bytes, int node) const {
  hwloc_obj_t numa = hwloc_get_obj_by_type(topo_, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(node));
  if (!numa) return false;
  return hwloc_set_area_membind(topo_, addr, bytes, numa->nodeset, HWLOC_MEMBIND_BIND,
                                HWLOC_MEMBIND_BYNODESET | HWLOC_MEMBIND_STRICT) == 0;
}

nlohmann::json Topology::to_json() const {
  nlohmann::json caches = nlohmann::json::array();
  for (const auto& c : caches_) {
    caches.push_back({{"level", c.level}, {"type", c.type}, {"size_bytes", c.size_bytes},
                      {"instances", c.instances}, {"pus_per_instance", c.pus_per_instance}});
  }
  return {{"cpu_model", cpu_model_}, {"cpu_vendor", cpu_vendor_}, {"packages", packages_},
          {"cores", cores_}, {"pus", pus()}, {"numa_nodes", numa_nodes_},
          {"memory_reported_bytes", memory_bytes_}, {"caches_reported", caches}};
}

std::uint64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::uint64_t available = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") {
      available = kib * 1024;
      break;
    }
  }
  const std::uint64_t limit = read_u64_file("/sys/fs/cgroup/memory.max");
  const std::uint64_t used = read_u64_file("/sys/fs/cgroup/memory.current");
  if (limit != std::numeric_limits<std::uint64_t>::max() &&
      used != std::numeric_limits<std::uint64_t>::max() && limit > used)
    available = std::min(available, limit - used);
  return available;
}

}  // namespace roofaudit
