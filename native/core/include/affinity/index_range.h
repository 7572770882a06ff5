// affinity native core: whether an index array's values all lie in [0, limit), scanned by threads
// of the core's pool. The kernels' validation reads whole index arrays (tens of MB) on the calling
// thread before a parallel kernel runs: serial time that capped the Hogwild epochs' scaling.
// Plain C++17, no Node.
#pragma once

#include <cstdint>

namespace affinity {

/** Whether v[0, n) all lie in [0, limit), over up to `threads` participants (one under 1M values). */
bool all_in_range(const int32_t* v, int64_t n, int64_t limit, int threads = 1);

}  // namespace affinity
