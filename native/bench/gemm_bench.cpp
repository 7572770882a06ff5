// gemm throughput at the shapes of issue 18's models. Not a test (not registered with ctest).
//   gemm_bench [repeats=15] [simd=auto|avx512|avx2|scalar] [shape filter (substring)] [threads: 1|2|0 = both]
// Prints GFLOP/s = 2·batch·M·N·K / time: the median of the repeats, with min–max, per shape,
// op pair and thread count. C is written with β = 0 (forward) unless the row says β=1.
// "cpu" is the same work over the process's CPU time (all threads), i.e. GFLOP/s per busy core:
// unlike the wall-clock figure it does not drop when other processes take the CPUs (but it does
// not show time a thread spends waiting for the others either).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <vector>

#include "affinity/gemm.h"

using namespace affinity;

namespace {

struct Shape {
  const char* name;
  int64_t batch, m, n, k;
};

void bench(const Shape& s, Transpose ta, Transpose tb, float beta, int threads, int repeats, Simd simd) {
  const bool t_a = ta == Transpose::T, t_b = tb == Transpose::T;
  std::vector<float> a(static_cast<size_t>(s.batch * s.m * s.k)), b(static_cast<size_t>(s.batch * s.k * s.n)),
      c(static_cast<size_t>(s.batch * s.m * s.n));
  std::mt19937 g(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& x : a) x = u(g);
  for (float& x : b) x = u(g);
  std::fill(c.begin(), c.end(), 0.0f);
  GemmParams p;
  p.trans_a = ta;
  p.trans_b = tb;
  p.m = s.m;
  p.n = s.n;
  p.k = s.k;
  p.batch = s.batch;
  p.alpha = 1.0f;
  p.beta = beta;
  p.a = a.data();
  p.lda = t_a ? s.m : s.k;
  p.stride_a = s.m * s.k;
  p.b = b.data();
  p.ldb = t_b ? s.k : s.n;
  p.stride_b = s.k * s.n;
  p.c = c.data();
  p.ldc = s.n;
  p.stride_c = s.m * s.n;
  p.row_start = 0;
  p.row_end = s.batch * s.m;
  p.threads = threads;
  p.simd = simd;
  const double flops = 2.0 * s.batch * s.m * s.n * s.k;
  gemm(p);  // warm-up: pages, pool threads
  std::vector<double> gf, cpu;
  const auto cpu_seconds = [] {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  for (int r = 0; r < repeats; r++) {
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    gemm(p);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    gf.push_back(flops / sec * 1e-9);
    cpu.push_back(flops / (cpu_seconds() - c0) * 1e-9);
  }
  std::sort(gf.begin(), gf.end());
  std::sort(cpu.begin(), cpu.end());
  std::printf("%-34s %c%c beta=%g threads=%d  %7.1f GFLOP/s  (min %.1f, max %.1f)  cpu %6.1f per core\n", s.name,
              t_a ? 'T' : 'N', t_b ? 'T' : 'N', beta, threads, gf[gf.size() / 2], gf.front(), gf.back(),
              cpu[cpu.size() / 2]);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 15;
  Simd simd = Simd::Auto;
  if (argc > 2) {
    if (!std::strcmp(argv[2], "avx512")) simd = Simd::Avx512;
    else if (!std::strcmp(argv[2], "avx2")) simd = Simd::Avx2;
    else if (!std::strcmp(argv[2], "scalar")) simd = Simd::Scalar;
  }
  std::printf("simd %s (detected %s), %d repeats, median (min-max)\n", simd_name(simd == Simd::Auto ? detect_simd() : simd),
              simd_name(detect_simd()), repeats);
  const Shape shapes[] = {{"4096x256 . 256x256", 1, 4096, 256, 256},
                          {"8192x64 . 64x3400 (output layer)", 1, 8192, 3400, 64},
                          {"200 x (200x64 . 64x200) attention", 200, 200, 200, 64},
                          {"512x512 . 512x512", 1, 512, 512, 512},
                          {"20 x (200x64 . 64x200) small batch", 20, 200, 200, 64},
                          {"2000x2000 . 2000x256 (spd update)", 1, 2000, 2000, 256}};
  const std::pair<Transpose, Transpose> ops[] = {
      {Transpose::N, Transpose::N}, {Transpose::N, Transpose::T}, {Transpose::T, Transpose::N}};
  const char* filter = argc > 3 ? argv[3] : "";
  const int only_threads = argc > 4 ? std::atoi(argv[4]) : 0;
  for (const Shape& s : shapes) {
    if (!std::strstr(s.name, filter)) continue;
    for (int threads : {1, 2}) {
      if (only_threads && threads != only_threads) continue;
      for (const auto& op : ops) bench(s, op.first, op.second, 0.0f, threads, repeats, simd);
    }
  }
  return 0;
}
