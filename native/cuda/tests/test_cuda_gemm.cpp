// ctest: native/cuda gemm (cuBLAS) against the float64 reference of gemm_reference.h (same
// tolerance and sentinel checks as the CPU core's test). Exits 77 (ctest SKIP_RETURN_CODE),
// printing why, where there is no CUDA driver/device or the module was built without cuBLAS.
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "affinity/cuda_dense_score_topk.h"  // probe()
#include "affinity/cuda_gemm.h"
#include "gemm_reference.h"
#include "reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

void run_case(const Case& cs) {
  Setup s = build(cs);
  const std::string what = describe(cs) + " (cuda)";
  try {
    cuda::gemm(s.p);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "  %s: threw %s\n", what.c_str(), e.what());
    CHECK(false, "%s", what.c_str());
    return;
  }
  CHECK(verify(s, what), "%s", what.c_str());
}

const Transpose kOps[2] = {Transpose::N, Transpose::T};

void test_shapes() {
  struct Shape { int64_t m, n, k, batch; };
  const Shape shapes[] = {{1, 1, 1, 1}, {13, 37, 9, 1}, {100, 70, 300, 1}, {25, 33, 17, 5}, {64, 200, 64, 8}};
  uint32_t seed = 1;
  for (Transpose ta : kOps)
    for (Transpose tb : kOps)
      for (const Shape& sh : shapes)
        for (float beta : {0.0f, 1.5f}) {
          Case c;
          c.ta = ta;
          c.tb = tb;
          c.m = sh.m;
          c.n = sh.n;
          c.k = sh.k;
          c.batch = sh.batch;
          c.beta = beta;  // 0: C holds NaN
          c.alpha = seed % 2 ? 1.0f : -0.5f;
          c.pad_a = seed % 3;
          c.pad_b = seed % 2;
          c.pad_c = seed % 4;
          c.gap_a = seed % 5;
          c.gap_c = seed % 3;
          c.seed = seed++;
          run_case(c);
        }
}

void test_layouts_and_ranges() {
  for (Transpose ta : kOps) {
    Case c;
    c.ta = ta;
    c.tb = Transpose::T;
    c.m = 29;
    c.n = 35;
    c.k = 40;
    c.batch = 4;
    c.beta = 0.5f;
    c.seed = 50;
    Case x = c;
    x.shared_b = true;
    run_case(x);
    x = c;
    x.interleaved_c = true;  // heads side by side
    x.gap_c = 2;
    run_case(x);
    // a head only, head + whole items + tail, a tail only, one row
    for (auto r : {std::pair<int64_t, int64_t>{3, 17}, {20, 100}, {58, 116}, {0, 58}, {115, 116}}) {
      x = c;
      x.row_start = r.first;
      x.row_end = r.second;
      run_case(x);
    }
    x = c;
    x.k = 0;  // C = β·C (CPU core)
    run_case(x);
  }
  // validation happens before the device is touched
  Case c;
  c.m = 4;
  c.n = 4;
  c.k = 4;
  Setup s = build(c);
  s.p.ldc = 2;
  bool threw = false;
  try {
    cuda::gemm(s.p);
  } catch (const std::invalid_argument& e) {
    threw = std::strstr(e.what(), "ldc") != nullptr;
  }
  CHECK(threw, "ldc < n must be refused naming ldc");
}

}  // namespace

int main() {
  const cuda::Probe pr = cuda::probe();
  if (!pr.available) {
    std::printf("SKIP test_cuda_gemm: %s\n", pr.reason.c_str());
    return 77;
  }
  if (!cuda::gemm_built_with_cublas()) {
    std::printf("SKIP test_cuda_gemm: the CUDA module was built without cuBLAS\n");
    return 77;
  }
  std::printf("device: %s\n", pr.reason.c_str());
  test_shapes();
  test_layouts_and_ranges();
  return report("test_cuda_gemm");
}
