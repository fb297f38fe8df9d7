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

// An engine's serving shape: fp8 weights and KV on `chips` chips, these lengths (their sum the
// context), and a chunk of 8192 tokens (TensorRT-LLM's and vLLM's default token budget).
inline Deployment served_fp8(int chips, std::int64_t prompt_len, std::int64_t decode_len, std::int64_t batch) {
  Deployment d = deployment_of(chips, Dtype::fp8, Dtype::fp8, prompt_len + decode_len, batch);
  d.prompt_len = prompt_len;
  d.decode_len = decode_len;
  d.prefill_chunk = 8192;
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
