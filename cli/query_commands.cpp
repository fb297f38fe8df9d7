// Verbs that read what is stored: probes, runs, show.
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "cli/command.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "reports/run_json.hpp"
#include "reports/summary_table.hpp"
#include "store/paths.hpp"
#include "store/store.hpp"
#include "reports/json_text.hpp"

namespace roofaudit::cli {

std::unique_ptr<store::Store> open_existing_store(const GlobalOptions& global) {
  // Readers open read-only: they never create, migrate a read-only file, or write.
  return std::make_unique<store::Store>(store::resolve_database_path(global.db),
                                        store::StoreOptions{global.busy_timeout_ms, true});
}

reports::RunView load_run_view(store::Store& db, std::int64_t run_id) {
  auto run = db.run(run_id);
  if (!run) throw Error(fmt::format("no run {} in {}", run_id, db.path()));
  reports::RunView v;
  v.machine = db.machine(run->machine_id);
  v.run = std::move(*run);
  v.measurements = db.measurements(run_id);
  v.fits = db.fits(run_id);
  return v;
}

void add_probes_verb(CLI::App& app, const GlobalOptions&, Action& action) {
  auto* cmd = app.add_subcommand("probes", "list the registered probes");
  cmd->callback([&action] {
    action = [] {
      for (const auto& p : ProbeRegistry::instance().all())
        fmt::print("{:<16} v{}  {}\n", p->name(), p->version(), p->description());
      return 0;
    };
  });
}

void add_runs_verb(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd = app.add_subcommand("runs", "list the stored runs");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&action, &global, json] {
    action = [&global, json] {
      const auto store = open_existing_store(global);
      const auto runs = store->runs();
      if (*json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& r : runs)
          arr.push_back({{"id", r.id}, {"uuid", r.uuid}, {"status", r.status}, {"started_at", r.started_at},
                         {"finished_at", r.finished_at}, {"measurements", r.measurement_count},
                         {"command_line", r.command_line}});
        std::cout << reports::json_text(arr) << "\n";
      } else {
        std::cout << reports::render_runs_text(runs);
      }
      return 0;
    };
  });
}

void add_show_verb(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd = app.add_subcommand("show", "show one stored run");
  auto run_id = std::make_shared<std::int64_t>(0);
  auto json = std::make_shared<bool>(false);
  cmd->add_option("RUN_ID", *run_id, "the run's id (see 'roofaudit runs')")->required();
  cmd->add_flag("--json", *json, "print JSON (every measurement with its samples)");
  cmd->callback([&action, &global, run_id, json] {
    action = [&global, run_id, json] {
      const auto store = open_existing_store(global);
      const auto view = load_run_view(*store, *run_id);
      if (*json) std::cout << reports::json_text(reports::run_to_json(view)) << "\n";
      else std::cout << reports::render_run_text(view);
      return 0;
    };
  });
}

}  // namespace roofaudit::cli
