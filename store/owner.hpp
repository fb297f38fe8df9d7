#pragma once
// Who writes a run: the process that began it, named so that another process can tell
// whether it still lives (a run left 'running' by a dead writer is interrupted).
#include <cstdint>
#include <string>

namespace roofaudit::store {

// Identity of the calling process, unique across reboots: host/boot-id/pid/start-time.
std::string this_process_owner();
// Whether the process named by an owner string is alive on this host (false for a
// process of another host or of an earlier boot).
bool owner_is_alive(const std::string& owner);

// The writer of a running run holds a lock on one byte of the database file, named by the
// run (an open-file-description lock, past the bytes SQLite locks itself), for as long as
// its process lives: a reader that finds no holder knows the writer is gone, wherever the
// file's locks are shared (this host, or a file system that carries locks). The lock's
// file descriptors stay open for the process's life: closing any descriptor of the file
// would drop SQLite's own POSIX locks of this process.
void hold_run_lock(const std::string& db_path, std::int64_t run_id);
void release_run_lock(const std::string& db_path, std::int64_t run_id);
bool run_lock_held(const std::string& db_path, std::int64_t run_id);
// A running run's writer lives: its lock is held, or (runs of writers that took no lock)
// its owner is a live process of this host.
bool run_writer_alive(const std::string& db_path, std::int64_t run_id, const std::string& owner);
std::string utc_now_iso8601();

}  // namespace roofaudit::store
