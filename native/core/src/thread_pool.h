// A small process-wide pool of std::threads running parallel-for jobs.
// The calling thread always takes part in its own job, so a job finishes even when every
// worker is busy with other callers' jobs (several kernel calls may run at once).
#pragma once

#include <cstdint>
#include <functional>

#include "affinity/platform.h"  // kMaxThreads

namespace affinity {

/**
 * Runs fn(task, slot) for every task in [0, tasks) on up to `threads` participants (the
 * caller included). Tasks are handed out one at a time from an atomic counter (dynamic
 * scheduling; no lock in the loop). `slot` is in [0, threads) and unique per participant,
 * so it can index per-thread scratch. Rethrows the first exception thrown by fn. Under a
 * CancelScope (affinity/cancel.h) tasks are skipped once the flag is set, and the call then
 * throws Cancelled.
 */
void parallel_for(int64_t tasks, int threads, const std::function<void(int64_t task, int slot)>& fn);

}  // namespace affinity
