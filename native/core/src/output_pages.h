// Whether a kernel's output is already in memory (Linux mincore; elsewhere the answer is "yes").
#pragma once

namespace affinity {

/**
 * Is the page holding p in memory? False for the pages of a fresh output that nothing has written
 * yet (the first store to each faults it in, zeroed), true for a reused one.
 */
bool page_resident(const void* p);

}  // namespace affinity
