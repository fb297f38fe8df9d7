#pragma once
// Option checks with one-line messages that name the value (CLI11's own number checks
// print the type's whole range, 300 digits of it for a double, and let NaN through).
// One form for every number: decimal digits (a sign where negatives mean something, a
// point and an exponent for real numbers); hex, "inf", "nan", spaces and '+' are refused.
#include <cstdint>

#include <CLI/CLI.hpp>

namespace roofaudit::cli {

// A whole number >= min (no sign tricks, no fraction).
CLI::Validator whole_at_least(long long min);
// A whole number in [min, max].
CLI::Validator whole_in(long long min, long long max);
// A whole number in [0, 2^64 - 1] (seeds).
CLI::Validator unsigned_whole();
// A finite number in (low, high].
CLI::Validator finite_in(double low_exclusive, double high_inclusive);
// A finite number in [low, high].
CLI::Validator finite_within(double low_inclusive, double high_inclusive);

// A price option's check: its field's physical bound, the same a price file has
// (calibrate/catalog.hpp: usd_per_hour, purchase_usd, watts, pue...).
CLI::Validator price_field_check(const char* field);

// Tokens of a context, prompt or decode: 2^27 (134M), past any model's context.
inline constexpr long long kMostTokens = 1LL << 27;

}  // namespace roofaudit::cli
