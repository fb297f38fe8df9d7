#pragma once
// Peak arithmetic: independent chains of one instruction (FMA or dot product), enough of
// them to cover the instruction's latency times the number of pipes that execute it, so
// the core issues one every cycle on every pipe. Pure compute: no timing, no threads.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace roofaudit::kernels {

enum class Precision { fp64, fp32, bf16, int8 };
std::string precision_name(Precision p);

struct PeakKernel {
  Precision precision;
  std::string isa;             // "avx512", "avx2", "generic"; with the instruction
  std::string instruction;     // e.g. "vfmadd231pd zmm", "vdpbf16ps zmm"
  double ops_per_iteration;    // floating-point (or integer) operations per loop iteration
  // Runs `iterations` iterations and returns the sum of every lane of every chain, in
  // double. Every chain starts at known small integers and gains an exact, known amount
  // per iteration, so the result has a closed form (see expected_peak_checksum).
  double (*run)(std::size_t iterations);
  double (*expected)(std::size_t iterations);
  // Largest iteration count for which the checksum stays exact (fp32 has 24 bits).
  std::size_t max_iterations;
};

// The widest kernel for each precision this CPU supports, capped at `max_isa` ("avx512",
// "avx2" or "generic"; empty: no cap). A precision the CPU cannot run has no entry.
std::vector<PeakKernel> peak_kernels(const std::string& max_isa = "");
// Why a precision has no kernel on this CPU (the missing instruction set).
std::string peak_unsupported_reason(Precision p, const std::string& max_isa = "");

}  // namespace roofaudit::kernels
