// all_in_range (affinity/index_range.h): a branch-free pass the compiler vectorizes, split over the pool.
#include "affinity/index_range.h"

#include <algorithm>
#include <vector>

#include "thread_pool.h"

namespace affinity {
namespace {

bool all_in_range_serial(const int32_t* v, int64_t n, int64_t limit) {
  bool bad = false;
  for (int64_t k = 0; k < n; k++) bad |= (v[k] < 0) | (v[k] >= limit);
  return !bad;
}

}  // namespace

bool all_in_range(const int32_t* v, int64_t n, int64_t limit, int threads) {
  constexpr int64_t kParallelMin = int64_t{1} << 20;
  if (threads <= 1 || n < kParallelMin) return all_in_range_serial(v, n, limit);
  const int64_t parts = std::min<int64_t>(4 * static_cast<int64_t>(threads), n / (kParallelMin / 4));
  std::vector<char> ok(static_cast<size_t>(parts), 0);
  parallel_for(parts, threads, [&](int64_t k, int) {
    const int64_t a = n * k / parts, b = n * (k + 1) / parts;
    ok[static_cast<size_t>(k)] = all_in_range_serial(v + a, b - a, limit) ? 1 : 0;
  });
  return std::find(ok.begin(), ok.end(), 0) == ok.end();
}

}  // namespace affinity
