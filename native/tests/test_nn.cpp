// ctest: the neural-network kernels of native/core (affinity/nn.h) against the float64 formulas
// of nn_reference.h, at every SIMD level this CPU runs and on 1 and 2 threads: random inputs,
// edge cases (empty, 1×1, sizes off every vector width, extreme values, masks, ignored rows,
// ids = −1), row ranges (rows outside the range untouched), bit-identical dropout masks, the
// spdSolve paths (blocks of 1 to 64, inverse and right-hand sides, a pivot that is not positive
// named, cancellation), and every validation error.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "affinity/cancel.h"
#include "affinity/nn.h"
#include "nn_reference.h"
#include "nn_test_support.h"
#include "reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

struct Level {
  Simd simd;
  int threads;
  std::string name() const { return std::string(simd_name(simd)) + "/" + std::to_string(threads) + "t"; }
};

std::vector<Level> levels() {
  std::vector<Level> out;
  for (Simd s : simd_levels())
    for (int t : {1, 2}) out.push_back({s, t});
  return out;
}

void set_call(NnCall& p, const Level& l, int64_t r0, int64_t r1) {
  p.simd = l.simd;
  p.threads = l.threads;
  p.row_start = r0;
  p.row_end = r1;
}

// ------------------------------------------------------------------ activations
void test_activations() {
  const int64_t shapes[][2] = {{0, 5}, {1, 1}, {3, 7}, {17, 33}, {40, 100}};
  for (const Level& l : levels())
    for (const auto& sh : shapes) {
      const int64_t rows = sh[0], cols = sh[1], n = rows * cols;
      const std::vector<float> x = activation_input(rows, cols);
      const std::vector<float> bias = uniform(cols, static_cast<uint32_t>(cols), -0.5f, 0.5f);
      const std::vector<float> dy = uniform(n, static_cast<uint32_t>(rows + cols * 3));
      for (Activation a : kActs)
        for (bool with_bias : {true, false}) {
          const std::string label = l.name() + " " + activation_name(a) + " " + shape(rows, cols) + (with_bias ? " bias" : "");
          // a row range in the middle: rows outside it stay untouched
          const int64_t r0 = rows >= 3 ? 1 : 0, r1 = rows >= 3 ? rows - 1 : rows;
          std::vector<float> out(static_cast<size_t>(n), kSentinel);
          BiasActivationParams p;
          set_call(p, l, r0, r1);
          p.rows = rows;
          p.cols = cols;
          p.x = x.data();
          p.x_length = n;
          p.bias = with_bias ? bias.data() : nullptr;
          p.bias_length = cols;
          p.activation = a;
          p.out = out.data();
          p.out_length = n;
          bias_activation(p);
          const std::vector<double> want = nnref::bias_activation(x, p.bias, rows, cols, a);
          close(label + " forward", out.data() + r0 * cols, want.data() + r0 * cols, (r1 - r0) * cols, 1e-5, 1e-5);
          untouched(label + " forward", out, 0, r0 * cols);
          untouched(label + " forward", out, r1 * cols, n);

          ActivationBackwardParams b;
          static_cast<BiasActivationParams&>(b) = p;
          std::vector<float> dx(static_cast<size_t>(n), kSentinel);
          set_call(b, l, 0, rows);
          b.out = dx.data();
          b.grad_out = dy.data();
          b.grad_out_length = n;
          activation_backward(b);
          close(label + " backward", dx, nnref::bias_activation(x, b.bias, rows, cols, a, dy.data()), 1e-5, 1e-5);
        }
    }
}

void test_column_sums() {
  const int64_t shapes[][2] = {{0, 5}, {1, 1}, {3, 7}, {1000, 37}, {5, 300}, {3000, 64}};
  for (const Level& l : levels())
    for (const auto& sh : shapes) {
      const int64_t rows = sh[0], cols = sh[1];
      const std::vector<float> x = uniform(rows * cols, static_cast<uint32_t>(rows + cols), -3, 3);
      const std::vector<double> want = nnref::column_sums(x, rows, cols);
      for (int part = 0; part < 2; part++) {
        const int64_t c0 = part && cols > 2 ? 1 : 0, c1 = part && cols > 2 ? cols - 1 : cols;
        std::vector<float> out(static_cast<size_t>(cols), kSentinel);
        ColumnSumsParams p = column_sums_case(rows, cols, x, out);
        set_call(p, l, c0, c1);
        column_sums(p);
        const std::string label = l.name() + " columnSums " + shape(rows, cols);
        close(label, out.data() + c0, want.data() + c0, c1 - c0, 1e-7, 1e-6);
        untouched(label, out, 0, c0);
        untouched(label, out, c1, cols);
      }
    }
}

// ------------------------------------------------------------------ layer norm
void test_layer_norm() {
  const int64_t shapes[][2] = {{0, 5}, {1, 1}, {3, 7}, {17, 33}, {50, 200}};
  for (const Level& l : levels())
    for (const auto& sh : shapes) {
      const int64_t rows = sh[0], cols = sh[1], n = rows * cols;
      std::vector<float> x = uniform(n, static_cast<uint32_t>(rows * 3 + cols), -3, 3);
      if (rows > 1)
        for (int64_t j = 0; j < cols; j++) x[cols + j] = 0.75f;  // a constant row: σ² = 0
      const std::vector<float> gamma = uniform(cols, 3, 0.5f, 1.5f), beta = uniform(cols, 4, -0.5f, 0.5f);
      const std::vector<float> dy = uniform(n, static_cast<uint32_t>(rows + 5 * cols));
      const nnref::LayerNormOut want = nnref::layer_norm(x, gamma, beta, rows, cols, 1e-5);
      const std::string label = l.name() + " layerNorm " + shape(rows, cols);
      std::vector<float> y(static_cast<size_t>(n), kSentinel), mean(static_cast<size_t>(rows)), rstd(static_cast<size_t>(rows));
      LayerNormParams p = layer_norm_case(rows, cols, x, gamma, beta, y, mean, rstd);
      set_call(p, l, 0, rows);
      layer_norm(p);
      close(label + " y", y, want.y, 2e-5, 2e-5);
      close(label + " mean", mean, want.mean, 1e-6, 1e-5);
      close(label + " rstd", rstd, want.rstd, 1e-6, 1e-5);

      // backward and parameter gradients from the reference's saved statistics
      std::vector<float> m32(want.mean.begin(), want.mean.end()), r32(want.rstd.begin(), want.rstd.end());
      std::vector<float> dx(static_cast<size_t>(n), kSentinel);
      LayerNormBackwardParams b = layer_norm_backward_case(rows, cols, x, gamma, m32, r32, dy, dx);
      set_call(b, l, 0, rows);
      layer_norm_backward(b);
      close(label + " backward", dx, nnref::layer_norm_backward(x, gamma, m32, r32, dy, rows, cols), 5e-5, 5e-5);

      std::vector<float> dg(static_cast<size_t>(cols), kSentinel), db(static_cast<size_t>(cols), kSentinel);
      LayerNormParamGradParams g = layer_norm_param_grad_case(rows, cols, x, m32, r32, dy, dg, db);
      set_call(g, l, 0, cols);
      layer_norm_param_grad(g);
      const std::vector<double> want_g = nnref::layer_norm_param_grad(x, m32, r32, dy, rows, cols);
      close(label + " dgamma", dg.data(), want_g.data(), cols, 1e-6, 1e-6);
      close(label + " dbeta", db.data(), want_g.data() + cols, cols, 1e-6, 1e-6);
    }
}

// ------------------------------------------------------------------ softmax
void test_softmax() {
  const int64_t configs[][3] = {{1, 1, 1}, {3, 2, 5}, {2, 1, 17}, {4, 2, 40}, {2, 3, 33}};  // sequences, heads, T
  for (const Level& l : levels())
    for (const auto& cf : configs) {
      const int64_t seqs = cf[0], heads = cf[1], t = cf[2], rows = seqs * heads * t;
      const std::vector<float> x = uniform(rows * t, static_cast<uint32_t>(rows + t), -4, 4);
      std::vector<uint8_t> valid(static_cast<size_t>(seqs * t), 0);
      std::mt19937 g(static_cast<uint32_t>(t));
      for (int64_t s = 0; s < seqs; s++) {  // left padding; the last sequence is all padding
        const int64_t pad = s == seqs - 1 && seqs > 1 ? t : static_cast<int64_t>(g() % static_cast<uint32_t>(t));
        for (int64_t j = pad; j < t; j++) valid[s * t + j] = static_cast<uint8_t>(1 + (j % 3));  // any non-zero byte is a key
      }
      for (int variant = 0; variant < 4; variant++) {
        const bool causal = variant & 1, masked = variant & 2;
        const float scale = variant == 3 ? 0.125f : 1.0f;
        const std::string label = l.name() + " maskedSoftmax " + std::to_string(seqs) + "x" + std::to_string(heads) + "x" +
                                  std::to_string(t) + (causal ? " causal" : "") + (masked ? " padding" : "");
        std::vector<float> out(static_cast<size_t>(rows * t), kSentinel);
        MaskedSoftmaxParams p = masked_softmax_case(rows, t, x, scale, t, causal, masked ? &valid : nullptr, out);
        set_call(p, l, 0, rows);
        masked_softmax(p);
        const std::vector<double> want = nnref::masked_softmax(x, rows, t, scale, t, causal, masked ? &valid : nullptr);
        close(label, out, want, 1e-6, 1e-5);

        std::vector<float> pr(want.begin(), want.end());
        const std::vector<float> dp = uniform(rows * t, 5);
        std::vector<float> dx(static_cast<size_t>(rows * t), kSentinel);
        SoftmaxBackwardParams b = softmax_backward_case(rows, t, pr, dp, scale, dx);
        set_call(b, l, 0, rows);
        softmax_backward(b);
        close(label + " backward", dx, nnref::softmax_backward(pr, dp, rows, t, scale), 1e-6, 1e-5);
      }
      // a plain row softmax (one block) of scores with a −inf key and a row range
      std::vector<float> xi = x;
      xi[0] = -std::numeric_limits<float>::infinity();
      std::vector<float> out(static_cast<size_t>(rows * t), kSentinel);
      MaskedSoftmaxParams p;
      set_call(p, l, rows > 2 ? 1 : 0, rows);
      p.rows = rows;
      p.cols = t;
      p.scores = xi.data();
      p.queries = rows;
      p.out = out.data();
      masked_softmax(p);
      const std::vector<double> want = nnref::masked_softmax(xi, rows, t, 1.0, rows, false, nullptr);
      const std::string label = l.name() + " plain softmax " + shape(rows, t);
      close(label, out.data() + p.row_start * t, want.data() + p.row_start * t, (rows - p.row_start) * t, 1e-6, 1e-5);
      untouched(label, out, 0, p.row_start * t);
    }
}

// ------------------------------------------------------------------ losses
void test_losses() {
  const int64_t shapes[][2] = {{0, 5}, {1, 1}, {5, 7}, {17, 33}, {9, 100}};
  for (const Level& l : levels())
    for (const auto& sh : shapes) {
      const int64_t rows = sh[0], cols = sh[1], n = rows * cols;
      const std::vector<float> z = uniform(n, static_cast<uint32_t>(rows * 11 + cols), -8, 8);
      std::vector<int32_t> targets(static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; r++) targets[r] = r % 4 == 1 ? -1 : static_cast<int32_t>((r * 5) % cols);
      std::vector<float> weights(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; i++) weights[i] = i % 3 == 0 ? static_cast<float>(1 + i % 4) : 0.0f;
      for (bool use_targets : {true, false}) {
        const std::string label = l.name() + " softmaxCrossEntropy " + shape(rows, cols) + (use_targets ? " targets" : " weights");
        std::vector<float> loss(static_cast<size_t>(rows), kSentinel), grad(static_cast<size_t>(n), kSentinel);
        SoftmaxCrossEntropyParams p;
        set_call(p, l, 0, rows);
        p.rows = rows;
        p.cols = cols;
        p.logits = z.data();
        p.use_targets = use_targets;
        p.targets = targets.data();
        p.target_weights = weights.data();
        p.grad_scale = 0.5f;
        p.loss = loss.data();
        p.grad = grad.data();
        softmax_cross_entropy(p);
        const std::vector<double> want =
            nnref::softmax_cross_entropy(z, rows, cols, use_targets ? targets.data() : nullptr, weights.data(), 0.5);
        close(label + " loss", loss.data(), want.data(), rows, 1e-5, 1e-5);
        close(label + " grad", grad.data(), want.data() + rows, n, 1e-6, 1e-5);
      }
      const std::vector<float> zs = uniform(n, static_cast<uint32_t>(n + 1), -30, 30), y = uniform(n, 6, 0, 1),
                               w = uniform(n, 7, 0, 2);
      for (bool with_weights : {true, false}) {
        const std::string label = l.name() + " sigmoidCrossEntropy " + std::to_string(n) + (with_weights ? " weighted" : "");
        std::vector<float> loss(static_cast<size_t>(n), kSentinel), grad(static_cast<size_t>(n), kSentinel);
        SigmoidCrossEntropyParams p = sigmoid_cross_entropy_case(n, zs, y, with_weights ? w.data() : nullptr, 0.25f, loss, grad);
        set_call(p, l, 0, n);
        sigmoid_cross_entropy(p);
        const std::vector<double> want = nnref::sigmoid_cross_entropy(zs, y, p.weights, 0.25);
        close(label + " loss", loss.data(), want.data(), n, 1e-5, 1e-5);
        close(label + " grad", grad.data(), want.data() + n, n, 1e-6, 1e-5);
      }
    }
}

// ------------------------------------------------------------------ the fused output layer
/** loss (rows), grad_hidden (rows × dim), grad_table (items × dim) of the definition, in float64. */
std::vector<double> output_layer_reference(const std::vector<float>& h, const std::vector<float>& e, const std::vector<int32_t>& t,
                                           const float* w, int64_t rows, int64_t items, int64_t dim, double s) {
  std::vector<double> out(static_cast<size_t>(rows + rows * dim + items * dim), 0.0);
  double* loss = out.data();
  double* dh = loss + rows;
  double* de = dh + rows * dim;
  std::vector<double> z(static_cast<size_t>(items));
  for (int64_t r = 0; r < rows; r++) {
    if (t[r] < 0) continue;
    double mx = -1e300;
    for (int64_t j = 0; j < items; j++) {
      double v = 0;
      for (int64_t k = 0; k < dim; k++) v += double(h[r * dim + k]) * e[j * dim + k];
      z[j] = v;
      mx = std::max(mx, v);
    }
    double sum = 0;
    for (int64_t j = 0; j < items; j++) sum += std::exp(z[j] - mx);
    const double lse = mx + std::log(sum), wr = w ? w[r] : 1.0;
    loss[r] = wr * (lse - z[t[r]]);
    for (int64_t j = 0; j < items; j++) {
      const double g = s * wr * (std::exp(z[j] - lse) - (j == t[r] ? 1.0 : 0.0));
      for (int64_t k = 0; k < dim; k++) {
        dh[r * dim + k] += g * e[j * dim + k];
        de[j * dim + k] += g * h[r * dim + k];
      }
    }
  }
  return out;
}

void test_output_layer() {
  // rows past one tile and past the 16 groups (several tiles per group), a single item, no rows
  const int64_t shapes[][3] = {{0, 4, 3}, {1, 1, 1}, {7, 5, 3}, {300, 37, 50}, {16 * kOutputLayerTileRows + 45, 11, 4}};
  for (const auto& sh : shapes) {
    const int64_t rows = sh[0], items = sh[1], dim = sh[2];
    const std::vector<float> h = uniform(rows * dim, static_cast<uint32_t>(rows + 3), -1, 1), e = uniform(items * dim, static_cast<uint32_t>(items + 5), -0.5f, 0.5f);
    const std::vector<float> w = uniform(rows, 9, 0, 2);
    std::vector<int32_t> t(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; r++) t[r] = r % 5 == 2 ? -1 : static_cast<int32_t>((r * 7) % items);
    for (bool weighted : {false, true}) {
      const double s = 1.0 / std::max<int64_t>(1, rows);
      const std::vector<double> want = output_layer_reference(h, e, t, weighted ? w.data() : nullptr, rows, items, dim, s);
      std::vector<float> first_table;
      for (const Level& l : levels()) {
        const std::string label = l.name() + " softmaxOutputLayer " + shape(rows, dim) + " x " + shape(items, dim) + (weighted ? " weighted" : "");
        std::vector<float> loss(static_cast<size_t>(rows), kSentinel), dh(static_cast<size_t>(rows * dim), kSentinel),
            de(static_cast<size_t>(items * dim), kSentinel);
        SoftmaxOutputLayerParams p;
        set_call(p, l, 0, rows);
        p.rows = rows;
        p.items = items;
        p.dim = dim;
        p.hidden = h.data();
        p.table = e.data();
        p.targets = t.data();
        p.weights = weighted ? w.data() : nullptr;
        p.grad_scale = static_cast<float>(s);
        p.loss = loss.data();
        p.grad_hidden = dh.data();
        p.grad_table = de.data();
        softmax_output_layer(p);
        close(label + " loss", loss.data(), want.data(), rows, 1e-5, 1e-4);
        close(label + " gradHidden", dh.data(), want.data() + rows, rows * dim, 1e-6, 1e-3);
        close(label + " gradTable", de.data(), want.data() + rows + rows * dim, items * dim, 1e-6, 1e-3);
        // the same bits on 1 and 2 threads (at one SIMD level)
        if (l.threads == 1) first_table = de;
        else CHECK(first_table == de, "%s: gradTable differs between 1 and 2 threads", label.c_str());
      }
    }
  }
}

// ------------------------------------------------------------------ embeddings
void test_embeddings() {
  for (const Level& l : levels())
    for (int64_t dim : {1, 13, 64}) {
      const int64_t vocab = 10;
      const std::vector<float> table = uniform(vocab * dim, static_cast<uint32_t>(dim));
      const std::vector<int32_t> ids = {3, -1, 0, 9, 3, -1, 7};
      const int64_t n = static_cast<int64_t>(ids.size());
      std::vector<float> out(static_cast<size_t>(n * dim), kSentinel);
      EmbeddingGatherParams p = embedding_gather_case(vocab, dim, table, ids, out);
      set_call(p, l, 1, n);
      embedding_gather(p);
      std::vector<double> want(static_cast<size_t>(n * dim), 0.0);
      for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < dim; j++) want[r * dim + j] = ids[r] < 0 ? 0.0 : table[ids[r] * dim + j];
      const std::string label = l.name() + " embeddingGather dim " + std::to_string(dim);
      close(label, out.data() + dim, want.data() + dim, (n - 1) * dim, 0, 0);
      untouched(label, out, 0, dim);

      // groups: [0, 3), [3, 3) empty, [3, 7), [7, 7) empty; position −1 adds nothing
      const std::vector<int32_t> offsets = {0, 3, 3, 7, 7}, positions = {4, -1, 0, 9, 9, 2, 5};
      const std::vector<float> w = uniform(7, 3, 0, 1);
      for (bool weighted : {false, true}) {
        const int64_t groups = 4;
        std::vector<float> sum(static_cast<size_t>(groups * dim), kSentinel);
        SegmentSumParams s = segment_sum_case(vocab, dim, table, offsets, positions, weighted ? w.data() : nullptr, sum);
        set_call(s, l, 0, groups);
        segment_sum(s);
        close(l.name() + " segmentSum dim " + std::to_string(dim) + (weighted ? " weighted" : ""), sum,
              nnref::segment_sum(table, dim, offsets, positions, s.weights), 1e-7, 1e-6);
      }
    }
}

// ------------------------------------------------------------------ dropout, Adam, elementwise
void test_dropout() {
  for (const Level& l : levels())
    for (int64_t n : {0, 1, 17, 1000, 70000})
      for (double rate : {0.0, 0.2, 0.9999})
        for (uint32_t offset : {0u, 7u, 0xFFFFFFF0u}) {
          const std::vector<float> x = uniform(n, static_cast<uint32_t>(n + 3));
          std::vector<float> out(static_cast<size_t>(n), kSentinel);
          DropoutParams p = dropout_case(n, x, rate, offset, out);
          set_call(p, l, 0, n);
          dropout(p);
          const std::vector<float> want = nnref::dropout(x, rate, 11, offset);
          int64_t diff = -1, kept = 0;
          for (int64_t i = 0; i < n; i++) {
            if (out[i] != want[i] && diff < 0) diff = i;
            kept += want[i] != 0;
          }
          CHECK(diff < 0, "%s dropout n=%lld rate=%g offset=%u: element %lld differs from the reference", l.name().c_str(),
                static_cast<long long>(n), rate, offset, static_cast<long long>(diff));
          if (n == 70000 && rate == 0.2)  // P(keep) = 0.8: 56000 ± 4σ (σ ≈ 106)
            CHECK(kept > 55500 && kept < 56500, "dropout keeps %lld of 70000 at rate 0.2", static_cast<long long>(kept));
        }
}

void test_adam() {
  for (const Level& l : levels())
    for (int64_t dim : {1, 5, 64})
      for (int variant = 0; variant < 4; variant++) {
        const bool lazy = variant & 1, decoupled = variant & 2;
        const int64_t rows = 37, n = rows * dim;
        std::vector<int32_t> ids;
        for (int32_t r = 0; r < rows; r += 3) ids.push_back((r * 7) % static_cast<int32_t>(rows));
        const int64_t grows = lazy ? static_cast<int64_t>(ids.size()) : rows;
        std::vector<float> params = uniform(n, 13), m = uniform(n, 14, -0.01f, 0.01f), v = uniform(n, 15, 0, 0.01f);
        const std::vector<float> grads = uniform(grows * dim, 16);
        AdamUpdateParams p = adam_update_case(n, dim, params, grads, m, v, lazy, ids, decoupled);
        set_call(p, l, 0, grows);
        const std::vector<double> want = nnref::adam(p, params, grads, m, v, ids);
        adam_update(p);
        const std::string label = l.name() + " adam dim " + std::to_string(dim) + (lazy ? " lazy" : " dense") + (decoupled ? " AdamW" : " L2");
        close(label + " params", params.data(), want.data(), n, 1e-7, 1e-6);
        close(label + " m", m.data(), want.data() + n, n, 1e-9, 1e-6);
        close(label + " v", v.data(), want.data() + 2 * n, n, 1e-9, 1e-6);
      }
}

void test_elementwise() {
  for (const Level& l : levels())
    for (int64_t n : {0, 1, 33, 20000}) {
      const std::vector<float> x = uniform(n, 1), y = uniform(n, 2);
      for (int variant = 0; variant < 3; variant++) {
        std::vector<float> out(static_cast<size_t>(n), kSentinel);
        ElementwiseParams p = elementwise_case(variant, n, x, y, out);
        set_call(p, l, 0, n);
        elementwise(p);
        std::vector<double> want(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; i++)
          want[i] = variant == 1 ? 0.5 * x[i] * y[i] : variant == 2 ? 0.5 * x[i] : 0.5 * x[i] - 2.0 * y[i];
        close(l.name() + " elementwise " + std::to_string(variant) + " n=" + std::to_string(n), out, want, 0, 6e-8);
      }
    }
}

// ------------------------------------------------------------------ spdSolve
bool spd_run(const Level& l, const std::vector<float>& a, int64_t n, const std::vector<float>* b, int64_t r, int64_t block,
             std::vector<float>& out, std::string* error = nullptr) {
  SpdSolveParams p;
  set_call(p, l, 0, n);
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
  p.block = block;
  try {
    spd_solve(p);
    return true;
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return false;
  }
}

void test_spd_solve() {
  for (const Level& l : levels())
    for (int64_t n : {1, 2, 5, 33, 100, 257})
      for (int64_t block : {0, 1, 7, 32, 64}) {
        if (block == 1 && n > 33) continue;
        const std::vector<float> a = spd_matrix(n, static_cast<uint32_t>(n));
        for (int64_t r : {-1, 0, 1, 3, 40}) {  // −1: the inverse
          const std::vector<float> b = uniform(n * std::max<int64_t>(r, 0), static_cast<uint32_t>(n + r));
          std::vector<float> out;
          std::string err;
          const std::string label = l.name() + " spdSolve n=" + std::to_string(n) + " block=" + std::to_string(block) +
                                    (r < 0 ? " inverse" : " r=" + std::to_string(r));
          if (!spd_run(l, a, n, r < 0 ? nullptr : &b, r, block, out, &err)) {
            CHECK(false, "%s threw %s", label.c_str(), err.c_str());
            continue;
          }
          const std::vector<double> want = nnref::spd_solve(a, n, r < 0 ? nullptr : &b, r);
          double scale = 0;
          for (double v : want) scale = std::max(scale, std::fabs(v));
          close(label, out, want, 1e-5 * scale, 1e-4);
        }
      }
  // not positive definite: the pivot is named, whatever the block size
  const Level l{Simd::Auto, 2};
  std::vector<float> out;
  std::string err;
  const std::vector<float> indefinite = {1, 0, 2, 1};  // [[1, 2], [2, 1]]: pivot 1 is 1 − 4 = −3
  CHECK(!spd_run(l, indefinite, 2, nullptr, 0, 0, out, &err) && err.find("not positive definite (pivot 1 is -3)") != std::string::npos,
        "2x2 indefinite: %s", err.c_str());
  for (int64_t block : {0, 7, 32}) {
    std::vector<float> a = spd_matrix(100, 9);
    a[70 * 100 + 70] = -1;  // A_70,70 − Σ L² < 0
    err.clear();
    CHECK(!spd_run(l, a, 100, nullptr, 0, block, out, &err) && err.find("pivot 70 is") != std::string::npos, "pivot 70 (block %lld): %s",
          static_cast<long long>(block), err.c_str());
    a = spd_matrix(100, 9);
    a[5 * 100 + 5] = std::numeric_limits<float>::quiet_NaN();
    err.clear();
    const std::vector<float> rhs = uniform(100, 1);
    CHECK(!spd_run(l, a, 100, &rhs, 1, block, out, &err) && err.find("pivot 5 is nan") != std::string::npos, "NaN pivot 5 (block %lld): %s",
          static_cast<long long>(block), err.c_str());
  }
  // cancelled: the flag is read between blocks
  {
    const std::vector<float> a = spd_matrix(300, 4);
    const int32_t flag = 1;
    bool cancelled = false;
    try {
      CancelScope scope(&flag);
      spd_run(l, a, 300, nullptr, 0, 32, out);
      std::vector<float> o2(300 * 300);
      SpdSolveParams p;
      p.n = 300;
      p.a = a.data();
      p.inverse = true;
      p.out = o2.data();
      p.row_end = 300;
      p.block = 32;
      spd_solve(p);
    } catch (const Cancelled&) {
      cancelled = true;
    }
    CHECK(cancelled, "spdSolve under a set cancellation flag did not throw Cancelled");
  }
}

// ------------------------------------------------------------------ validation
template <class P>
void expect_invalid(const char* kernel, const P& p, std::string (*validate)(const P&), void (*run)(const P&), const std::string& needle) {
  const std::string msg = validate(p);
  CHECK(msg.find(needle) != std::string::npos, "%s: expected a message with '%s', got '%s'", kernel, needle.c_str(), msg.c_str());
  bool threw = false;
  try {
    run(p);
  } catch (const std::invalid_argument& e) {
    threw = std::string(e.what()).rfind(std::string(kernel) + ": ", 0) == 0;
  }
  CHECK(threw, "%s: the kernel did not throw std::invalid_argument('%s: ...') for '%s'", kernel, kernel, needle.c_str());
}

void test_validation() {
  std::vector<float> x(60, 1.0f), y(60), small(4);
  std::vector<int32_t> ids = {0, 3, 10, -1};
  {
    SoftmaxOutputLayerParams p;
    p.rows = 4;
    p.items = 10;
    p.dim = 2;
    p.hidden = x.data();
    p.table = x.data() + 8;
    p.targets = ids.data();
    p.loss = y.data();
    p.grad_hidden = y.data() + 4;
    p.grad_table = y.data() + 12;
    p.row_end = 4;
    p.items = 3;  // ids[2] = 10
    expect_invalid("softmaxOutputLayer", p, &validate_softmax_output_layer, &softmax_output_layer, "targets[1] = 3 is outside [-1, 3)");
    p.items = 11;
    p.table = x.data() + 8;
    p.grad_table = y.data() + 10;  // overlaps gradHidden (4..12)
    expect_invalid("softmaxOutputLayer", p, &validate_softmax_output_layer, &softmax_output_layer, "overlaps gradHidden");
    p.grad_table = y.data() + 12;
    p.row_end = 3;
    expect_invalid("softmaxOutputLayer", p, &validate_softmax_output_layer, &softmax_output_layer, "computes all 4 rows in one call");
  }
  {
    BiasActivationParams p;
    p.rows = 6;
    p.cols = 10;
    p.x = x.data();
    p.x_length = 59;
    p.out = y.data();
    p.row_end = 6;
    expect_invalid("biasActivation", p, &validate_bias_activation, &bias_activation, "x has length 59, expected rows*cols = 60");
    p.x_length = 60;
    p.out = x.data() + 5;
    expect_invalid("biasActivation", p, &validate_bias_activation, &bias_activation, "out overlaps x");
    p.out = y.data();
    p.activation = static_cast<Activation>(9);
    expect_invalid("biasActivation", p, &validate_bias_activation, &bias_activation, "activation must be");
    p.activation = Activation::Relu;
    p.row_end = 7;
    expect_invalid("biasActivation", p, &validate_bias_activation, &bias_activation, "row range [0, 7) is not inside [0, rows = 6]");
    p.row_end = 6;
    p.rows = -1;
    expect_invalid("biasActivation", p, &validate_bias_activation, &bias_activation, "rows must be in [0, 2^31-1], got -1");
  }
  {
    ColumnSumsParams p;
    p.rows = 6;
    p.cols = 10;
    p.x = x.data();
    p.out = y.data();
    p.row_end = 11;
    expect_invalid("columnSums", p, &validate_column_sums, &column_sums, "not inside [0, cols = 10]");
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
    expect_invalid("layerNorm", p, &validate_layer_norm, &layer_norm, "eps must be > 0");
    p.eps = 1e-5;
    expect_invalid("layerNorm", p, &validate_layer_norm, &layer_norm, "mean overlaps y");
  }
  {
    MaskedSoftmaxParams p;
    p.rows = 6;
    p.cols = 10;
    p.scores = x.data();
    p.out = y.data();
    p.queries = 4;
    p.row_end = 6;
    expect_invalid("maskedSoftmax", p, &validate_masked_softmax, &masked_softmax, "scores has 6 rows, not a multiple of queries = 4");
    p.queries = 3;
    std::vector<uint8_t> v(7, 1);
    p.has_key_valid = true;
    p.key_valid = v.data();
    p.key_valid_length = 7;
    expect_invalid("maskedSoftmax", p, &validate_masked_softmax, &masked_softmax, "keyValid has length 7, not a positive multiple of the 10 keys");
    p.key_valid_length = 0;
    expect_invalid("maskedSoftmax", p, &validate_masked_softmax, &masked_softmax, "keyValid has length 0");
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
    expect_invalid("softmaxCrossEntropy", p, &validate_softmax_cross_entropy, &softmax_cross_entropy, "targets[2] = 10 is outside [-1, 10)");
    std::vector<float> w(40, 1.0f);
    w[13] = -1;
    p.use_targets = false;
    p.target_weights = w.data();
    expect_invalid("softmaxCrossEntropy", p, &validate_softmax_cross_entropy, &softmax_cross_entropy, "targetWeights[13] = -1 is not a finite weight");
  }
  {
    std::vector<float> t(8, 0.5f), w(8, 1.0f);
    t[3] = 1.5f;
    SigmoidCrossEntropyParams p;
    p.length = 8;
    p.logits = x.data();
    p.targets = t.data();
    p.loss = y.data();
    p.grad = y.data() + 8;
    p.row_end = 8;
    expect_invalid("sigmoidCrossEntropy", p, &validate_sigmoid_cross_entropy, &sigmoid_cross_entropy, "targets[3] = 1.5 is outside [0, 1]");
    t[3] = 1;
    w[2] = std::numeric_limits<float>::quiet_NaN();
    p.weights = w.data();
    expect_invalid("sigmoidCrossEntropy", p, &validate_sigmoid_cross_entropy, &sigmoid_cross_entropy, "weights[2] = nan is not a finite weight");
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
    expect_invalid("embeddingGather", p, &validate_embedding_gather, &embedding_gather, "ids[2] = 10 is outside [-1, 10)");
    std::vector<int32_t> neg = {0, -2};
    p.ids = neg.data();
    p.ids_length = 2;
    p.row_end = 2;
    expect_invalid("embeddingGather", p, &validate_embedding_gather, &embedding_gather, "ids[1] = -2 is outside [-1, 10)");
  }
  {
    std::vector<int32_t> offsets = {1, 2, 4}, positions = {0, 1, 2, 3};
    SegmentSumParams p;
    p.rows = 10;
    p.dim = 6;
    p.src = x.data();
    p.offsets = offsets.data();
    p.offsets_length = 3;
    p.positions = positions.data();
    p.positions_length = 4;
    p.out = y.data();
    p.row_end = 2;
    expect_invalid("segmentSum", p, &validate_segment_sum, &segment_sum, "offsets[0] = 1, expected 0");
    offsets = {0, 3, 2};
    expect_invalid("segmentSum", p, &validate_segment_sum, &segment_sum, "offsets decrease at 2 (3 → 2)");
    offsets = {0, 2, 3};
    expect_invalid("segmentSum", p, &validate_segment_sum, &segment_sum, "offsets end at 3, expected positions.length = 4");
    offsets = {0, 2, 4};
    positions[3] = 10;
    expect_invalid("segmentSum", p, &validate_segment_sum, &segment_sum, "positions[3] = 10 is outside [-1, 10)");
    p.offsets_length = 0;
    expect_invalid("segmentSum", p, &validate_segment_sum, &segment_sum, "offsets must have at least one entry");
  }
  {
    DropoutParams p;
    p.length = 8;
    p.x = x.data();
    p.out = y.data();
    p.row_end = 8;
    p.rate = 1;
    expect_invalid("dropout", p, &validate_dropout, &dropout, "rate must be in [0, 1), got 1");
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
    expect_invalid("adamUpdate", p, &validate_adam_update, &adam_update, "rowIds[3] = 4 repeats an earlier row");
    rows[3] = 5;
    expect_invalid("adamUpdate", p, &validate_adam_update, &adam_update, "rowIds[3] = 5 is outside [0, 5)");
    rows[3] = 2;
    p.v = m.data();
    expect_invalid("adamUpdate", p, &validate_adam_update, &adam_update, "v overlaps m");
    p.v = v.data();
    p.beta1 = 1;
    expect_invalid("adamUpdate", p, &validate_adam_update, &adam_update, "beta1 must be in [0, 1), got 1");
    p.beta1 = 0.9;
    p.dim = 3;
    expect_invalid("adamUpdate", p, &validate_adam_update, &adam_update, "params has length 20, not a multiple of dim = 3");
  }
  {
    SpdSolveParams p;
    p.n = 4;
    p.a = x.data();
    p.inverse = true;
    p.out = y.data();
    p.row_end = 3;
    expect_invalid("spdSolve", p, &validate_spd_solve, &spd_solve, "solves all 4 rows in one call, got rows [0, 3)");
    p.row_end = 4;
    p.out = x.data() + 8;
    expect_invalid("spdSolve", p, &validate_spd_solve, &spd_solve, "out overlaps a");
  }
  {
    ElementwiseParams p;
    p.op = ElementwiseOp::Mul;
    p.length = 5;
    p.x = x.data();
    p.out = y.data();
    p.row_end = 5;
    expect_invalid("elementwise", p, &validate_elementwise, &elementwise, "y is required for mul");
    p.op = ElementwiseOp::Axpby;
    p.alpha = std::numeric_limits<double>::infinity();
    expect_invalid("elementwise", p, &validate_elementwise, &elementwise, "alpha must be a finite number");
  }
}

}  // namespace

int main() {
  std::printf("nn kernels at SIMD levels:");
  for (Simd s : simd_levels()) std::printf(" %s", simd_name(s));
  std::printf("\n");
  test_activations();
  test_column_sums();
  test_layer_norm();
  test_softmax();
  test_losses();
  test_output_layer();
  test_embeddings();
  test_dropout();
  test_adam();
  test_elementwise();
  test_spd_solve();
  test_validation();
  std::printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
