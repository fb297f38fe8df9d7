#pragma once
// A deployment in one line, for the serving-model tests.
#include <cstdint>

#include "calibrate/serving_types.hpp"

namespace roofaudit::testing {

using calibrate::Deployment;
using calibrate::Dtype;

// `chips` chips, these dtypes, context (and prompt) and batch; every other field its default.
inline Deployment deployment_of(int chips, Dtype weights, Dtype kv, std::int64_t context, std::int64_t batch) {
  return {.chips = chips, .weights = weights, .kv = kv, .context = context, .batch = batch, .prompt_len = context};
}

}  // namespace roofaudit::testing
