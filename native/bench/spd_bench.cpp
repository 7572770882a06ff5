// spdSolve time and memory at closed-form-model sizes (EASE inverts XᵀX + λI over the items).
// Not a test (not registered with ctest).
//   spd_bench n [inverse|r=<cols>] [threads=2] [repeats=1] [block=0]
// A = G·Gᵀ + λ·I with G n × 64 uniform in [−1, 1) and λ = 64 (a Gram matrix of rank 64 plus the
// ridge; built with gemm, not timed). Prints per repeat the wall and CPU seconds of spd_solve,
// GFLOP/s (n³ for the inverse, n³/3 + 2n²r for a solve), the process's peak resident memory
// (getrusage; it includes A and the output, 4n² bytes each), and the residual
// max_i |(A·X − B)_ij| over three columns j.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "affinity/gemm.h"
#include "affinity/nn.h"

using namespace affinity;

namespace {

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double peak_rss_mib() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: spd_bench n [inverse|r=<cols>] [threads=2] [repeats=1] [block=0]\n");
    return 2;
  }
  const int64_t n = std::atoll(argv[1]);
  const std::string mode = argc > 2 ? argv[2] : "inverse";
  const bool inverse = mode == "inverse";
  const int64_t r = inverse ? n : std::atoll(mode.c_str() + 2);
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 1;
  const int64_t block = argc > 5 ? std::atoll(argv[5]) : 0;
  const int64_t rank = 64;

  std::vector<float> g(static_cast<size_t>(n * rank)), a(static_cast<size_t>(n * n)), b, out(static_cast<size_t>(n * r));
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& x : g) x = u(gen);
  GemmParams gp;  // A = G·Gᵀ, then + λ on the diagonal
  gp.trans_b = Transpose::T;
  gp.m = n;
  gp.n = n;
  gp.k = rank;
  gp.a = g.data();
  gp.lda = rank;
  gp.b = g.data();
  gp.ldb = rank;
  gp.c = a.data();
  gp.ldc = n;
  gp.row_end = n;
  gp.threads = threads;
  gemm(gp);
  for (int64_t i = 0; i < n; i++) a[i * n + i] += 64.0f;
  if (!inverse) {
    b.resize(static_cast<size_t>(n * r));
    for (float& x : b) x = u(gen);
  }
  const double flops = inverse ? static_cast<double>(n) * n * n : static_cast<double>(n) * n * n / 3 + 2.0 * n * n * r;
  std::printf("spdSolve n=%lld %s threads=%d block=%lld (A and out: %.0f MiB each)\n", static_cast<long long>(n),
              inverse ? "inverse" : ("r=" + std::to_string(r)).c_str(), threads, static_cast<long long>(block),
              4.0 * n * n / 1048576.0);
  for (int rep = 0; rep < repeats; rep++) {
    SpdSolveParams p;
    p.n = n;
    p.a = a.data();
    p.inverse = inverse;
    p.b = inverse ? nullptr : b.data();
    p.r = inverse ? 0 : r;
    p.out = out.data();
    p.row_end = n;
    p.threads = threads;
    p.block = block;
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    spd_solve(p);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - c0;
    // residual on three columns: (A·X)_ij − B_ij (A is stored whole and symmetric here; the
    // solver read only its lower triangle)
    double worst = 0;
    for (int64_t j : {int64_t(0), r / 2, r - 1}) {
      for (int64_t i = 0; i < n; i++) {
        double s = 0;
        // X's column j (the inverse is symmetric: its row j, read contiguously)
        for (int64_t k = 0; k < n; k++) s += static_cast<double>(a[i * n + k]) * (inverse ? out[j * n + k] : out[k * r + j]);
        const double want = inverse ? (i == j ? 1.0 : 0.0) : b[i * r + j];
        worst = std::max(worst, std::fabs(s - want));
      }
    }
    std::printf("  %.3f s wall, %.3f s cpu, %.1f GFLOP/s, peak RSS %.0f MiB, residual %.2e\n", wall, cpu, flops / wall * 1e-9,
                peak_rss_mib(), worst);
    std::fflush(stdout);
  }
  return 0;
}
