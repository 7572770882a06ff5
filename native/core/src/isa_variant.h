// For the sources compiled once per instruction set into namespaces portable, avx2 and avx512
// (als_half_step.cpp with als_rows.inc, hogwild.cpp with hogwild_steps.inc): the copy of a function
// that runs for a resolved Simd level. avx2:: and avx512:: exist only on x86, hence a macro.
#pragma once

#include "affinity/platform.h"  // AFFINITY_X86, Simd

#if AFFINITY_X86
/** &avx512::fn, &avx2::fn or &portable::fn for the Simd level s (never Auto: resolve it first). */
#define AFFINITY_ISA_VARIANT(s, fn) \
  ((s) == ::affinity::Simd::Avx512 ? &avx512::fn : (s) == ::affinity::Simd::Avx2 ? &avx2::fn : &portable::fn)
#else
#define AFFINITY_ISA_VARIANT(s, fn) ((void)(s), &portable::fn)
#endif
