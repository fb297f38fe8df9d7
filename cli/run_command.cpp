// roofaudit run: checks every input, then runs the selected probes into one stored run,
// each result committed as it is made.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "calibrate/catalog.hpp"
#include "calibrate/run_calibration.hpp"
#include "cli/chips.hpp"
#include "cli/device_selection.hpp"
#include "cli/command.hpp"
#include "cli/validators.hpp"
#include "cli/machine_info.hpp"
#include "cli/progress.hpp"
#include "cli/run.hpp"
#include "kernels/cpu/isa.hpp"
#include "probes/cpu/sweep.hpp"
#include "values/device_id.hpp"
#include "values/error.hpp"
#include "probes/probe.hpp"
#include "probes/topology.hpp"
#include "reports/run_json.hpp"
#include "reports/summary_table.hpp"
#include "store/paths.hpp"
#include "store/store.hpp"
#include "reports/json_text.hpp"

namespace roofaudit::cli {
namespace {

std::atomic<bool> g_stop{false};

// Ctrl-C, kill, and a closed terminal (SIGHUP) all stop the run the same way.
constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};

std::atomic<std::int64_t> g_first_stop_ns{0};

std::int64_t monotonic_ns() {  // clock_gettime is async-signal-safe
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

extern "C" void on_stop_signal(int sig) {
  // A second signal ends the process at once (the next open finds the run interrupted),
  // but not one that is the same stop twice: `timeout` and a terminal closing signal the
  // process and then its group, so a repeat within a second stops the run gently still.
  const std::int64_t now = monotonic_ns();
  if (!g_stop.exchange(true)) {
    g_first_stop_ns = now;
    return;
  }
  if (now - g_first_stop_ns < 1'000'000'000) return;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

nlohmann::json settings_json(const RunSettings& s, const std::vector<std::string>& probes) {
  return {{"probes", probes}, {"threads", s.threads}, {"quick", s.quick}, {"gpu_device", s.vulkan.device}, {"cuda_device", s.cuda.device},
          {"min_working_set_bytes", s.min_working_set_bytes}, {"max_working_set_bytes", s.max_working_set_bytes},
          {"repetitions", s.repetitions}, {"sample_seconds", s.sample_seconds}, {"seed", s.seed},
          {"model", s.model}};
}

// The run's settings from its options; everything that can be refused is refused here,
// before the database is touched.
RunSettings run_settings(const RunOptions& opt, const Topology& topology, bool gpu_probes) {
  if (opt.threads < 0) throw Error("--threads must be positive");
  // The ISA cap every CPU probe reads: a value that is not a class is refused here, once,
  // rather than failing some probes and being ignored by others.
  try {
    kernels::cpu_features();
  } catch (const std::invalid_argument& e) {
    throw Error(e.what());
  }
  RunSettings settings;
  settings.quick = opt.quick;
  settings.threads = opt.threads;
  if (opt.threads > topology.pus())
    throw Error(fmt::format("--threads {} exceeds the {} hardware threads this process may use", opt.threads, topology.pus()));
  if (!opt.min_size.empty()) settings.min_working_set_bytes = parse_bytes(opt.min_size);
  if (!opt.max_size.empty()) settings.max_working_set_bytes = parse_bytes(opt.max_size);
  if (settings.max_working_set_bytes && settings.max_working_set_bytes < settings.min_working_set_bytes)
    throw Error("--max-size is smaller than --min-size");
  settings.repetitions = opt.repetitions;
  std::error_code ec;
  settings.executable = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  settings.sample_seconds = opt.sample_ms / 1000.0;
  // --device names one GPU for every backend (a no-op, and no driver touched, when no GPU
  // probe runs).
  if (!opt.device.empty() && gpu_probes) {
    const DeviceChoice choice = resolve_device(opt.device, gather_backend_views());
    settings.vulkan.device = choice.vulkan_device;
    settings.vulkan.not_here = choice.vulkan_not_here;
    settings.cuda.device = choice.cuda_device;
    settings.cuda.not_here = choice.cuda_not_here;
  }
  settings.model = calibrate::model_to_json(load_model(opt.model));
  // The Khronos validation layer (with synchronization validation): the tests turn it
  // on; any message of error severity fails the measurement it happened in.
  const char* validation = std::getenv("ROOFAUDIT_VK_VALIDATION");
  if (validation && std::string(validation) != "0" && std::string(validation) != "1")
    throw Error(fmt::format("ROOFAUDIT_VK_VALIDATION takes 1 (on) or 0 (off), not '{}'", validation));
  settings.vulkan.validation = validation && std::string(validation) == "1";
  return settings;
}

// One run in the database: its probes one after another, each measurement stored as it
// arrives (on the device it names), each probe's fits stored after it.
class RunSession {
 public:
  RunSession(store::Store& db, const Topology& topology, const RunSettings& settings, std::int64_t machine_id,
             std::int64_t device_id, std::int64_t run_id)
      : db_(db), topology_(topology), settings_(settings), machine_id_(machine_id), device_id_(device_id), run_id_(run_id),
        progress_(stderr_is_terminal()),
        reached_memory_(settings.max_working_set_bytes == 0 ||
                        settings.max_working_set_bytes >= default_max_working_set(topology.last_level_cache_bytes())) {}

  void add_premeasured(const std::vector<Measurement>& premeasured) {
    for (const auto& m : premeasured) {
      db_.add_measurement(run_id_, device_id_, m);
      all_.push_back(m);
    }
  }

  void run(Probe& probe, int index, int count) {
    progress_.probe(index, count, std::string(probe.name()));
    std::vector<Measurement> results;
    ProbeContext ctx{settings_, topology_,
                     [&](Measurement m) {
                       db_.add_measurement(run_id_, device_of(m.device), m);
                       results.push_back(std::move(m));
                     },
                     [&](const std::string& text) { progress_.detail(text); }, g_stop,
                     [&](const DeviceInfo& d) { add_device(d); }};
    try {
      const Topology::BindingGuard unpin_afterwards(topology_);
      probe.run(ctx);
    } catch (const Error& e) {
      progress_.clear();
      db_.finish_run(run_id_, "failed", fmt::format("{}: {}", probe.name(), e.what()));
      throw Error(fmt::format("{} failed: {} (run {} stored as failed)", probe.name(), e.what(), run_id_));
    } catch (const std::exception& e) {  // bad_alloc and the like: the run is failed, not left running
      progress_.clear();
      db_.finish_run(run_id_, "failed", fmt::format("{}: internal error: {}", probe.name(), e.what()));
      throw;
    }
    for (const auto& fit : calibrate::plateau_fits(run_id_, results, int(topology_.caches().size()), reached_memory_))
      if (const auto id = stored_device(fit.device)) db_.put_fit(run_id_, *id, fit);
    all_.insert(all_.end(), std::make_move_iterator(results.begin()), std::make_move_iterator(results.end()));
  }

  void finish() { progress_.clear(); }

 private:
  std::int64_t device_of(const std::string& device) const {
    const auto other = other_devices_.find(device);
    return other == other_devices_.end() ? device_id_ : other->second;
  }
  // The stored device a fit's key names; nothing for a key no device was recorded under.
  std::optional<std::int64_t> stored_device(const std::string& key) const {
    if (key == "cpu") return device_id_;
    const auto other = other_devices_.find(key);
    return other == other_devices_.end() ? std::nullopt : std::optional<std::int64_t>(other->second);
  }
  void add_device(const DeviceInfo& d) {
    other_devices_[DeviceId::of(d).key()] = db_.upsert_device(machine_id_, d);
    if (d.properties.contains("driver"))
      db_.note_environment(run_id_, fmt::format("driver {}:{}", d.kind, d.ordinal), d.properties.value("driver", std::string()));
  }

  store::Store& db_;
  const Topology& topology_;
  const RunSettings& settings_;
  std::int64_t machine_id_, device_id_, run_id_;
  Progress progress_;
  bool reached_memory_;
  std::vector<Measurement> all_;
  std::map<std::string, std::int64_t> other_devices_;  // "gpu:0" -> device id
};

// The finished run: calibrated, marked complete and shown. Exit 1 when a supported
// measurement failed its validation.
int finish_run(store::Store& db, std::int64_t run_id, const RunOptions& opt) {
  // Measurements and samples are read once; calibration adds fits and finishing changes
  // the run record, so only those two are read again.
  auto view = load_run_view(db, run_id);
  store_calibration(db, view);
  db.finish_run(run_id, "complete");
  view.run = *db.run(run_id);
  view.fits = db.fits(run_id);
  if (opt.json) std::cout << reports::json_text(reports::run_to_json(view)) << "\n";
  else if (!opt.quiet) std::cout << reports::render_run_text(view) << fmt::format("stored as run {} in {}\n", run_id, db.path());
  for (const auto& m : view.measurements)
    if (!m.valid && m.supported) return 1;
  return 0;
}

}  // namespace

int execute_run(const GlobalOptions& global, const RunOptions& opt) {
  std::vector<std::string> selected = opt.probes;
  // Links measured by the fleet before the node probes take the place of their probe.
  if (!opt.premeasured.empty())
    std::erase_if(selected, [&](const std::string& n) { return n == opt.premeasured.front().probe; });
  const auto probes = ProbeRegistry::instance().select(selected);
  Topology topology;
  const bool gpu_probes = std::any_of(probes.begin(), probes.end(), [](const auto& p) {
    const std::string_view name = p->name();
    return name.starts_with("gpu.") || name.starts_with("cuda.");
  });
  const RunSettings settings = run_settings(opt, topology, gpu_probes);
  for (const auto& p : probes) p->check(settings, topology);

  store::Store db(store::resolve_database_path(global.db), {global.busy_timeout_ms});
  const std::int64_t machine_id = db.upsert_machine(describe_machine(topology));
  const std::int64_t device_id = db.upsert_device(machine_id, {"cpu", 0, topology.cpu_model(), topology.to_json()});
  std::vector<std::string> probe_names;
  for (const auto& p : probes) probe_names.emplace_back(p->name());
  const std::int64_t run_id =
      db.begin_run(machine_id, global.command_line, settings_json(settings, probe_names), describe_environment());

  g_stop = false;
  for (int s : kStopSignals) std::signal(s, on_stop_signal);
  RunSession session(db, topology, settings, machine_id, device_id, run_id);
  session.add_premeasured(opt.premeasured);
  int index = 0;
  for (const auto& probe : probes) {
    if (g_stop) break;
    session.run(*probe, ++index, int(probes.size()));
  }
  session.finish();
  for (int s : kStopSignals) std::signal(s, SIG_DFL);

  if (g_stop) {
    db.finish_run(run_id, "interrupted", "stopped by a signal; finished results are kept");
    std::cerr << fmt::format("roofaudit: interrupted; run {} keeps {} finished measurements\n", run_id,
                             db.run(run_id)->measurement_count);
    return 130;
  }
  return finish_run(db, run_id, opt);
}

namespace {

// Whether the --probes selectors (none: every probe) can select a probe named by one of
// `names` (a name, or a family prefix such as "gpu.").
bool selects_any(const std::vector<std::string>& selectors, const std::vector<std::string>& names) {
  if (selectors.empty()) return true;
  for (std::string sel : selectors) {
    if (sel.ends_with(".*")) sel.pop_back();
    for (const std::string& name : names) {
      const bool family = sel.ends_with('.');
      if (sel == name || (family && (name.rfind(sel, 0) == 0 || sel.rfind(name, 0) == 0)) ||
          (!family && name.ends_with('.') && sel.rfind(name, 0) == 0))
        return true;
    }
  }
  return false;
}

}  // namespace

void add_run_verb(CLI::App& app, const GlobalOptions& global, Action& action) {
  auto* cmd = app.add_subcommand("run", "run probes and store one run");
  auto opt = std::make_shared<RunOptions>();
  cmd->add_option("--probes", opt->probes, "probes to run, comma-separated; 'cpu.' or 'cpu.*' selects a family")
      ->delimiter(',');
  cmd->add_flag("--quick", opt->quick, "fewer repetitions and shorter samples (memory probes in under 30 s)");
  cmd->add_flag("--json", opt->json, "print the stored run as JSON");
  cmd->add_option("--threads", opt->threads, "threads for multi-threaded probes (default: one per core)")
      ->check(whole_at_least(1));
  cmd->add_option("--min-size", opt->min_size, "smallest working set of the memory sweeps (default 4KiB)");
  cmd->add_option("--max-size", opt->max_size, "largest working set (default: 4x the last-level cache, at least 1GiB)");
  cmd->add_option("--repetitions", opt->repetitions, "timed repetitions per point (default 5, quick 3; at most 1000)")
      ->check(whole_in(1, 1000));
  // Up to a minute: a sample far longer is a typo that would run until killed.
  cmd->add_option("--sample-ms", opt->sample_ms, "target duration of one repetition in ms")
      ->check(finite_in(0, 60000));
  auto* device = cmd->add_option("--device", opt->device,
                  "GPU for the gpu.* (Vulkan) and cuda.* probes: a Vulkan index, cuda:N, a UUID or a name substring "
                  "(see 'roofaudit devices'); each backend measures that same GPU or says it cannot see it "
                  "(default: Vulkan's discrete, then integrated, device, Mesa's CPU implementation only when named; "
                  "CUDA's device 0)");
  auto* model = cmd->add_option("--model", opt->model,
                  "model.decode's model: catalogue name or a Hugging Face config.json (a dense LLaMA-shaped model)")
      ->capture_default_str();
  cmd->add_flag("--fleet", opt->fleet,
                "under mpirun: every node runs the probes, rank 0 measures the MPI links and stores one run per node "
                "(start with mpirun --bind-to none)");
  cmd->callback([&action, &global, opt, device, model] {
    // An option read only by probes the run does not select is refused, never ignored.
    if (model->count() > 0 && !selects_any(opt->probes, {"model.decode"}))
      throw CLI::ValidationError("--model", "model.decode reads it, and --probes does not select model.decode");
    if (device->count() > 0 && !selects_any(opt->probes, {"gpu.", "cuda."}))
      throw CLI::ValidationError("--device", "the gpu.* and cuda.* probes read it, and --probes selects none of them");
    action = [&global, opt] {
      RunOptions o = *opt;
      if (o.probes.empty())
        for (const auto& p : ProbeRegistry::instance().all()) o.probes.emplace_back(p->name());
      return o.fleet ? run_fleet(global, o) : execute_run(global, o);
    };
  });
}

}  // namespace roofaudit::cli
