#include "affinity/platform.h"

#include <cstdlib>
#include <cstring>
#include <thread>

namespace affinity {
namespace {

Simd detect_uncached() {
  Simd best = Simd::Scalar;
#if AFFINITY_X86
  // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Simd::Avx2;
  if (best == Simd::Avx2 && __builtin_cpu_supports("avx512f")) best = Simd::Avx512;
#endif
  // AFFINITY_SIMD=scalar|avx2|avx512 caps the choice (testing, or CPUs that clock down on AVX-512)
  if (const char* env = std::getenv("AFFINITY_SIMD")) {
    Simd cap = best;
    if (std::strcmp(env, "scalar") == 0) cap = Simd::Scalar;
    else if (std::strcmp(env, "avx2") == 0) cap = Simd::Avx2;
    else if (std::strcmp(env, "avx512") == 0) cap = Simd::Avx512;
    if (static_cast<int>(cap) < static_cast<int>(best)) best = cap;
  }
  return best;
}

}  // namespace

Simd detect_simd() {
  static const Simd s = detect_uncached();
  return s;
}

bool simd_supported(Simd s) {
  return s == Simd::Auto || static_cast<int>(s) <= static_cast<int>(detect_simd());
}

const char* simd_name(Simd s) {
  switch (s) {
    case Simd::Avx512: return "avx512";
    case Simd::Avx2: return "avx2";
    case Simd::Scalar: return "scalar";
    default: return "auto";
  }
}

int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace affinity
