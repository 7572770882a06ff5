// Cooperative cancellation of kernel calls. While a CancelScope is alive on a thread, every
// parallel loop a kernel called from that thread runs checks *flag before each task (a row
// block, a block of rows of a solve); once it reads non-zero, the remaining tasks are skipped
// and the kernel throws Cancelled. The outputs are then partly written: the caller discards
// them. The flag is written by another thread (the JavaScript side stores 1 into an Int32Array
// on a SharedArrayBuffer) and read with a relaxed atomic load.
#pragma once

#include <cstdint>
#include <stdexcept>

namespace affinity {

class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("cancelled") {}
};

namespace detail {
inline thread_local const int32_t* cancel_flag = nullptr;
}

/** True when `flag` is set (null: never). */
inline bool cancel_flag_set(const int32_t* flag) { return flag && __atomic_load_n(flag, __ATOMIC_RELAXED) != 0; }

/** Makes `flag` (null: none) the calling thread's cancellation flag for its lifetime. */
class CancelScope {
 public:
  explicit CancelScope(const int32_t* flag) : previous_(detail::cancel_flag) { detail::cancel_flag = flag; }
  ~CancelScope() { detail::cancel_flag = previous_; }
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  const int32_t* previous_;
};

/** The calling thread's flag (null when there is none). */
inline const int32_t* current_cancel_flag() { return detail::cancel_flag; }

}  // namespace affinity
