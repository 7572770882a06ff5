/**
 * The neural-network kernels (src/kernels/nn) on the wasm module (assembly/nn.ts): the JS half. Each call fills
 * the rows [start, end) of its output that the kernel's `rows` names (rows of x, columns for columnSums and
 * layerNormParamGrad, elements for dropout/elementwise/sigmoidCrossEntropy, groups for segmentSum) and nothing
 * else. Inputs are copied into linear memory in chunks of rows (about CHUNK_BYTES each, so a call of any size
 * runs in a bounded memory and each chunk is still in cache when its output is copied out); outputs are
 * computed over their input where the formula allows, and copied out. Browser-usable (no Node APIs).
 *
 * The module trusts its offsets, so every index a call reads (class targets, segment positions, lazy Adam's
 * rows, embedding ids) is range-checked here first; shapes are checked against the arrays' lengths.
 */
import type { Dense } from '../../data/matrix.js';
import type { Activation, ActivationBackwardArgs, BiasActivationArgs, ColumnSumsArgs } from '../../kernels/nn/activation.js';
import type { LayerNormArgs, LayerNormBackwardArgs, LayerNormOut, LayerNormParamGradArgs, LayerNormParamGradOut } from '../../kernels/nn/layerNorm.js';
import type { MaskedSoftmaxArgs, SoftmaxBackwardArgs } from '../../kernels/nn/softmax.js';
import type { LossOut, SigmoidCrossEntropyArgs, SoftmaxCrossEntropyArgs } from '../../kernels/nn/losses.js';
import type { EmbeddingGatherArgs, SegmentSumArgs } from '../../kernels/nn/embedding.js';
import type { DropoutArgs } from '../../kernels/nn/dropout.js';
import type { AdamUpdateArgs, AdamUpdateOut } from '../../kernels/nn/adam.js';
import type { SpdSolveArgs } from '../../kernels/nn/spdSolve.js';
import type { ElementwiseArgs } from '../../kernels/nn/elementwise.js';
import { Layout, type LinearMemory } from './linearMemory.js';

export interface NnExports {
  nnBiasActivation(x: number, rows: number, cols: number, bias: number, act: number, y: number): void;
  nnActivationBackward(x: number, g: number, rows: number, cols: number, bias: number, act: number, dz: number): void;
  nnColumnSums(x: number, rows: number, cols: number, acc: number): void;
  nnLayerNorm(x: number, rows: number, cols: number, gamma: number, beta: number, eps: number, y: number, mean: number, rstd: number): void;
  nnLayerNormBackward(x: number, dy: number, rows: number, cols: number, gamma: number, mean: number, rstd: number, dx: number): void;
  nnLayerNormParamGrad(x: number, g: number, rows: number, cols: number, mean: number, rstd: number, dg: number, db: number): void;
  nnMaskedSoftmax(x: number, rows: number, cols: number, rowBase: number, q: number, causal: number, valid: number, sequences: number, scale: number, p: number): void;
  nnSoftmaxBackward(p: number, dp: number, rows: number, cols: number, scale: number, dx: number): void;
  nnSoftmaxCe(z: number, rows: number, cols: number, targets: number, weights: number, s: number, loss: number, grad: number): void;
  nnSigmoidCe(z: number, y: number, weights: number, n: number, s: number, loss: number, grad: number): void;
  nnSegmentSum(src: number, positions: number, w: number, offsets: number, groups: number, dim: number, acc: number, out: number): void;
  nnDropout(x: number, n: number, counter: number, seed: number, threshold: number, scale: number, y: number): void;
  nnAdam(p: number, g: number, m: number, v: number, n: number, lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: number, gs: number, c1: number, c2: number): void;
  nnElementwise(op: number, x: number, y: number, n: number, alpha: number, beta: number, out: number): void;
  nnCholesky(a: number, n: number, l: number, info: number): number;
  nnCholeskySolve(l: number, n: number, x: number, r: number, identity: number): void;
}

export const NN_EXPORTS = [
  'nnBiasActivation', 'nnActivationBackward', 'nnColumnSums', 'nnLayerNorm', 'nnLayerNormBackward', 'nnLayerNormParamGrad',
  'nnMaskedSoftmax', 'nnSoftmaxBackward', 'nnSoftmaxCe', 'nnSigmoidCe', 'nnSegmentSum', 'nnDropout', 'nnAdam', 'nnElementwise',
  'nnCholesky', 'nnCholeskySolve',
] as const;

/** The kernels, with the signatures of their references (rows [start, end) of `out`). */
export interface WasmNnKernels {
  biasActivation(a: BiasActivationArgs, out: Dense, start: number, end: number): void;
  activationBackward(a: ActivationBackwardArgs, out: Dense, start: number, end: number): void;
  columnSums(a: ColumnSumsArgs, out: Float32Array, start: number, end: number): void;
  layerNorm(a: LayerNormArgs, out: LayerNormOut, start: number, end: number): void;
  layerNormBackward(a: LayerNormBackwardArgs, out: Dense, start: number, end: number): void;
  layerNormParamGrad(a: LayerNormParamGradArgs, out: LayerNormParamGradOut, start: number, end: number): void;
  maskedSoftmax(a: MaskedSoftmaxArgs, out: Dense, start: number, end: number): void;
  softmaxBackward(a: SoftmaxBackwardArgs, out: Dense, start: number, end: number): void;
  softmaxCrossEntropy(a: SoftmaxCrossEntropyArgs, out: LossOut, start: number, end: number): void;
  sigmoidCrossEntropy(a: SigmoidCrossEntropyArgs, out: LossOut, start: number, end: number): void;
  embeddingGather(a: EmbeddingGatherArgs, out: Dense, start: number, end: number): void;
  segmentSum(a: SegmentSumArgs, out: Dense, start: number, end: number): void;
  dropout(a: DropoutArgs, out: Float32Array, start: number, end: number): void;
  /** in place: params, m and v of rows [start, end) are updated in the caller's arrays */
  adamUpdate(a: AdamUpdateArgs, out: AdamUpdateOut, start: number, end: number): void;
  spdSolve(a: SpdSolveArgs, out: Dense, start: number, end: number): void;
  elementwise(a: ElementwiseArgs, out: Float32Array, start: number, end: number): void;
}

/** Bytes of input staged per chunk. */
const CHUNK_BYTES = 2 * 1024 * 1024;

const ACTIVATION: Record<Activation, number> = { identity: 0, relu: 1, sigmoid: 2, tanh: 3, gelu: 4 };

function checkRange(name: string, start: number, end: number, total: number, what = 'rows'): void {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= total)) {
    throw new RangeError(`${name} (wasm): ${what} [${start}, ${end}) outside [0, ${total})`);
  }
}

function checkLength(name: string, field: string, a: { length: number } | undefined, length: number, atLeast = false): void {
  if (!a || (atLeast ? a.length < length : a.length !== length)) {
    throw new RangeError(`${name} (wasm): ${field} has length ${a ? a.length : 'undefined'}, expected ${atLeast ? 'at least ' : ''}${length}`);
  }
}

function checkDense(name: string, field: string, d: Dense, rows: number, cols: number): void {
  if (!d || d.rows !== rows || d.cols !== cols) throw new RangeError(`${name} (wasm): ${field} is ${d ? `${d.rows}×${d.cols}` : 'missing'}, expected ${rows}×${cols}`);
  checkLength(name, `${field}.data`, d.data, rows * cols);
}

/** Rows per chunk for `bytesPerRow` staged bytes (at least 1, at most `rows`). */
function chunkRows(bytesPerRow: number, rows: number): number {
  return Math.max(1, Math.min(rows, Math.floor(CHUNK_BYTES / Math.max(1, bytesPerRow))));
}

export class NnWasm implements WasmNnKernels {
  constructor(private readonly ex: NnExports, private readonly mem: LinearMemory) {}

  /** The memory grown to the layout, as a Float32Array over all of it. */
  private heap(lay: Layout, name: string): Float32Array {
    return new Float32Array(this.mem.ensure(lay.at, name));
  }

  private put(heap: Float32Array, at: number, src: Float32Array): void {
    heap.set(src, at / 4);
    this.mem.countIn(src.length * 4);
  }

  /** Columns [c0, c0 + w) of rows [r, r + n) of a rows × cols matrix, dense (n × w) at byte offset `at`. */
  private putColumns(heap: Float32Array, at: number, data: Float32Array, cols: number, r: number, n: number, c0: number, w: number): void {
    if (w === cols) heap.set(data.subarray(r * cols, (r + n) * cols), at / 4);
    else for (let t = 0; t < n; t++) heap.set(data.subarray((r + t) * cols + c0, (r + t) * cols + c0 + w), at / 4 + t * w);
    this.mem.countIn(n * w * 4);
  }

  private view(heap: Float32Array, at: number, length: number): Float32Array {
    return heap.subarray(at / 4, at / 4 + length);
  }

  biasActivation(a: BiasActivationArgs, out: Dense, start: number, end: number): void {
    this.activation('biasActivation', a, undefined, out, start, end);
  }

  activationBackward(a: ActivationBackwardArgs, out: Dense, start: number, end: number): void {
    checkDense('activationBackward', 'gradOut', a.gradOut, a.x.rows, a.x.cols);
    this.activation('activationBackward', a, a.gradOut, out, start, end);
  }

  /** y = act(x + b) (gradOut absent) or dz = dy ⊙ act'(x + b), chunk by chunk, the result over the last input */
  private activation(name: string, a: BiasActivationArgs, gradOut: Dense | undefined, out: Dense, start: number, end: number): void {
    const { rows, cols, data } = a.x;
    checkRange(name, start, end, rows);
    const act = ACTIVATION[a.activation];
    if (act === undefined) throw new RangeError(`${name} (wasm): unknown activation '${String(a.activation)}'`);
    if (a.bias) checkLength(name, 'bias', a.bias, cols);
    checkLength(name, 'x.data', data, rows * cols);
    checkLength(name, 'output', out.data, end * cols, true);
    if (start === end || cols === 0) return;
    const most = chunkRows(cols * 4 * (gradOut ? 2 : 1), end - start);
    const lay = new Layout(this.mem.base);
    const biasAt = a.bias ? lay.take(cols * 4) : 0;
    const xAt = lay.take(most * cols * 4), gAt = gradOut ? lay.take(most * cols * 4) : 0;
    const heap = this.heap(lay, name);
    if (a.bias) this.put(heap, biasAt, a.bias);
    for (let r = start; r < end; r += most) {
      const n = Math.min(most, end - r), span = n * cols;
      this.put(heap, xAt, data.subarray(r * cols, r * cols + span));
      if (gradOut) {
        this.put(heap, gAt, gradOut.data.subarray(r * cols, r * cols + span));
        this.ex.nnActivationBackward(xAt, gAt, n, cols, biasAt, act, gAt);
        out.data.set(this.view(heap, gAt, span), r * cols);
      } else {
        this.ex.nnBiasActivation(xAt, n, cols, biasAt, act, xAt);
        out.data.set(this.view(heap, xAt, span), r * cols);
      }
    }
  }

  /** Column sums s_j for columns [start, end) (this kernel's rows are x's columns), f64 accumulation. */
  columnSums(a: ColumnSumsArgs, out: Float32Array, start: number, end: number): void {
    const name = 'columnSums';
    const { rows, cols, data } = a.x;
    checkRange(name, start, end, cols, 'columns');
    checkLength(name, 'x.data', data, rows * cols);
    checkLength(name, 'output', out, end, true);
    const w = end - start;
    if (w === 0) return;
    const most = chunkRows(w * 4, rows);
    const lay = new Layout(this.mem.base);
    const accAt = lay.take(w * 8), xAt = lay.take(most * w * 4);
    const heap = this.heap(lay, name);
    const acc = new Float64Array(heap.buffer, accAt, w);
    acc.fill(0);
    for (let r = 0; r < rows; r += most) {
      const n = Math.min(most, rows - r);
      this.putColumns(heap, xAt, data, cols, r, n, start, w);
      this.ex.nnColumnSums(xAt, n, w, accAt);
    }
    out.set(acc, start); // rounds each sum once to f32
  }

  layerNorm(a: LayerNormArgs, out: LayerNormOut, start: number, end: number): void {
    const name = 'layerNorm';
    const { rows, cols, data } = a.x;
    checkRange(name, start, end, rows);
    checkLength(name, 'x.data', data, rows * cols);
    checkLength(name, 'gamma', a.gamma, cols);
    checkLength(name, 'beta', a.beta, cols);
    checkLength(name, 'output y', out.y.data, end * cols, true);
    checkLength(name, 'output mean', out.mean, end, true);
    checkLength(name, 'output rstd', out.rstd, end, true);
    const eps = a.eps ?? 1e-5;
    if (start === end) return;
    const most = chunkRows(cols * 4 + 8, end - start);
    const lay = new Layout(this.mem.base);
    const gAt = lay.take(cols * 4), bAt = lay.take(cols * 4);
    const xAt = lay.take(most * cols * 4), meanAt = lay.take(most * 4), rstdAt = lay.take(most * 4);
    const heap = this.heap(lay, name);
    this.put(heap, gAt, a.gamma);
    this.put(heap, bAt, a.beta);
    for (let r = start; r < end; r += most) {
      const n = Math.min(most, end - r), span = n * cols;
      this.put(heap, xAt, data.subarray(r * cols, r * cols + span));
      this.ex.nnLayerNorm(xAt, n, cols, gAt, bAt, eps, xAt, meanAt, rstdAt);
      out.y.data.set(this.view(heap, xAt, span), r * cols);
      out.mean.set(this.view(heap, meanAt, n), r);
      out.rstd.set(this.view(heap, rstdAt, n), r);
    }
  }

  layerNormBackward(a: LayerNormBackwardArgs, out: Dense, start: number, end: number): void {
    const name = 'layerNormBackward';
    const { rows, cols, data } = a.x;
    checkRange(name, start, end, rows);
    checkLength(name, 'x.data', data, rows * cols);
    checkLength(name, 'gamma', a.gamma, cols);
    checkLength(name, 'mean', a.mean, rows);
    checkLength(name, 'rstd', a.rstd, rows);
    checkDense(name, 'gradOut', a.gradOut, rows, cols);
    checkLength(name, 'output', out.data, end * cols, true);
    if (start === end || cols === 0) return;
    const most = chunkRows(cols * 8 + 8, end - start);
    const lay = new Layout(this.mem.base);
    const gAt = lay.take(cols * 4);
    const xAt = lay.take(most * cols * 4), dyAt = lay.take(most * cols * 4), meanAt = lay.take(most * 4), rstdAt = lay.take(most * 4);
    const heap = this.heap(lay, name);
    this.put(heap, gAt, a.gamma);
    for (let r = start; r < end; r += most) {
      const n = Math.min(most, end - r), span = n * cols;
      this.put(heap, xAt, data.subarray(r * cols, r * cols + span));
      this.put(heap, dyAt, a.gradOut.data.subarray(r * cols, r * cols + span));
      this.put(heap, meanAt, a.mean.subarray(r, r + n));
      this.put(heap, rstdAt, a.rstd.subarray(r, r + n));
      this.ex.nnLayerNormBackward(xAt, dyAt, n, cols, gAt, meanAt, rstdAt, dyAt);
      out.data.set(this.view(heap, dyAt, span), r * cols);
    }
  }

  /** dγ and dβ for columns [start, end) (this kernel's rows are x's columns), f64 accumulation. */
  layerNormParamGrad(a: LayerNormParamGradArgs, out: LayerNormParamGradOut, start: number, end: number): void {
    const name = 'layerNormParamGrad';
    const { rows, cols, data } = a.x;
    checkRange(name, start, end, cols, 'columns');
    checkLength(name, 'x.data', data, rows * cols);
    checkLength(name, 'mean', a.mean, rows);
    checkLength(name, 'rstd', a.rstd, rows);
    checkDense(name, 'gradOut', a.gradOut, rows, cols);
    checkLength(name, 'output gradGamma', out.gradGamma, end, true);
    checkLength(name, 'output gradBeta', out.gradBeta, end, true);
    const w = end - start;
    if (w === 0) return;
    const most = chunkRows(w * 8 + 8, rows);
    const lay = new Layout(this.mem.base);
    const dgAt = lay.take(w * 8), dbAt = lay.take(w * 8);
    const xAt = lay.take(most * w * 4), gAt = lay.take(most * w * 4), meanAt = lay.take(most * 4), rstdAt = lay.take(most * 4);
    const heap = this.heap(lay, name);
    const dg = new Float64Array(heap.buffer, dgAt, w), db = new Float64Array(heap.buffer, dbAt, w);
    dg.fill(0);
    db.fill(0);
    for (let r = 0; r < rows; r += most) {
      const n = Math.min(most, rows - r);
      this.putColumns(heap, xAt, data, cols, r, n, start, w);
      this.putColumns(heap, gAt, a.gradOut.data, cols, r, n, start, w);
      this.put(heap, meanAt, a.mean.subarray(r, r + n));
      this.put(heap, rstdAt, a.rstd.subarray(r, r + n));
      this.ex.nnLayerNormParamGrad(xAt, gAt, n, w, meanAt, rstdAt, dgAt, dbAt);
    }
    out.gradGamma.set(dg, start);
    out.gradBeta.set(db, start);
  }

  maskedSoftmax(a: MaskedSoftmaxArgs, out: Dense, start: number, end: number): void {
    const name = 'maskedSoftmax';
    const { rows, cols, data } = a.scores;
    checkRange(name, start, end, rows);
    checkLength(name, 'scores.data', data, rows * cols);
    checkLength(name, 'output', out.data, end * cols, true);
    const q = a.queries ?? rows;
    if (rows > 0 && !(Number.isInteger(q) && q > 0 && rows % q === 0)) throw new RangeError(`${name} (wasm): scores has ${rows} rows, not a multiple of queries = ${q}`);
    const valid = a.keyValid;
    if (valid && (cols === 0 || valid.length === 0 || valid.length % cols !== 0)) {
      if (cols > 0 || valid.length !== 0) throw new RangeError(`${name} (wasm): keyValid has length ${valid.length}, not a positive multiple of the ${cols} keys`);
    }
    if (start === end || cols === 0) return;
    const sequences = valid ? valid.length / cols : 1;
    const most = chunkRows(cols * 4, end - start);
    const lay = new Layout(this.mem.base);
    const validAt = valid ? lay.take(valid.length) : 0;
    const xAt = lay.take(most * cols * 4);
    const heap = this.heap(lay, name);
    if (valid) {
      new Uint8Array(heap.buffer, validAt, valid.length).set(valid);
      this.mem.countIn(valid.length);
    }
    for (let r = start; r < end; r += most) {
      const n = Math.min(most, end - r), span = n * cols;
      this.put(heap, xAt, data.subarray(r * cols, r * cols + span));
      this.ex.nnMaskedSoftmax(xAt, n, cols, r, q, a.causal ? 1 : 0, validAt, sequences, a.scale ?? 1, xAt);
      out.data.set(this.view(heap, xAt, span), r * cols);
    }
  }

  softmaxBackward(a: SoftmaxBackwardArgs, out: Dense, start: number, end: number): void {
    const name = 'softmaxBackward';
    const { rows, cols, data } = a.probs;
    checkRange(name, start, end, rows);
    checkLength(name, 'probs.data', data, rows * cols);
    checkDense(name, 'gradProbs', a.gradProbs, rows, cols);
    checkLength(name, 'output', out.data, end * cols, true);
    if (start === end || cols === 0) return;
    const most = chunkRows(cols * 8, end - start);
    const lay = new Layout(this.mem.base);
    const pAt = lay.take(most * cols * 4), gAt = lay.take(most * cols * 4);
    const heap = this.heap(lay, name);
    for (let r = start; r < end; r += most) {
      const n = Math.min(most, end - r), span = n * cols;
      this.put(heap, pAt, data.subarray(r * cols, r * cols + span));
      this.put(heap, gAt, a.gradProbs.data.subarray(r * cols, r * cols + span));
      this.ex.nnSoftmaxBackward(pAt, gAt, n, cols, a.scale ?? 1, gAt);
      out.data.set(this.view(heap, gAt, span), r * cols);
    }
  }

  softmaxCrossEntropy(a: SoftmaxCrossEntropyArgs, out: LossOut, start: number, end: number): void {
    const name = 'softmaxCrossEntropy';
    const { rows, cols, data } = a.logits;
    checkRange(name, start, end, rows);
    checkLength(name, 'logits.data', data, rows * cols);
    const t = a.targets, w = a.targetWeights;
    if ((t === undefined) === (w === undefined)) throw new TypeError(`${name} (wasm): give exactly one of targets and targetWeights`);
    if (t) {
      checkLength(name, 'targets', t, rows);
      for (let r = start; r < end; r++) if (!(t[r] >= -1 && t[r] < cols)) throw new RangeError(`${name} (wasm): targets[${r}] = ${t[r]} is outside [-1, ${cols})`);
    } else {
      checkDense(name, 'targetWeights', w!, rows, cols);
    }
    checkLength(name, 'output loss', out.loss, end, true);
    checkLength(name, 'output grad', out.grad, end * cols, true);
    if (start === end) return;
    const most = chunkRows(cols * (t ? 4 : 8) + 8, end - start);
    const lay = new Layout(this.mem.base);
    const zAt = lay.take(most * cols * 4), wAt = w ? lay.take(most * cols * 4) : 0;
    const tAt = t ? lay.take(most * 4) : 0, lossAt = lay.take(most * 4);
    const heap = this.heap(lay, name);
    for (let r = start; r < end; r += most) {
      const n = Math.min(most, end - r), span = n * cols;
      this.put(heap, zAt, data.subarray(r * cols, r * cols + span));
      if (t) {
        new Int32Array(heap.buffer, tAt, n).set(t.subarray(r, r + n));
        this.mem.countIn(n * 4);
      } else {
        this.put(heap, wAt, w!.data.subarray(r * cols, r * cols + span));
      }
      this.ex.nnSoftmaxCe(zAt, n, cols, tAt, wAt, a.gradScale ?? 1, lossAt, zAt);
      out.loss.set(this.view(heap, lossAt, n), r);
      out.grad.set(this.view(heap, zAt, span), r * cols);
    }
  }

  sigmoidCrossEntropy(a: SigmoidCrossEntropyArgs, out: LossOut, start: number, end: number): void {
    const name = 'sigmoidCrossEntropy';
    const len = a.logits.length;
    checkRange(name, start, end, len, 'elements');
    checkLength(name, 'targets', a.targets, len);
    if (a.weights) checkLength(name, 'weights', a.weights, len);
    checkLength(name, 'output loss', out.loss, end, true);
    checkLength(name, 'output grad', out.grad, end, true);
    if (start === end) return;
    const most = chunkRows(12, end - start);
    const lay = new Layout(this.mem.base);
    const zAt = lay.take(most * 4), yAt = lay.take(most * 4), wAt = a.weights ? lay.take(most * 4) : 0;
    const heap = this.heap(lay, name);
    for (let i = start; i < end; i += most) {
      const n = Math.min(most, end - i);
      this.put(heap, zAt, a.logits.subarray(i, i + n));
      this.put(heap, yAt, a.targets.subarray(i, i + n));
      if (a.weights) this.put(heap, wAt, a.weights.subarray(i, i + n));
      // grad over the logits, loss over the targets (each vector is read before it is written)
      this.ex.nnSigmoidCe(zAt, yAt, wAt, n, a.gradScale ?? 1, yAt, zAt);
      out.loss.set(this.view(heap, yAt, n), i);
      out.grad.set(this.view(heap, zAt, n), i);
    }
  }

  /**
   * A gather is nothing but copies, and the copy-in/copy-out model would add two (rows into linear memory and
   * back) to the one the gather itself is: the output rows are copied from the table directly, here.
   */
  embeddingGather(a: EmbeddingGatherArgs, out: Dense, start: number, end: number): void {
    const name = 'embeddingGather';
    const { rows: vocab, cols: dim, data } = a.table;
    checkRange(name, start, end, a.ids.length);
    checkLength(name, 'table.data', data, vocab * dim);
    checkLength(name, 'output', out.data, end * dim, true);
    for (let r = start; r < end; r++) {
      const id = a.ids[r];
      if (!(id >= -1 && id < vocab)) throw new RangeError(`${name} (wasm): ids[${r}] = ${id} is outside [-1, ${vocab})`);
      if (id < 0) out.data.fill(0, r * dim, (r + 1) * dim);
      else if (dim <= 16) for (let j = 0, s = id * dim, o = r * dim; j < dim; j++) out.data[o + j] = data[s + j]; // cheaper than subarray + set
      else out.data.set(data.subarray(id * dim, (id + 1) * dim), r * dim);
    }
  }

  /**
   * Groups [start, end), in chunks of groups. When src has no more rows than the range has positions, or is at
   * most 8 MiB, it is copied in whole, once (one block copy), and the module reads rows by position; otherwise
   * each chunk first gathers the rows its positions name (a huge table, few positions). Sums are f64.
   */
  segmentSum(a: SegmentSumArgs, out: Dense, start: number, end: number): void {
    const name = 'segmentSum';
    const { rows: srcRows, cols: dim, data } = a.src;
    const off = a.offsets, pos = a.positions, wts = a.weights;
    checkRange(name, start, end, Math.max(0, off.length - 1), 'groups');
    checkLength(name, 'src.data', data, srcRows * dim);
    if (wts) checkLength(name, 'weights', wts, pos.length);
    checkLength(name, 'output', out.data, end * dim, true);
    for (let g = start; g < end; g++) {
      if (!(off[g] >= 0 && off[g] <= off[g + 1] && off[g + 1] <= pos.length)) throw new RangeError(`${name} (wasm): offsets[${g}..${g + 1}] = ${off[g]}, ${off[g + 1]} is not a range of the ${pos.length} positions`);
    }
    if (start === end) return;
    for (let p = off[start]; p < off[end]; p++) {
      if (!(pos[p] >= -1 && pos[p] < srcRows)) throw new RangeError(`${name} (wasm): positions[${p}] = ${pos[p]} is outside [-1, ${srcRows})`);
    }
    if (dim === 0) return;
    const whole = srcRows <= off[end] - off[start] || srcRows * dim * 4 <= 4 * CHUNK_BYTES;
    // positions per chunk: index and weight, and the gathered row
    const budget = chunkRows(whole ? 8 : dim * 4 + 8, Number.MAX_SAFE_INTEGER);
    const base = new Layout(this.mem.base);
    const srcAt = whole ? base.take(srcRows * dim * 4) : 0;
    if (whole) this.put(this.heap(base, name), srcAt, data);
    for (let g = start; g < end;) {
      // the groups of this chunk: at least one, then as many as fit the budget
      let gEnd = g + 1, count = off[g + 1] - off[g];
      while (gEnd < end && count + off[gEnd + 1] - off[gEnd] <= budget) { count += off[gEnd + 1] - off[gEnd]; gEnd++; }
      const groups = gEnd - g, p0 = off[g];
      const lay = new Layout(base.at);
      const rowsAt = whole ? srcAt : lay.take(count * dim * 4);
      const posAt = lay.take(count * 4), wAt = wts ? lay.take(count * 4) : 0, offAt = lay.take((groups + 1) * 4);
      const accAt = lay.take(dim * 8), outAt = lay.take(groups * dim * 4);
      const heap = this.heap(lay, name);
      const lo = new Int32Array(heap.buffer, offAt, groups + 1);
      for (let h = 0; h <= groups; h++) lo[h] = off[g + h] - p0;
      const local = new Int32Array(heap.buffer, posAt, count);
      if (whole) {
        local.set(pos.subarray(p0, p0 + count));
      } else {
        // gather: the row of position p0 + t into slot t (short rows by a loop: cheaper than subarray + set)
        const at = rowsAt / 4;
        for (let t = 0; t < count; t++) {
          const row = pos[p0 + t];
          local[t] = row < 0 ? -1 : t;
          if (row < 0) continue;
          if (dim <= 16) for (let j = 0, s = row * dim, o = at + t * dim; j < dim; j++) heap[o + j] = data[s + j];
          else heap.set(data.subarray(row * dim, (row + 1) * dim), at + t * dim);
        }
        this.mem.countIn(count * dim * 4);
      }
      this.mem.countIn(count * 4);
      if (wts) this.put(heap, wAt, wts.subarray(p0, p0 + count));
      this.ex.nnSegmentSum(rowsAt, posAt, wAt, offAt, groups, dim, accAt, outAt);
      out.data.set(this.view(heap, outAt, groups * dim), g * dim);
      g = gEnd;
    }
  }

  dropout(a: DropoutArgs, out: Float32Array, start: number, end: number): void {
    const name = 'dropout';
    checkRange(name, start, end, a.x.length, 'elements');
    checkLength(name, 'output', out, end, true);
    if (!(a.rate >= 0 && a.rate < 1)) throw new RangeError(`${name} (wasm): rate must be in [0, 1), got ${a.rate}`);
    if (start === end) return;
    const offset = a.offset ?? 0;
    // the reference's threshold ⌊rate·2³²⌋ and scale 1/(1 − rate)
    const threshold = Math.min(0xffffffff, Math.floor(a.rate * 4294967296));
    const scale = 1 / (1 - a.rate);
    const most = chunkRows(4, end - start);
    const lay = new Layout(this.mem.base);
    const xAt = lay.take(most * 4);
    const heap = this.heap(lay, name);
    for (let i = start; i < end; i += most) {
      const n = Math.min(most, end - i);
      this.put(heap, xAt, a.x.subarray(i, i + n));
      // u32 arguments pass as their int32 bit patterns
      this.ex.nnDropout(xAt, n, (offset + i) | 0, a.seed | 0, threshold | 0, scale, xAt);
      out.set(this.view(heap, xAt, n), i);
    }
  }

  /**
   * Rows [start, end) of the update, in place: dense rows are contiguous element ranges; lazy rows are gathered
   * (rowIds) into linear memory, updated with their compact gradient rows, and scattered back.
   */
  adamUpdate(a: AdamUpdateArgs, _out: AdamUpdateOut, start: number, end: number): void {
    const name = 'adamUpdate';
    const { params, grads, m, v, dim } = a;
    if (!(Number.isInteger(dim) && dim >= 1)) throw new RangeError(`${name} (wasm): dim must be an integer ≥ 1, got ${dim}`);
    const n = params.length, tableRows = n / dim;
    if (!Number.isInteger(tableRows)) throw new RangeError(`${name} (wasm): params has length ${n}, not a multiple of dim = ${dim}`);
    checkLength(name, 'm', m, n);
    checkLength(name, 'v', v, n);
    const ids = a.rowIds;
    checkRange(name, start, end, ids ? ids.length : tableRows);
    checkLength(name, 'grads', grads, (ids ? ids.length : tableRows) * dim);
    if (ids) for (let r = start; r < end; r++) if (!(ids[r] >= 0 && ids[r] < tableRows)) throw new RangeError(`${name} (wasm): rowIds[${r}] = ${ids[r]} is outside [0, ${tableRows})`);
    if (start === end) return;
    const b1 = a.beta1 ?? 0.9, b2 = a.beta2 ?? 0.999, eps = a.eps ?? 1e-8, wd = a.weightDecay ?? 0;
    const c1 = 1 - b1 ** a.step, c2 = 1 - b2 ** a.step;
    const most = chunkRows(dim * 16, end - start);
    const lay = new Layout(this.mem.base);
    const pAt = lay.take(most * dim * 4), gAt = lay.take(most * dim * 4), mAt = lay.take(most * dim * 4), vAt = lay.take(most * dim * 4);
    const heap = this.heap(lay, name);
    const arrays: Array<[number, Float32Array]> = [[pAt, params], [mAt, m], [vAt, v]];
    for (let r = start; r < end; r += most) {
      const rows = Math.min(most, end - r), span = rows * dim;
      this.put(heap, gAt, grads.subarray(r * dim, r * dim + span));
      for (const [at, arr] of arrays) {
        if (ids) for (let t = 0; t < rows; t++) heap.set(arr.subarray(ids[r + t] * dim, (ids[r + t] + 1) * dim), at / 4 + t * dim);
        else heap.set(arr.subarray(r * dim, r * dim + span), at / 4);
        this.mem.countIn(span * 4);
      }
      this.ex.nnAdam(pAt, gAt, mAt, vAt, span, a.lr, b1, b2, eps, wd, (a.decoupled ?? true) ? 1 : 0, a.gradScale ?? 1, c1, c2);
      for (const [at, arr] of arrays) {
        if (ids) for (let t = 0; t < rows; t++) arr.set(this.view(heap, at + t * dim * 4, dim), ids[r + t] * dim);
        else arr.set(this.view(heap, at, span), r * dim);
      }
    }
  }

  /** The whole solve in one call (f64 Cholesky and substitutions, all right-hand sides at once). */
  spdSolve(a: SpdSolveArgs, out: Dense, start: number, end: number): void {
    const name = 'spdSolve';
    const n = a.a.rows;
    if (a.a.cols !== n) throw new RangeError(`${name} (wasm): a must be square, got ${a.a.rows}×${a.a.cols}`);
    checkLength(name, 'a.data', a.a.data, n * n);
    if (start !== 0 || end !== n) throw new RangeError(`spdSolve: solves all ${n} rows in one call, got rows [${start}, ${end})`);
    const r = a.b ? a.b.cols : n;
    if (a.b) checkDense(name, 'b', a.b, n, r);
    checkLength(name, 'output', out.data, n * r, true);
    if (n === 0 || r === 0) return;
    const lay = new Layout(this.mem.base);
    const aAt = lay.take(n * n * 4), lAt = lay.take(n * n * 8), xAt = lay.take(n * r * 8), infoAt = lay.take(8);
    const heap = this.heap(lay, name);
    this.put(heap, aAt, a.a.data);
    const x = new Float64Array(heap.buffer, xAt, n * r);
    if (a.b) {
      x.set(a.b.data);
      this.mem.countIn(n * r * 4);
    } else {
      x.fill(0);
      for (let i = 0; i < n; i++) x[i * n + i] = 1;
    }
    const pivot = this.ex.nnCholesky(aAt, n, lAt, infoAt);
    if (pivot >= 0) throw new RangeError(`spdSolve: the matrix is not positive definite (pivot ${pivot} is ${new Float64Array(heap.buffer, infoAt, 1)[0]})`);
    this.ex.nnCholeskySolve(lAt, n, xAt, r, a.b ? 0 : 1);
    out.data.set(x); // rounds once to f32
  }

  elementwise(a: ElementwiseArgs, out: Float32Array, start: number, end: number): void {
    const name = 'elementwise';
    if (a.op !== 'axpby' && a.op !== 'mul') throw new RangeError(`${name} (wasm): op must be 'axpby' or 'mul', got '${String(a.op)}'`);
    const len = a.x.length;
    checkRange(name, start, end, len, 'elements');
    if (a.y !== undefined || a.op === 'mul') checkLength(name, 'y', a.y, len);
    checkLength(name, 'output', out, end, true);
    if (start === end) return;
    const most = chunkRows(a.y ? 8 : 4, end - start);
    const lay = new Layout(this.mem.base);
    const xAt = lay.take(most * 4), yAt = a.y ? lay.take(most * 4) : 0;
    const heap = this.heap(lay, name);
    for (let i = start; i < end; i += most) {
      const n = Math.min(most, end - i);
      this.put(heap, xAt, a.x.subarray(i, i + n));
      if (a.y) this.put(heap, yAt, a.y.subarray(i, i + n));
      this.ex.nnElementwise(a.op === 'mul' ? 1 : 0, xAt, yAt, n, a.alpha ?? 1, a.beta ?? 1, xAt);
      out.set(this.view(heap, xAt, n), i);
    }
  }
}
