// Test support for test_nn.cpp: the formulas of src/kernels/nn/*.ts written again, plainly, in
// float64 (std::exp, std::tanh, std::log1p; no blocking, no SIMD), each returning what the
// kernel's output should be before it is rounded to float32.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "affinity/nn.h"

namespace affinity_test {
namespace nnref {

using affinity::Activation;

inline double sigmoid(double z) { return z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z)); }

inline double act(Activation a, double z) {
  const double c = std::sqrt(2 / M_PI);
  switch (a) {
    case Activation::Identity: return z;
    case Activation::Relu: return z > 0 ? z : 0;
    case Activation::Sigmoid: return sigmoid(z);
    case Activation::Tanh: return std::tanh(z);
    case Activation::Gelu: return 0.5 * z * (1 + std::tanh(c * (z + 0.044715 * z * z * z)));
  }
  return 0;
}

inline double act_derivative(Activation a, double z) {
  const double c = std::sqrt(2 / M_PI);
  switch (a) {
    case Activation::Identity: return 1;
    case Activation::Relu: return z > 0 ? 1 : 0;
    case Activation::Sigmoid: return sigmoid(z) * (1 - sigmoid(z));
    case Activation::Tanh: return 1 - std::tanh(z) * std::tanh(z);
    case Activation::Gelu: {
      const double t = std::tanh(c * (z + 0.044715 * z * z * z));
      return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * c * (1 + 3 * 0.044715 * z * z);
    }
  }
  return 0;
}

/** y = act(x + b) (backward: dy·act'(x + b)). */
inline std::vector<double> bias_activation(const std::vector<float>& x, const float* bias, int64_t rows, int64_t cols,
                                           Activation a, const float* dy = nullptr) {
  std::vector<double> y(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < cols; j++) {
      const double z = static_cast<double>(x[r * cols + j]) + (bias ? bias[j] : 0.0);
      y[r * cols + j] = dy ? dy[r * cols + j] * act_derivative(a, z) : act(a, z);
    }
  return y;
}

inline std::vector<double> column_sums(const std::vector<float>& x, int64_t rows, int64_t cols) {
  std::vector<double> s(static_cast<size_t>(cols), 0.0);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < cols; j++) s[j] += x[r * cols + j];
  return s;
}

struct LayerNormOut {
  std::vector<double> y, mean, rstd;
};

/** μ and rstd in float64, rounded to float32 (as stored), then y from the rounded values. */
inline LayerNormOut layer_norm(const std::vector<float>& x, const std::vector<float>& g, const std::vector<float>& b,
                               int64_t rows, int64_t cols, double eps) {
  LayerNormOut o;
  o.y.resize(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; r++) {
    double s = 0;
    for (int64_t j = 0; j < cols; j++) s += x[r * cols + j];
    const double mu = cols ? s / cols : 0;
    double q = 0;
    for (int64_t j = 0; j < cols; j++) q += (x[r * cols + j] - mu) * (x[r * cols + j] - mu);
    const float m32 = static_cast<float>(mu), rs32 = static_cast<float>(1 / std::sqrt((cols ? q / cols : 0) + eps));
    o.mean.push_back(m32);
    o.rstd.push_back(rs32);
    for (int64_t j = 0; j < cols; j++) o.y[r * cols + j] = g[j] * ((x[r * cols + j] - static_cast<double>(m32)) * rs32) + b[j];
  }
  return o;
}

inline std::vector<double> layer_norm_backward(const std::vector<float>& x, const std::vector<float>& g,
                                               const std::vector<float>& mean, const std::vector<float>& rstd,
                                               const std::vector<float>& dy, int64_t rows, int64_t cols) {
  std::vector<double> dx(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; r++) {
    double sg = 0, sgx = 0;
    for (int64_t j = 0; j < cols; j++) {
      const double gj = static_cast<double>(dy[r * cols + j]) * g[j];
      sg += gj;
      sgx += gj * (x[r * cols + j] - static_cast<double>(mean[r])) * rstd[r];
    }
    for (int64_t j = 0; j < cols; j++) {
      const double xh = (x[r * cols + j] - static_cast<double>(mean[r])) * rstd[r];
      dx[r * cols + j] = rstd[r] * (static_cast<double>(dy[r * cols + j]) * g[j] - sg / cols - xh * sgx / cols);
    }
  }
  return dx;
}

/** [dγ | dβ] (2·cols). */
inline std::vector<double> layer_norm_param_grad(const std::vector<float>& x, const std::vector<float>& mean,
                                                 const std::vector<float>& rstd, const std::vector<float>& dy,
                                                 int64_t rows, int64_t cols) {
  std::vector<double> o(static_cast<size_t>(2 * cols), 0.0);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < cols; j++) {
      o[j] += static_cast<double>(dy[r * cols + j]) * (x[r * cols + j] - static_cast<double>(mean[r])) * rstd[r];
      o[cols + j] += dy[r * cols + j];
    }
  return o;
}

inline std::vector<double> masked_softmax(const std::vector<float>& x, int64_t rows, int64_t cols, double scale,
                                          int64_t queries, bool causal, const std::vector<uint8_t>* valid) {
  std::vector<double> p(static_cast<size_t>(rows * cols), 0.0);
  const int64_t seqs = valid && cols ? static_cast<int64_t>(valid->size()) / cols : 1;
  for (int64_t r = 0; r < rows; r++) {
    const int64_t block = r / queries, i = r % queries;
    const auto on = [&](int64_t j) {
      if (causal && j > i) return false;
      return !valid || (*valid)[(block % seqs) * cols + j] != 0;
    };
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < cols; j++)
      if (on(j)) mx = std::max(mx, scale * x[r * cols + j]);
    double sum = 0;
    for (int64_t j = 0; j < cols; j++)
      if (on(j)) sum += std::exp(scale * x[r * cols + j] - mx);
    for (int64_t j = 0; j < cols; j++)
      p[r * cols + j] = on(j) && sum > 0 ? std::exp(scale * x[r * cols + j] - mx) / sum : 0.0;
  }
  return p;
}

inline std::vector<double> softmax_backward(const std::vector<float>& p, const std::vector<float>& dp, int64_t rows,
                                            int64_t cols, double scale) {
  std::vector<double> dx(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; r++) {
    double dot = 0;
    for (int64_t j = 0; j < cols; j++) dot += static_cast<double>(dp[r * cols + j]) * p[r * cols + j];
    for (int64_t j = 0; j < cols; j++) dx[r * cols + j] = scale * p[r * cols + j] * (dp[r * cols + j] - dot);
  }
  return dx;
}

/** [loss (rows) | grad (rows·cols)]; targets or weights (one null). */
inline std::vector<double> softmax_cross_entropy(const std::vector<float>& z, int64_t rows, int64_t cols,
                                                 const int32_t* targets, const float* weights, double s) {
  std::vector<double> o(static_cast<size_t>(rows + rows * cols), 0.0);
  for (int64_t r = 0; r < rows; r++) {
    if (targets && targets[r] < 0) continue;
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < cols; j++) mx = std::max(mx, static_cast<double>(z[r * cols + j]));
    double sum = 0;
    for (int64_t j = 0; j < cols; j++) sum += std::exp(z[r * cols + j] - mx);
    const double lse = mx + std::log(sum);
    double total = 0, loss = 0;
    for (int64_t j = 0; j < cols; j++) {
      const double w = targets ? (j == targets[r] ? 1.0 : 0.0) : static_cast<double>(weights[r * cols + j]);
      total += w;
      loss += w * (lse - z[r * cols + j]);
    }
    o[r] = loss;
    for (int64_t j = 0; j < cols; j++) {
      const double w = targets ? (j == targets[r] ? 1.0 : 0.0) : static_cast<double>(weights[r * cols + j]);
      o[rows + r * cols + j] = s * (total * std::exp(z[r * cols + j] - lse) - w);
    }
  }
  return o;
}

/** [loss | grad] (2·n). */
inline std::vector<double> sigmoid_cross_entropy(const std::vector<float>& z, const std::vector<float>& y,
                                                 const float* w, double s) {
  const size_t n = z.size();
  std::vector<double> o(2 * n);
  for (size_t i = 0; i < n; i++) {
    const double wi = w ? w[i] : 1.0, zi = z[i];
    o[i] = wi * (std::max(zi, 0.0) - zi * y[i] + std::log1p(std::exp(-std::fabs(zi))));
    o[n + i] = s * wi * (sigmoid(zi) - y[i]);
  }
  return o;
}

inline std::vector<double> segment_sum(const std::vector<float>& src, int64_t dim, const std::vector<int32_t>& offsets,
                                       const std::vector<int32_t>& positions, const float* w) {
  const int64_t groups = static_cast<int64_t>(offsets.size()) - 1;
  std::vector<double> o(static_cast<size_t>(groups * dim), 0.0);
  for (int64_t g = 0; g < groups; g++)
    for (int32_t q = offsets[g]; q < offsets[g + 1]; q++) {
      if (positions[q] < 0) continue;
      for (int64_t j = 0; j < dim; j++) o[g * dim + j] += (w ? w[q] : 1.0) * src[positions[q] * dim + j];
    }
  return o;
}

/** MurmurHash3 fmix32, written again. */
inline uint32_t murmur_fmix(uint32_t h) {
  h ^= h >> 16;
  h = static_cast<uint32_t>(static_cast<uint64_t>(h) * 0x85EBCA6Bull);
  h ^= h >> 13;
  h = static_cast<uint32_t>(static_cast<uint64_t>(h) * 0xC2B2AE35ull);
  h ^= h >> 16;
  return h;
}

/** The dropout output, exactly as the reference rounds it. */
inline std::vector<float> dropout(const std::vector<float>& x, double rate, uint32_t seed, uint32_t offset) {
  const uint32_t key = murmur_fmix(seed ^ 0x9E3779B9u);
  const double thr = std::min(4294967295.0, std::floor(rate * 4294967296.0));
  std::vector<float> o(x.size());
  for (size_t i = 0; i < x.size(); i++) {
    const uint32_t u = murmur_fmix(key ^ murmur_fmix(static_cast<uint32_t>((static_cast<uint64_t>(offset) + i) & 0xFFFFFFFFull)));
    o[i] = static_cast<double>(u) >= thr ? static_cast<float>(static_cast<double>(x[i]) * (1 / (1 - rate))) : 0.0f;
  }
  return o;
}

/** One Adam step on float64 copies; returns [params | m | v]. */
inline std::vector<double> adam(const affinity::AdamUpdateParams& p, const std::vector<float>& params,
                                const std::vector<float>& grads, const std::vector<float>& m, const std::vector<float>& v,
                                const std::vector<int32_t>& rows) {
  const size_t n = params.size();
  std::vector<double> o(3 * n);
  for (size_t i = 0; i < n; i++) {
    o[i] = params[i];
    o[n + i] = m[i];
    o[2 * n + i] = v[i];
  }
  const double c1 = 1 - std::pow(p.beta1, static_cast<double>(p.step)), c2 = 1 - std::pow(p.beta2, static_cast<double>(p.step));
  const int64_t count = p.lazy ? static_cast<int64_t>(rows.size()) : static_cast<int64_t>(n) / p.dim;
  for (int64_t r = 0; r < count; r++)
    for (int64_t j = 0; j < p.dim; j++) {
      const size_t i = static_cast<size_t>((p.lazy ? rows[r] : r) * p.dim + j);
      double th = params[i], g = p.grad_scale * grads[r * p.dim + j];
      if (!p.decoupled) g += p.weight_decay * th;
      const double mi = p.beta1 * m[i] + (1 - p.beta1) * g, vi = p.beta2 * v[i] + (1 - p.beta2) * g * g;
      if (p.decoupled) th -= p.lr * p.weight_decay * th;
      o[i] = th - p.lr * (mi / c1) / (std::sqrt(vi / c2) + p.eps);
      o[n + i] = mi;
      o[2 * n + i] = vi;
    }
  return o;
}

/** X = A⁻¹·B (B null: A⁻¹) by an unblocked float64 Cholesky of A's lower triangle; throws on a pivot ≤ 0. */
inline std::vector<double> spd_solve(const std::vector<float>& a, int64_t n, const std::vector<float>* b, int64_t r) {
  std::vector<double> l(static_cast<size_t>(n * n), 0.0);
  for (int64_t j = 0; j < n; j++) {
    double d = a[j * n + j];
    for (int64_t k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
    if (!(d > 0)) throw std::domain_error("pivot " + std::to_string(j));
    l[j * n + j] = std::sqrt(d);
    for (int64_t i = j + 1; i < n; i++) {
      double s = a[i * n + j];
      for (int64_t k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / l[j * n + j];
    }
  }
  const int64_t cols = b ? r : n;
  std::vector<double> x(static_cast<size_t>(n * cols));
  std::vector<double> c(static_cast<size_t>(n));
  for (int64_t col = 0; col < cols; col++) {
    for (int64_t i = 0; i < n; i++) c[i] = b ? (*b)[i * r + col] : (i == col ? 1.0 : 0.0);
    for (int64_t i = 0; i < n; i++) {
      for (int64_t k = 0; k < i; k++) c[i] -= l[i * n + k] * c[k];
      c[i] /= l[i * n + i];
    }
    for (int64_t i = n - 1; i >= 0; i--) {
      for (int64_t k = i + 1; k < n; k++) c[i] -= l[k * n + i] * c[k];
      c[i] /= l[i * n + i];
    }
    for (int64_t i = 0; i < n; i++) x[i * cols + col] = c[i];
  }
  return x;
}

}  // namespace nnref
}  // namespace affinity_test
