/**
 * Inputs for the neural-network kernels' backend conformance test: per kernel, random, edge-case
 * (empty, 1×1, sizes off every vector width, masks, ignored rows) and model-sized cases, each with
 * the tolerance a float32 backend must meet against the float64-accumulating reference:
 *   |backend − reference| ≤ atol + rtol·|reference|   per element of every output array
 * (for in-place kernels, of every array the kernel updates).
 */
import type { KernelArgs, KernelName } from '../../src/kernels/contract.js';
import type { Activation } from '../../src/kernels/nn/activation.js';
import { groupByIndex } from '../../src/kernels/nn/embedding.js';
import { denseFrom, sharedFloat32, sharedInt32, type Dense } from '../../src/data/matrix.js';
import { gridDense, gridValues, runReference } from './nnCheck.js';
import { mulberry32 } from './random.js';

export interface NnCase<K extends KernelName = KernelName> {
  kernel: K;
  name: string;
  args: KernelArgs<K>;
  atol: number;
  rtol: number;
  /** in-place kernels: the args fields the kernel updates (compared instead of the output) */
  updates?: string[];
}

function nnCase<K extends KernelName>(kernel: K, name: string, args: KernelArgs<K>, atol = 1e-5, rtol = 1e-5, updates?: string[]): NnCase {
  return { kernel, name, args, atol, rtol, updates } as unknown as NnCase;
}

function ids(n: number, vocab: number, seed: number, padding = 0): Int32Array {
  const rnd = mulberry32(seed);
  const a = sharedInt32(n);
  for (let i = 0; i < n; i++) a[i] = rnd() < padding ? -1 : Math.floor(rnd() * vocab);
  return a;
}

function validMask(sequences: number, cols: number, seed: number): Uint8Array {
  const rnd = mulberry32(seed);
  const m = new Uint8Array(sequences * cols);
  // left padding of random length, as sequence models pad short histories
  for (let s = 0; s < sequences; s++) {
    const pad = Math.floor(rnd() * cols);
    for (let j = pad; j < cols; j++) m[s * cols + j] = 1;
  }
  return m;
}

function spd(n: number, seed: number): Dense {
  const m = gridDense(n, n, seed);
  const a = denseFrom(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? n : 0;
    for (let k = 0; k < n; k++) s += m.data[k * n + i] * m.data[k * n + j];
    a.data[i * n + j] = s;
  }
  return a;
}

const ACTS: Activation[] = ['identity', 'relu', 'sigmoid', 'tanh', 'gelu'];

/** Every case, smallest first; `large` adds the model-sized ones (split across the pool by the engine). */
export function nnCases(large = true): NnCase[] {
  const cases: NnCase[] = [];
  const shapes: Array<[number, number]> = [[0, 5], [1, 1], [3, 7], [17, 33]];
  if (large) shapes.push([16384, 64]);
  for (const [rows, cols] of shapes) {
    const tag = `${rows}×${cols}`;
    const x = gridDense(rows, cols, rows * 7 + cols, -3, 3), g = gridDense(rows, cols, rows + cols * 3);
    const bias = gridValues(cols, cols, -0.5, 0.5);
    for (const activation of ACTS) {
      cases.push(nnCase('biasActivation', `${tag} ${activation}`, { x, bias, activation }));
      cases.push(nnCase('activationBackward', `${tag} ${activation}`, { x, bias, activation, gradOut: g }));
    }
    cases.push(nnCase('biasActivation', `${tag} no bias`, { x, activation: 'relu' }));
    cases.push(nnCase('columnSums', tag, { x }, 1e-4, 1e-5));
    const gamma = gridValues(cols, 3, 0.5, 1.5), beta = gridValues(cols, 4, -0.5, 0.5);
    cases.push(nnCase('layerNorm', tag, { x, gamma, beta }, 1e-4, 1e-4));
    const ln = runReference('layerNorm', { x, gamma, beta });
    cases.push(nnCase('layerNormBackward', tag, { x, gamma, mean: ln.mean, rstd: ln.rstd, gradOut: g }, 1e-4, 1e-4));
    cases.push(nnCase('layerNormParamGrad', tag, { x, mean: ln.mean, rstd: ln.rstd, gradOut: g }, 1e-3, 1e-4));
    const targets = ids(rows, cols, 5, 0.2);
    cases.push(nnCase('softmaxCrossEntropy', `${tag} targets`, { logits: x, targets, gradScale: 0.5 }, 1e-5, 1e-4));
    const weights = denseFrom(rows, cols);
    for (let i = 0; i < weights.data.length; i++) weights.data[i] = i % 3 === 0 ? 1 : 0;
    cases.push(nnCase('softmaxCrossEntropy', `${tag} multinomial`, { logits: x, targetWeights: weights }, 1e-4, 1e-4));
    const flat = x.data;
    cases.push(nnCase('sigmoidCrossEntropy', tag, { logits: flat, targets: gridValues(flat.length, 6, 0, 1), weights: gridValues(flat.length, 7, 0, 2), gradScale: 0.25 }));
    cases.push(nnCase('dropout', `${tag} p=0.2`, { x: flat, rate: 0.2, seed: 11, offset: rows }));
    cases.push(nnCase('elementwise', `${tag} axpby`, { op: 'axpby', x: flat, y: g.data, alpha: 0.5, beta: -2 }));
    cases.push(nnCase('elementwise', `${tag} mul`, { op: 'mul', x: flat, y: g.data, alpha: 1.5 }));
    cases.push(nnCase('elementwise', `${tag} scale`, { op: 'axpby', x: flat, alpha: -3 }));
    const vocab = Math.max(1, cols);
    const lookup = ids(rows * 3, vocab, 8, 0.1);
    const table = gridDense(vocab, 13, 9);
    cases.push(nnCase('embeddingGather', `${rows * 3} ids of ${vocab}×13`, { table, ids: lookup }));
    const grouped = groupByIndex(lookup, vocab);
    cases.push(nnCase('segmentSum', `${rows * 3}×13 grouped`, { src: gridDense(rows * 3, 13, 10), offsets: grouped.offsets, positions: grouped.positions }, 1e-5, 1e-5));
    cases.push(nnCase('segmentSum', `bags over ${vocab}×13, weighted`, { src: table, offsets: bagOffsets(rows, lookup.length), positions: lookup, weights: gridValues(lookup.length, 12, 0, 1) }));
  }
  // attention shapes: sequences × heads blocks of T queries × T keys
  const attention: Array<[number, number, number]> = [[1, 1, 1], [3, 2, 5], [2, 1, 17]];
  if (large) attention.push([128, 2, 50]);
  for (const [S, heads, T] of attention) {
    const tag = `${heads} head(s) × ${S} seq × ${T}`;
    const scores = gridDense(S * heads * T, T, S * 31 + T, -4, 4);
    const keyValid = validMask(S, T, T);
    cases.push(nnCase('maskedSoftmax', `${tag} causal+padding`, { scores, queries: T, causal: true, keyValid, scale: 0.125 }));
    cases.push(nnCase('maskedSoftmax', `${tag} padding`, { scores, queries: T, keyValid }));
    cases.push(nnCase('maskedSoftmax', `${tag} plain`, { scores }));
    const p = runReference('maskedSoftmax', { scores, queries: T, causal: true, keyValid, scale: 0.125 });
    cases.push(nnCase('softmaxBackward', tag, { probs: p, gradProbs: gridDense(S * heads * T, T, 5), scale: 0.125 }));
  }
  // optimizer: dense and lazy, Adam (L2) and AdamW
  for (const [rows, dim] of large ? [[1, 1], [7, 5], [3000, 64]] : [[1, 1], [7, 5]]) {
    const make = () => ({ params: gridValues(rows * dim, 13), m: gridValues(rows * dim, 14, -0.01, 0.01), v: gridValues(rows * dim, 15, 0, 0.01) });
    cases.push(nnCase('adamUpdate', `${rows}×${dim} AdamW`, { ...make(), grads: gridValues(rows * dim, 16), dim, step: 3, lr: 1e-3, weightDecay: 0.01 }, 1e-6, 1e-5, ['params', 'm', 'v']));
    cases.push(nnCase('adamUpdate', `${rows}×${dim} Adam L2`, { ...make(), grads: gridValues(rows * dim, 17), dim, step: 1, lr: 1e-2, weightDecay: 0.1, decoupled: false, gradScale: 0.5 }, 1e-6, 1e-5, ['params', 'm', 'v']));
    const touched = sharedInt32(Math.ceil(rows / 2));
    for (let r = 0; r < touched.length; r++) touched[r] = (r * 2 + 1) % rows;
    const distinct = new Int32Array([...new Set(touched)]);
    cases.push(nnCase('adamUpdate', `${rows}×${dim} lazy ${distinct.length} rows`, { ...make(), grads: gridValues(distinct.length * dim, 18), rowIds: distinct, dim, step: 10, lr: 1e-3 }, 1e-6, 1e-5, ['params', 'm', 'v']));
  }
  // the fused full-softmax output layer: empty, a single item, off the vector widths, ignored rows,
  // weights, every row ignored, and (large) several row tiles over several groups of partials
  const outputShapes: Array<[number, number, number, number]> = [[0, 5, 3, 0], [1, 1, 1, 0], [3, 7, 5, 0.2], [37, 33, 17, 0.2], [300, 129, 50, 0.2]];
  if (large) outputShapes.push([2500, 1000, 50, 0.1]);
  for (const [rows, items, dim, padding] of outputShapes) {
    const tag = `${rows}×${dim} · (${items}×${dim})ᵀ`;
    const hidden = gridDense(rows, dim, rows + dim, -1, 1), table = gridDense(items, dim, items * 3 + dim, -0.5, 0.5);
    const targets = ids(rows, items, rows + 17, padding), gradScale = 1 / Math.max(1, rows);
    cases.push(nnCase('softmaxOutputLayer', `${tag} targets`, { hidden, table, targets, gradScale }, 1e-5, 1e-3));
    cases.push(nnCase('softmaxOutputLayer', `${tag} weighted`, { hidden, table, targets, weights: gridValues(rows, 19, 0, 2), gradScale }, 1e-5, 1e-3));
  }
  cases.push(nnCase('softmaxOutputLayer', 'every row ignored', { hidden: gridDense(4, 3, 2), table: gridDense(6, 3, 3), targets: sharedInt32(4).fill(-1) }));
  // closed-form solve
  for (const n of large ? [1, 5, 33, 200] : [1, 5, 33]) {
    const a = spd(n, n);
    cases.push(nnCase('spdSolve', `${n}×${n} inverse`, { a }, 1e-5, 2e-3));
    cases.push(nnCase('spdSolve', `${n}×${n} · ${n}×3`, { a, b: gridDense(n, 3, n + 1) }, 1e-5, 2e-3));
  }
  return cases;
}

/** groups of roughly equal size covering [0, n) */
function bagOffsets(groups: number, n: number): Int32Array {
  const off = sharedInt32(groups + 1);
  for (let g = 0; g <= groups; g++) off[g] = Math.floor((g * n) / Math.max(1, groups));
  if (groups === 0) return new Int32Array([0]);
  off[groups] = n;
  return off;
}

/** A deep copy of args whose typed arrays are fresh (shared) copies: in-place kernels then start equal. */
export function cloneArgs<T>(args: T): T {
  const copy = (v: unknown): unknown => {
    if (v instanceof Float32Array) { const c = sharedFloat32(v.length); c.set(v); return c; }
    if (v instanceof Int32Array) { const c = sharedInt32(v.length); c.set(v); return c; }
    if (ArrayBuffer.isView(v)) return (v as Uint8Array).slice();
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)]));
    return v;
  };
  return copy(args) as T;
}

/** Every Float32Array reachable in an output (or args) object, by path. */
export function floatArrays(o: unknown, prefix = ''): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  if (o instanceof Float32Array) { out.set(prefix || 'out', o); return out; }
  if (o && typeof o === 'object' && !ArrayBuffer.isView(o)) {
    for (const [k, v] of Object.entries(o)) for (const [p, a] of floatArrays(v, prefix ? `${prefix}.${k}` : k)) out.set(p, a);
  }
  return out;
}
