// The draws of bprEpoch (src/kernels/bprEpoch.ts), shared by the sequential epoch (bpr_epoch.cpp)
// and the Hogwild one (hogwild.cpp, hogwild_steps.inc): xoshiro128** ported exactly and the index
// draw ⌊(next / 2^32) · n⌋ in float64. No multiply-add to contract here, so -ffp-contract=off
// (bpr_epoch.cpp) changes nothing in them.
#pragma once

#include <cmath>
#include <cstdint>

namespace affinity {
namespace detail {

/** xoshiro128** next 32-bit value (src/data/xoshiro128.ts xoshiroNext); s is the 4-word state. */
inline uint32_t next(uint32_t* s) {
  const uint32_t s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
  const uint32_t m = s1 * 5u;
  const uint32_t result = ((m << 7) | (m >> 25)) * 9u;
  const uint32_t t = s1 << 9;
  const uint32_t n2 = s2 ^ s0;
  const uint32_t n3 = s3 ^ s1;
  s[1] = s1 ^ n2;
  s[0] = s0 ^ n3;
  s[2] = n2 ^ t;
  s[3] = (n3 << 11) | (n3 >> 21);
  return result;
}

/** ⌊(next / 2^32) · n⌋ in float64, as the reference computes it. */
inline int64_t draw_index(uint32_t* s, int64_t n) {
  return static_cast<int64_t>(std::floor((static_cast<double>(next(s)) / 4294967296.0) * static_cast<double>(n)));
}

}  // namespace detail
}  // namespace affinity
