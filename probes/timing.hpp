#pragma once
// The timing and repetition engine: Google Benchmark runs each sample function as a
// manually timed benchmark with a fixed number of repetitions, and a custom reporter
// hands every repetition back as a raw sample (nothing is parsed from text output).
#include <functional>
#include <exception>
#include <string>
#include <vector>

namespace roofaudit {

// One timed sample. Returns the seconds the measured region took, or throws
// SampleFailed when the kernel's result did not validate.
using SampleFunction = std::function<double()>;

// A std::exception, so that one escaping a probe still fails the run it belongs to.
struct SampleFailed : std::exception {
  explicit SampleFailed(std::string why) : reason(std::move(why)) {}
  const char* what() const noexcept override { return reason.c_str(); }
  std::string reason;
};

struct TimedRepetitions {
  std::vector<double> seconds;  // one entry per repetition, in order
  bool ok = true;
  std::string error;            // why the repetitions stopped, when !ok
};

// Runs `sample` under Google Benchmark `repetitions` times (after `warmup` untimed
// calls) and returns each repetition's time.
TimedRepetitions time_repetitions(const std::string& name, int warmup, int repetitions,
                                  const SampleFunction& sample);

}  // namespace roofaudit
