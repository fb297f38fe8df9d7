#pragma once
// The decode knee: where a step over a batch of B sequences stops being bound by
// streaming the weights (flat in B) and becomes bound by arithmetic (linear in B).
// Fitted from measured step times, it is the measured critical batch that the serving
// model predicts as C * bytes_w / (2 W).
#include <vector>

namespace roofaudit::calibrate {

struct KneePoint {
  double batch = 0;        // B >= 1
  double step_time_s = 0;  // > 0
};

struct KneeFit {
  double knee_batch = 0;          // B* of the fitted roofline
  double memory_step_time_s = 0;  // the flat part: t(B) for B <= B*
  double per_sequence_time_s = 0; // the slope of the compute part: t(B) = B * this
  bool within_sweep = false;      // false: the curve is flat (or linear) throughout, and
                                  // knee_batch is only a bound past (or before) the sweep
  double rms_log_error = 0;       // fit quality, in natural-log units
};

// Least squares in log space of t(B) = t_mem * max(1, B / B*), over B* on a fine
// logarithmic grid from a quarter of the smallest batch to four times the largest.
// Needs at least three points; throws Error otherwise.
KneeFit fit_decode_knee(std::vector<KneePoint> points);

}  // namespace roofaudit::calibrate
