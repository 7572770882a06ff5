#include "output_pages.h"

#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace affinity {

bool page_resident(const void* p) {
#if defined(__linux__)
  const long size = sysconf(_SC_PAGESIZE);
  if (size <= 0) return true;
  const uintptr_t page = reinterpret_cast<uintptr_t>(p) & ~(static_cast<uintptr_t>(size) - 1);
  unsigned char in_core = 1;
  if (mincore(reinterpret_cast<void*>(page), static_cast<size_t>(size), &in_core) != 0) return true;
  return (in_core & 1) != 0;
#else
  (void)p;
  return true;
#endif
}

}  // namespace affinity
