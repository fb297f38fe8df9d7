#pragma once
// Who writes a run: the process that began it, named so that another process can tell
// whether it still lives (a run left 'running' by a dead writer is interrupted).
#include <string>

namespace roofaudit::store {

// Identity of the calling process, unique across reboots: host/boot-id/pid/start-time.
std::string this_process_owner();
// Whether the process named by an owner string is still alive (true when unknowable,
// e.g. it ran on another host).
bool owner_is_alive(const std::string& owner);
std::string utc_now_iso8601();

}  // namespace roofaudit::store
