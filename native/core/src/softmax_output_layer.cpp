// softmaxOutputLayer (affinity/nn.h; the reference: src/kernels/nn/outputLayer.ts): the logits
// over every item, the softmax cross-entropy and both gradients, tile by tile of rows so that the
// rows × items logits never reach memory. Per tile of m rows (its thread's scratch):
//   Z = H_tile·Eᵀ (m × items, gemm)  →  loss and G = s·(softmax(Z) − onehot(t)) (the
//   softmaxCrossEntropy rows, then × w per row)  →  grad_hidden_tile = G·E (m × dim, gemm)
//   and the tile's group partial += Gᵀ·H_tile (items × dim, gemm with β = 1).
// Each product is one single-threaded gemm call (the threads run tiles, not blocks of one product).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "affinity/gemm.h"
#include "affinity/nn.h"
#include "nn_ops.h"
#include "nn_validate.h"
#include "thread_pool.h"

namespace affinity {

using namespace detail::nnv;

namespace {

/** Most groups (partials of grad_table); fewer when a partial is large (kPartialBudget in all). */
constexpr int64_t kMaxGroups = 16;
constexpr int64_t kPartialBudget = int64_t(64) << 20;  // floats (256 MB)

/** Groups for the shape (never the threads: the result must not depend on them). */
int64_t groups_for(int64_t tiles, int64_t items, int64_t dim) {
  const int64_t per = std::max<int64_t>(1, items * dim);
  return std::max<int64_t>(1, std::min({kMaxGroups, tiles, std::max<int64_t>(1, kPartialBudget / per)}));
}

/** One single-threaded product C = op(A)·op(B) + β·C on dense row-major operands. */
void product(Transpose ta, Transpose tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
             int64_t ldb, float beta, float* c, Simd simd) {
  GemmParams g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = a;
  g.lda = lda;
  g.b = b;
  g.ldb = ldb;
  g.beta = beta;
  g.c = c;
  g.ldc = n;
  g.row_start = 0;
  g.row_end = m;
  g.threads = 1;
  g.simd = simd;
  gemm(g);
}

}  // namespace

std::string validate_softmax_output_layer(const SoftmaxOutputLayerParams& p) {
  AFF_CHECK(dims({{"rows", p.rows}, {"items", p.items}, {"dim", p.dim}}));
  if (p.items < 1) return "items must be >= 1 (a softmax over no items), got " + str(p.items);
  if (p.dim < 1) return "dim must be >= 1, got " + str(p.dim);
  AFF_CHECK(buffer("hidden", p.hidden, p.hidden_length, p.rows * p.dim, "rows*dim"));
  AFF_CHECK(buffer("table", p.table, p.table_length, p.items * p.dim, "items*dim"));
  AFF_CHECK(buffer("targets", p.targets, p.targets_length, p.rows, "rows"));
  AFF_CHECK(ids_in_range("targets", p.targets, p.rows, p.items));
  if (p.weights) {
    AFF_CHECK(buffer("weights", p.weights, p.weights_length, p.rows, "rows"));
    for (int64_t r = 0; r < p.rows; r++) {
      const float w = p.weights[r];
      if (!(w >= 0) || !std::isfinite(w)) return "weights[" + str(r) + "] = " + num(w) + " is not a finite weight >= 0";
    }
  }
  AFF_CHECK(finite("gradScale", p.grad_scale));
  AFF_CHECK(buffer("loss", p.loss, p.loss_length, p.rows, "rows"));
  AFF_CHECK(buffer("gradHidden", p.grad_hidden, p.grad_hidden_length, p.rows * p.dim, "rows*dim"));
  AFF_CHECK(buffer("gradTable", p.grad_table, p.grad_table_length, p.items * p.dim, "items*dim"));
  if (p.row_start != 0 || p.row_end != p.rows)
    return "computes all " + str(p.rows) + " rows in one call, got rows [" + str(p.row_start) + ", " + str(p.row_end) + ")";
  return disjoint({{"loss", p.loss, p.rows}, {"gradHidden", p.grad_hidden, p.rows * p.dim}, {"gradTable", p.grad_table, p.items * p.dim}},
                  {{"hidden", p.hidden, p.rows * p.dim},
                   {"table", p.table, p.items * p.dim},
                   {"targets", p.targets, p.rows},
                   {"weights", p.weights, p.weights ? p.rows : 0}});
}

void softmax_output_layer(const SoftmaxOutputLayerParams& p) {
  const std::string problem = validate_softmax_output_layer(p);
  if (!problem.empty()) throw std::invalid_argument("softmaxOutputLayer: " + problem);
  const detail::NnOps& ops = detail::nn_ops(p.simd);
  const int64_t R = p.rows, I = p.items, d = p.dim, T = kOutputLayerTileRows;
  const int64_t table_size = I * d;
  if (R == 0) {
    std::fill(p.grad_table, p.grad_table + table_size, 0.0f);
    return;
  }
  const int64_t tiles = (R + T - 1) / T;
  const int64_t groups = groups_for(tiles, I, d);
  const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(p.threads, groups)));
  // group 0 accumulates into grad_table itself; groups 1… into their partials
  std::vector<float> partials(static_cast<size_t>((groups - 1) * table_size));
  std::vector<float> scratch(static_cast<size_t>(threads) * 2 * static_cast<size_t>(T * I));
  parallel_for(groups, threads, [&](int64_t g, int slot) {
    float* logits = scratch.data() + static_cast<size_t>(slot) * 2 * static_cast<size_t>(T * I);
    float* grad = logits + T * I;
    float* acc = g == 0 ? p.grad_table : partials.data() + (g - 1) * table_size;
    bool first = true;
    for (int64_t tile = g; tile < tiles; tile += groups) {
      const int64_t r0 = tile * T, m = std::min(T, R - r0);
      const float* h = p.hidden + r0 * d;
      product(Transpose::N, Transpose::T, m, I, d, h, d, p.table, d, 0.0f, logits, p.simd);
      SoftmaxCrossEntropyParams ce;
      ce.rows = m;
      ce.cols = I;
      ce.logits = logits;
      ce.use_targets = true;
      ce.targets = p.targets + r0;
      ce.grad_scale = p.grad_scale;
      ce.loss = p.loss + r0;
      ce.grad = grad;
      ops.softmax_cross_entropy(ce, 0, m);
      if (p.weights) {
        for (int64_t r = 0; r < m; r++) {
          const float w = p.weights[r0 + r];
          p.loss[r0 + r] *= w;
          float* gr = grad + r * I;
          for (int64_t j = 0; j < I; j++) gr[j] *= w;
        }
      }
      product(Transpose::N, Transpose::N, m, d, I, grad, I, p.table, d, 0.0f, p.grad_hidden + r0 * d, p.simd);
      product(Transpose::T, Transpose::N, I, d, m, grad, I, h, d, first ? 0.0f : 1.0f, acc, p.simd);
      first = false;
    }
  });
  // grad_table = partial 0 + partial 1 + … in group order, over blocks of item rows
  if (groups > 1) {
    const int64_t block = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, d));
    const int64_t blocks = (I + block - 1) / block;
    parallel_for(blocks, static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(p.threads, blocks))), [&](int64_t b, int) {
      const int64_t e0 = b * block * d, e1 = std::min(I, (b + 1) * block) * d;
      for (int64_t g = 1; g < groups; g++) {
        const float* src = partials.data() + (g - 1) * table_size;
        for (int64_t e = e0; e < e1; e++) p.grad_table[e] += src[e];
      }
    });
  }
}

}  // namespace affinity
