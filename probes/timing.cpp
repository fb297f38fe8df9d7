#include "probes/timing.hpp"

#include <mutex>
#include <regex>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

namespace roofaudit {
namespace {

// Collects per-repetition times; prints nothing.
class CaptureReporter : public benchmark::BenchmarkReporter {
 public:
  explicit CaptureReporter(TimedRepetitions& out) : out_(out) {}
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration) continue;
      if (run.error_occurred) {
        out_.ok = false;
        out_.error = run.error_message;
        continue;
      }
      out_.seconds.push_back(run.real_accumulated_time / double(run.iterations));
    }
  }
  void Finalize() override {}

 private:
  TimedRepetitions& out_;
};

void initialize_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    static char arg0[] = "roofaudit";
    static char* argv[] = {arg0, nullptr};
    int argc = 1;
    benchmark::Initialize(&argc, argv);
  });
}

std::string escape_regex(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

}  // namespace

TimedRepetitions time_repetitions(const std::string& name, int warmup, int repetitions,
                                  const SampleFunction& sample) {
  initialize_once();
  TimedRepetitions result;
  try {
    for (int i = 0; i < warmup; ++i) sample();
  } catch (const SampleFailed& failed) {
    result.ok = false;
    result.error = failed.reason;
    return result;
  }
  benchmark::ClearRegisteredBenchmarks();
  benchmark::RegisterBenchmark(name.c_str(), [&sample](benchmark::State& state) {
    for (auto _ : state) {
      try {
        state.SetIterationTime(sample());
      } catch (const SampleFailed& failed) {
        state.SkipWithError(failed.reason.c_str());
        break;
      }
    }
  })
      ->UseManualTime()
      ->Iterations(1)
      ->Repetitions(repetitions)
      ->ReportAggregatesOnly(false)
      ->DisplayAggregatesOnly(false);
  CaptureReporter reporter(result);
  // The engine appends "/iterations:1/repeats:N/manual_time" to the registered name.
  // (fmt, not operator+ on a literal: GCC 12 warns falsely about such concatenations.)
  benchmark::RunSpecifiedBenchmarks(&reporter, fmt::format("^{}(/|$)", escape_regex(name)));
  benchmark::ClearRegisteredBenchmarks();
  if (result.ok && int(result.seconds.size()) != repetitions) {
    result.ok = false;
    result.error =
        fmt::format("the benchmark engine returned {} of {} repetitions", result.seconds.size(), repetitions);
  }
  return result;
}

}  // namespace roofaudit
