// ctest: the neural-network kernels of native/cuda (affinity/cuda_nn.h) against the float64
// formulas of native/tests/nn_reference.h, the reference the CPU core's test_nn uses.
//
//   test_cuda_nn validation   no device needed: every kernel refuses bad params with the CPU
//                             core's message (std::invalid_argument "<kernel>: …") before it
//                             touches the device, and an empty row range returns at once
//   test_cuda_nn kernels      on the GPU (exits 77, ctest's SKIP_RETURN_CODE, printing why, where
//                             there is no CUDA driver or device): random inputs, edge cases
//                             (1×1, sizes off every block width, rows wider than a block, more
//                             rows than one column chunk, masks, ignored rows, ids = −1, empty
//                             groups), row ranges (the rest of the output untouched),
//                             bit-identical dropout, Adam dense and lazy on a row range,
//                             spdSolve (inverse and right-hand sides; a pivot that is not positive
//                             named, as the CPU core), cancellation
//   (no argument: both)
//
// The GPU evaluates every formula in float64 and rounds once, so the tolerances here are tighter
// than test_nn's for the CPU core's float32 polynomials.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "affinity/cancel.h"
#include "affinity/cuda_dense_score_topk.h"  // probe()
#include "affinity/cuda_nn.h"
#include "affinity/nn.h"
#include "nn_reference.h"
#include "nn_test_support.h"
#include "reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

/** Runs fn; an exception is a failure naming the case (the test goes on with the next case). */
bool runs(const std::string& label, const std::function<void()>& fn) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    CHECK(false, "%s threw: %s", label.c_str(), e.what());
    return false;
  }
}

void set_range(NnCall& p, int64_t r0, int64_t r1) {
  p.row_start = r0;
  p.row_end = r1;
}

/** A row range in the middle when there are ≥ 3 rows, else all of them. */
void middle(int64_t rows, int64_t& r0, int64_t& r1) {
  r0 = rows >= 3 ? 1 : 0;
  r1 = rows >= 3 ? rows - 1 : rows;
}

// ------------------------------------------------------------------ activations, column sums
void test_activations() {
  const int64_t shapes[][2] = {{1, 1}, {3, 7}, {17, 33}, {40, 100}, {300, 1000}};
  for (const auto& sh : shapes) {
    const int64_t rows = sh[0], cols = sh[1], n = rows * cols;
    const std::vector<float> x = activation_input(rows, cols);
    const std::vector<float> bias = uniform(cols, static_cast<uint32_t>(cols), -0.5f, 0.5f);
    const std::vector<float> dy = uniform(n, static_cast<uint32_t>(rows + cols * 3));
    for (Activation a : kActs)
      for (bool with_bias : {true, false}) {
        const std::string label = std::string("cuda ") + activation_name(a) + " " + shape(rows, cols) + (with_bias ? " bias" : "");
        int64_t r0, r1;
        middle(rows, r0, r1);
        std::vector<float> out(static_cast<size_t>(n), kSentinel);
        BiasActivationParams p;
        set_range(p, r0, r1);
        p.rows = rows;
        p.cols = cols;
        p.x = x.data();
        p.x_length = n;
        p.bias = with_bias ? bias.data() : nullptr;
        p.bias_length = with_bias ? cols : -1;
        p.activation = a;
        p.out = out.data();
        p.out_length = n;
        if (runs(label + " forward", [&] { cuda::bias_activation(p); })) {
          const std::vector<double> want = nnref::bias_activation(x, p.bias, rows, cols, a);
          close(label + " forward", out.data() + r0 * cols, want.data() + r0 * cols, (r1 - r0) * cols, 1e-7, 1e-6);
          untouched(label + " forward", out, 0, r0 * cols);
          untouched(label + " forward", out, r1 * cols, n);
        }
        ActivationBackwardParams b;
        static_cast<BiasActivationParams&>(b) = p;
        std::vector<float> dx(static_cast<size_t>(n), kSentinel);
        set_range(b, 0, rows);
        b.out = dx.data();
        b.grad_out = dy.data();
        b.grad_out_length = n;
        if (runs(label + " backward", [&] { cuda::activation_backward(b); })) {
          const std::vector<double> want = nnref::bias_activation(x, b.bias, rows, cols, a, dy.data());
          close(label + " backward", dx.data(), want.data(), n, 1e-7, 1e-6);
        }
      }
  }
}

void test_column_sums() {
  // 2500 and 70000 rows: several chunks of the column reduction
  const int64_t shapes[][2] = {{0, 5}, {1, 1}, {3, 7}, {1000, 37}, {5, 300}, {3000, 64}, {2500, 1}, {70000, 3}};
  for (const auto& sh : shapes) {
    const int64_t rows = sh[0], cols = sh[1];
    const std::vector<float> x = uniform(rows * cols, static_cast<uint32_t>(rows + cols), -3, 3);
    const std::vector<double> want = nnref::column_sums(x, rows, cols);
    for (int part = 0; part < 2; part++) {
      const int64_t c0 = part && cols > 2 ? 1 : 0, c1 = part && cols > 2 ? cols - 1 : cols;
      std::vector<float> out(static_cast<size_t>(cols), kSentinel);
      ColumnSumsParams p = column_sums_case(rows, cols, x, out);
      set_range(p, c0, c1);
      const std::string label = "cuda columnSums " + shape(rows, cols) + (part ? " columns [1, cols-1)" : "");
      if (!runs(label, [&] { cuda::column_sums(p); })) continue;
      close(label, out.data() + c0, want.data() + c0, c1 - c0, 1e-7, 1e-6);
      untouched(label, out, 0, c0);
      untouched(label, out, c1, cols);
    }
  }
}

// ------------------------------------------------------------------ layer norm
void test_layer_norm() {
  const int64_t shapes[][2] = {{1, 1}, {3, 7}, {17, 33}, {50, 200}, {7, 1000}, {4, 0}, {3000, 64}};
  for (const auto& sh : shapes) {
    const int64_t rows = sh[0], cols = sh[1], n = rows * cols;
    std::vector<float> x = uniform(n, static_cast<uint32_t>(rows * 3 + cols), -3, 3);
    if (rows > 1)
      for (int64_t j = 0; j < cols; j++) x[static_cast<size_t>(cols + j)] = 0.75f;  // a constant row: σ² = 0
    const std::vector<float> gamma = uniform(cols, 3, 0.5f, 1.5f), beta = uniform(cols, 4, -0.5f, 0.5f);
    const std::vector<float> dy = uniform(n, static_cast<uint32_t>(rows + 5 * cols));
    const nnref::LayerNormOut want = nnref::layer_norm(x, gamma, beta, rows, cols, 1e-5);
    const std::string label = "cuda layerNorm " + shape(rows, cols);
    int64_t r0, r1;
    middle(rows, r0, r1);
    std::vector<float> y(static_cast<size_t>(n), kSentinel), mean(static_cast<size_t>(rows), kSentinel), rstd(static_cast<size_t>(rows), kSentinel);
    LayerNormParams p = layer_norm_case(rows, cols, x, gamma, beta, y, mean, rstd);
    set_range(p, r0, r1);
    if (runs(label, [&] { cuda::layer_norm(p); })) {
      close(label + " y", y.data() + r0 * cols, want.y.data() + r0 * cols, (r1 - r0) * cols, 1e-6, 1e-6);
      close(label + " mean", mean.data() + r0, want.mean.data() + r0, r1 - r0, 1e-7, 1e-6);
      close(label + " rstd", rstd.data() + r0, want.rstd.data() + r0, r1 - r0, 1e-7, 1e-6);
      untouched(label + " y", y, 0, r0 * cols);
      untouched(label + " y", y, r1 * cols, n);
      untouched(label + " mean", mean, 0, r0);
      untouched(label + " rstd", rstd, r1, rows);
    }

    // backward (a row range) and the parameter gradients (a column range), from the reference's statistics
    std::vector<float> m32(want.mean.begin(), want.mean.end()), r32(want.rstd.begin(), want.rstd.end());
    std::vector<float> dx(static_cast<size_t>(n), kSentinel);
    LayerNormBackwardParams b = layer_norm_backward_case(rows, cols, x, gamma, m32, r32, dy, dx);
    set_range(b, r0, r1);
    if (runs(label + " backward", [&] { cuda::layer_norm_backward(b); })) {
      const std::vector<double> want_dx = nnref::layer_norm_backward(x, gamma, m32, r32, dy, rows, cols);
      close(label + " backward", dx.data() + r0 * cols, want_dx.data() + r0 * cols, (r1 - r0) * cols, 1e-6, 1e-6);
      untouched(label + " backward", dx, 0, r0 * cols);
      untouched(label + " backward", dx, r1 * cols, n);
    }

    int64_t c0, c1;
    middle(cols, c0, c1);
    std::vector<float> dg(static_cast<size_t>(cols), kSentinel), db(static_cast<size_t>(cols), kSentinel);
    LayerNormParamGradParams g = layer_norm_param_grad_case(rows, cols, x, m32, r32, dy, dg, db);
    set_range(g, c0, c1);
    if (runs(label + " param grad", [&] { cuda::layer_norm_param_grad(g); })) {
      const std::vector<double> want_g = nnref::layer_norm_param_grad(x, m32, r32, dy, rows, cols);
      close(label + " dgamma", dg.data() + c0, want_g.data() + c0, c1 - c0, 1e-7, 1e-6);
      close(label + " dbeta", db.data() + c0, want_g.data() + cols + c0, c1 - c0, 1e-7, 1e-6);
      untouched(label + " dgamma", dg, 0, c0);
      untouched(label + " dbeta", db, c1, cols);
    }
  }
}

// ------------------------------------------------------------------ softmax
void test_softmax() {
  const int64_t configs[][3] = {{1, 1, 1}, {3, 2, 5}, {2, 1, 17}, {4, 2, 40}, {2, 3, 33}, {2, 2, 300}};  // sequences, heads, T
  for (const auto& cf : configs) {
    const int64_t seqs = cf[0], heads = cf[1], t = cf[2], rows = seqs * heads * t;
    const std::vector<float> x = uniform(rows * t, static_cast<uint32_t>(rows + t), -4, 4);
    std::vector<uint8_t> valid(static_cast<size_t>(seqs * t), 0);
    std::mt19937 g(static_cast<uint32_t>(t));
    for (int64_t s = 0; s < seqs; s++) {  // left padding; the last sequence is all padding
      const int64_t pad = s == seqs - 1 && seqs > 1 ? t : static_cast<int64_t>(g() % static_cast<uint32_t>(t));
      for (int64_t j = pad; j < t; j++) valid[static_cast<size_t>(s * t + j)] = static_cast<uint8_t>(1 + (j % 3));
    }
    for (int variant = 0; variant < 4; variant++) {
      const bool causal = variant & 1, masked = variant & 2;
      const float scale = variant == 3 ? 0.125f : 1.0f;
      const std::string label = "cuda maskedSoftmax " + std::to_string(seqs) + "x" + std::to_string(heads) + "x" + std::to_string(t) +
                                (causal ? " causal" : "") + (masked ? " padding" : "");
      // rows from the middle of the first block: the block and query of a row come from its absolute index
      const int64_t r0 = rows > 3 ? 3 : 0, r1 = rows;
      std::vector<float> out(static_cast<size_t>(rows * t), kSentinel);
      MaskedSoftmaxParams p = masked_softmax_case(rows, t, x, scale, t, causal, masked ? &valid : nullptr, out);
      set_range(p, r0, r1);
      const std::vector<double> want = nnref::masked_softmax(x, rows, t, scale, t, causal, masked ? &valid : nullptr);
      if (runs(label, [&] { cuda::masked_softmax(p); })) {
        close(label, out.data() + r0 * t, want.data() + r0 * t, (r1 - r0) * t, 1e-7, 1e-6);
        untouched(label, out, 0, r0 * t);
      }

      std::vector<float> pr(want.begin(), want.end());
      const std::vector<float> dp = uniform(rows * t, 5);
      std::vector<float> dx(static_cast<size_t>(rows * t), kSentinel);
      SoftmaxBackwardParams b = softmax_backward_case(rows, t, pr, dp, scale, dx);
      set_range(b, r0, r1);
      if (runs(label + " backward", [&] { cuda::softmax_backward(b); })) {
        const std::vector<double> want_dx = nnref::softmax_backward(pr, dp, rows, t, scale);
        close(label + " backward", dx.data() + r0 * t, want_dx.data() + r0 * t, (r1 - r0) * t, 1e-7, 1e-6);
        untouched(label + " backward", dx, 0, r0 * t);
      }
    }
    // a plain row softmax (one block) with a −inf score, a row of −inf and a NaN score
    std::vector<float> xi = x;
    xi[0] = -std::numeric_limits<float>::infinity();
    if (rows > 2) {
      for (int64_t j = 0; j < t; j++) xi[static_cast<size_t>(t + j)] = -std::numeric_limits<float>::infinity();
      xi[static_cast<size_t>(2 * t)] = kNaN;
    }
    std::vector<float> out(static_cast<size_t>(rows * t), kSentinel);
    MaskedSoftmaxParams p;
    set_range(p, 0, rows);
    p.rows = rows;
    p.cols = t;
    p.scores = xi.data();
    p.queries = rows;
    p.out = out.data();
    const std::string label = "cuda plain softmax " + shape(rows, t);
    if (runs(label, [&] { cuda::masked_softmax(p); })) {
      // the rows of −inf and with a NaN are all zeros (their sum is not > 0), in the reference too
      const std::vector<double> want = nnref::masked_softmax(xi, rows, t, 1.0, rows, false, nullptr);
      close(label, out.data(), want.data(), rows * t, 1e-7, 1e-6);
    }
  }
}

// ------------------------------------------------------------------ losses
void test_losses() {
  const int64_t shapes[][2] = {{1, 1}, {5, 7}, {17, 33}, {9, 100}, {6, 1000}, {3, 0}};
  for (const auto& sh : shapes) {
    const int64_t rows = sh[0], cols = sh[1], n = rows * cols;
    const std::vector<float> z = uniform(n, static_cast<uint32_t>(rows * 11 + cols), -8, 8);
    std::vector<int32_t> targets(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; r++) targets[static_cast<size_t>(r)] = r % 4 == 1 || cols == 0 ? -1 : static_cast<int32_t>((r * 5) % cols);
    std::vector<float> weights(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++) weights[static_cast<size_t>(i)] = i % 3 == 0 ? static_cast<float>(1 + i % 4) : 0.0f;
    for (bool use_targets : {true, false}) {
      const std::string label = "cuda softmaxCrossEntropy " + shape(rows, cols) + (use_targets ? " targets" : " weights");
      int64_t r0, r1;
      middle(rows, r0, r1);
      std::vector<float> loss(static_cast<size_t>(rows), kSentinel), grad(static_cast<size_t>(n), kSentinel);
      SoftmaxCrossEntropyParams p;
      set_range(p, r0, r1);
      p.rows = rows;
      p.cols = cols;
      p.logits = z.data();
      p.use_targets = use_targets;
      p.targets = targets.data();
      p.targets_length = rows;
      p.target_weights = use_targets ? nullptr : weights.data();
      p.grad_scale = 0.5f;
      p.loss = loss.data();
      p.grad = grad.data();
      if (!runs(label, [&] { cuda::softmax_cross_entropy(p); })) continue;
      std::vector<double> want = nnref::softmax_cross_entropy(z, rows, cols, use_targets ? targets.data() : nullptr, weights.data(), 0.5);
      if (cols == 0)
        for (int64_t r = 0; r < rows; r++) want[static_cast<size_t>(r)] = 0.0;  // no classes: loss 0 (the empty sum)
      close(label + " loss", loss.data() + r0, want.data() + r0, r1 - r0, 1e-6, 1e-6);
      close(label + " grad", grad.data() + r0 * cols, want.data() + rows + r0 * cols, (r1 - r0) * cols, 1e-7, 1e-6);
      untouched(label + " loss", loss, 0, r0);
      untouched(label + " grad", grad, r1 * cols, n);
    }
    const std::vector<float> zs = uniform(n, static_cast<uint32_t>(n + 1), -30, 30), y = uniform(n, 6, 0, 1), w = uniform(n, 7, 0, 2);
    for (bool with_weights : {true, false}) {
      const std::string label = "cuda sigmoidCrossEntropy " + std::to_string(n) + (with_weights ? " weighted" : "");
      int64_t i0, i1;
      middle(n, i0, i1);
      std::vector<float> loss(static_cast<size_t>(n), kSentinel), grad(static_cast<size_t>(n), kSentinel);
      SigmoidCrossEntropyParams p = sigmoid_cross_entropy_case(n, zs, y, with_weights ? w.data() : nullptr, 0.25f, loss, grad);
      set_range(p, i0, i1);
      if (!runs(label, [&] { cuda::sigmoid_cross_entropy(p); })) continue;
      const std::vector<double> want = nnref::sigmoid_cross_entropy(zs, y, p.weights, 0.25);
      close(label + " loss", loss.data() + i0, want.data() + i0, i1 - i0, 1e-7, 1e-6);
      close(label + " grad", grad.data() + i0, want.data() + n + i0, i1 - i0, 1e-7, 1e-6);
      untouched(label + " loss", loss, 0, i0);
      untouched(label + " grad", grad, i1, n);
    }
  }
}

// ------------------------------------------------------------------ embeddings
void test_embeddings() {
  for (int64_t dim : {1, 13, 64, 300}) {
    const int64_t vocab = 10;
    const std::vector<float> table = uniform(vocab * dim, static_cast<uint32_t>(dim));
    const std::vector<int32_t> ids = {3, -1, 0, 9, 3, -1, 7};
    const int64_t n = static_cast<int64_t>(ids.size());
    std::vector<float> out(static_cast<size_t>(n * dim), kSentinel);
    EmbeddingGatherParams p = embedding_gather_case(vocab, dim, table, ids, out);
    set_range(p, 1, n);
    const std::string label = "cuda embeddingGather dim " + std::to_string(dim);
    if (runs(label, [&] { cuda::embedding_gather(p); })) {
      std::vector<double> want(static_cast<size_t>(n * dim), 0.0);
      for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < dim; j++)
          want[static_cast<size_t>(r * dim + j)] = ids[static_cast<size_t>(r)] < 0 ? 0.0 : table[static_cast<size_t>(ids[static_cast<size_t>(r)] * dim + j)];
      close(label, out.data() + dim, want.data() + dim, (n - 1) * dim, 0, 0);
      untouched(label, out, 0, dim);
    }

    // groups: [0, 3), [3, 3) empty, [3, 7), [7, 7) empty; position −1 adds nothing
    const std::vector<int32_t> offsets = {0, 3, 3, 7, 7}, positions = {4, -1, 0, 9, 9, 2, 5};
    const std::vector<float> w = uniform(7, 3, 0, 1);
    for (bool weighted : {false, true})
      for (int64_t g0 : {0, 1}) {  // g0 = 1: the range's entries start at offsets[1] = 3
        const int64_t groups = 4;
        std::vector<float> sum(static_cast<size_t>(groups * dim), kSentinel);
        SegmentSumParams s = segment_sum_case(vocab, dim, table, offsets, positions, weighted ? w.data() : nullptr, sum);
        set_range(s, g0, groups);
        const std::string sl = "cuda segmentSum dim " + std::to_string(dim) + (weighted ? " weighted" : "") + " groups from " + std::to_string(g0);
        if (!runs(sl, [&] { cuda::segment_sum(s); })) continue;
        const std::vector<double> want = nnref::segment_sum(table, dim, offsets, positions, s.weights);
        close(sl, sum.data() + g0 * dim, want.data() + g0 * dim, (groups - g0) * dim, 1e-7, 1e-6);
        untouched(sl, sum, 0, g0 * dim);
      }
  }
}

// ------------------------------------------------------------------ dropout, Adam, elementwise
void test_dropout() {
  for (int64_t n : {1, 17, 1000, 70000})
    for (double rate : {0.0, 0.2, 0.9999})
      for (uint32_t offset : {0u, 7u, 0xFFFFFFF0u}) {
        const std::vector<float> x = uniform(n, static_cast<uint32_t>(n + 3));
        const int64_t i0 = n > 5 ? 5 : 0;  // the counter of element i is offset + i, whatever the range
        std::vector<float> out(static_cast<size_t>(n), kSentinel);
        DropoutParams p = dropout_case(n, x, rate, offset, out);
        set_range(p, i0, n);
        const std::string label = "cuda dropout n=" + std::to_string(n) + " rate=" + std::to_string(rate) + " offset=" + std::to_string(offset);
        if (!runs(label, [&] { cuda::dropout(p); })) continue;
        const std::vector<float> want = nnref::dropout(x, rate, 11, offset);
        int64_t diff = -1;
        for (int64_t i = i0; i < n && diff < 0; i++)
          if (std::memcmp(&out[static_cast<size_t>(i)], &want[static_cast<size_t>(i)], sizeof(float)) != 0) diff = i;
        CHECK(diff < 0, "%s: element %lld differs from the reference (bit for bit)", label.c_str(), static_cast<long long>(diff));
        untouched(label, out, 0, i0);
      }
}

void test_adam() {
  for (int64_t dim : {1, 5, 64})
    for (int variant = 0; variant < 4; variant++) {
      const bool lazy = variant & 1, decoupled = variant & 2;
      const int64_t rows = 37, n = rows * dim;
      std::vector<int32_t> ids;
      for (int32_t r = 0; r < rows; r += 3) ids.push_back((r * 7) % static_cast<int32_t>(rows));
      const int64_t grows = lazy ? static_cast<int64_t>(ids.size()) : rows;
      std::vector<float> params = uniform(n, 13), m = uniform(n, 14, -0.01f, 0.01f), v = uniform(n, 15, 0, 0.01f);
      const std::vector<float> grads = uniform(grows * dim, 16);
      const int64_t r0 = 2, r1 = grows - 1;  // a row range: the other rows keep their values
      AdamUpdateParams p = adam_update_case(n, dim, params, grads, m, v, lazy, ids, decoupled);
      set_range(p, r0, r1);
      // the reference on the range alone: the range's grads, and (lazy) its row ids
      AdamUpdateParams q = p;
      std::vector<float> range_grads(grads.begin() + r0 * dim, grads.begin() + r1 * dim);
      std::vector<int32_t> range_ids(ids.begin() + (lazy ? r0 : 0), ids.begin() + (lazy ? r1 : 0));
      std::vector<double> want;
      if (lazy) {
        want = nnref::adam(q, params, range_grads, m, v, range_ids);
      } else {
        // dense: the rows outside the range keep their values
        want = nnref::adam(q, params, grads, m, v, range_ids);
        for (int64_t i = 0; i < n; i++)
          if (i < r0 * dim || i >= r1 * dim) {
            want[static_cast<size_t>(i)] = params[static_cast<size_t>(i)];
            want[static_cast<size_t>(n + i)] = m[static_cast<size_t>(i)];
            want[static_cast<size_t>(2 * n + i)] = v[static_cast<size_t>(i)];
          }
      }
      const std::string label =
          "cuda adam dim " + std::to_string(dim) + (lazy ? " lazy" : " dense") + (decoupled ? " AdamW" : " L2") + " rows [2, -1)";
      if (!runs(label, [&] { cuda::adam_update(p); })) continue;
      close(label + " params", params.data(), want.data(), n, 1e-7, 1e-6);
      close(label + " m", m.data(), want.data() + n, n, 1e-9, 1e-6);
      close(label + " v", v.data(), want.data() + 2 * n, n, 1e-9, 1e-6);
    }
}

void test_elementwise() {
  for (int64_t n : {1, 33, 20000}) {
    const std::vector<float> x = uniform(n, 1), y = uniform(n, 2);
    for (int variant = 0; variant < 3; variant++) {
      int64_t i0, i1;
      middle(n, i0, i1);
      std::vector<float> out(static_cast<size_t>(n), kSentinel);
      ElementwiseParams p = elementwise_case(variant, n, x, y, out);
      set_range(p, i0, i1);
      const std::string label = "cuda elementwise " + std::to_string(variant) + " n=" + std::to_string(n);
      if (!runs(label, [&] { cuda::elementwise(p); })) continue;
      std::vector<double> want(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; i++) {
        const double xi = x[static_cast<size_t>(i)], yi = y[static_cast<size_t>(i)];
        want[static_cast<size_t>(i)] = variant == 1 ? 0.5 * xi * yi : variant == 2 ? 0.5 * xi : 0.5 * xi - 2.0 * yi;
      }
      close(label, out.data() + i0, want.data() + i0, i1 - i0, 0, 6e-8);  // float64 rounded once
      untouched(label, out, 0, i0);
      untouched(label, out, i1, n);
    }
  }
}

// ------------------------------------------------------------------ spdSolve
/** Runs cuda::spd_solve into out (filled with the sentinel); returns the exception's message, "" when it ran. */
std::string spd_run(const std::vector<float>& a, int64_t n, const std::vector<float>* b, int64_t r, std::vector<float>& out) {
  SpdSolveParams p;
  set_range(p, 0, n);
  p.n = n;
  p.a = a.data();
  p.a_length = n * n;
  p.inverse = b == nullptr;
  p.b = b ? b->data() : nullptr;
  p.b_length = b ? n * r : -1;
  p.r = r;
  out.assign(static_cast<size_t>(n * (b ? r : n)), kSentinel);
  p.out = out.data();
  p.out_length = static_cast<int64_t>(out.size());
  try {
    cuda::spd_solve(p);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

void test_spd_solve() {
  if (!cuda::spd_solve_built_with_cusolver()) {
    std::printf("SKIP spdSolve on the GPU: this CUDA module was built without cuSOLVER\n");
    return;
  }
  for (int64_t n : {1, 2, 5, 33, 100, 257}) {
    const std::vector<float> a = spd_matrix(n, static_cast<uint32_t>(n));
    for (int64_t r : {-1, 0, 1, 3, 40}) {  // −1: the inverse
      const std::vector<float> b = uniform(n * std::max<int64_t>(r, 0), static_cast<uint32_t>(n + r));
      std::vector<float> out;
      const std::string label = "cuda spdSolve n=" + std::to_string(n) + (r < 0 ? " inverse" : " r=" + std::to_string(r));
      const std::string err = spd_run(a, n, r < 0 ? nullptr : &b, r, out);
      if (!err.empty()) {
        CHECK(false, "%s threw %s", label.c_str(), err.c_str());
        continue;
      }
      const std::vector<double> want = nnref::spd_solve(a, n, r < 0 ? nullptr : &b, r);
      double scale = 0;
      for (double v : want) scale = std::max(scale, std::fabs(v));
      close(label, out.data(), want.data(), static_cast<int64_t>(want.size()), 1e-6 * scale, 1e-5);
    }
  }
  // not positive definite: the pivot is named (by the CPU core, as the native backend) and out is untouched
  std::vector<float> out;
  const std::vector<float> indefinite = {1, 0, 2, 1};  // [[1, 2], [2, 1]]: pivot 1 is 1 − 4 = −3
  std::string err = spd_run(indefinite, 2, nullptr, 0, out);
  CHECK(err.find("not positive definite (pivot 1 is -3)") != std::string::npos, "2x2 indefinite: '%s'", err.c_str());
  untouched("2x2 indefinite", out, 0, 4);
  std::vector<float> a = spd_matrix(100, 9);
  a[70 * 100 + 70] = -1;  // A_70,70 − Σ L² < 0
  err = spd_run(a, 100, nullptr, 0, out);
  CHECK(err.find("pivot 70 is") != std::string::npos, "pivot 70: '%s'", err.c_str());
  untouched("pivot 70", out, 0, 100 * 100);
  a = spd_matrix(100, 9);
  a[5 * 100 + 5] = kNaN;
  const std::vector<float> rhs = uniform(100, 1);
  err = spd_run(a, 100, &rhs, 1, out);
  CHECK(err.find("pivot 5 is nan") != std::string::npos, "NaN pivot 5: '%s'", err.c_str());
  untouched("NaN pivot 5", out, 0, 100);
  // r = 0 still factors (and refuses) the matrix, as the reference
  a = spd_matrix(10, 3);
  a[4 * 10 + 4] = -5;
  err = spd_run(a, 10, &rhs, 0, out);
  CHECK(err.find("pivot 4 is") != std::string::npos, "r = 0, pivot 4: '%s'", err.c_str());
}

// ------------------------------------------------------------------ cancellation
void test_cancel() {
  const std::vector<float> x = uniform(1000, 1);
  std::vector<float> out(1000, kSentinel);
  ElementwiseParams p;
  set_range(p, 0, 1000);
  p.length = 1000;
  p.x = x.data();
  p.out = out.data();
  const int32_t flag = 1;
  bool cancelled = false;
  try {
    CancelScope scope(&flag);
    cuda::elementwise(p);
  } catch (const Cancelled&) {
    cancelled = true;
  } catch (const std::exception& e) {
    CHECK(false, "cancelled elementwise threw %s", e.what());
  }
  CHECK(cancelled, "elementwise under a set cancellation flag did not throw Cancelled");
  untouched("cancelled elementwise", out, 0, 1000);
}

// ------------------------------------------------------------------ validation (no device needed)
template <class P>
void expect_invalid(const char* kernel, const P& p, void (*run)(const P&), const std::string& needle) {
  std::string what = "(no exception)";
  bool ok = false;
  try {
    run(p);
  } catch (const std::invalid_argument& e) {
    what = e.what();
    ok = what.rfind(std::string(kernel) + ": ", 0) == 0 && what.find(needle) != std::string::npos;
  } catch (const std::exception& e) {
    what = std::string("not std::invalid_argument: ") + e.what();
  }
  CHECK(ok, "%s: expected std::invalid_argument('%s: …%s…'), got '%s'", kernel, kernel, needle.c_str(), what.c_str());
}

/** Bad params of every kernel are refused before the device is touched (these run without a driver). */
void test_validation() {
  std::vector<float> x(60, 1.0f), y(60), small(4);
  std::vector<int32_t> ids = {0, 3, 10, -1};
  {
    BiasActivationParams p;
    p.rows = 6;
    p.cols = 10;
    p.x = x.data();
    p.x_length = 59;
    p.out = y.data();
    p.row_end = 6;
    expect_invalid("biasActivation", p, &cuda::bias_activation, "x has length 59, expected rows*cols = 60");
    p.x_length = 60;
    p.out = x.data() + 5;
    expect_invalid("biasActivation", p, &cuda::bias_activation, "out overlaps x");
    p.out = y.data();
    p.row_end = 7;
    expect_invalid("biasActivation", p, &cuda::bias_activation, "row range [0, 7) is not inside [0, rows = 6]");
    ActivationBackwardParams b;
    static_cast<BiasActivationParams&>(b) = p;
    b.row_end = 6;
    expect_invalid("activationBackward", b, &cuda::activation_backward, "gradOut");
  }
  {
    ColumnSumsParams p;
    p.rows = 6;
    p.cols = 10;
    p.x = x.data();
    p.out = y.data();
    p.row_end = 11;
    expect_invalid("columnSums", p, &cuda::column_sums, "not inside [0, cols = 10]");
  }
  {
    LayerNormParams p;
    p.rows = 6;
    p.cols = 10;
    p.x = x.data();
    p.gamma = small.data();
    p.beta = small.data();
    p.y = y.data();
    p.mean = y.data() + 40;
    p.rstd = y.data() + 50;
    p.row_end = 6;
    p.eps = 0;
    expect_invalid("layerNorm", p, &cuda::layer_norm, "eps must be > 0");
    p.eps = 1e-5;
    expect_invalid("layerNorm", p, &cuda::layer_norm, "mean overlaps y");
    LayerNormBackwardParams b;
    b.rows = 6;
    b.cols = 10;
    b.x = x.data();
    b.x_length = 59;
    b.row_end = 6;
    expect_invalid("layerNormBackward", b, &cuda::layer_norm_backward, "x has length 59");
    LayerNormParamGradParams g;
    g.rows = 6;
    g.cols = 10;
    g.x = x.data();
    g.x_length = 61;
    g.row_end = 10;
    expect_invalid("layerNormParamGrad", g, &cuda::layer_norm_param_grad, "x has length 61");
  }
  {
    MaskedSoftmaxParams p;
    p.rows = 6;
    p.cols = 10;
    p.scores = x.data();
    p.out = y.data();
    p.queries = 4;
    p.row_end = 6;
    expect_invalid("maskedSoftmax", p, &cuda::masked_softmax, "scores has 6 rows, not a multiple of queries = 4");
    SoftmaxBackwardParams b;
    b.rows = 6;
    b.cols = 10;
    b.probs = x.data();
    b.grad_probs = x.data();
    b.out = x.data();
    b.row_end = 6;
    expect_invalid("softmaxBackward", b, &cuda::softmax_backward, "out overlaps");
  }
  {
    SoftmaxCrossEntropyParams p;
    p.rows = 4;
    p.cols = 10;
    p.logits = x.data();
    p.targets = ids.data();
    p.loss = y.data();
    p.grad = y.data() + 10;
    p.row_end = 4;
    expect_invalid("softmaxCrossEntropy", p, &cuda::softmax_cross_entropy, "targets[2] = 10 is outside [-1, 10)");
    std::vector<float> t(8, 0.5f);
    t[3] = 1.5f;
    SigmoidCrossEntropyParams s;
    s.length = 8;
    s.logits = x.data();
    s.targets = t.data();
    s.loss = y.data();
    s.grad = y.data() + 8;
    s.row_end = 8;
    expect_invalid("sigmoidCrossEntropy", s, &cuda::sigmoid_cross_entropy, "targets[3] = 1.5 is outside [0, 1]");
  }
  {
    EmbeddingGatherParams p;
    p.vocab = 10;
    p.dim = 6;
    p.table = x.data();
    p.ids = ids.data();
    p.ids_length = 4;
    p.out = y.data();
    p.row_end = 4;
    expect_invalid("embeddingGather", p, &cuda::embedding_gather, "ids[2] = 10 is outside [-1, 10)");
    std::vector<int32_t> offsets = {0, 3, 2}, positions = {0, 1, 2, 3};
    SegmentSumParams s;
    s.rows = 10;
    s.dim = 6;
    s.src = x.data();
    s.offsets = offsets.data();
    s.offsets_length = 3;
    s.positions = positions.data();
    s.positions_length = 4;
    s.out = y.data();
    s.row_end = 2;
    expect_invalid("segmentSum", s, &cuda::segment_sum, "offsets decrease at 2 (3 → 2)");
  }
  {
    DropoutParams p;
    p.length = 8;
    p.x = x.data();
    p.out = y.data();
    p.row_end = 8;
    p.rate = 1;
    expect_invalid("dropout", p, &cuda::dropout, "rate must be in [0, 1), got 1");
  }
  {
    std::vector<float> params(20), grads(20), m(20), v(20);
    std::vector<int32_t> rows = {1, 4, 0, 4};
    AdamUpdateParams p;
    p.length = 20;
    p.dim = 4;
    p.params = params.data();
    p.grads = grads.data();
    p.m = m.data();
    p.v = v.data();
    p.lazy = true;
    p.row_ids = rows.data();
    p.row_ids_length = 4;
    p.row_end = 4;
    expect_invalid("adamUpdate", p, &cuda::adam_update, "rowIds[3] = 4 repeats an earlier row");
  }
  {
    SpdSolveParams p;
    p.n = 4;
    p.a = x.data();
    p.inverse = true;
    p.out = y.data();
    p.row_end = 3;
    expect_invalid("spdSolve", p, &cuda::spd_solve, "solves all 4 rows in one call, got rows [0, 3)");
    if (!cuda::spd_solve_built_with_cusolver()) {
      p.row_end = 4;
      expect_invalid("spdSolve", p, &cuda::spd_solve, "built without cuSOLVER");
    }
    CHECK(cuda::spd_solve_unsupported(p).empty() == cuda::spd_solve_built_with_cusolver(), "spd_solve_unsupported and the build disagree");
    p.n = cuda::kMaxSpdSolveN + 1;
    CHECK(!cuda::spd_solve_unsupported(p).empty(), "n above kMaxSpdSolveN must be refused");
  }
  {
    ElementwiseParams p;
    p.op = ElementwiseOp::Mul;
    p.length = 5;
    p.x = x.data();
    p.out = y.data();
    p.row_end = 5;
    expect_invalid("elementwise", p, &cuda::elementwise, "y is required for mul");
  }
}

/** An empty row range returns without touching the device (so it runs without a driver too). */
void test_empty_ranges() {
  std::vector<float> x(12, 1.0f), y(12, kSentinel);
  const auto ok = [](const char* what, const std::function<void()>& fn) {
    try {
      fn();
      CHECK(true, "%s", what);
    } catch (const std::exception& e) {
      CHECK(false, "%s (empty range) threw %s", what, e.what());
    }
  };
  BiasActivationParams b;
  b.rows = 3;
  b.cols = 4;
  b.x = x.data();
  b.out = y.data();
  b.row_start = b.row_end = 2;
  ok("biasActivation", [&] { cuda::bias_activation(b); });
  ElementwiseParams e;
  e.length = 12;
  e.x = x.data();
  e.out = y.data();
  e.row_start = e.row_end = 12;
  ok("elementwise", [&] { cuda::elementwise(e); });
  ColumnSumsParams c;
  c.rows = 3;
  c.cols = 4;
  c.x = x.data();
  c.out = y.data();
  ok("columnSums", [&] { cuda::column_sums(c); });
  untouched("empty ranges", y, 0, 12);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "all";
  if (which != "all" && which != "validation" && which != "kernels") {
    std::fprintf(stderr, "usage: test_cuda_nn [validation|kernels]\n");
    return 2;
  }
  if (which != "kernels") {
    test_validation();
    test_empty_ranges();
  }
  if (which != "validation") {
    const cuda::Probe pr = cuda::probe();
    if (!pr.available) {
      std::printf("SKIP test_cuda_nn kernels: %s\n", pr.reason.c_str());
      if (which == "kernels") return 77;
      return report("test_cuda_nn validation");
    }
    std::printf("device: %s\n", pr.reason.c_str());
    test_activations();
    test_column_sums();
    test_layer_norm();
    test_softmax();
    test_losses();
    test_embeddings();
    test_dropout();
    test_adam();
    test_elementwise();
    test_spd_solve();
    test_cancel();
  }
  return report(("test_cuda_nn " + which).c_str());
}
