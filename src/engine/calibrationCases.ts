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

/**
 * The neural-network kernels (src/kernels/nn) at the shapes of the neural models: small = one
 * layer of a small batch, medium = a training step's worth (16384 rows × 256, 128 sequences of
 * 200 positions × 2 heads, …). `rows` builds the problem restricted to its first rows where the
 * kernel's rows can be sampled (not for the column kernels, the attention blocks, Adam or the solve).
 */
function nnCase<K extends KernelName>(kernel: K, sizeClass: SizeClass, size: string, make: () => { args: KernelArgs<K>; rows: number; firstRows?: (n: number) => KernelArgs<K> }): CalibrationCase<K> {
  return { kernel, sizeClass, size, build: make };
}

function ids(n: number, vocab: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const a = sharedInt32(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(vocab);
  return a;
}

function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  const rng = new Rng(seed);
  const a = sharedFloat32(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.nextDouble();
  return a;
}

function nnCases(sizeClass: SizeClass): CalibrationCase[] {
  const medium = sizeClass === 'medium';
  const rows = medium ? 16384 : 256, cols = medium ? 256 : 64;
  const x = () => dense(rows, cols, 71);
  const vec = (n: number, seed: number) => uniform(n, seed, -1, 1);
  const S = medium ? 128 : 4, T = medium ? 200 : 50;  // sequences × 2 heads of T × T attention scores
  const classes = medium ? 1000 : 100, ceRows = medium ? 4096 : 128;
  const outRows = medium ? 4096 : 32, outDim = medium ? 64 : 16;  // the output layer: rows × dim hidden states against classes items
  const elements = medium ? 1 << 24 : 1 << 16;
  const vocab = medium ? 50000 : 1000, dim = 64, lookups = medium ? 327680 : 2000;
  const params = medium ? 1 << 21 : 1 << 14, spdN = medium ? 400 : 80;
  const sumRows = medium ? 4096 : 256, sumCols = medium ? 5120 : 64;
  return [
    nnCase('biasActivation', sizeClass, `${rows}x${cols} gelu`, () => {
      const xs = x(), bias = vec(cols, 72);
      return { args: { x: xs, bias, activation: 'gelu' }, rows, firstRows: (n) => ({ x: denseFirstRows(xs, n), bias, activation: 'gelu' }) };
    }),
    nnCase('activationBackward', sizeClass, `${rows}x${cols} gelu`, () => {
      const xs = x(), g = dense(rows, cols, 73), bias = vec(cols, 72);
      return {
        args: { x: xs, bias, activation: 'gelu', gradOut: g }, rows,
        firstRows: (n) => ({ x: denseFirstRows(xs, n), bias, activation: 'gelu', gradOut: denseFirstRows(g, n) }),
      };
    }),
    nnCase('columnSums', sizeClass, `${sumRows}x${sumCols}`, () => ({ args: { x: dense(sumRows, sumCols, 74) }, rows: sumCols })),
    nnCase('layerNorm', sizeClass, `${rows}x${cols}`, () => {
      const xs = x(), gamma = uniform(cols, 75, 0.5, 1.5), beta = vec(cols, 76);
      return { args: { x: xs, gamma, beta }, rows, firstRows: (n) => ({ x: denseFirstRows(xs, n), gamma, beta }) };
    }),
    nnCase('layerNormBackward', sizeClass, `${rows}x${cols}`, () => {
      const xs = x(), g = dense(rows, cols, 77), gamma = uniform(cols, 75, 0.5, 1.5);
      const mean = vec(rows, 78), rstd = uniform(rows, 79, 0.5, 2);
      return {
        args: { x: xs, gamma, mean, rstd, gradOut: g }, rows,
        firstRows: (n) => ({ x: denseFirstRows(xs, n), gamma, mean: mean.subarray(0, n), rstd: rstd.subarray(0, n), gradOut: denseFirstRows(g, n) }),
      };
    }),
    nnCase('layerNormParamGrad', sizeClass, `${rows}x${cols}`, () => ({
      args: { x: x(), mean: vec(rows, 78), rstd: uniform(rows, 79, 0.5, 2), gradOut: dense(rows, cols, 77) }, rows: cols,
    })),
    nnCase('maskedSoftmax', sizeClass, `2 heads x ${S} seq x ${T}x${T} causal`, () => ({
      args: { scores: dense(2 * S * T, T, 80), queries: T, causal: true, scale: 0.125 }, rows: 2 * S * T,
    })),
    nnCase('softmaxBackward', sizeClass, `${2 * S * T}x${T}`, () => {
      const p = dense(2 * S * T, T, 81), dp = dense(2 * S * T, T, 82);
      return { args: { probs: p, gradProbs: dp }, rows: p.rows, firstRows: (n) => ({ probs: denseFirstRows(p, n), gradProbs: denseFirstRows(dp, n) }) };
    }),
    nnCase('softmaxCrossEntropy', sizeClass, `${ceRows}x${classes} targets`, () => {
      const z = dense(ceRows, classes, 83), t = ids(ceRows, classes, 84);
      return { args: { logits: z, targets: t }, rows: ceRows, firstRows: (n) => ({ logits: denseFirstRows(z, n), targets: t.subarray(0, n) }) };
    }),
    nnCase('softmaxOutputLayer', sizeClass, `${outRows}x${outDim} · (${classes}x${outDim})ᵀ targets`, () => {
      const h = dense(outRows, outDim, 89), table = dense(classes, outDim, 90), t = ids(outRows, classes, 84);
      return { args: { hidden: h, table, targets: t }, rows: outRows, firstRows: (n) => ({ hidden: denseFirstRows(h, n), table, targets: t.subarray(0, n) }) };
    }),
    nnCase('sigmoidCrossEntropy', sizeClass, `${elements}`, () => {
      const z = vec(elements, 85), y = uniform(elements, 86, 0, 1);
      return { args: { logits: z, targets: y }, rows: elements, firstRows: (n) => ({ logits: z.subarray(0, n), targets: y.subarray(0, n) }) };
    }),
    nnCase('embeddingGather', sizeClass, `${lookups} ids of ${vocab}x${dim}`, () => {
      const table = dense(vocab, dim, 87), i = ids(lookups, vocab, 88);
      return { args: { table, ids: i }, rows: lookups, firstRows: (n) => ({ table, ids: i.subarray(0, n) }) };
    }),
    nnCase('segmentSum', sizeClass, `${lookups} positions of ${vocab}x${dim} in bags of 20`, () => {
      const src = dense(vocab, dim, 87), positions = ids(lookups, vocab, 89), groups = Math.floor(lookups / 20);
      const offsets = sharedInt32(groups + 1);
      for (let g = 0; g <= groups; g++) offsets[g] = g === groups ? lookups : g * 20;
      return {
        args: { src, offsets, positions }, rows: groups,
        firstRows: (n) => ({ src, offsets: offsets.subarray(0, n + 1), positions: positions.subarray(0, offsets[n]) }),
      };
    }),
    nnCase('dropout', sizeClass, `${elements} p=0.1`, () => {
      const xs = vec(elements, 90);
      return { args: { x: xs, rate: 0.1, seed: 1 }, rows: elements, firstRows: (n) => ({ x: xs.subarray(0, n), rate: 0.1, seed: 1 }) };
    }),
    nnCase('adamUpdate', sizeClass, `${params} params`, () => ({
      args: { params: vec(params, 91), grads: vec(params, 92), m: sharedFloat32(params), v: sharedFloat32(params), dim: 1, step: 1, lr: 1e-3 },
      rows: params,
    })),
    nnCase('spdSolve', sizeClass, `${spdN}x${spdN} inverse`, () => {
      const a = dense(spdN, spdN, 93);
      for (let i = 0; i < spdN; i++) a.data[i * spdN + i] = spdN;  // diagonally dominant: positive definite
      return { args: { a }, rows: spdN };
    }),
    nnCase('elementwise', sizeClass, `${elements} axpby`, () => {
      const xs = vec(elements, 94), y = vec(elements, 95);
      return { args: { op: 'axpby', x: xs, y, alpha: 0.5, beta: 2 }, rows: elements, firstRows: (n) => ({ op: 'axpby', x: xs.subarray(0, n), y: y.subarray(0, n), alpha: 0.5, beta: 2 }) };
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
