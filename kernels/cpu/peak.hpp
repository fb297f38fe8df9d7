#pragma once
// Peak arithmetic: independent chains of one instruction sequence (FMA, a dot product, or
// the sequence a CPU without one runs instead), enough of them to cover the latency
// times the number of pipes that execute it, so the core issues one every cycle on every
// pipe. Pure compute: no timing, no threads.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/isa.hpp"

namespace roofaudit::kernels {

enum class Precision { fp64, fp32, bf16, int8 };
std::string precision_name(Precision p);

struct PeakKernel {
  Precision precision;
  std::string isa;             // the ISA class: "avx512-vnni", "avx512", "avx-vnni", "avx2", "generic", ...
  std::string instruction;     // e.g. "vfmadd231pd zmm", "vdpbf16ps zmm", "vpmaddwd + vpaddd ymm"
  double ops_per_iteration;    // floating-point (or integer) operations per loop iteration
  // Runs `iterations` iterations and returns the sum of every lane of every chain, in
  // double. Every chain starts at known small integers and gains an exact, known amount
  // per iteration, so the result has a closed form (see expected_peak_checksum).
  double (*run)(std::size_t iterations);
  double (*expected)(std::size_t iterations);
  // Largest iteration count for which the checksum stays exact (fp32 has 24 bits).
  std::size_t max_iterations;
};

// Every candidate sequence `cpu` can run, per precision the widest ISA's first. Where a
// CPU has several ways to one precision (vpmaddubsw + vpmaddwd or vpmaddwd alone, say),
// each is a candidate and the fastest measured is the CPU's peak. Every precision has at
// least its scalar candidate.
std::vector<PeakKernel> peak_kernels(const CpuFeatures& cpu);
inline std::vector<PeakKernel> peak_kernels() { return peak_kernels(cpu_features()); }

}  // namespace roofaudit::kernels
