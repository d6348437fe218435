// The in-process write gate (写入闸门) of the SQLite backend. SQLite has one writer per
// database file; a connection that finds the write lock taken calls its busy handler, which
// for sqlite3_busy_timeout *sleeps* (1, 2, 5, ... 100 ms) and tries again. Writers of one
// process (a server's 32 cadres' edits, audit appends, flag decisions) would queue behind
// each other by sleeping: the lock is free again after about a millisecond, but the sleeper
// looks 100 ms later, and under load the tail of a write was a second.
//
// So every write transaction of a connection attached here first takes the gate of its file
// (one per database file per process), a FIFO queue: a writer waits on a condition variable
// of its own and is handed the gate by the writer before it when that one's transaction
// ends, never sleeping. The busy timeout remains, for other processes (the CLI) only.
//
// How it is hooked: Exec (sqlite_util.h) sends "BEGIN IMMEDIATE" through BeginImmediate, and
// after every statement it runs calls ReleaseIfEnded; the connection's rollback hook
// releases the gate when SQLite rolls a transaction back on its own (an I/O error, a full
// disk), and its WAL hook at a commit. That hook replaces SQLite's automatic checkpoint
// (every 1,000 pages, in the committing thread): a thread of the gate's own checkpoints the
// file, at most once per 100 ms, off every writer's path. A transaction is thus gated
// from its BEGIN IMMEDIATE to its COMMIT or ROLLBACK, whichever code path starts or ends it.
// Deferred transactions that write, and connections not attached (read-only scans, the lock probe),
// are not gated: for them SQLite's lock and busy timeout work as before.
//
// Waiting for the gate is bounded by the connection's busy timeout, as the lock was: after
// it, BeginImmediate fails as a busy SQLite would (kUnavailable, IsInUse), so that a write
// during a long import still fails after the same time instead of waiting for ever.
//
// Thread-safety: all functions may be called from any thread; one connection is used by one
// thread at a time (the transaction may begin on one thread and end on another).
#pragma once

#include <sqlite3.h>

#include <filesystem>

#include "core/status.h"

namespace fupin::store::sqlite_detail {

// Gates the write transactions of `db`, a connection to the database file `path`, waiting
// at most `busy_timeout_ms` for the gate. A path that is not a file (":memory:", "") is not
// gated. Call once, before the connection writes.
void AttachWriteGate(sqlite3* db, const std::filesystem::path& path, int busy_timeout_ms);
// Before sqlite3_close: releases the gate if the connection holds it, and forgets it.
void DetachWriteGate(sqlite3* db);

// Takes the gate of db's file (when attached), then runs BEGIN IMMEDIATE; on failure the
// gate is released again. The status is Exec's (kUnavailable with kInUseMessage when busy).
Status BeginImmediate(sqlite3* db);
// Releases the gate when `db` holds it and has no transaction open any more (after COMMIT,
// ROLLBACK, or a failed statement that ended the transaction).
void ReleaseIfEnded(sqlite3* db);

// For tests: whether `db` holds its file's gate, and how many writers wait for that gate.
bool HoldsWriteGate(sqlite3* db);
int WriteGateWaiters(sqlite3* db);

}  // namespace fupin::store::sqlite_detail
