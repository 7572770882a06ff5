// affinity native core: what the machine offers the kernels — the instruction set of the inner
// loops (chosen at run time) and the number of hardware threads. Plain C++17, no Node.
#pragma once

// GCC/Clang on x86-64 only (target attributes and __builtin_cpu_supports are GNU extensions).
// -DAFFINITY_PORTABLE_ONLY builds the portable code paths alone, as on arm64.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(AFFINITY_PORTABLE_ONLY)
#define AFFINITY_X86 1
#else
#define AFFINITY_X86 0
#endif

namespace affinity {

/** Instruction set of the inner loops. Auto picks the best the CPU supports (at run time). */
enum class Simd : int { Auto = 0, Scalar = 1, Avx2 = 2, Avx512 = 3 };

/**
 * Best instruction set this CPU (and OS) supports, detected once at run time; the environment
 * variable AFFINITY_SIMD=scalar|avx2|avx512 caps it.
 */
Simd detect_simd();
/** Is `s` usable here? (Auto and Scalar always are.) */
bool simd_supported(Simd s);
/** "avx512" | "avx2" | "scalar" | "auto" */
const char* simd_name(Simd s);

/** Hardware threads (std::thread::hardware_concurrency, at least 1). */
int hardware_threads();

/** Upper bound on a kernel's `threads` (the thread pool clamps larger requests; the addons refuse them). */
constexpr int kMaxThreads = 256;

}  // namespace affinity
