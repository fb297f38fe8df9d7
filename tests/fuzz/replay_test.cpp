// Every fuzz target's seeds and every input a fuzzer once crashed on
// (fuzz/regressions/<target>/), replayed through the targets with the suite's compiler:
// a crash found once stays a test on every build, clang or not.
#include <algorithm>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fuzz/fixtures.hpp"
#include "fuzz/targets.hpp"
#include "store/store.hpp"

namespace roofaudit::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputs_of(std::string_view target) {
  std::vector<fs::path> out;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path dir = fs::path(ROOFAUDIT_FUZZ_DIR) / kind / std::string(target);
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void replay(Target target, const fs::path& input) {
  const std::string bytes = file_bytes(input);
  try {
    target(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  } catch (const std::exception& e) {
    ADD_FAILURE() << input.string() << ": " << e.what();
  }
}

}  // namespace

// gtest names a parameter by its bytes unless told.
void PrintTo(const NamedTarget& t, std::ostream* os) { *os << t.name; }

namespace {

class FuzzReplay : public ::testing::TestWithParam<NamedTarget> {};

TEST_P(FuzzReplay, EverySeedAndRegressionHolds) {
  std::vector<fs::path> inputs = inputs_of(GetParam().name);
  if (GetParam().name == "merge_database" || GetParam().name == "open_database") {
    // The merge seeds are databases of the current schema, written as the fuzz build's
    // roofaudit_fuzz_seeds writes them.
    const fs::path dir = scratch_directory() / "replay-seeds";
    fs::create_directories(dir);
    write_store_fixture(dir / "roofaudit.db");
    write_foreign_sqlite(dir / "foreign.db");
    inputs.push_back(dir / "roofaudit.db");
    inputs.push_back(dir / "foreign.db");
  }
  ASSERT_FALSE(inputs.empty()) << "no seeds for " << GetParam().name;
  for (const auto& input : inputs) replay(GetParam().run, input);
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, ::testing::ValuesIn(kTargets),
                         [](const auto& info) { return std::string(info.param.name); });

// The merge target's seed is a store it can merge: the fuzzer starts from the success
// path, not only from refusals.
TEST(FuzzFixtures, StoreFixtureMergesItsFinishedRuns) {
  const fs::path dir = scratch_directory() / "fixture-merge";
  fs::create_directories(dir);
  write_store_fixture(dir / "handed.db");
  store::Store db((dir / "target.db").string());
  const auto result = db.merge_from((dir / "handed.db").string());
  EXPECT_EQ(result.runs_added, 3);  // complete, failed, complete; the running one is left out
  EXPECT_EQ(result.runs_running, 1);
  EXPECT_EQ(result.machines_added, 2);
}

}  // namespace
}  // namespace roofaudit::fuzz
