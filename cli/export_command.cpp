// roofaudit export: a stored run in another tool's format.
#include <iostream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "values/error.hpp"
#include "reports/gbench_json.hpp"
#include "store/store.hpp"
#include "reports/json_text.hpp"

namespace roofaudit::cli {

void add_export_verb(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd = app.add_subcommand("export", "write a stored run in another tool's format");
  auto run_id = std::make_shared<std::int64_t>(0);
  auto format = std::make_shared<std::string>();
  cmd->add_option("RUN_ID", *run_id, "the run's id (see 'roofaudit runs')")->required();
  cmd->add_option("--format", *format, "gbench-json: Google Benchmark's JSON (for its compare.py)")->required();
  cmd->callback([&action, &global, run_id, format] {
    action = [&global, run_id, format] {
      if (*format != "gbench-json") throw Error(fmt::format("--format takes gbench-json, not '{}'", *format));
      const auto db = open_existing_store(global);
      std::cout << reports::json_text(reports::run_to_gbench_json(load_run_view(*db, *run_id))) << "\n";
      return 0;
    };
  });
}

}  // namespace roofaudit::cli
