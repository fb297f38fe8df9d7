#pragma once
// A deployment in one line, for the serving-model tests.
#include <cstdint>

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
  d.prompt_len = context;
  d.batch = batch;
  return d;
}

}  // namespace roofaudit::testing
