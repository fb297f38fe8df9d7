// roofaudit check: did any figure of a run move against its baseline, beyond both the
// U test's significance and the noise-scaled threshold? And roofaudit tag, which names
// runs to use as baselines.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "calibrate/regression_stats.hpp"
#include "cli/command.hpp"
#include "cli/series.hpp"
#include "cli/validators.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "reports/document.hpp"
#include "reports/gbench_json.hpp"
#include "store/paths.hpp"
#include "store/store.hpp"
#include "reports/json_text.hpp"

namespace roofaudit::cli {
namespace {

using calibrate::Verdict;
using reports::Format;
constexpr auto kCheckFormats = {Format::text, Format::markdown, Format::json};

constexpr std::size_t kMinRepetitions = 3;

struct CheckOptions {
  std::string baseline = "rolling:5";
  std::string candidate = "latest";
  std::string threshold = "3%";
  double alpha = 0.01;
  std::vector<std::string> probes;
  std::string format = "text";
  bool informational = false;
  bool strict = false;
  bool allow_different_machines = false;
};

// The threshold's one form: a percentage, "3%" or "2.5%", in [0%, 1000%]. (A bare number
// was also read as a fraction, so "3" meant 300%.)
double parse_fraction(const std::string& text) {
  const auto refuse = [&] {
    return Error(fmt::format("--threshold takes a percentage from 0% to 1000% like 3% or 2.5%, not '{}'", text));
  };
  if (text.size() < 2 || text.back() != '%') throw refuse();
  const std::string number = text.substr(0, text.size() - 1);
  if (!std::all_of(number.begin(), number.end(), [](unsigned char c) { return std::isdigit(c) || c == '.'; }) ||
      std::count(number.begin(), number.end(), '.') > 1 || number == ".")
    throw refuse();
  if (number.size() > 16) throw refuse();  // past 1000% however it is written
  const double v = std::stod(number);
  if (!(v >= 0 && v <= 1000)) throw refuse();
  return v / 100;
}

struct Finding {
  std::string name;
  Verdict verdict;
  std::size_t n_candidate = 0, n_baseline = 0;
  bool higher_is_better = true;
  double between_run_cv = 0;  // 0: fewer than kMinHistory earlier runs
};

// Earlier runs of the series whose medians give the run-to-run spread, and how many it
// needs at least.
constexpr std::size_t kHistoryRuns = 10, kMinHistory = 3;

std::string run_span(const std::vector<std::int64_t>& ids) {
  if (ids.size() == 1) return fmt::format("run {}", ids.front());
  bool consecutive = true;
  for (std::size_t i = 1; i < ids.size(); ++i) consecutive = consecutive && ids[i] == ids[i - 1] + 1;
  return consecutive ? fmt::format("runs {}-{}", ids.front(), ids.back()) : fmt::format("runs {}", fmt::join(ids, ", "));
}

// The runs a candidate is checked against: previous, rolling:N (the series' last N
// complete runs before it), a run id or a tag; ascending by id.
std::vector<store::RunRecord> choose_baseline(store::Store& db, const store::RunRecord& candidate, const CheckOptions& o) {
  const std::string& path = db.path();
  const auto runs = db.runs();
  std::vector<store::RunRecord> baseline;
  auto by_id = [&](std::int64_t id) {
    auto r = db.run(id);
    if (!r) throw Error(fmt::format("no run {} in {}", id, path));
    return *r;
  };
  const std::string& b = o.baseline;
  if (b == "previous" || b.rfind("rolling:", 0) == 0) {
    std::size_t n = 1;
    if (b != "previous") {
      const std::string digits = b.substr(8);
      n = 0;
      if (is_run_id(digits) && digits.size() < 7) n = std::stoul(digits);  // digits only: no sign, no wrap
      if (n < 1) throw Error(fmt::format("--baseline rolling:N takes a whole N >= 1, not '{}'", digits));
    }
    for (auto it = runs.rbegin(); it != runs.rend() && baseline.size() < n; ++it) {
      if (it->id >= candidate.id || it->status != "complete") continue;
      if (it->machine_id != candidate.machine_id && !o.allow_different_machines) continue;
      if (series_settings(*it) != series_settings(candidate)) continue;  // another series
      baseline.push_back(*it);
    }
    if (baseline.empty())
      throw Error(fmt::format("no earlier complete run of the same series as run {} (machine, build and settings)",
                              candidate.id));
  } else if (is_run_id(b)) {
    if (b.size() > 18) throw Error(fmt::format("no run {} in {}", b, path));  // past any run id (and int64)
    baseline.push_back(by_id(std::stoll(b)));
  } else if (const auto tagged = db.tagged_run(b)) {
    baseline.push_back(by_id(*tagged));
  } else {
    throw Error(fmt::format("--baseline takes previous, rolling:N, a run id or a tag; no tag '{}' in {}", b, path));
  }
  std::sort(baseline.begin(), baseline.end(), [](const auto& l, const auto& r) { return l.id < r.id; });
  return baseline;
}

// What differs between the baseline runs and the candidate (build, settings, kernel,
// load at start): warnings, never a reason to refuse. Another machine is refused unless
// --allow-different-machines.
std::vector<std::string> baseline_warnings(const std::vector<store::RunRecord>& baseline,
                                           const store::RunRecord& candidate, const CheckOptions& o) {
  std::vector<std::string> notes;
  for (const auto& r : baseline) {
    if (r.machine_id != candidate.machine_id && !o.allow_different_machines)
      throw Error(fmt::format("run {} was measured on another machine than run {}; give --allow-different-machines to "
                              "compare them anyway",
                              r.id, candidate.id));
    if (series_settings(r) != series_settings(candidate))
      notes.push_back(fmt::format("warning: run {} was built or run differently ({} vs {})", r.id, series_settings(r),
                                  series_settings(candidate)));
    // Annotating facts: shown when they differ, never a reason to refuse.
    for (const auto& [fact, was, now] : differing_facts(r, candidate))
      notes.push_back(fmt::format("warning: {} differs: {} in run {}, {} in run {}", fact, was, r.id, now, candidate.id));
    // A whole core's worth of other work at the start of one of them.
    const double load_was = r.environment.value("load_average_1m", 0.0),
                 load_now = candidate.environment.value("load_average_1m", 0.0);
    if (std::fabs(load_now - load_was) >= 1.0)
      notes.push_back(fmt::format("warning: the load average at start was {:.2f} in run {} and {:.2f} in run {}: another "
                                  "process was busy during one of them",
                                  load_was, r.id, load_now, candidate.id));
  }
  std::sort(notes.begin(), notes.end());
  notes.erase(std::unique(notes.begin(), notes.end()), notes.end());
  return notes;
}

// Every metric the candidate and its baseline share, judged.
struct CheckResult {
  std::vector<Finding> findings;  // regressions first
  std::size_t compared = 0, too_few = 0, unmatched = 0, history_runs = 0;
  double multiplier = 0;
  bool spread_known = false;
  std::ptrdiff_t regressions = 0;
};

// Each run's metrics, every sweep cut at the candidate's memory levels so that all runs
// pool the same working sets; read once per run.
class RunMetrics {
 public:
  RunMetrics(store::Store& db, std::set<std::string> probes, std::vector<LevelRange> levels)
      : db_(db), probes_(std::move(probes)), levels_(std::move(levels)) {}
  const std::map<std::string, Metric>& of(std::int64_t id) {
    auto it = by_run_.find(id);
    if (it == by_run_.end()) it = by_run_.emplace(id, collect_metrics(db_, id, probes_, levels_)).first;
    return it->second;
  }

 private:
  store::Store& db_;
  std::set<std::string> probes_;
  std::vector<LevelRange> levels_;
  std::map<std::int64_t, std::map<std::string, Metric>> by_run_;
};

// The baseline runs' repetitions, pooled per metric.
std::map<std::string, Metric> pooled_metrics(RunMetrics& metrics, const std::vector<store::RunRecord>& baseline) {
  std::map<std::string, Metric> pooled;
  for (const auto& r : baseline)
    for (const auto& [key, metric] : metrics.of(r.id)) {
      auto& slot = pooled[key];
      if (slot.values.empty()) slot = metric;
      else slot.values.insert(slot.values.end(), metric.values.begin(), metric.values.end());
    }
  return pooled;
}

// For the run-to-run spread: each metric's median in the series' latest runs before the
// candidate (at least as many as the baseline pools). `runs` says how many there were.
std::map<std::string, std::vector<double>> series_medians(store::Store& db, const store::RunRecord& candidate,
                                                          std::size_t baseline_runs, RunMetrics& metrics,
                                                          std::size_t& runs) {
  auto history = series_runs(db, candidate, false);
  const std::size_t window = std::max(kHistoryRuns, baseline_runs);
  if (history.size() > window) history.erase(history.begin(), history.end() - std::ptrdiff_t(window));
  std::map<std::string, std::vector<double>> medians;
  for (const auto& r : history)
    for (const auto& [key, metric] : metrics.of(r.id)) medians[key].push_back(calibrate::median(metric.values));
  runs = history.size();
  return medians;
}

CheckResult judge_metrics(store::Store& db, const store::RunRecord& candidate, const std::vector<store::RunRecord>& baseline,
                          const std::vector<std::int64_t>& baseline_ids, const CheckOptions& o, double threshold,
                          std::vector<std::string>& notes) {
  RunMetrics metrics(db, selected_probes(o.probes), level_ranges(db, candidate.id));
  const std::map<std::string, Metric> pooled = pooled_metrics(metrics, baseline);
  CheckResult out;
  auto run_medians = series_medians(db, candidate, baseline.size(), metrics, out.history_runs);
  // Until the series knows its spread, a verdict is informational: two like runs on a
  // shared machine differ by more than their repetitions, and a gate that fails them gets
  // switched off. --strict fails anyway.
  const bool spread_known = out.history_runs >= kMinHistory;
  if (!spread_known)
    notes.push_back(fmt::format("warning: {} earlier run{} of this series; with fewer than {} the run-to-run spread is "
                                "unknown and only the repetitions' noise scales the threshold (on a shared machine runs "
                                "differ by more than repetitions do), so this verdict is informational{}",
                                out.history_runs, out.history_runs == 1 ? "" : "s", kMinHistory,
                                o.strict ? " but --strict fails it" : ": exit 0 (--strict fails it)"));

  // The metrics both sides have with enough repetitions. How many are judged at once
  // sets how far beyond its run-to-run spread a move must go (family_multiplier).
  std::vector<std::pair<const std::string*, const Metric*>> testable;  // key, the candidate's metric
  std::size_t too_few = 0, unmatched = 0;
  for (const auto& [key, metric] : metrics.of(candidate.id)) {
    const auto it = pooled.find(key);
    if (it == pooled.end()) ++unmatched;
    else if (metric.values.size() < kMinRepetitions || it->second.values.size() < kMinRepetitions) ++too_few;
    else testable.emplace_back(&key, &metric);
  }
  const std::size_t compared = testable.size();
  const double multiplier = calibrate::family_multiplier(compared, o.alpha);

  std::vector<Finding> findings;
  for (const auto& [key, metric] : testable) {
    const Metric& base = pooled.at(*key);
    const auto& medians = run_medians[*key];
    // The candidate's run and the baseline's pooled runs each land off the series' level:
    // their difference spreads by sqrt(1 + 1 / baseline runs) times one run's spread.
    const double spread = medians.size() >= kMinHistory ? calibrate::cv_upper_bound(medians) *
                                                              std::sqrt(1 + 1 / double(baseline.size()))
                                                        : 0;
    const Verdict v =
        calibrate::judge(metric->values, base.values, metric->higher_is_better, threshold, o.alpha, spread, multiplier);
    if (v.kind != Verdict::Kind::unchanged)
      findings.push_back({metric->name, v, metric->values.size(), base.values.size(), metric->higher_is_better, spread});
  }
  if (compared == 0) {
    if (too_few > 0)
      throw Error(fmt::format("too few repetitions to test: {} metrics have fewer than {} on a side (run with "
                              "--repetitions {} or more)",
                              too_few, kMinRepetitions, kMinRepetitions));
    throw Error(fmt::format("run {} and its baseline ({}) share no metric{}", candidate.id, run_span(baseline_ids),
                            o.probes.empty() ? "" : " of the selected probes"));
  }
  std::stable_sort(findings.begin(), findings.end(), [](const auto& l, const auto& r) {
    return (l.verdict.kind == Verdict::Kind::regression) > (r.verdict.kind == Verdict::Kind::regression);
  });
  const auto regressions =
      std::count_if(findings.begin(), findings.end(), [](const auto& f) { return f.verdict.kind == Verdict::Kind::regression; });
  out.compared = compared;
  out.too_few = too_few;
  out.unmatched = unmatched;
  out.multiplier = multiplier;
  out.spread_known = spread_known;
  out.regressions = regressions;
  out.findings = std::move(findings);
  return out;
}

const char* kind_name(const Finding& f) { return f.verdict.kind == Verdict::Kind::regression ? "regression" : "improvement"; }

// The verdicts as a document: text lists them one line each (a CI log), Markdown as a table
// under a heading (a CI summary or a pull request comment).
reports::Document check_document(const CheckResult& c, const store::RunRecord& candidate, const std::string& against,
                                 const std::vector<std::string>& notes, const CheckOptions& o, double threshold, Format format) {
  const auto& findings = c.findings;
  const std::size_t improvements = findings.size() - std::size_t(c.regressions);
  const auto plural = [](std::size_t n) { return n == 1 ? "" : "s"; };
  reports::Document d;
  if (format == Format::text) {
    for (const auto& f : findings)
      d.intro.push_back(reports::Paragraph(fmt::format(
          "{} {} {:+.1f}% (needed {:.1f}%) p={:.1g} n={} vs {}, baseline {}",
          f.verdict.kind == Verdict::Kind::regression ? "REGRESSION" : "improvement", f.name, f.verdict.change * 100,
          f.verdict.threshold * 100, f.verdict.p, f.n_candidate, f.n_baseline, against)));
    for (const auto& n : notes) d.intro.push_back(reports::Paragraph(n));
    d.intro.push_back(reports::Paragraph(fmt::format(
        "run {} against {}: {} metrics compared, {} regression{}, {} improvement{}{}", candidate.id, against, c.compared,
        c.regressions, plural(std::size_t(c.regressions)), improvements, plural(improvements),
        c.too_few ? fmt::format(" ({} with too few repetitions)", c.too_few) : "")));
    return d;
  }
  using reports::Align;
  d.title = fmt::format("roofaudit check: run {} against {}", candidate.id, against);
  d.title_level = 3;
  d.intro.push_back(reports::Paragraph(fmt::format("{} metrics compared (alpha {}; a move must exceed {:.1f}%, 3x the baseline "
                                                   "repetitions' robust CV and {:.2f}x the run-to-run spread of the last {} "
                                                   "runs): ",
                                                   c.compared, o.alpha, threshold * 100, c.multiplier, c.history_runs))
                        .strong(fmt::format("{} regression{}", c.regressions, plural(std::size_t(c.regressions))))
                        .text(fmt::format(", {} improvement{}.", improvements, plural(improvements))));
  if (!findings.empty()) {
    reports::Table t;
    t.columns = {{"", Align::left}, {"metric", Align::left}, {"change"}, {"needed"}, {"p"}, {"repetitions", Align::left}};
    t.columns[1].code = true;
    for (const auto& f : findings)
      t.rows.push_back({kind_name(f), f.name, fmt::format("{:+.1f}%", f.verdict.change * 100),
                        fmt::format("{:.1f}%", f.verdict.threshold * 100), fmt::format("{:.1g}", f.verdict.p),
                        fmt::format("{} vs {}", f.n_candidate, f.n_baseline)});
    d.intro.push_back(std::move(t));
  }
  if (!notes.empty()) d.intro.push_back(reports::List{notes});
  return d;
}

void print_check(const CheckResult& c, const store::RunRecord& candidate, const std::vector<std::int64_t>& baseline_ids,
                 const std::vector<std::string>& notes, const CheckOptions& o, double threshold, Format format) {
  const auto& findings = c.findings;
  const auto regressions = c.regressions;
  const std::size_t compared = c.compared, too_few = c.too_few, unmatched = c.unmatched;
  const double multiplier = c.multiplier;
  const bool spread_known = c.spread_known;
  const std::string against = run_span(baseline_ids);
  if (format == Format::json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& f : findings)
      arr.push_back({{"metric", f.name}, {"kind", kind_name(f)}, {"change", f.verdict.change}, {"p", f.verdict.p},
                     {"threshold", f.verdict.threshold}, {"n_candidate", f.n_candidate}, {"n_baseline", f.n_baseline},
                     {"higher_is_better", f.higher_is_better}, {"between_run_cv", f.between_run_cv}});
    std::cout << reports::json_text(nlohmann::json{{"candidate", candidate.id}, {"baseline_runs", baseline_ids}, {"compared", compared},
                                {"too_few_repetitions", too_few}, {"unmatched", unmatched}, {"regressions", regressions},
                                {"findings", arr}, {"warnings", notes}, {"alpha", o.alpha}, {"threshold", threshold},
                                {"history_runs", c.history_runs}, {"between_run_multiplier", multiplier},
                                {"informational", o.informational || (!spread_known && !o.strict)}})
              << "\n";
  } else {
    std::cout << reports::render(check_document(c, candidate, against, notes, o, threshold, format), format);
  }
}

int run_check(const GlobalOptions& global, const CheckOptions& o) {
  const double threshold = parse_fraction(o.threshold);
  if (!(o.alpha > 0 && o.alpha < 1)) throw Error(fmt::format("--alpha must be in (0, 1), not {}", o.alpha));
  const Format format = reports::parse_format(o.format, kCheckFormats);
  selected_probes(o.probes);  // refuses an unknown probe before the database is opened
  const auto store = open_existing_store(global);
  store::Store& db = *store;
  const store::RunRecord candidate = resolve_run(db, o.candidate);
  const std::vector<store::RunRecord> baseline = choose_baseline(db, candidate, o);
  std::vector<std::int64_t> baseline_ids;
  for (const auto& r : baseline) {
    if (r.id == candidate.id)
      throw Error(fmt::format("--baseline '{}' and --candidate '{}' are both run {}: a run checked against itself finds "
                              "nothing",
                              o.baseline, o.candidate, r.id));
    baseline_ids.push_back(r.id);
  }
  std::vector<std::string> notes = baseline_warnings(baseline, candidate, o);
  const CheckResult result = judge_metrics(db, candidate, baseline, baseline_ids, o, threshold, notes);
  print_check(result, candidate, baseline_ids, notes, o, threshold, format);
  return result.regressions > 0 && !o.informational && (result.spread_known || o.strict) ? 1 : 0;
}

}  // namespace

// A tag must be usable as a run reference and printable as it is, in one form: 1 to 64
// of the characters A-Z a-z 0-9 . _ - with a letter among them (a number would read as a
// run id), none of the words check reads as keywords (latest, previous, rolling...), and
// no machine's hostname in the database (compare and history take hostnames too).
constexpr std::size_t kLongestTag = 64;

static void check_tag_name(const std::string& name) {
  if (std::any_of(name.begin(), name.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
    throw Error("a tag name cannot hold control characters");
  if (!is_utf8(name)) throw Error("a tag name must be UTF-8 text");
  if (name.size() > kLongestTag)
    throw Error(fmt::format("a tag name is at most {} characters, not {}", kLongestTag, name.size()));
  if (!std::all_of(name.begin(), name.end(),
                   [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '_' || c == '-'; }))
    throw Error(fmt::format("a tag name takes only the letters A-Z and a-z, digits, '.', '_' and '-': '{}'", name));
  const bool letter = std::any_of(name.begin(), name.end(), [](unsigned char c) { return std::isalpha(c); });
  if (!letter) throw Error(fmt::format("a tag name needs a letter (a number would read as a run id): '{}'", name));
  if (name == "latest") throw Error("'latest' names the newest run and cannot be a tag");
  if (name == "previous" || name.rfind("rolling", 0) == 0)
    throw Error(fmt::format("'{}' reads as check's --baseline keyword (previous, rolling:N) and cannot be a tag", name));
}

void add_check_verb(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd = app.add_subcommand("check", "compare a run with its baseline: exit 1 when a figure regressed");
  auto o = std::make_shared<CheckOptions>();
  cmd->add_option("--baseline", o->baseline, "previous, rolling:N (pool the last N runs of the series), a run id or a tag")
      ->capture_default_str();
  cmd->add_option("--candidate", o->candidate, "a run id, a tag, 'latest', or a machine (its newest complete run)")
      ->capture_default_str();
  cmd->add_option("--threshold", o->threshold, "smallest move that counts, before 3x the baseline's robust CV")
      ->capture_default_str();
  cmd->add_option("--alpha", o->alpha, "significance of the one-sided Mann-Whitney U test, in (0, 0.5]")
      ->capture_default_str()
      ->check(finite_in(0, 0.5));
  cmd->add_option("--probes", o->probes, "probes to check, comma-separated; 'cpu.' selects a family")->delimiter(',');
  cmd->add_option("--format", o->format, reports::format_list(kCheckFormats))->capture_default_str();
  cmd->add_flag("--informational", o->informational, "report, but always exit 0");
  cmd->add_flag("--strict", o->strict,
                "exit 1 on a regression even before the series has the 3 earlier runs that give its spread");
  cmd->add_flag("--allow-different-machines", o->allow_different_machines, "compare runs of different machines");
  cmd->callback([&action, &global, o] { action = [&global, o] { return run_check(global, *o); }; });

  auto* tag = app.add_subcommand("tag", "name a run (a baseline for check)");
  auto run_id = std::make_shared<std::int64_t>(0);
  auto name = std::make_shared<std::string>();
  tag->add_option("RUN_ID", *run_id, "the run")->required()->check(whole_at_least(1));
  tag->add_option("NAME", *name, "the name (an existing name moves to this run)")->required();
  tag->callback([&action, &global, run_id, name] {
    action = [&global, run_id, name] {
      check_tag_name(*name);
      // A tag stores something only about a run that exists: a missing or empty database
      // is refused as a reader refuses it, before anything (a schema) is written.
      if (!open_existing_store(global)->run(*run_id))
        throw Error(fmt::format("no run {} in {}", *run_id, store::resolve_database_path(global.db)));
      store::Store db(store::resolve_database_path(global.db), {global.busy_timeout_ms});
      for (const auto& r : db.runs())
        if (const auto m = db.machine(r.machine_id); m && m->hostname == *name)
          throw Error(fmt::format("'{}' is a machine's hostname in {}: a tag of that name would hide the machine", *name,
                                  db.path()));
      db.tag_run(*run_id, *name);
      std::cout << fmt::format("run {} is '{}'\n", *run_id, *name);
      return 0;
    };
  });
}

}  // namespace roofaudit::cli
