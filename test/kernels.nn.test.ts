/**
 * The neural-network kernels' references (src/kernels/nn): forward values against direct float64
 * formulas, and every backward against central finite differences of the forward (float64 sums
 * of float32 outputs, inputs on a grid where x ± h is exact). Backends are compared with these
 * references in kernels.nn.conformance.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getKernel } from '../src/kernels/contract.js';
import type { Activation } from '../src/kernels/nn/activation.js';
import { groupByIndex } from '../src/kernels/nn/embedding.js';
import { fmix32 } from '../src/kernels/nn/dropout.js';
import { denseFrom, sharedInt32, type Dense } from '../src/data/matrix.js';
import { checkGradient, gridDense, gridValues, runReference, weightedSum } from './helpers/nnCheck.js';

const ACTS: Activation[] = ['identity', 'relu', 'sigmoid', 'tanh', 'gelu'];

test('biasActivation: values of each activation; activationBackward and the bias gradient match finite differences', () => {
  const x = gridDense(5, 7, 1, -2, 2, 0.05);
  const bias = gridValues(7, 2, -0.5, 0.5);
  // keep z = x + b away from relu's kink
  for (let r = 0; r < 5; r++) for (let j = 0; j < 7; j++) { const z = x.data[r * 7 + j] + bias[j]; if (Math.abs(z) < 0.05) x.data[r * 7 + j] += 0.125; }
  const g = gridDense(5, 7, 3);
  const expect: Record<Activation, (z: number) => number> = {
    identity: (z) => z, relu: (z) => Math.max(z, 0), sigmoid: (z) => 1 / (1 + Math.exp(-z)), tanh: Math.tanh,
    gelu: (z) => 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3))),
  };
  for (const activation of ACTS) {
    const y = runReference('biasActivation', { x, bias, activation });
    for (let i = 0; i < 35; i++) assert.ok(Math.abs(y.data[i] - expect[activation](x.data[i] + bias[i % 7])) < 1e-6, `${activation} value ${i}`);
    const loss = () => weightedSum(g.data, runReference('biasActivation', { x, bias, activation }).data);
    const dz = runReference('activationBackward', { x, bias, activation, gradOut: g });
    checkGradient(`${activation} dx`, loss, x.data, dz.data);
    checkGradient(`${activation} db`, loss, bias, runReference('columnSums', { x: dz }));
  }
  // no bias
  const y = runReference('biasActivation', { x, activation: 'tanh' });
  assert.ok(Math.abs(y.data[3] - Math.tanh(x.data[3])) < 1e-6);
});

test('sigmoid and gelu stay finite at extreme inputs', () => {
  const x: Dense = denseFrom(1, 4, [-1000, -80, 80, 1000]);
  for (const activation of ['sigmoid', 'gelu', 'tanh'] as const) {
    const y = runReference('biasActivation', { x, activation });
    const d = runReference('activationBackward', { x, activation, gradOut: denseFrom(1, 4, [1, 1, 1, 1]) });
    assert.ok([...y.data, ...d.data].every(Number.isFinite), activation);
  }
});

test('columnSums: float64 sums of each column, any column range', () => {
  const x = gridDense(9, 4, 4);
  const s = runReference('columnSums', { x });
  for (let j = 0; j < 4; j++) {
    let t = 0;
    for (let r = 0; r < 9; r++) t += x.data[r * 4 + j];
    assert.ok(Math.abs(s[j] - t) < 1e-6);
  }
  const part = getKernel('columnSums').allocate({ x });
  getKernel('columnSums').reference({ x }, part, 1, 3);
  assert.equal([part[0], part[3]], [0, 0]);
  assert.is(part[2], s[2]);
  assert.equal([...runReference('columnSums', { x: denseFrom(0, 3) })], [0, 0, 0]);
});

test('layerNorm: zero mean, unit variance before γ/β; backward and parameter gradients match finite differences', () => {
  const x = gridDense(6, 8, 5, -2, 2);
  const gamma = gridValues(8, 6, 0.5, 1.5), beta = gridValues(8, 7, -0.5, 0.5);
  const ln = runReference('layerNorm', { x, gamma, beta: new Float32Array(8), eps: 1e-5 });
  for (let r = 0; r < 6; r++) {
    let mean = 0, sq = 0;
    for (let j = 0; j < 8; j++) mean += ln.y.data[r * 8 + j] / gamma[j];
    mean /= 8;
    for (let j = 0; j < 8; j++) sq += (ln.y.data[r * 8 + j] / gamma[j]) ** 2;
    assert.ok(Math.abs(mean) < 1e-5, `row ${r} mean`);
    assert.ok(Math.abs(sq / 8 - 1) < 1e-3, `row ${r} variance`);
  }
  const g = gridDense(6, 8, 8);
  const loss = () => weightedSum(g.data, runReference('layerNorm', { x, gamma, beta }).y.data);
  const fwd = runReference('layerNorm', { x, gamma, beta });
  const dx = runReference('layerNormBackward', { x, gamma, mean: fwd.mean, rstd: fwd.rstd, gradOut: g });
  checkGradient('layerNorm dx', loss, x.data, dx.data, 3e-3);
  const pg = runReference('layerNormParamGrad', { x, mean: fwd.mean, rstd: fwd.rstd, gradOut: g });
  checkGradient('layerNorm dγ', loss, gamma, pg.gradGamma);
  checkGradient('layerNorm dβ', loss, beta, pg.gradBeta);
  // a constant row normalizes to β (σ = 0: rstd = 1/√ε, x − μ = 0)
  const flat = runReference('layerNorm', { x: denseFrom(1, 3, [2, 2, 2]), gamma: new Float32Array([1, 1, 1]), beta: new Float32Array([0.5, 0, -1]) });
  assert.equal([...flat.y.data], [0.5, 0, -1]);
});

test('maskedSoftmax: rows are distributions over unmasked keys; causal and padding masks; a fully masked row is zeros', () => {
  const T = 4, S = 2;
  const scores = gridDense(S * T, T, 9, -3, 3);
  const keyValid = new Uint8Array([0, 1, 1, 1, /* sequence 1 */ 1, 1, 1, 1]);
  const p = runReference('maskedSoftmax', { scores, queries: T, causal: true, keyValid, scale: 0.5 });
  for (let r = 0; r < S * T; r++) {
    const seq = Math.floor(r / T), i = r % T;
    let sum = 0, max = -Infinity;
    for (let j = 0; j <= i; j++) if (keyValid[seq * T + j]) max = Math.max(max, 0.5 * scores.data[r * T + j]);
    let z = 0;
    for (let j = 0; j <= i; j++) if (keyValid[seq * T + j]) z += Math.exp(0.5 * scores.data[r * T + j] - max);
    for (let j = 0; j < T; j++) {
      const on = j <= i && keyValid[seq * T + j] === 1;
      const want = on ? Math.exp(0.5 * scores.data[r * T + j] - max) / z : 0;
      assert.ok(Math.abs(p.data[r * T + j] - want) < 1e-6, `row ${r} key ${j}`);
      sum += p.data[r * T + j];
    }
    // row 0 of sequence 0 sees only key 0, a padding key: every key masked
    assert.ok(seq === 0 && i === 0 ? sum === 0 : Math.abs(sum - 1) < 1e-6, `row ${r} sums to ${sum}`);
  }
  // two heads share the sequences' padding (head-major blocks: block e is sequence e mod S)
  const twoHeads = gridDense(2 * S * T, T, 10);
  const p2 = runReference('maskedSoftmax', { scores: twoHeads, queries: T, keyValid });
  for (let r = 2 * T; r < 3 * T; r++) assert.is(p2.data[r * T], 0, `head 1 sequence 0 row ${r}: padding key 0 masked`);
});

test('softmaxBackward matches finite differences of the masked softmax', () => {
  const T = 5;
  const scores = gridDense(2 * T, T, 11, -2, 2);
  const keyValid = new Uint8Array([1, 1, 1, 0, 1, 0, 1, 1, 1, 1]);
  const g = gridDense(2 * T, T, 12);
  const args = { scores, queries: T, causal: true, keyValid, scale: 0.7 };
  const loss = () => weightedSum(g.data, runReference('maskedSoftmax', args).data);
  const p = runReference('maskedSoftmax', args);
  const dx = runReference('softmaxBackward', { probs: p, gradProbs: g, scale: 0.7 });
  checkGradient('softmax dx', loss, scores.data, dx.data);
});

test('softmaxOutputLayer: the loss of softmaxCrossEntropy on H·Eᵀ (weighted rows, ignored rows); ∂H and ∂E are its finite differences', () => {
  const hidden = gridDense(5, 3, 21), table = gridDense(4, 3, 22, -2, 2);
  const targets = new Int32Array([3, -1, 0, 2, 3]), weights = new Float32Array([1, 2, 0.5, 0, 1.5]);
  const out = runReference('softmaxOutputLayer', { hidden, table, targets, weights, gradScale: 0.5 });
  const logits = denseFrom(5, 4);
  for (let r = 0; r < 5; r++) for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) logits.data[r * 4 + j] += hidden.data[r * 3 + k] * table.data[j * 3 + k];
  const ce = runReference('softmaxCrossEntropy', { logits, targets });
  for (let r = 0; r < 5; r++) assert.ok(Math.abs(out.loss[r] - weights[r] * ce.loss[r]) < 1e-5, `loss row ${r}`);
  assert.ok(out.gradHidden.subarray(3, 6).every((v) => v === 0) && out.gradHidden.subarray(9, 12).every((v) => v === 0), 'ignored and zero-weight rows have no gradient');
  const loss = () => 0.5 * runReference('softmaxOutputLayer', { hidden, table, targets, weights }).loss.reduce((s, v) => s + v, 0);
  checkGradient('output layer dH', loss, hidden.data, out.gradHidden);
  checkGradient('output layer dE', loss, table.data, out.gradTable);
  assert.throws(() => runReference('softmaxOutputLayer', { hidden, table, targets: new Int32Array([0, 4, 0, 0, 0]) }), /targets\[1\] = 4 is outside \[-1, 4\)/);
  assert.throws(() => runReference('softmaxOutputLayer', { hidden, table: gridDense(4, 2, 1), targets }), /table has 2 columns, expected 3/);
  const none = runReference('softmaxOutputLayer', { hidden: denseFrom(0, 3), table, targets: new Int32Array(0) });
  assert.ok(none.gradTable.every((v) => v === 0), 'no rows: a zero table gradient');
});

test('softmaxCrossEntropy: loss and gradient for class targets (ignored rows), sampled logits and target weights', () => {
  const logits = gridDense(4, 6, 13, -3, 3);
  const targets = new Int32Array([2, -1, 0, 5]);
  const out = runReference('softmaxCrossEntropy', { logits, targets, gradScale: 0.25 });
  for (let r = 0; r < 4; r++) {
    const z = [...logits.data.subarray(r * 6, r * 6 + 6)];
    const lse = Math.log(z.reduce((s, v) => s + Math.exp(v), 0));
    assert.ok(Math.abs(out.loss[r] - (targets[r] < 0 ? 0 : lse - z[targets[r]])) < 1e-5, `loss row ${r}`);
  }
  assert.ok(out.grad.subarray(6, 12).every((v) => v === 0), 'ignored row has no gradient');
  const loss = () => 0.25 * runReference('softmaxCrossEntropy', { logits, targets }).loss.reduce((s, v) => s + v, 0);
  checkGradient('ce dz', loss, logits.data, out.grad);
  // multinomial likelihood with counts
  const weights = denseFrom(4, 6, [1, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 3, 0, 0, 0, 0]);
  const w = runReference('softmaxCrossEntropy', { logits, targetWeights: weights });
  assert.is(w.loss[1], 0);
  const wloss = () => runReference('softmaxCrossEntropy', { logits, targetWeights: weights }).loss.reduce((s, v) => s + v, 0);
  checkGradient('multinomial dz', wloss, logits.data, w.grad);
  assert.throws(() => runReference('softmaxCrossEntropy', { logits, targets: new Int32Array([0, 1, 6, 0]) }), /targets\[2\] = 6 is outside \[-1, 6\)/);
  assert.throws(() => runReference('softmaxCrossEntropy', { logits }), /exactly one of targets and targetWeights/);
  // large logits stay finite
  const big = runReference('softmaxCrossEntropy', { logits: denseFrom(1, 3, [1000, -1000, 0]), targets: new Int32Array([1]) });
  assert.ok(Math.abs(big.loss[0] - 2000) < 1e-3 && big.grad.every(Number.isFinite));
});

test('sigmoidCrossEntropy: stable loss, gradient σ(z) − y, weights', () => {
  const logits = gridValues(12, 14, -4, 4);
  const targets = gridValues(12, 15, 0, 1);
  const weights = gridValues(12, 16, 0, 2);
  weights[3] = 0;
  const out = runReference('sigmoidCrossEntropy', { logits, targets, weights, gradScale: 0.5 });
  for (let i = 0; i < 12; i++) {
    const s = 1 / (1 + Math.exp(-logits[i]));
    const want = -weights[i] * (targets[i] * Math.log(s) + (1 - targets[i]) * Math.log(1 - s));
    assert.ok(Math.abs(out.loss[i] - want) < 1e-5, `loss ${i}`);
  }
  assert.is(out.grad[3], 0);
  const loss = () => 0.5 * runReference('sigmoidCrossEntropy', { logits, targets, weights }).loss.reduce((s, v) => s + v, 0);
  checkGradient('bce dz', loss, logits, out.grad);
  const ext = runReference('sigmoidCrossEntropy', { logits: new Float32Array([-500, 500]), targets: new Float32Array([1, 0]) });
  assert.ok(Math.abs(ext.loss[0] - 500) < 1e-3 && Math.abs(ext.loss[1] - 500) < 1e-3 && ext.grad.every(Number.isFinite));
  assert.throws(() => runReference('sigmoidCrossEntropy', { logits, targets: new Float32Array(12).fill(2) }), /targets\[0\] = 2 is outside \[0, 1\]/);
});

test('embeddingGather and segmentSum: lookup, padding id, grouped backward equal to finite differences, weighted bags', () => {
  const table = gridDense(6, 3, 17);
  const ids = sharedInt32(5);
  ids.set([4, 0, 4, -1, 2]);
  const y = runReference('embeddingGather', { table, ids });
  assert.equal([...y.data.subarray(0, 3)], [...table.data.subarray(12, 15)]);
  assert.equal([...y.data.subarray(9, 12)], [0, 0, 0]);
  const g = gridDense(5, 3, 18);
  const { rows, offsets, positions } = groupByIndex(ids, 6);
  assert.equal([...rows], [0, 2, 4]);
  assert.equal([...offsets], [0, 1, 2, 4]);
  assert.equal([...positions], [1, 4, 0, 2]);
  const compact = runReference('segmentSum', { src: g, offsets, positions });
  const full = new Float32Array(18);
  rows.forEach((row, k) => full.set(compact.data.subarray(k * 3, k * 3 + 3), row * 3));
  const loss = () => weightedSum(g.data, runReference('embeddingGather', { table, ids }).data);
  checkGradient('embedding dtable', loss, table.data, full);
  // a mean-pooled bag: user 0 = items {1, 3}, user 1 = {}, user 2 = {5}
  const bag = runReference('segmentSum', { src: table, offsets: new Int32Array([0, 2, 2, 3]), positions: new Int32Array([1, 3, 5]), weights: new Float32Array([0.5, 0.5, 1]) });
  for (let j = 0; j < 3; j++) {
    assert.ok(Math.abs(bag.data[j] - 0.5 * (table.data[3 + j] + table.data[9 + j])) < 1e-7);
    assert.is(bag.data[3 + j], 0);
    assert.is(bag.data[6 + j], table.data[15 + j]);
  }
  assert.throws(() => runReference('embeddingGather', { table, ids: new Int32Array([6]) }), /ids\[0\] = 6 is outside \[-1, 6\)/);
  assert.throws(() => runReference('segmentSum', { src: table, offsets: new Int32Array([0, 2, 1]), positions: new Int32Array([0]) }), /offsets decrease at 2/);
});

test('dropout: the documented hash, keep rate 1 − p, inverted scaling, and the same mask for the backward pass', () => {
  // MurmurHash3 fmix32 test values
  assert.is(fmix32(0), 0);
  assert.is(fmix32(1), 0x514e28b7);
  const n = 100_000, x = new Float32Array(n).fill(1);
  const y = runReference('dropout', { x, rate: 0.3, seed: 42, offset: 7 });
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (y[i] !== 0) { kept++; assert.ok(Math.abs(y[i] - 1 / 0.7) < 1e-6); }
  }
  assert.ok(Math.abs(kept / n - 0.7) < 0.006, `kept ${kept / n}`);
  const dy = gridValues(n, 19);
  const dx = runReference('dropout', { x: dy, rate: 0.3, seed: 42, offset: 7 });
  for (let i = 0; i < n; i += 97) assert.is(dx[i] === 0, y[i] === 0, `mask ${i}`);
  // another seed or offset gives another mask; rate 0 is the identity
  const other = runReference('dropout', { x, rate: 0.3, seed: 43, offset: 7 });
  assert.ok(other.some((v, i) => (v === 0) !== (y[i] === 0)));
  assert.equal([...runReference('dropout', { x: dy.subarray(0, 10), rate: 0, seed: 1 })], [...dy.subarray(0, 10)]);
  assert.throws(() => runReference('dropout', { x, rate: 1, seed: 1 }), /rate must be in \[0, 1\), got 1/);
});

test('adamUpdate: two steps equal to the formulas (Adam with L2 and AdamW); lazy rows touch only their rows', () => {
  const params = new Float32Array([0.5, -1, 2, 0.25]);
  const grads = new Float32Array([0.1, -0.2, 0.3, 0]);
  for (const decoupled of [true, false]) {
    const p = params.slice(), m = new Float32Array(4), v = new Float32Array(4);
    const want = Array.from(params, Number), wm = [0, 0, 0, 0], wv = [0, 0, 0, 0];
    for (let step = 1; step <= 2; step++) {
      runReference('adamUpdate', { params: p, grads, m, v, dim: 2, step, lr: 0.01, weightDecay: 0.1, decoupled, gradScale: 0.5 });
      for (let i = 0; i < 4; i++) {
        let g = 0.5 * grads[i];
        if (!decoupled) g += 0.1 * want[i];
        wm[i] = 0.9 * wm[i] + 0.1 * g; wv[i] = 0.999 * wv[i] + 0.001 * g * g;
        if (decoupled) want[i] -= 0.01 * 0.1 * want[i];
        want[i] -= 0.01 * (wm[i] / (1 - 0.9 ** step)) / (Math.sqrt(wv[i] / (1 - 0.999 ** step)) + 1e-8);
        assert.ok(Math.abs(p[i] - want[i]) < 1e-6, `decoupled=${decoupled} step ${step} param ${i}: ${p[i]} vs ${want[i]}`);
      }
    }
  }
  // lazy: rows 2 and 0 of a 3×2 table, compact gradients
  const table = new Float32Array([1, 1, 2, 2, 3, 3]), m = new Float32Array(6), v = new Float32Array(6);
  runReference('adamUpdate', { params: table, grads: new Float32Array([1, -1, 1, 1]), m, v, dim: 2, rowIds: new Int32Array([2, 0]), step: 1, lr: 0.1 });
  assert.equal([...table.subarray(2, 4)], [2, 2]);
  assert.ok(Math.abs(table[4] - 2.9) < 1e-6 && Math.abs(table[5] - 3.1) < 1e-6 && Math.abs(table[0] - 0.9) < 1e-6);
  assert.equal([...m.subarray(2, 4)], [0, 0]);
  assert.throws(() => runReference('adamUpdate', { params: table, grads: new Float32Array(4), m, v, dim: 2, rowIds: new Int32Array([1, 1]), step: 1, lr: 0.1 }), /rowIds\[1\] = 1 repeats/);
});

test('spdSolve: A·X = B and A·A⁻¹ = I on a well-conditioned system; a non-positive-definite matrix is named', () => {
  const n = 12, r = 3;
  const m = gridDense(n, n, 20);
  const a = denseFrom(n, n);
  // A = MᵀM + n·I
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? n : 0;
    for (let k = 0; k < n; k++) s += m.data[k * n + i] * m.data[k * n + j];
    a.data[i * n + j] = s;
  }
  const b = gridDense(n, r, 21);
  const x = runReference('spdSolve', { a, b });
  for (let i = 0; i < n; i++) for (let c = 0; c < r; c++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += a.data[i * n + k] * x.data[k * r + c];
    assert.ok(Math.abs(s - b.data[i * r + c]) < 1e-5, `A·X row ${i} col ${c}`);
  }
  const inv = runReference('spdSolve', { a });
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += a.data[i * n + k] * inv.data[k * n + j];
    assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-5, `A·A⁻¹ (${i}, ${j})`);
  }
  assert.throws(() => runReference('spdSolve', { a: denseFrom(2, 2, [1, 2, 2, 1]) }), /not positive definite \(pivot 1/);
  assert.equal(runReference('spdSolve', { a: denseFrom(0, 0) }).data.length, 0);
});

test('elementwise: axpby and mul', () => {
  const x = new Float32Array([1, 2, 3]), y = new Float32Array([0.5, -1, 4]);
  assert.equal([...runReference('elementwise', { op: 'axpby', x, y, alpha: 2, beta: -1 })], [1.5, 5, 2]);
  assert.equal([...runReference('elementwise', { op: 'axpby', x, alpha: 0.5 })], [0.5, 1, 1.5]);
  assert.equal([...runReference('elementwise', { op: 'mul', x, y })], [0.5, -2, 12]);
  assert.throws(() => runReference('elementwise', { op: 'mul', x }), /y must be a Float32Array/);
});

test('gemm with leading dimensions reads a column block (one attention head of [T, heads·d])', () => {
  const T = 5, heads = 2, d = 3, D = heads * d;
  const q = gridDense(T, D, 22), k = gridDense(T, D, 23);
  for (let h = 0; h < heads; h++) {
    const s = runReference('gemm', { m: T, n: T, k: d, a: q.data.subarray(h * d), lda: D, b: k.data.subarray(h * d), ldb: D, transB: 'T' });
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) {
      let want = 0;
      for (let p = 0; p < d; p++) want += q.data[i * D + h * d + p] * k.data[j * D + h * d + p];
      assert.ok(Math.abs(s.data[i * T + j] - want) < 1e-6, `head ${h} (${i}, ${j})`);
    }
  }
  assert.throws(() => runReference('gemm', { m: 2, n: 2, k: 3, a: new Float32Array(6), lda: 2, b: new Float32Array(6) }), /lda must be an integer ≥ 3, got 2/);
});

test.run();
