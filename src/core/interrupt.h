// Interrupt (中断): Ctrl-C as a request that long work stops at its next safe point.
//
// InstallInterruptHandler() makes the first SIGINT or SIGTERM only set a flag; work such as
// an import polls Interrupted() between steps, undoes what it began and returns. A second
// signal ends the process the usual way, so a user is never stuck. Thread-safe: the flag is
// a lock-free atomic, set from the signal handler and read from any thread.
#pragma once

namespace fupin {

// Installs the handler for SIGINT and SIGTERM. Call once, early in main().
void InstallInterruptHandler();

// True once a signal arrived after InstallInterruptHandler(); false if it was never installed.
bool Interrupted();

}  // namespace fupin
