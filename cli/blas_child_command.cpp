// roofaudit blas-gemm: the child half of cpu.gemm's BLAS audit. OpenBLAS reads
// OPENBLAS_CORETYPE once, when it loads, so each core type needs its own process.
#include <iostream>

#include "cli/command.hpp"
#include "probes/cpu/blas_gemm.hpp"

namespace roofaudit::cli {

void add_blas_child_verb(CLI::App& app, const GlobalOptions&, Action& action) {
  auto* cmd = app.add_subcommand("blas-gemm", "child process of cpu.gemm's BLAS audit");
  cmd->group("");  // internal: hidden from --help
  struct Options {
    std::string precision = "fp32";
    int size = 1024, threads = 1, repetitions = 3;
    std::uint64_t seed = 1;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--precision", o->precision)->check(CLI::IsMember({"fp32", "fp64"}));
  cmd->add_option("--size", o->size)->check(CLI::PositiveNumber);
  cmd->add_option("--threads", o->threads)->check(CLI::PositiveNumber);
  cmd->add_option("--repetitions", o->repetitions)->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed);
  cmd->callback([&action, o] {
    action = [o] {
      std::cout << measure_blas_gemm(o->precision, o->size, o->threads, o->repetitions, o->seed).to_json().dump() << "\n";
      return 0;
    };
  });
}

}  // namespace roofaudit::cli
