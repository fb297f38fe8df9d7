#pragma once
// Each verb (or a few that share their options, as check and tag, or history, compare and
// merge) is added by one add_*_verb function, listed once in app.cpp's table.
#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "calibrate/serving_types.hpp"
#include "cli/run_reference.hpp"
#include "reports/run_view.hpp"

namespace roofaudit::store {
class Store;
}

namespace roofaudit::cli {

struct GlobalOptions {
  std::string db;              // --db (empty: $ROOFAUDIT_DB, then the XDG default)
  int busy_timeout_ms = 5000;  // how long to wait for another writer
  std::string command_line;    // as typed, recorded with each run
};

// What the chosen verb does once parsing succeeded; returns the exit code.
using Action = std::function<int()>;
using VerbRegistrar = void (*)(CLI::App& app, const GlobalOptions& global, Action& action);

void add_run_verb(CLI::App& app, const GlobalOptions& global, Action& action);
void add_probes_verb(CLI::App& app, const GlobalOptions& global, Action& action);
void add_runs_verb(CLI::App& app, const GlobalOptions& global, Action& action);
void add_show_verb(CLI::App& app, const GlobalOptions& global, Action& action);
void add_predict_verb(CLI::App& app, const GlobalOptions& global, Action& action);
void add_catalog_verb(CLI::App& app, const GlobalOptions& global, Action& action);
void add_calibrate_verb(CLI::App& app, const GlobalOptions& global, Action& action);
void add_self_doc_verb(CLI::App& app, const GlobalOptions& global, Action& action);  // man page, completion
void add_blas_child_verb(CLI::App& app, const GlobalOptions& global, Action& action);
void add_devices_verb(CLI::App& app, const GlobalOptions& global, Action& action);
void add_report_verb(CLI::App& app, const GlobalOptions& global, Action& action);
void add_export_verb(CLI::App& app, const GlobalOptions& global, Action& action);
void add_check_verb(CLI::App& app, const GlobalOptions& global, Action& action);  // check and tag
void add_series_verbs(CLI::App& app, const GlobalOptions& global, Action& action);  // history, compare, merge

// The database of the verbs that only read what a run stored: throws Error (nothing is
// created) when there is none yet.
std::unique_ptr<store::Store> open_existing_store(const GlobalOptions& global);

// Everything stored about one run; throws Error when there is no such run.
reports::RunView load_run_view(store::Store& db, std::int64_t run_id);

// A catalogue model by name, or a Hugging Face config.json by path.
calibrate::ModelSpec load_model(const std::string& name_or_path);

int run_cli(int argc, char** argv);

}  // namespace roofaudit::cli
