// copy_to_huge_pages (affinity/huge_pages.h): the copy over the core's pool.
#include "affinity/huge_pages.h"

#include <algorithm>
#include <cstring>

#include "thread_pool.h"

namespace affinity {

HugePageBuffer copy_to_huge_pages(const void* src, size_t bytes, int threads) {
  HugePageBuffer copy(bytes);
  const size_t pages = (bytes + HugePageBuffer::kHugePage - 1) / HugePageBuffer::kHugePage;
  const int n = bytes < HugePageBuffer::kHugePageMin ? 1 : static_cast<int>(std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), pages)));
  if (n == 1) {
    if (bytes > 0) std::memcpy(copy.data(), src, bytes);
    return copy;
  }
  char* to = copy.as<char>();
  const char* from = static_cast<const char*>(src);
  parallel_for(n, n, [&](int64_t k, int) {
    const size_t a = std::min(bytes, pages * static_cast<size_t>(k) / static_cast<size_t>(n) * HugePageBuffer::kHugePage);
    const size_t b = std::min(bytes, pages * static_cast<size_t>(k + 1) / static_cast<size_t>(n) * HugePageBuffer::kHugePage);
    if (b > a) std::memcpy(to + a, from + a, b - a);
  });
  return copy;
}

}  // namespace affinity
