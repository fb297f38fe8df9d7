#include <gtest/gtest.h>

#include "tests/kernels/lowp_kernel_params.hpp"

#include <atomic>
#include <cmath>
#include <map>
#include <set>

#include "probes/cpu/sweep.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "probes/summary.hpp"
#include "probes/timing.hpp"
#include "probes/topology.hpp"
#include "tests/probes/run_probe.hpp"

namespace roofaudit {
namespace {

TEST(Summary, StatisticsOfKnownSamples) {
  const auto s = summarize({4, 1, 3, 2}, true);
  EXPECT_EQ(s.best, 4);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 4);
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_NEAR(s.stddev, std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_NEAR(s.cv, std::sqrt(5.0 / 3.0) / 2.5, 1e-12);
  EXPECT_EQ(summarize({4, 1, 3}, false).best, 1);  // lower is better: the minimum
  EXPECT_THROW(summarize({}, true), Error);
}

TEST(Sweep, GeometricSizesSpanTheRangeInSmallSteps) {
  const auto sizes = geometric_sizes(4096, std::uint64_t{1} << 30, 1.2);
  EXPECT_EQ(sizes.front(), 4096u);
  EXPECT_EQ(sizes.back(), std::uint64_t{1} << 30);
  for (std::size_t i = 1; i < sizes.size(); ++i) {
    EXPECT_GT(sizes[i], sizes[i - 1]);
    EXPECT_LE(double(sizes[i]) / double(sizes[i - 1]), 1.2 + 1e-6);
  }
  EXPECT_THROW(geometric_sizes(0, 10, 1.2), Error);
  EXPECT_THROW(geometric_sizes(100, 10, 1.2), Error);
}

TEST(Sweep, DefaultMaximumIsFourTimesTheCacheAndAtLeastOneGiB) {
  EXPECT_EQ(default_max_working_set(32u << 20), std::uint64_t{1} << 30);
  EXPECT_EQ(default_max_working_set(std::uint64_t{1} << 30), std::uint64_t{4} << 30);
}

TEST(Sweep, RefusesMoreMemoryThanAvailable) {
  EXPECT_THROW(check_fits_in_memory(std::uint64_t{1} << 50, "test"), Error);
  EXPECT_NO_THROW(check_fits_in_memory(1 << 20, "test"));
}

TEST(Registry, SelectsByNameAndFamily) {
  auto& registry = ProbeRegistry::instance();
  EXPECT_EQ(registry.select({"cpu.latency"}).size(), 1u);
  const auto family = registry.select({"cpu."});
  EXPECT_GE(family.size(), 2u);
  EXPECT_EQ(registry.select({"cpu.*"}).size(), family.size());
  EXPECT_EQ(registry.select({"cpu.latency", "cpu.latency"}).size(), 1u);
  try {
    registry.select({"cpu.bandwith"});
    FAIL() << "unknown probe accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cpu.bandwith"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("cpu.bandwidth"), std::string::npos) << "should list the known probes";
  }
}

TEST(Timing, ReturnsEveryRepetition) {
  int calls = 0;
  const auto r = time_repetitions("test/every", 2, 5, [&] { return double(++calls); });
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.seconds.size(), 5u);
  EXPECT_EQ(calls, 7);  // 2 warm-up + 5 timed
  EXPECT_DOUBLE_EQ(r.seconds.front(), 3.0);
  EXPECT_DOUBLE_EQ(r.seconds.back(), 7.0);
}

TEST(Timing, ValidationFailureStopsWithTheReason) {
  int calls = 0;
  const auto r = time_repetitions("test/fails", 0, 5, [&]() -> double {
    if (++calls == 2) throw SampleFailed{"checksum mismatch"};
    return 1.0;
  });
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("checksum mismatch"), std::string::npos);
}

TEST(CpuBandwidthProbe, EveryVariantValidatesOverASmallSweep) {
  const auto ms = run_small("cpu.bandwidth");
  std::map<std::string, int> per_variant;
  for (const auto& m : ms) {
    ASSERT_TRUE(m.valid) << m.variant << ": " << m.validation;
    ASSERT_TRUE(m.summary);
    EXPECT_EQ(m.samples.size(), 2u);
    EXPECT_GT(m.summary->best, 0);
    EXPECT_GE(m.summary->best, m.summary->median);
    EXPECT_EQ(m.unit, "B/s");
    EXPECT_LE(m.params["working_set_bytes"].get<double>(), 256 * 1024.0);
    ++per_variant[m.variant];
  }
  for (const char* v : {"read", "write", "write_nt", "copy", "copy_nt", "triad"}) EXPECT_GE(per_variant[v], 10) << v;
}

// A working set no address space holds: the allocation fails on the probe's own thread,
// before any OpenMP region (an exception escaping one ends the process), and reaches the
// run loop as an Error. The check that refuses it up front is bypassed here on purpose.
TEST(CpuBandwidthProbe, AnAllocationThatFailsThrowsToTheCaller) {
  RunSettings settings;
  settings.quick = true;
  settings.min_working_set_bytes = std::uint64_t{1} << 56;
  settings.max_working_set_bytes = std::uint64_t{1} << 56;
  std::atomic<bool> stop{false};
  std::vector<Measurement> out;
  auto probe = std::move(ProbeRegistry::instance().select({"cpu.bandwidth"}).front());
  ProbeContext ctx{settings, test_topology(), [&](Measurement m) { out.push_back(std::move(m)); },
                   [](const std::string&) {}, stop, [](const DeviceInfo&) {}};
  try {
    probe->run(ctx);
    ADD_FAILURE() << "a 64 PiB working set was allocated";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot allocate"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(out.empty());
}

TEST(CpuLatencyProbe, ValidatesAndCoversTheRange) {
  const auto ms = run_small("cpu.latency");
  ASSERT_GE(ms.size(), 10u);
  for (const auto& m : ms) {
    ASSERT_TRUE(m.valid) << m.validation;
    EXPECT_FALSE(m.higher_is_better);
    EXPECT_GT(m.summary->best, 0);
  }
  EXPECT_LT(ms.front().params["working_set_bytes"].get<double>(), ms.back().params["working_set_bytes"].get<double>());
  // The shape, not a time: the largest working set's loads are no faster than the
  // smallest's (a cache answers those).
  EXPECT_GE(ms.back().summary->best, ms.front().summary->best);
}

TEST(Topology, ArmCoresAreNamedFromTheirMidrFields) {
  EXPECT_EQ(arm_core_name("0x41", "0xd4f"), "Arm Neoverse V2");  // Grace, Graviton 4
  EXPECT_EQ(arm_core_name("0x41", "0xd0c"), "Arm Neoverse N1");  // Graviton 2, Altra
  EXPECT_EQ(arm_core_name("0x41", "0x999"), "");
  EXPECT_EQ(arm_core_name("garbage", ""), "");
}

TEST(Topology, PinOrderCoversTheAllowedCpusOnce) {
  Topology t;
  ASSERT_GE(t.pus(), 1);
  std::set<int> unique(t.pin_order().begin(), t.pin_order().end());
  EXPECT_EQ(unique.size(), t.pin_order().size());
  EXPECT_TRUE(t.pin_current_thread(0));
  EXPECT_FALSE(t.cpu_model().empty());
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

TEST(CpuPeakProbe, EveryPrecisionIsMeasuredOrReportedUnsupported) {
  const auto ms = run_small("cpu.peak");
  std::set<std::string> precisions;
  for (const auto& m : ms) {
    precisions.insert(m.variant);
    if (!m.supported) {
      EXPECT_FALSE(m.valid);
      EXPECT_FALSE(m.summary.has_value()) << "an unsupported precision has no figure, not a zero";
      EXPECT_EQ(m.validation.rfind("unsupported: ", 0), 0u) << m.validation;
      continue;
    }
    ASSERT_TRUE(m.valid) << m.variant << ": " << m.validation;
    EXPECT_GT(m.summary->best, 0);
    EXPECT_TRUE(m.unit == "FLOP/s" || m.unit == "OP/s");
  }
  EXPECT_EQ(precisions, (std::set<std::string>{"fp64", "fp32", "bf16", "int8"}));
  for (const auto& m : ms) {
    if (m.variant == "fp64" || m.variant == "fp32") {
      EXPECT_TRUE(m.supported);
    }
  }
}

TEST(CpuPeakProbe, IsaCapForcesTheScalarFallback) {
  std::vector<Measurement> ms;
  {
    const kernels::ScopedIsaCap cap("generic");
    ms = run_small("cpu.peak");
  }
  ASSERT_FALSE(ms.empty());
  for (const auto& m : ms) {
    // Every precision has a scalar path: none is unsupported, and each is named.
    ASSERT_TRUE(m.valid) << m.variant << ": " << m.validation;
    EXPECT_EQ(m.params["isa"], "generic") << m.variant;
  }
}

// Under the AVX2 cap (an AVX2-only CPU), bf16 and int8 still have a peak, measured with
// the best of the candidate sequences and named.
TEST(CpuPeakProbe, Avx2CapStillMeasuresBf16AndInt8) {
  if (!kernels::host_cpu_features().avx2) GTEST_SKIP() << "this CPU lacks AVX2";
  std::vector<Measurement> ms;
  {
    const kernels::ScopedIsaCap cap("avx2");
    ms = run_small("cpu.peak");
  }
  std::set<std::string> seen;
  for (const auto& m : ms) {
    ASSERT_TRUE(m.valid) << m.variant << ": " << m.validation;
    EXPECT_EQ(m.params["isa"], "avx2") << m.variant;
    seen.insert(m.variant);
    if (m.variant == "int8") {
      ASSERT_TRUE(m.params.contains("other_sequences"));  // vpmaddubsw + vpmaddwd and vpmaddwd alone
      EXPECT_EQ(m.params["other_sequences"].size(), 1u);
    }
  }
  EXPECT_EQ(seen, (std::set<std::string>{"fp64", "fp32", "bf16", "int8"}));
}

}  // namespace
}  // namespace roofaudit

#include "probes/cpu/blas_gemm.hpp"

namespace roofaudit {
namespace {

TEST(BlasGemm, ValidatesAgainstTheReferenceAtOddSizes) {
  for (const char* precision : {"fp32", "fp64"}) {
    for (int n : {1, 17, 100}) {
      const auto r = measure_blas_gemm(precision, n, 1, 2, 42);
      EXPECT_TRUE(r.valid) << precision << " " << n << ": " << r.validation;
      EXPECT_EQ(r.seconds.size(), 2u);
      EXPECT_FALSE(r.corename.empty());
    }
  }
  EXPECT_THROW(measure_blas_gemm("bf16", 64, 1, 1, 1), Error);
}

TEST(BlasGemm, ResultSurvivesItsJsonRoundTrip) {
  const auto r = measure_blas_gemm("fp64", 32, 1, 2, 7);
  const auto back = BlasGemmResult::from_json(r.to_json());
  EXPECT_EQ(back.corename, r.corename);
  EXPECT_EQ(back.seconds, r.seconds);
  EXPECT_EQ(back.valid, r.valid);
}

TEST(BlasGemm, WiderCoreTypesAreOnlyOfferedForNarrowerKernels) {
  EXPECT_TRUE(wider_blas_coretypes("SkylakeX").empty());
  EXPECT_TRUE(wider_blas_coretypes("Cooperlake").empty());
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
    EXPECT_EQ(wider_blas_coretypes("Haswell").front(), "SkylakeX");
  else
    EXPECT_TRUE(wider_blas_coretypes("Haswell").empty());
#else
  EXPECT_TRUE(wider_blas_coretypes("NEOVERSEN1").empty()) << "OpenBLAS picks AArch64 cores itself";
#endif
}

TEST(CpuGemmProbe, SmallRunValidatesEveryMatmul) {
  const auto ms = run_small("cpu.gemm");
  ASSERT_FALSE(ms.empty());
  std::set<std::string> own;
  for (const auto& m : ms) {
    if (m.params.value("library", "") == "onednn" && !m.supported) {
      // oneDNN missing from the build, or without this precision on this CPU (bf16 before
      // AVX-512): said so, with no figure.
      EXPECT_EQ(m.validation.rfind("unsupported: ", 0), 0u) << m.validation;
      EXPECT_FALSE(m.summary.has_value());
      continue;
    }
    ASSERT_TRUE(m.valid) << m.variant << " " << m.params.dump() << ": " << m.validation;
    if (m.params.value("library", "") == "roofaudit") own.insert(m.variant);
    EXPECT_EQ(m.metric, "gemm");
    EXPECT_GT(m.summary->best, 0);
  }
  // Every CPU has roofaudit's own int8 and bf16 kernels.
  EXPECT_EQ(own, (std::set<std::string>{"bf16", "int8"}));
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

TEST(Summary, RecordOutcomeStoresSamplesOrTheFailure) {
  Measurement latency;
  latency.higher_is_better = false;
  record_outcome(latency, {2.0, 1.0, 4.0}, "", "checked", [](double s) { return s / 100; });
  ASSERT_TRUE(latency.valid);
  EXPECT_EQ(latency.validation, "checked");
  ASSERT_EQ(latency.samples.size(), 3u);
  EXPECT_DOUBLE_EQ(latency.samples[2].value, 0.04);
  EXPECT_DOUBLE_EQ(latency.samples[2].seconds, 4.0);
  EXPECT_DOUBLE_EQ(latency.summary->best, 0.01) << "lower is better: the minimum";

  Measurement failed;
  record_outcome(failed, {1.0}, "checksum mismatch", "checked", [](double s) { return s; });
  EXPECT_FALSE(failed.valid);
  EXPECT_EQ(failed.validation, "failed: checksum mismatch");
  EXPECT_FALSE(failed.summary.has_value());
  EXPECT_TRUE(failed.samples.empty());

  Measurement empty;
  record_outcome(empty, {}, "", "checked", [](double s) { return s; });
  EXPECT_FALSE(empty.valid) << "no repetition is no figure";
}

}  // namespace
}  // namespace roofaudit

namespace roofaudit {
namespace {

// Every batch size of both weight types validates, with three figures each, and the
// figures agree with one another (bandwidth and rate are the step time restated).
// isa: the ISA class every point must name ("" for any).
void expect_complete_decode_sweep(const std::vector<Measurement>& ms, const std::string& isa) {
  std::map<std::string, std::map<int, std::map<std::string, double>>> best;
  for (const auto& m : ms) {
    ASSERT_TRUE(m.valid) << m.variant << " B=" << m.params["batch"] << ": " << m.validation;
    EXPECT_FALSE(m.params["kernel"].get<std::string>().empty());
    if (!isa.empty()) {
      EXPECT_EQ(m.params["isa"], isa) << m.params["kernel"];
    }
    best[m.variant][m.params["batch"].get<int>()][m.metric] = m.summary->best;
  }
  for (const char* variant : {"int8", "bf16"}) {
    ASSERT_EQ(best[variant].size(), 10u) << variant;  // B = 1, 2, 4, ..., 512
    for (const auto& [batch, metrics] : best[variant]) {
      ASSERT_EQ(metrics.size(), 3u);
      const auto& any = *std::find_if(ms.begin(), ms.end(), [&](const Measurement& m) { return m.variant == variant; });
      const double weights = any.params["rows"].get<double>() * any.params["k"].get<double>();
      EXPECT_NEAR(metrics.at("throughput") * metrics.at("step_time") / (2.0 * batch * weights), 1.0, 1e-9);
      EXPECT_NEAR(metrics.at("weight_bandwidth") * metrics.at("step_time") / any.params["weight_bytes"].get<double>(),
                  1.0, 1e-9);
    }
  }
}

TEST(CpuDecodeProbe, SweepsEveryBatchAndValidates) {
  const auto ms = run_small("cpu.decode");
  expect_complete_decode_sweep(ms, "");
}

TEST(CpuDecodeProbe, IsaCapForcesThePortableKernel) {
  std::vector<Measurement> ms;
  {
    const kernels::ScopedIsaCap cap("generic");
    ms = run_small("cpu.decode");
  }
  expect_complete_decode_sweep(ms, "generic");
}

TEST(CpuDecodeProbe, Avx2CapRunsTheAvx2Kernels) {
  if (!kernels::host_cpu_features().avx2) GTEST_SKIP() << "this CPU lacks AVX2";
  std::vector<Measurement> ms;
  {
    const kernels::ScopedIsaCap cap("avx2");
    ms = run_small("cpu.decode");
  }
  expect_complete_decode_sweep(ms, "avx2");
}

}  // namespace
}  // namespace roofaudit

#include <sched.h>

namespace roofaudit {
namespace {

TEST(Topology, BindingGuardRestoresTheCallersAffinity) {
  static Topology topology;
  cpu_set_t before, pinned, after;
  ASSERT_EQ(sched_getaffinity(0, sizeof before, &before), 0);
  {
    const Topology::BindingGuard guard(topology);
    ASSERT_TRUE(topology.pin_current_thread(0));
    ASSERT_EQ(sched_getaffinity(0, sizeof pinned, &pinned), 0);
    EXPECT_EQ(CPU_COUNT(&pinned), 1);
  }
  ASSERT_EQ(sched_getaffinity(0, sizeof after, &after), 0);
  EXPECT_TRUE(CPU_EQUAL(&before, &after));
}

}  // namespace
}  // namespace roofaudit
