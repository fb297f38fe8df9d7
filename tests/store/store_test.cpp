#include "measurement_fixture.hpp"
#include "store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "values/error.hpp"
#include "store/database.hpp"
#include "store/paths.hpp"
#include "store/schema.hpp"
#include "test_util.hpp"

namespace roofaudit::store {
namespace {

using roofaudit::testing::read_all;
using roofaudit::testing::ScratchDir;
using roofaudit::testing::write_all;

MachineRecord test_machine() {
  MachineRecord m;
  m.fingerprint = "fp-1";
  m.hostname = "host";
  m.cpu_model = "Test CPU";
  m.cpu_vendor = "Vendor";
  m.architecture = "x86_64";
  m.packages = 1;
  m.cores = 2;
  m.threads = 4;
  m.numa_nodes = 1;
  m.caches_reported = nlohmann::json::array({{{"level", 1}, {"size_bytes", 49152}}});
  m.memory_reported_bytes = 1ULL << 34;
  return m;
}

Measurement test_measurement(double base) {
  Measurement m = roofaudit::testing::cpu_figure("cpu.bandwidth", "read", "bandwidth", "B/s",
                                                 {{"working_set_bytes", 4096}, {"threads", 2}}, "ok");
  m.convention = "stream";
  m.samples = {{base, 0.01}, {base * 1.1, 0.009}, {base * 0.9, 0.011}};
  m.summary = Summary{base * 1.1, base, base * 0.9, base * 1.1, base, base * 0.1, 0.1};
  return m;
}

struct Seeded {
  std::int64_t machine, device, run;
};
Seeded seed(Store& s) {
  const auto machine = s.upsert_machine(test_machine());
  const auto device = s.upsert_device(machine, {"cpu", 0, "Test CPU", {{"cores", 2}}});
  const auto run = s.begin_run(machine, "roofaudit run", {{"quick", true}}, {{"kernel", "6.1"}});
  return {machine, device, run};
}

TEST(Store, RoundTripsRunsMeasurementsSamplesAndFits) {
  ScratchDir dir;
  {
    Store s(dir.file("a.db"));
    const auto ids = seed(s);
    EXPECT_EQ(s.upsert_machine(test_machine()), ids.machine) << "same fingerprint, same machine";
    s.add_measurement(ids.run, ids.device, test_measurement(1e9));
    s.put_fit(ids.run, ids.device, {ids.run, "cpu", "cpu.bandwidth", "read", "plateaus", {{{"level", "L1"}}}});
    s.finish_run(ids.run, "complete");
  }
  Store s(dir.file("a.db"));
  const auto runs = s.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "complete");
  EXPECT_EQ(runs[0].measurement_count, 1);
  EXPECT_EQ(runs[0].uuid.size(), 36u);
  EXPECT_FALSE(runs[0].finished_at.empty());
  EXPECT_EQ(runs[0].environment["kernel"], "6.1");
  const auto machine = s.machine(runs[0].machine_id);
  ASSERT_TRUE(machine);
  EXPECT_EQ(machine->cpu_model, "Test CPU");
  EXPECT_EQ(machine->memory_reported_bytes, 1ULL << 34);
  const auto ms = s.measurements(runs[0].id);
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0].params["working_set_bytes"], 4096);
  ASSERT_EQ(ms[0].samples.size(), 3u);
  EXPECT_DOUBLE_EQ(ms[0].samples[1].value, 1.1e9);
  EXPECT_DOUBLE_EQ(ms[0].summary->best, 1.1e9);
  const auto fits = s.fits(runs[0].id);
  ASSERT_EQ(fits.size(), 1u);
  EXPECT_EQ(fits[0].result[0]["level"], "L1");
}

TEST(Store, FailedValidationKeepsNoFigureAndNoSamples) {
  ScratchDir dir;
  Store s(dir.file("a.db"));
  const auto ids = seed(s);
  auto m = test_measurement(1e9);
  m.valid = false;
  m.validation = "failed: checksum";
  s.add_measurement(ids.run, ids.device, m);
  const auto back = s.measurements(ids.run);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_FALSE(back[0].valid);
  EXPECT_FALSE(back[0].summary.has_value());
  EXPECT_TRUE(back[0].samples.empty());
  EXPECT_EQ(back[0].validation, "failed: checksum");
}

TEST(Store, MigratesVersionOneDatabaseKeepingItsData) {
  ScratchDir dir;
  {
    Database db(dir.file("old.db"), 1000);
    migrate(db, 1);
    ASSERT_EQ(db.user_version(), 1);
    db.exec("INSERT INTO machines (fingerprint, hostname, cpu_model, cpu_vendor, architecture, packages, cores, threads,"
            " numa_nodes, caches_reported, memory_reported_bytes, first_seen) VALUES ('fp', 'h', 'Old CPU', 'v', 'x86_64',"
            " 1, 1, 1, 1, '[]', 1, 'then')");
    db.exec("INSERT INTO runs (uuid, machine_id, started_at, status, command_line, settings, environment, owner)"
            " VALUES ('u-1', 1, 'then', 'complete', 'roofaudit run', '{}', '{}', 'x/y/1/2')");
  }
  Store s(dir.file("old.db"));
  EXPECT_EQ(s.database().user_version(), latest_schema_version());
  const auto runs = s.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].uuid, "u-1");
  EXPECT_EQ(s.machine(runs[0].machine_id)->cpu_model, "Old CPU");
  EXPECT_TRUE(s.fits(runs[0].id).empty());  // the table version 2 added exists and is empty
}

// A database on another machine: two finished runs (one tagged) and one still running.
void fill_other(const std::string& path) {
  Store s(path);
  auto m = test_machine();
  m.fingerprint = "fp-other";
  m.hostname = "other";
  const auto machine = s.upsert_machine(m);
  const auto device = s.upsert_device(machine, {"cpu", 0, "Other CPU", {{"cores", 8}}});
  const auto gpu = s.upsert_device(machine, {"gpu", 0, "Other GPU", {{"driver", "x 1.0"}}});
  for (int i = 0; i < 3; ++i) {
    const auto run = s.begin_run(machine, "roofaudit run", {{"quick", true}}, {{"kernel", "6.5"}});
    s.add_measurement(run, device, test_measurement(1e9 * (i + 1)));
    auto g = test_measurement(5e11);
    g.device = "gpu:0";
    s.add_measurement(run, gpu, g);
    s.put_fit(run, device, {run, "cpu", "cpu.bandwidth", "read", "plateaus", {{{"level", "L1"}, {"run", i}}}});
    s.note_environment(run, "driver gpu:0", "x 1.0");
    if (i < 2) s.finish_run(run, "complete");
  }
  s.tag_run(1, "golden");
}

TEST(Store, MergeCopiesFinishedRunsOnceAndLeavesTheOtherFileAlone) {
  ScratchDir dir;
  fill_other(dir.file("other.db"));
  {
    // The other writer is gone, so opening marked its running run interrupted; put it
    // back to running as if its writer were alive on another host.
    Database raw(dir.file("other.db"), 1000);
    raw.exec("UPDATE runs SET status = 'running', owner = 'elsewhere/boot/1/1' WHERE id = 3");
  }
  const std::string other_bytes = read_all(dir.file("other.db"));
  Store s(dir.file("main.db"));
  const auto own = seed(s);
  s.add_measurement(own.run, own.device, test_measurement(2e9));
  s.finish_run(own.run, "complete");
  s.tag_run(own.run, "golden");  // the same name here: ours stays

  const auto first = s.merge_from(dir.file("other.db"));
  EXPECT_EQ(first.runs_added, 2);
  EXPECT_EQ(first.runs_present, 0);
  EXPECT_EQ(first.runs_running, 1);
  EXPECT_EQ(first.machines_added, 1);
  EXPECT_EQ(first.measurements_added, 4);
  EXPECT_EQ(first.tags_kept, std::vector<std::string>{"golden"});
  EXPECT_EQ(read_all(dir.file("other.db")), other_bytes) << "the other file is only read";
  EXPECT_FALSE(std::filesystem::exists(dir.file("other.db-shm"))) << "and nothing is left beside it";
  ASSERT_EQ(s.runs().size(), 3u);
  EXPECT_EQ(s.tagged_run("golden"), own.run);

  // The copied runs are the originals: uuid, environment, machine, measurements, samples, fits.
  Store original(dir.file("other.db"));
  for (std::size_t i = 0; i < 2; ++i) {
    const auto from = original.runs()[i];
    const auto to = *s.run(first.new_run_ids[i]);
    EXPECT_EQ(to.uuid, from.uuid);
    EXPECT_EQ(to.started_at, from.started_at);
    EXPECT_EQ(to.environment, from.environment);
    EXPECT_EQ(to.environment["driver gpu:0"], "x 1.0");
    EXPECT_EQ(s.machine(to.machine_id)->fingerprint, "fp-other");
    const auto a = original.measurements(from.id), b = s.measurements(to.id);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
      EXPECT_EQ(b[k].device, a[k].device);
      EXPECT_EQ(b[k].params, a[k].params);
      ASSERT_EQ(b[k].samples.size(), a[k].samples.size());
      for (std::size_t r = 0; r < a[k].samples.size(); ++r) EXPECT_EQ(b[k].samples[r].value, a[k].samples[r].value);
    }
    ASSERT_EQ(s.fits(to.id).size(), 1u);
    EXPECT_EQ(s.fits(to.id)[0].result, original.fits(from.id)[0].result);
  }
  const auto devices = s.run_devices(first.new_run_ids[0]);
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[1].second.name, "Other GPU");

  const auto second = s.merge_from(dir.file("other.db"));
  EXPECT_EQ(second.runs_added, 0);
  EXPECT_EQ(second.runs_present, 2);
  EXPECT_EQ(second.measurements_added, 0);
  EXPECT_EQ(s.runs().size(), 3u) << "a second merge adds nothing";
}

TEST(Store, MergeRefusesWhatItCannotReadAndKeepsThisDatabase) {
  ScratchDir dir;
  {
    Store s(dir.file("main.db"));
    seed(s);
  }
  const std::string before = read_all(dir.file("main.db"));
  write_all(dir.file("junk.db"), "not a database at all, just some text that is long enough to fill a header block......");
  {
    Database foreign(dir.file("foreign.db"), 1000);
    foreign.exec("CREATE TABLE t (x INTEGER)");
  }
  {
    Database newer(dir.file("newer.db"), 1000);
    migrate(newer);
    newer.exec(fmt::format("PRAGMA user_version = {}", latest_schema_version() + 1));
  }
  Store s(dir.file("main.db"));
  auto expect_error = [&](const std::string& file, const std::string& part) {
    try {
      s.merge_from(dir.file(file));
      ADD_FAILURE() << file << " merged";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error("missing.db", "no such file");
  expect_error("junk.db", "not a database");
  expect_error("foreign.db", "not a roofaudit database");
  expect_error("newer.db", "newer than this roofaudit supports");
  expect_error("main.db", "into itself");
  EXPECT_EQ(s.runs().size(), 1u);
  EXPECT_EQ(read_all(dir.file("main.db")), before);
}

TEST(Store, MergeReadsAnOlderSchema) {
  ScratchDir dir;
  {
    Database old(dir.file("old.db"), 1000);
    migrate(old, 2);  // before the supported column and tags
    old.exec("INSERT INTO machines (fingerprint, hostname, cpu_model, cpu_vendor, architecture, packages, cores, threads,"
             " numa_nodes, caches_reported, memory_reported_bytes, first_seen) VALUES ('fp-old', 'h', 'Old CPU', 'v',"
             " 'x86_64', 1, 1, 1, 1, '[]', 1, 'then')");
    old.exec("INSERT INTO devices (machine_id, kind, ordinal, name, properties) VALUES (1, 'cpu', 0, 'Old CPU', '{}')");
    old.exec("INSERT INTO runs (uuid, machine_id, started_at, status, command_line, settings, environment, owner)"
             " VALUES ('u-old', 1, 'then', 'complete', 'roofaudit run', '{}', '{}', 'x/y/1/2')");
    old.exec("INSERT INTO measurements (run_id, device_id, probe, probe_version, variant, metric, unit, higher_is_better,"
             " convention, params, valid, validation, median, created_at) VALUES (1, 1, 'cpu.peak', 1, 'fp32', 'peak',"
             " 'FLOP/s', 1, '', '{}', 1, 'ok', 5, 'then')");
    old.exec("INSERT INTO samples (measurement_id, repetition, value, seconds) VALUES (1, 0, 5, 0.1), (1, 1, 6, 0.1)");
  }
  Store s(dir.file("main.db"));
  const auto r = s.merge_from(dir.file("old.db"));
  EXPECT_EQ(r.runs_added, 1);
  const auto ms = s.measurements(r.new_run_ids.at(0));
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_TRUE(ms[0].supported);
  ASSERT_EQ(ms[0].samples.size(), 2u);
  EXPECT_EQ(ms[0].samples[1].value, 6);
  Database still_old(dir.file("old.db"), 1000);
  EXPECT_EQ(still_old.user_version(), 2) << "the other file is not migrated";
}

TEST(Store, RefusesNewerSchemaWithoutTouchingTheFile) {
  ScratchDir dir;
  { Store s(dir.file("new.db")); }
  {
    Database db(dir.file("new.db"), 1000);
    db.exec("PRAGMA user_version = 99");
  }
  const auto before = read_all(dir.file("new.db"));
  try {
    Store s(dir.file("new.db"));
    FAIL() << "opened a newer schema";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_all(dir.file("new.db")), before);
}

TEST(Store, RefusesCorruptFileWithoutTouchingIt) {
  ScratchDir dir;
  std::string garbage(8192, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = char((i * 131) % 251);
  write_all(dir.file("bad.db"), garbage);
  EXPECT_THROW(Store s(dir.file("bad.db")), Error);
  EXPECT_EQ(read_all(dir.file("bad.db")), garbage);
}

TEST(Store, RefusesForeignSqliteDatabase) {
  ScratchDir dir;
  {
    Database db(dir.file("other.db"), 1000);
    db.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me')");
  }
  try {
    Store s(dir.file("other.db"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a roofaudit"), std::string::npos) << e.what();
  }
  Database db(dir.file("other.db"), 1000);
  auto& q = db.prepare("SELECT text FROM notes");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.text(0), "keep me");
}

TEST(Store, UnwritablePathIsAnError) {
  ScratchDir dir;
  write_all(dir.file("plain-file"), "x");
  // A directory cannot be created under a regular file, even by root.
  EXPECT_THROW(Store s(dir.file("plain-file") + "/sub/roofaudit.db"), Error);
}

TEST(Store, LockedDatabaseGivesUpAfterTheTimeout) {
  ScratchDir dir;
  { Store s(dir.file("a.db")); }
  Database holder(dir.file("a.db"), 0);
  holder.exec("BEGIN IMMEDIATE");
  Store s(dir.file("a.db"), {100});
  try {
    s.upsert_machine(test_machine());
    FAIL() << "wrote while another writer held the lock";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("locked"), std::string::npos) << e.what();
  }
  holder.exec("ROLLBACK");
  EXPECT_NO_THROW(s.upsert_machine(test_machine()));
}

TEST(Store, AbandonedRunIsMarkedInterruptedOnOpen) {
  ScratchDir dir;
  std::int64_t run = 0;
  {
    Store s(dir.file("a.db"));
    run = seed(s).run;
    // Same host and boot, but a pid whose start time cannot match: the writer is gone.
    const std::string owner = this_process_owner();
    const std::string dead = owner.substr(0, owner.rfind('/')) + "/0";
    s.database().prepare("UPDATE runs SET owner = ?1 WHERE id = ?2").bind(1, dead).bind(2, run).run();
    release_run_lock(s.path(), run);  // as the writer's death would
  }
  Store s(dir.file("a.db"));
  EXPECT_EQ(s.run(run)->status, "interrupted");
}

// Another host's writer is known alive only by the lock it holds on the run: held, the
// run reads running; gone, every reader (a read-only one too) reads it interrupted,
// without writing anything.
TEST(Store, RunOfAnotherHostReadsRunningWhileItsLockIsHeld) {
  ScratchDir dir;
  Store s(dir.file("a.db"));
  const auto run = seed(s).run;
  s.database().prepare("UPDATE runs SET owner = 'elsewhere/boot/42/1' WHERE id = ?1").bind(1, run).run();
  EXPECT_TRUE(run_lock_held(s.path(), run));
  EXPECT_EQ(Store(dir.file("a.db"), {5000, true}).run(run)->status, "running");
  release_run_lock(s.path(), run);
  Store reader(dir.file("a.db"), {5000, true});
  EXPECT_EQ(reader.run(run)->status, "interrupted");
  EXPECT_EQ(reader.runs().front().status, "interrupted");
  EXPECT_NE(reader.run(run)->error.find("writing process ended"), std::string::npos);
  // Read, not written: the row itself still says running until a writer opens the file.
  Statement& q = s.database().prepare("SELECT status FROM runs WHERE id = ?1");
  q.bind(1, run).step();
  EXPECT_EQ(q.text(0), "running");
  q.reset();
}

TEST(Store, RunOfALiveProcessStaysRunning) {
  ScratchDir dir;
  Store s(dir.file("a.db"));
  const auto run = seed(s).run;
  EXPECT_EQ(s.recover_abandoned_runs(), 0);
  EXPECT_EQ(s.run(run)->status, "running");
  EXPECT_TRUE(owner_is_alive(this_process_owner()));
}

TEST(Store, ConcurrentWritersBothSucceed) {
  ScratchDir dir;
  { Store s(dir.file("a.db")); }
  auto writer = [&](int k) {
    Store s(dir.file("a.db"), {10000});
    const auto ids = seed(s);
    for (int i = 0; i < 100; ++i) s.add_measurement(ids.run, ids.device, test_measurement(1e9 + k * 1000 + i));
    s.finish_run(ids.run, "complete");
  };
  std::thread a(writer, 1), b(writer, 2);
  a.join();
  b.join();
  Store s(dir.file("a.db"));
  const auto runs = s.runs();
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& r : runs) {
    EXPECT_EQ(r.status, "complete");
    EXPECT_EQ(r.measurement_count, 100);
  }
}

TEST(Paths, FlagThenEnvironmentThenXdgDefault) {
  {
    const testing::ScopedEnv db("ROOFAUDIT_DB", "/tmp/env.db");
    EXPECT_EQ(resolve_database_path("/tmp/flag.db"), "/tmp/flag.db");
    EXPECT_EQ(resolve_database_path(""), "/tmp/env.db");
  }
  const testing::ScopedEnv no_db("ROOFAUDIT_DB", nullptr);
  {
    const testing::ScopedEnv xdg("XDG_DATA_HOME", "/tmp/xdg");
    EXPECT_EQ(resolve_database_path(""), "/tmp/xdg/roofaudit/roofaudit.db");
  }
  const testing::ScopedEnv no_xdg("XDG_DATA_HOME", nullptr);
  const testing::ScopedEnv home("HOME", "/tmp/home");
  EXPECT_EQ(resolve_database_path(""), "/tmp/home/.local/share/roofaudit/roofaudit.db");
}

}  // namespace
}  // namespace roofaudit::store
