/**
 * The problems calibration times: per kernel, a `small` size (below the work where a pool
 * round trip or a GPU transfer pays off) and a `medium` one (a realistic block of a model's
 * work). Inputs are seeded; a case can hand out its first n rows so a slow backend times a
 * sample of the rows (throughput is work per second, so a sample measures the same rate).
 */
import type { Csr, Dense } from '../data/matrix.js';
import { sharedFloat32, sharedInt32 } from '../data/matrix.js';
import { Rng } from '../data/random.js';
import type { DenseScoreTopKArgs } from '../kernels/denseScoreTopK.js';
import type { SparseSimilarityTopKArgs } from '../kernels/sparseSimilarityTopK.js';
import { gramian, type AlsHalfStepArgs } from '../kernels/alsHalfStep.js';
import type { SgdEpochArgs } from '../kernels/sgdEpoch.js';
import type { BprEpochArgs } from '../kernels/bprEpoch.js';
import type { GemmArgs } from '../kernels/gemm.js';
import { xoshiroState } from '../data/xoshiro128.js';
import type { KernelArgs, KernelName } from '../kernels/contract.js';

export type SizeClass = 'small' | 'medium';

export interface CalibrationProblem<A> {
  args: A;
  /** output rows of the full problem */
  rows: number;
  /** the same problem restricted to its first n output rows; absent when rows cannot be sampled */
  firstRows?: (n: number) => A;
}

/** A case of kernel K (of any kernel, by default). */
export interface CalibrationCase<K extends KernelName = KernelName> {
  kernel: K;
  sizeClass: SizeClass;
  /** the shape in words, e.g. '2000x64 self k=20' */
  size: string;
  build(): CalibrationProblem<KernelArgs<K>>;
}

function dense(rows: number, cols: number, seed: number): Dense {
  const rng = new Rng(seed);
  const data = sharedFloat32(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.nextDouble() * 2 - 1;
  return { rows, cols, data };
}

/** A random CSR with about `perRow` entries per row, columns sorted and distinct, values in [1, 5]. */
function sparse(rows: number, cols: number, perRow: number, seed: number): Csr {
  const rng = new Rng(seed);
  const indptr = sharedInt32(rows + 1);
  const rowCols: Int32Array[] = [];
  for (let r = 0; r < rows; r++) {
    const n = Math.min(cols, 1 + rng.int(2 * perRow));
    const set = new Set<number>();
    while (set.size < n) set.add(rng.int(cols));
    const c = Int32Array.from(set).sort();
    rowCols.push(c);
    indptr[r + 1] = indptr[r] + c.length;
  }
  const indices = sharedInt32(indptr[rows]);
  const data = sharedFloat32(indptr[rows]);
  for (let r = 0; r < rows; r++) {
    indices.set(rowCols[r], indptr[r]);
    for (let p = indptr[r]; p < indptr[r + 1]; p++) data[p] = 1 + rng.int(5);
  }
  return { rows, cols, indptr, indices, data };
}

function csrFirstRows(m: Csr, n: number): Csr {
  return { rows: n, cols: m.cols, indptr: m.indptr.subarray(0, n + 1), indices: m.indices, data: m.data };
}

function denseFirstRows(m: Dense, n: number): Dense {
  return { rows: n, cols: m.cols, data: m.data.subarray(0, n * m.cols) };
}

function denseCase(sizeClass: SizeClass, q: number, keys: number, d: number, k: number): CalibrationCase<'denseScoreTopK'> {
  const self = q === keys;
  return {
    kernel: 'denseScoreTopK', sizeClass,
    size: self ? `${q}x${d} self k=${k}` : `${q}x${keys}x${d} k=${k}`,
    build() {
      const K = dense(keys, d, 7);
      const Q = self ? K : dense(q, d, 11);
      const make = (queries: Dense): DenseScoreTopKArgs => ({ queries, keys: K, k, metric: 'dot', excludeSelf: self });
      return { args: make(Q), rows: q, firstRows: (n) => make(denseFirstRows(Q, n)) };
    },
  };
}

function similarityCase(sizeClass: SizeClass, rows: number, cols: number, perRow: number): CalibrationCase<'sparseSimilarityTopK'> {
  return {
    kernel: 'sparseSimilarityTopK', sizeClass, size: `${rows}x${cols} ~${perRow}/row cosine k=20`,
    build() {
      // every row is compared with every other: the rows of one call cannot be sampled
      const args: SparseSimilarityTopKArgs = { matrix: sparse(rows, cols, perRow, 21), metric: 'cosine', k: 20 };
      return { args, rows };
    },
  };
}

function alsCase(sizeClass: SizeClass, rows: number, items: number, perRow: number, f: number): CalibrationCase<'alsHalfStep'> {
  return {
    kernel: 'alsHalfStep', sizeClass, size: `${rows}x${items} ~${perRow}/row f=${f} cg3`,
    build() {
      const matrix = sparse(rows, items, perRow, 31);
      const other = dense(items, f, 32);
      for (let i = 0; i < other.data.length; i++) other.data[i] *= 0.1;
      const gram = gramian(other);
      const make = (m: Csr): AlsHalfStepArgs => ({ mode: 'implicit', solver: 'cg', cgSteps: 3, matrix: m, other, gram, regularization: 0.01 });
      return { args: make(matrix), rows, firstRows: (n) => make(csrFirstRows(matrix, n)) };
    },
  };
}

/** The users × items pattern of a case as (user, item, rating) examples, one per stored entry, plus each entry's user. */
function examples(m: Csr): { user: Int32Array; item: Int32Array; rating: Float32Array } {
  const user = new Int32Array(m.indptr[m.rows]);
  for (let u = 0; u < m.rows; u++) user.fill(u, m.indptr[u], m.indptr[u + 1]);
  return { user, item: Int32Array.from(m.indices), rating: Float32Array.from(m.data) };
}

function smallFactors(len: number, seed: number, positive = false): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: len }, () => (positive ? rng.nextDouble() : rng.nextDouble() - 0.5) * 0.1);
}

/**
 * sgdEpoch: one pass of biased SVD (Funk/Koren) over every rating in shuffled order. The call updates its args in
 * place, so repeated timed calls keep training the same model (the work per call is the same). Rows are examples:
 * a sample is the first n of the order.
 */
function sgdCase(sizeClass: SizeClass, users: number, items: number, perRow: number, f: number): CalibrationCase<'sgdEpoch'> {
  return {
    kernel: 'sgdEpoch', sizeClass, size: `${users}x${items} ~${perRow}/row svd f=${f}`,
    build() {
      const m = sparse(users, items, perRow, 41);
      const x = examples(m);
      const n = x.user.length;
      const order = Int32Array.from({ length: n }, (_, i) => i);
      const rng = new Rng(42);
      for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); const t = order[i]; order[i] = order[j]; order[j] = t; }
      const rates = { bu: 0.005, bi: 0.005, pu: 0.005, qi: 0.005, yj: 0.005 };
      const regs = { bu: 0.02, bi: 0.02, pu: 0.02, qi: 0.02, yj: 0.02 };
      const args: SgdEpochArgs = {
        algorithm: 'svd', factors: f, ...x, order, globalMean: 3, biased: true, lr: rates, reg: regs,
        bu: smallFactors(users, 43), bi: smallFactors(items, 44), pu: smallFactors(users * f, 45), qi: smallFactors(items * f, 46),
      };
      return { args, rows: n, firstRows: (k) => ({ ...args, order: order.subarray(0, k) }) };
    },
  };
}

/** bprEpoch: `samples` = nnz steps with popularity-sampled, verified negatives (implicit's scheme); a sample is fewer steps. */
function bprCase(sizeClass: SizeClass, users: number, items: number, perRow: number, f: number): CalibrationCase<'bprEpoch'> {
  return {
    kernel: 'bprEpoch', sizeClass, size: `${users}x${items} ~${perRow}/row f=${f}`,
    build() {
      const m = sparse(users, items, perRow, 51);
      const D = f + 1;
      const userFactors = smallFactors(users * D, 52), itemFactors = smallFactors(items * D, 53);
      for (let u = 0; u < users; u++) userFactors[u * D + f] = 1;
      for (let i = 0; i < items; i++) itemFactors[i * D + f] = 0;
      const args: BprEpochArgs = {
        userItems: m, entryUser: examples(m).user, userFactors, itemFactors, factors: f, learningRate: 0.01, regularization: 0.01,
        verifyNegative: true, negatives: 'popularity', samples: m.indptr[users], rng: xoshiroState(54),
      };
      return { args, rows: args.samples, firstRows: (k) => ({ ...args, samples: k }) };
    },
  };
}

/** gemm: a dense layer's forward (m×k·k×n); rows of C are the output rows, so a sample is the first n rows of A. */
function gemmCase(sizeClass: SizeClass, m: number, n: number, k: number): CalibrationCase<'gemm'> {
  return {
    kernel: 'gemm', sizeClass, size: `${m}x${k}·${k}x${n}`,
    build() {
      const a = dense(m, k, 61).data, b = dense(k, n, 62).data;
      const make = (rows: number): GemmArgs => ({ m: rows, n, k, a: a.subarray(0, rows * k), b });
      return { args: make(m), rows: m, firstRows: make };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the neural-network kernels: a minibatch-sized `small` and a model-sized `medium` problem each

function subDense(d: Dense, n: number): Dense {
  return { rows: n, cols: d.cols, data: d.data.subarray(0, n * d.cols) };
}

function nnCase<K extends KernelName>(kernel: K, sizeClass: SizeClass, size: string, build: () => CalibrationProblem<KernelArgs<K>>): CalibrationCase<K> {
  return { kernel, sizeClass, size, build };
}

function seededIds(n: number, vocab: number, seed: number): Int32Array {
  const rng = new Rng(seed), ids = sharedInt32(n);
  for (let i = 0; i < n; i++) ids[i] = rng.int(vocab);
  return ids;
}

function nnCases(sizeClass: SizeClass): CalibrationCase[] {
  const medium = sizeClass === 'medium';
  const [rows, cols] = medium ? [4096, 256] : [64, 64];
  const x = () => dense(rows, cols, 71), g = () => dense(rows, cols, 72);
  const bias = () => dense(1, cols, 73).data;
  const shape = `${rows}x${cols}`;
  const elements = medium ? 1 << 22 : 4096;
  const flat = () => dense(1, elements, 74).data;
  const [seqs, T] = medium ? [128, 100] : [2, 16];
  const [ceRows, ceCols] = medium ? [1024, 1024] : [32, 64];
  const nIds = medium ? 65536 : 256, vocab = medium ? 20000 : 500, dim = 64;
  const n = medium ? 256 : 32;
  return [
    nnCase('biasActivation', sizeClass, `${shape} gelu`, () => {
      const a = { x: x(), bias: bias(), activation: 'gelu' as const };
      return { args: a, rows, firstRows: (k) => ({ ...a, x: subDense(a.x, k) }) };
    }),
    nnCase('activationBackward', sizeClass, `${shape} gelu`, () => {
      const a = { x: x(), bias: bias(), activation: 'gelu' as const, gradOut: g() };
      return { args: a, rows, firstRows: (k) => ({ ...a, x: subDense(a.x, k), gradOut: subDense(a.gradOut, k) }) };
    }),
    nnCase('columnSums', sizeClass, medium ? '4096x1024' : shape, () => ({ args: { x: medium ? dense(4096, 1024, 75) : x() }, rows: medium ? 1024 : cols })),
    nnCase('layerNorm', sizeClass, shape, () => {
      const a = { x: x(), gamma: bias(), beta: bias() };
      return { args: a, rows, firstRows: (k) => ({ ...a, x: subDense(a.x, k) }) };
    }),
    nnCase('layerNormBackward', sizeClass, shape, () => {
      const a = { x: x(), gamma: bias(), mean: sharedFloat32(rows), rstd: sharedFloat32(rows).fill(1), gradOut: g() };
      return { args: a, rows, firstRows: (k) => ({ ...a, x: subDense(a.x, k), gradOut: subDense(a.gradOut, k), mean: a.mean.subarray(0, k), rstd: a.rstd.subarray(0, k) }) };
    }),
    nnCase('layerNormParamGrad', sizeClass, shape, () => ({ args: { x: x(), mean: sharedFloat32(rows), rstd: sharedFloat32(rows).fill(1), gradOut: g() }, rows: cols })),
    nnCase('maskedSoftmax', sizeClass, `${seqs} seq x ${T}x${T} causal`, () => {
      const a = { scores: dense(seqs * T, T, 76), queries: T, causal: true, scale: 0.125 };
      return { args: a, rows: seqs * T };
    }),
    nnCase('softmaxBackward', sizeClass, `${seqs * T}x${T}`, () => {
      const a = { probs: dense(seqs * T, T, 77), gradProbs: dense(seqs * T, T, 78) };
      return { args: a, rows: seqs * T, firstRows: (k) => ({ probs: subDense(a.probs, k), gradProbs: subDense(a.gradProbs, k) }) };
    }),
    nnCase('softmaxCrossEntropy', sizeClass, `${ceRows}x${ceCols}`, () => {
      const a = { logits: dense(ceRows, ceCols, 79), targets: seededIds(ceRows, ceCols, 80) };
      return { args: a, rows: ceRows, firstRows: (k) => ({ logits: subDense(a.logits, k), targets: a.targets.subarray(0, k) }) };
    }),
    nnCase('sigmoidCrossEntropy', sizeClass, `${elements}`, () => {
      const a = { logits: flat(), targets: sharedFloat32(elements).fill(1) };
      return { args: a, rows: elements, firstRows: (k) => ({ logits: a.logits.subarray(0, k), targets: a.targets.subarray(0, k) }) };
    }),
    nnCase('embeddingGather', sizeClass, `${nIds} ids of ${vocab}x${dim}`, () => {
      const a = { table: dense(vocab, dim, 81), ids: seededIds(nIds, vocab, 82) };
      return { args: a, rows: nIds, firstRows: (k) => ({ ...a, ids: a.ids.subarray(0, k) }) };
    }),
    nnCase('segmentSum', sizeClass, `${nIds} rows into ${nIds / 4} groups x${dim}`, () => {
      const groups = nIds / 4, offsets = sharedInt32(groups + 1);
      for (let i = 0; i <= groups; i++) offsets[i] = i * 4;
      const a = { src: dense(nIds, dim, 83), offsets, positions: seededIds(nIds, nIds, 84) };
      return { args: a, rows: groups, firstRows: (k) => ({ ...a, offsets: a.offsets.subarray(0, k + 1), positions: a.positions.subarray(0, a.offsets[k]) }) };
    }),
    nnCase('dropout', sizeClass, `${elements}`, () => {
      const a = { x: flat(), rate: 0.2, seed: 85 };
      return { args: a, rows: elements, firstRows: (k) => ({ ...a, x: a.x.subarray(0, k) }) };
    }),
    nnCase('adamUpdate', sizeClass, `${elements}`, () => {
      const a = { params: flat(), grads: dense(1, elements, 86).data, m: sharedFloat32(elements), v: sharedFloat32(elements), dim: 1, step: 1, lr: 1e-3 };
      return { args: a, rows: elements, firstRows: (k) => ({ ...a, params: a.params.subarray(0, k), grads: a.grads.subarray(0, k), m: a.m.subarray(0, k), v: a.v.subarray(0, k) }) };
    }),
    nnCase('spdSolve', sizeClass, `${n}x${n} inverse`, () => {
      // A = I·n + a small symmetric perturbation: positive definite
      const a = dense(n, n, 87);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a.data[i * n + j] = a.data[j * n + i] *= 0.5;
      for (let i = 0; i < n; i++) a.data[i * n + i] = n;
      return { args: { a }, rows: n };
    }),
    nnCase('elementwise', sizeClass, `${elements} axpby`, () => {
      const a = { op: 'axpby' as const, x: flat(), y: dense(1, elements, 88).data, alpha: 0.5, beta: 2 };
      return { args: a, rows: elements, firstRows: (k) => ({ ...a, x: a.x.subarray(0, k), y: a.y!.subarray(0, k) }) };
    }),
  ];
}

/** Every calibration case, small before medium. */
export function calibrationCases(): CalibrationCase[] {
  return [
    denseCase('small', 64, 256, 32, 10),
    denseCase('medium', 2000, 2000, 64, 20),
    similarityCase('small', 200, 300, 10),
    similarityCase('medium', 4000, 2000, 40),
    alsCase('small', 100, 500, 10, 32),
    alsCase('medium', 4000, 2000, 25, 64),
    sgdCase('small', 200, 100, 12, 20),
    sgdCase('medium', 6000, 3000, 17, 64),
    bprCase('small', 200, 100, 12, 20),
    bprCase('medium', 6000, 3000, 25, 64),
    gemmCase('small', 32, 64, 64),
    gemmCase('medium', 1024, 256, 256),
    ...nnCases('small'),
    ...nnCases('medium'),
  ];
}
