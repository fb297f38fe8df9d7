#pragma once
// A deployment in one line, for the serving-model tests.
#include <cstdint>

#include "calibrate/catalog.hpp"
#include "calibrate/serving_types.hpp"

namespace roofaudit::testing {

using calibrate::Deployment;
using calibrate::Dtype;

// `chips` chips, these dtypes, context (and prompt) and batch; every other field its default.
inline Deployment deployment_of(int chips, Dtype weights, Dtype kv, std::int64_t context, std::int64_t batch) {
  Deployment d;
  d.chips = chips;
  d.weights = weights;
  d.kv = kv;
  d.context = context;
  d.batch = batch;
  d.prompt_len = context;
  return d;
}

// TPU v5e as "How to Scale Your Model" computes with it: int8 at the bf16 rate (the
// catalogue carries the published 394 TOP/s int8 rate, which the book's tables predate).
inline calibrate::ChipSpec book_v5e() {
  calibrate::ChipSpec c = calibrate::find_chip("tpu-v5e");
  c.peak_ops_per_s.erase(Dtype::int8);
  return c;
}

}  // namespace roofaudit::testing
