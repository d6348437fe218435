// Helpers the subcommands share: opening the store of --db (a path or a store URI,
// store/open.h), the Actor of --user, failing with a message, writing an output file through
// a temporary name.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "core/actor.h"
#include "core/status.h"
#include "store/open.h"

namespace fupin::cli {

// Exit status of an import stopped by Ctrl-C (SIGINT) or SIGTERM, its batch rolled back:
// 128 + SIGINT, as shells report a process that SIGINT ended.
inline constexpr int kExitInterrupted = 130;

// How the command opens the store: another fupin process's write lock is waited for
// FUPIN_LOCK_WAIT_S seconds (default 30: an import of a small batch by another process ends
// well within it), then refused naming the other process.
inline store::OpenOptions CliStoreOptions() {
  store::OpenOptions options;
  options.busy_timeout_ms = 30000;
  if (const char* env = std::getenv("FUPIN_LOCK_WAIT_S")) {
    char* end = nullptr;
    const long seconds = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && seconds >= 0 && seconds <= 86400)
      options.busy_timeout_ms = static_cast<int>(seconds * 1000);
  }
  return options;
}

// The database file that --db names (a path or a sqlite: URI), for the files kept beside it
// (DB.reports, DB.snapshot); `db` itself when it names no file (postgresql://: opening it
// fails first).
inline std::string DbFilePath(const std::string& db) {
  auto location = store::ParseStoreUri(db);
  if (!location || location->backend != store::StoreBackend::kSqlite) return db;
  return location->path.string();
}

// Opens the store of --db ("PATH", "sqlite:PATH", "sqlite:///abs/path"), creating it.
inline Result<std::unique_ptr<store::Store>> OpenCliStore(const std::string& db) {
  return store::OpenStore(db, CliStoreOptions());
}

// Opens a database that `fupin import` made; a missing file is an error, not a new store.
inline Result<std::unique_ptr<store::Store>> OpenExisting(const std::string& db, bool zh) {
  ASSIGN_OR_RETURN(store::StoreLocation location, store::ParseStoreUri(db));
  if (location.backend == store::StoreBackend::kSqlite && !std::filesystem::exists(location.path))
    return Err(NotFound(fmt::format(
        "{} {}", db,
        zh ? "不存在（请先 fupin import）" : "does not exist (run fupin import first)")));
  return OpenCliStore(db);
}

// Who runs the command: --user (`user`), else the OS user ($USER, else "uid<n>"), with the
// role admin, since whoever runs the command holds the database file (core/actor.h).
inline Actor CliActor(std::string_view user) {
  Actor actor;
  actor.role = Role::kAdmin;
  if (!user.empty()) {
    actor.user = std::string(user);
  } else if (const char* env = std::getenv("USER"); env && *env) {
    actor.user = env;
  } else {
    actor.user = "uid" + std::to_string(getuid());
  }
  return actor;
}

inline int Fail(const Status& st, bool zh) {
  fmt::print(stderr, "{}: {}\n", zh ? "错误" : "error", st.message());
  return kExitFailed;
}

// Writes `out` through out + ".part", renamed at the end, so a half-written file is never
// seen. `body` writes to the path it is given.
inline Status WriteAtomically(const std::string& out,
                              const std::function<Status(const std::string& part)>& body) {
  const std::string part = out + ".part";
  Status st = body(part);
  if (st.ok() && std::rename(part.c_str(), out.c_str()) != 0)
    st = Unavailable(fmt::format("cannot rename {} to {}", part, out));
  if (!st.ok()) std::remove(part.c_str());
  return st;
}

}  // namespace fupin::cli
