#pragma once
// The facts recorded about the machine and the environment of every run.
#include <nlohmann/json.hpp>

#include "probes/topology.hpp"
#include "values/records.hpp"

namespace roofaudit::cli {

// Identifying facts only (what makes two runs the same machine); the fingerprint
// hashes them.
store::MachineRecord describe_machine(const Topology& topology);
// Annotating facts that may change between runs on one machine: OS, kernel, compiler
// and flags, roofaudit version and commit, governor, load, THP, microcode.
nlohmann::json describe_environment();

}  // namespace roofaudit::cli
