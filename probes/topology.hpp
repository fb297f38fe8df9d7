#pragma once
// What the OS and hwloc report about the CPU, and thread pinning. Reported figures are
// recorded as claims: inside VMs they are often wrong, which is why the bandwidth probe
// finds the cache levels from its own curve.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct hwloc_topology;

namespace roofaudit {

struct CacheLevel {
  int level = 0;                 // 1, 2, 3, ...
  std::string type;              // "data", "unified"
  std::uint64_t size_bytes = 0;  // one instance
  int instances = 0;
  int pus_per_instance = 0;
};

// The AArch64 core named by /proc/cpuinfo's "CPU implementer" and "CPU part" (e.g.
// "0x41", "0xd4f": "Arm Neoverse V2"); empty for a pair it does not know.
std::string arm_core_name(const std::string& implementer, const std::string& part);

class Topology {
 public:
  Topology();
  ~Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  const std::string& cpu_model() const { return cpu_model_; }
  const std::string& cpu_vendor() const { return cpu_vendor_; }
  int packages() const { return packages_; }
  int cores() const { return cores_; }
  int pus() const { return static_cast<int>(pin_order_.size()); }
  int numa_nodes() const { return numa_nodes_; }
  std::uint64_t memory_reported_bytes() const { return memory_bytes_; }
  const std::vector<CacheLevel>& caches() const { return caches_; }
  // Sum over all instances of the highest cache level, as reported.
  std::uint64_t last_level_cache_bytes() const;

  // OS indices of the PUs this process may use: the first PU of every core, then the
  // second PU of every core, ... so N threads land on N distinct cores when they can.
  const std::vector<int>& pin_order() const { return pin_order_; }
  // Binds the calling thread to pin_order()[slot % pus()]. Returns false if refused.
  bool pin_current_thread(int slot) const;

  // The pin slots (indices into pin_order()) whose PU lies in NUMA node `node` (0 ..
  // numa_nodes() - 1), in pin order: one per core first. A machine without NUMA
  // information has every slot in node 0.
  std::vector<int> numa_node_slots(int node) const;
  // Binds the pages of [addr, addr + bytes) to NUMA node `node` before they are touched.
  // Returns false if refused (no NUMA support).
  bool bind_memory_to_node(void* addr, std::size_t bytes, int node) const;

  // Restores the calling thread's CPU binding when it goes out of scope. A probe that
  // pins its OpenMP threads pins the calling thread too (it is OpenMP thread 0); left
  // so, every later probe would inherit one core: OpenBLAS sizes its thread count from
  // the caller's affinity, and child processes start with it.
  class BindingGuard {
   public:
    explicit BindingGuard(const Topology& topology);
    ~BindingGuard();
    BindingGuard(const BindingGuard&) = delete;
    BindingGuard& operator=(const BindingGuard&) = delete;

   private:
    const Topology& topology_;
    void* saved_;  // hwloc_bitmap_t
  };

  nlohmann::json to_json() const;

 private:
  hwloc_topology* topo_ = nullptr;
  std::string cpu_model_;
  std::string cpu_vendor_;
  int packages_ = 0;
  int cores_ = 0;
  int numa_nodes_ = 0;
  std::uint64_t memory_bytes_ = 0;
  std::vector<CacheLevel> caches_;
  std::vector<int> pin_order_;
};

// Memory this process can still allocate without swapping: MemAvailable, further
// limited by the cgroup's memory.max when one is set.
std::uint64_t available_memory_bytes();

}  // namespace roofaudit
