#include <cctype>
#include <csignal>
#include <cmath>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "build_info.hpp"
#include "cli/command.hpp"
#include "cli/output.hpp"
#include "cli/validators.hpp"
#include "values/error.hpp"

namespace roofaudit::cli {
namespace {

// One rule for every option and argument: an empty value is refused, never read as "the
// default" (an option left out has its default; one given empty is a mistake).
void refuse_empty_values(const CLI::App& app, const std::vector<std::string>& args) {
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->count() == 0) continue;
    const std::string name = opt->get_name().empty() ? "an argument" : opt->get_name();
    for (const std::string& value : opt->results())
      if (value.empty())
        throw Error(fmt::format("{} is empty: give a value, or leave the option out for its default", name));
    // A list's items too ("cpu.latency,,cpu.peak" has an empty one), read from the words
    // given, since the parser drops empty items when it splits a list.
    const char delimiter = opt->get_delimiter();
    if (delimiter == '\0') continue;
    for (std::size_t i = 0; i < args.size(); ++i) {
      for (const std::string& lname : opt->get_lnames()) {
        const std::string flag = "--" + lname;
        std::optional<std::string> value;
        if (args[i] == flag && i + 1 < args.size()) value = args[i + 1];
        else if (args[i].rfind(flag + "=", 0) == 0) value = args[i].substr(flag.size() + 1);
        if (value && (value->empty() || value->front() == delimiter || value->back() == delimiter ||
                      value->find(std::string(2, delimiter)) != std::string::npos))
          throw Error(fmt::format("{} has an empty item in '{}'", name, *value));
      }
    }
  }
  for (const CLI::App* sub : app.get_subcommands()) refuse_empty_values(*sub, args);
}

}  // namespace

int run_cli(int argc, char** argv) {
  // A reader that goes away (`roofaudit report | head`) makes writes fail with EPIPE, which
  // check_stdout reports as an error (exit 2), instead of killing the process silently.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"roofaudit: measures what a machine really delivers and what serving an LLM on it costs"};
  app.set_version_flag("--version", fmt::format("roofaudit {} ({})", build_info::version, build_info::commit));
  app.require_subcommand(1);
  app.fallthrough();
  GlobalOptions global;
  for (int i = 0; i < argc; ++i) global.command_line += (i ? " " : "") + std::string(argv[i]);
  auto* db_flag = app.add_option("--db", global.db, "SQLite database (default: $ROOFAUDIT_DB, else $XDG_DATA_HOME/roofaudit/roofaudit.db)");
  app.add_option("--busy-timeout-ms", global.busy_timeout_ms, "how long to wait for another writer's lock")
      ->capture_default_str()
      ->check(whole_in(0, 3'600'000));  // an hour at most: every wait is bounded

  Action action;
  static constexpr VerbRegistrar kVerbs[] = {add_run_verb,     add_probes_verb,  add_devices_verb,
                                             add_runs_verb,    add_show_verb,    add_predict_verb,
                                             add_report_verb,  add_export_verb,  add_check_verb,   add_series_verbs, add_catalog_verb, add_calibrate_verb,
                                             add_blas_child_verb, add_self_doc_verb};
  for (VerbRegistrar add : kVerbs) add(app, global, action);

  // The first word that is no global option and no verb is a typo: name it, and the verbs.
  int first = 1;
  while (first < argc && argv[first][0] == '-') {
    const std::string flag = argv[first];
    first += (flag == "--db" || flag == "--busy-timeout-ms") ? 2 : 1;  // the global options that take a value
  }
  if (first < argc && argv[first][0] != '-') {
    std::vector<std::string> verbs;
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) {
      if (sub->get_name() == argv[first]) known = true;
      if (!sub->get_group().empty()) verbs.push_back(sub->get_name());
    }
    if (!known) {
      std::cerr << fmt::format("roofaudit: error: unknown verb '{}' (verbs: {})\n", printable(argv[first]),
                               fmt::join(verbs, ", "));
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (what.empty()) what = e.get_name();
    std::cerr << "roofaudit: error: " << printable(what) << " (see 'roofaudit --help')\n";
    return 2;
  }
  try {
    if (db_flag->count() > 0 && global.db.empty()) throw Error("--db is empty: give a database path");
    refuse_empty_values(app, std::vector<std::string>(argv + 1, argv + argc));
    int code = 2;
    {
      const NeutralisedStdout neutral;
      code = action ? action() : 2;
    }
    check_stdout();  // output that was lost is a failure, whatever the verb did
    return code;
  } catch (const Error& e) {
    std::cerr << "roofaudit: error: " << printable(e.what()) << "\n";
    return 2;
  } catch (const nlohmann::json::exception& e) {
    // Every file a user hands roofaudit is read by a parser that refuses a wrong shape
    // with its own message (each is fuzzed); JSON that reaches a reader with a wrong type
    // is what a database holds, damaged by hand or by another tool.
    std::cerr << "roofaudit: error: the database is damaged: a stored value has the wrong type or shape ("
              << printable(e.what()) << ")\n";
    return 2;
  } catch (const std::exception& e) {  // a fault of roofaudit's, not of the input: its own code
    std::cerr << "roofaudit: internal error: " << printable(e.what()) << "\n";
    return 3;
  }
}

}  // namespace roofaudit::cli
