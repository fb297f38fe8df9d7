#pragma once
// The parsers of everything a user hands roofaudit, as fuzz targets: each takes one input
// of arbitrary bytes and either refuses it the way the CLI would (roofaudit::Error, exit
// 2) or accepts it and then holds its invariants (finite, bounded figures; a stored file
// left as it was). Anything else escaping is a finding: Broken for a broken invariant,
// any other exception for an input the parser let through to a place that cannot take it.
//
// Built twice: with clang's libFuzzer into one executable per target (fuzz/CMakeLists.txt,
// preset "fuzz"), and with the suite's compiler into tests/fuzz, which replays every seed
// and every input a fuzzer once crashed on (fuzz/regressions/<target>/) as tests.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace roofaudit::fuzz {

class Broken : public std::logic_error {
 public:
  explicit Broken(const std::string& what) : std::logic_error(what) {}
};

// Throws Broken with `what` unless `holds`.
inline void require(bool holds, const std::string& what) {
  if (!holds) throw Broken(what);
}

using Target = void (*)(const std::uint8_t* data, std::size_t size);

void hf_config(const std::uint8_t* data, std::size_t size);      // a Hugging Face config.json
void chip_json(const std::uint8_t* data, std::size_t size);      // a chip file (--chip-file)
void price_config(const std::uint8_t* data, std::size_t size);   // an owned-cost file (--price-file)
void size_string(const std::uint8_t* data, std::size_t size);    // --min-size / --max-size
void run_reference(const std::uint8_t* data, std::size_t size);  // --run, show, compare, tag ...
void merge_database(const std::uint8_t* data, std::size_t size); // merge's reading of a foreign file
void open_database(const std::uint8_t* data, std::size_t size);  // a file handed as --db, read
void engine_output(const std::uint8_t* data, std::size_t size);  // calibrate --engine's file

struct NamedTarget {
  std::string_view name;
  Target run;
};
inline constexpr NamedTarget kTargets[] = {
    {"hf_config", hf_config},         {"chip_json", chip_json},         {"price_config", price_config},
    {"size_string", size_string},     {"run_reference", run_reference}, {"merge_database", merge_database},
    {"open_database", open_database}, {"engine_output", engine_output},
};

}  // namespace roofaudit::fuzz
