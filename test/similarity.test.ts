import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  allocateSparseSimilarityTopK, similarityMatrixDense, sparseSimilarityTopKReference, validateSparseSimilarityTopK,
  withPreparedSimilarity, SIMILARITY_METRICS, type SimilarityMetric, type SparseSimilarityTopKArgs,
} from '../src/kernels/sparseSimilarityTopK.js';
import { getKernel } from '../src/kernels/index.js';
import { csrFromTriplets, type Csr } from '../src/data/matrix.js';
import { mulberry32 } from './helpers/random.js';
import { Command } from 'commander';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CliEdge } from '../src/cli/edge.js';
import { register as registerSimilarity } from '../src/cli/commands/similarity.js';

/** A Csr from dense rows; `undefined` entries are not stored (0 is stored). */
function csr(rows: Array<Array<number | undefined>>): Csr {
  const r: number[] = [], c: number[] = [], v: number[] = [];
  rows.forEach((row, i) => row.forEach((x, j) => { if (x !== undefined) { r.push(i); c.push(j); v.push(x); } }));
  return csrFromTriplets(rows.length, rows[0].length, r, c, v);
}

function randomRows(rows: number, cols: number, density: number, seed: number, levels = 5): Array<Array<number | undefined>> {
  const rnd = mulberry32(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rnd() < density ? 1 + Math.floor(rnd() * levels) : undefined)));
}

function dense(a: SparseSimilarityTopKArgs): number[][] {
  const d = similarityMatrixDense(a);
  return Array.from({ length: d.rows }, (_, i) => Array.from(d.data.subarray(i * d.cols, (i + 1) * d.cols)));
}

const close = (got: number, want: number, eps = 1e-5, what = '') =>
  assert.ok(Math.abs(got - want) <= eps * Math.max(1, Math.abs(want)), `${what} got ${got}, want ${want}`);

/** Brute force over the definitions, pair by pair, on (already weighted/centred) row maps. */
function bruteForce(rows: Array<Array<number | undefined>>, metric: SimilarityMetric, o: { shrinkage?: number; minSupport?: number; minSimilarity?: number; baselines?: { mu: number; bu: number[]; bi: number[] } } = {}): number[][] {
  const R = rows.length, C = rows[0].length;
  let vals = rows.map((r) => r.slice());
  if (metric === 'adjusted-cosine') {
    for (let c = 0; c < C; c++) {
      const col = vals.map((r) => r[c]).filter((x): x is number => x !== undefined);
      const mean = col.reduce((s, x) => s + x, 0) / col.length;
      for (const r of vals) if (r[c] !== undefined) r[c] = r[c]! - mean;
    }
  }
  if (metric === 'pearson-baseline') {
    const b = o.baselines!;
    vals = vals.map((r, i) => r.map((x, c) => (x === undefined ? undefined : x - (b.mu + b.bu[i] + b.bi[c]))));
  }
  const out: number[][] = [];
  for (let a = 0; a < R; a++) {
    out.push([]);
    for (let b = 0; b < R; b++) {
      const xs: number[] = [], ys: number[] = [];
      for (let c = 0; c < C; c++) if (vals[a][c] !== undefined && vals[b][c] !== undefined) { xs.push(vals[a][c]!); ys.push(vals[b][c]!); }
      const n = xs.length;
      const minSupport = metric === 'pearson-baseline' ? Math.max(2, o.minSupport ?? 1) : (o.minSupport ?? 1);
      if (n === 0 || n < minSupport || a === b) { out[a].push(0); continue; }
      const dot = xs.reduce((s, x, i) => s + x * ys[i], 0);
      const nx = xs.reduce((s, x) => s + x * x, 0), ny = ys.reduce((s, y) => s + y * y, 0);
      let s = 0;
      switch (metric) {
        case 'dot': s = dot; break;
        case 'cosine': {
          const fa = Math.hypot(...vals[a].filter((x): x is number => x !== undefined));
          const fb = Math.hypot(...vals[b].filter((x): x is number => x !== undefined));
          s = fa * fb > 0 ? dot / (fa * fb) : 0; break;
        }
        case 'cosine-common': case 'adjusted-cosine': case 'pearson-baseline': s = nx * ny > 0 ? dot / Math.sqrt(nx * ny) : 0; break;
        case 'pearson': {
          const mx = xs.reduce((q, x) => q + x, 0) / n, my = ys.reduce((q, y) => q + y, 0) / n;
          let num = 0, dx = 0, dy = 0;
          for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); dx += (xs[i] - mx) ** 2; dy += (ys[i] - my) ** 2; }
          s = dx > 1e-12 && dy > 1e-12 ? num / Math.sqrt(dx * dy) : 0; break;
        }
        case 'msd': s = 1 / (xs.reduce((q, x, i) => q + (x - ys[i]) ** 2, 0) / n + 1); break;
        case 'jaccard': {
          const ca = vals[a].filter((x) => x !== undefined).length, cb = vals[b].filter((x) => x !== undefined).length;
          s = n / (ca + cb - n); break;
        }
      }
      if (metric === 'pearson-baseline') s *= (n - 1) / (n - 1 + (o.shrinkage ?? 100));
      else if (o.shrinkage) s *= n / (n + o.shrinkage);
      if (o.minSimilarity !== undefined && s < o.minSimilarity) s = 0;
      out[a].push(s);
    }
  }
  return out;
}

function baselinesFor(rows: Array<Array<number | undefined>>, seed: number) {
  const rnd = mulberry32(seed);
  return { mu: 3.2, bu: rows.map(() => rnd() - 0.5), bi: rows[0].map(() => rnd() - 0.5) };
}

// ---- worked examples ----------------------------------------------------------------------

test('worked example: cosine((1,1,0,1),(1,0,1,1)) = 2/3', () => {
  const m = csr([[1, 1, 0, 1], [1, 0, 1, 1]]); // zeros stored
  close(dense({ matrix: m, metric: 'cosine', k: 'all' })[0][1], 2 / 3);
  close(dense({ matrix: m, metric: 'cosine-common', k: 'all' })[0][1], 2 / 3);
  // same vectors with the zeros *not* stored: full-norm cosine is unchanged, co-rated cosine sees (1,1)·(1,1)
  const s = csr([[1, 1, undefined, 1], [1, undefined, 1, 1]]);
  close(dense({ matrix: s, metric: 'cosine', k: 'all' })[0][1], 2 / 3);
  close(dense({ matrix: s, metric: 'cosine-common', k: 'all' })[0][1], 1);
});

test('worked example: cosine((4,3,5),(2,4,5)) = 45/√2250 = 3/√10', () => {
  const m = csr([[4, 3, 5], [2, 4, 5]]);
  close(dense({ matrix: m, metric: 'cosine', k: 'all' })[0][1], 3 / Math.sqrt(10));
  close(dense({ matrix: m, metric: 'cosine-common', k: 'all' })[1][0], 3 / Math.sqrt(10));
  close(dense({ matrix: m, metric: 'dot', k: 'all' })[0][1], 45);
});

test('worked example: pearson((1,1,0,1),(1,0,1,1)) = -1/3 (all four entries stored)', () => {
  const m = csr([[1, 1, 0, 1], [1, 0, 1, 1]]);
  close(dense({ matrix: m, metric: 'pearson', k: 'all' })[0][1], -1 / 3);
  // with only the co-rated (1,1),(1,1) the variance is 0 → similarity 0, as Surprise
  close(dense({ matrix: csr([[1, 1, undefined, 1], [1, undefined, 1, 1]]), metric: 'pearson', k: 'all' })[0][1], 0);
});

test('msd and jaccard by hand', () => {
  const m = csr([[4, 3, undefined, 5], [2, 3, 1, undefined]]);
  // common cols 0,1: diffs 2,0 → msd = 4/2 = 2 → 1/3 ; jaccard = 2 / (3 + 3 - 2) = 1/2
  close(dense({ matrix: m, metric: 'msd', k: 'all' })[0][1], 1 / 3);
  close(dense({ matrix: m, metric: 'jaccard', k: 'all' })[0][1], 1 / 2);
});

// ---- every metric against brute force --------------------------------------------------------

for (const metric of SIMILARITY_METRICS) {
  test(`${metric}: dense matrix and top-k match brute force on random data`, () => {
    for (const seed of [1, 2, 3]) {
      const rows = randomRows(14, 10, 0.45, seed * 31 + metric.length);
      const b = baselinesFor(rows, seed);
      const args: SparseSimilarityTopKArgs = {
        matrix: csr(rows), metric, k: 'all',
        baselines: { globalMean: b.mu, rowBias: Float64Array.from(b.bu), colBias: Float64Array.from(b.bi) },
      };
      const want = bruteForce(rows, metric, { baselines: b });
      const got = dense(args);
      for (let i = 0; i < rows.length; i++) for (let j = 0; j < rows.length; j++) close(got[i][j], want[i][j], 1e-5, `${metric}[${i},${j}]`);
      // top-k: the non-zero entries of each row, sorted by (score desc, id asc)
      const k = 4;
      const out = allocateSparseSimilarityTopK({ ...args, k });
      sparseSimilarityTopKReference({ ...args, k }, out, 0, rows.length);
      for (let i = 0; i < rows.length; i++) {
        const order = want[i].map((s, j) => [j, Math.fround(s)] as [number, number]).filter(([j, s]) => j !== i && s !== 0)
          .sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, k);
        for (let t = 0; t < k; t++) {
          if (t < order.length) {
            close(out.scores[i * k + t], order[t][1], 1e-5, `${metric} top-k score row ${i} rank ${t}`);
            // ids may only differ where brute-force scores tie within float error
            if (out.ids[i * k + t] !== order[t][0]) close(want[i][out.ids[i * k + t]], order[t][1], 1e-5, 'tie');
          } else {
            assert.is(out.ids[i * k + t], -1);
            assert.is(out.scores[i * k + t], -Infinity);
          }
        }
      }
    }
  });
}

test('options: shrinkage, minSupport, minSimilarity match brute force', () => {
  const rows = randomRows(16, 12, 0.5, 77);
  const b = baselinesFor(rows, 5);
  const baselines = { globalMean: b.mu, rowBias: Float64Array.from(b.bu), colBias: Float64Array.from(b.bi) };
  for (const metric of ['cosine-common', 'pearson', 'msd', 'pearson-baseline', 'jaccard'] as const) {
    for (const o of [{ shrinkage: 10 }, { minSupport: 4 }, { minSimilarity: 0.5 }, { shrinkage: 3, minSupport: 3, minSimilarity: 0.2 }]) {
      const want = bruteForce(rows, metric, { ...o, baselines: b });
      const got = dense({ matrix: csr(rows), metric, k: 'all', baselines, ...o });
      for (let i = 0; i < rows.length; i++) for (let j = 0; j < rows.length; j++) close(got[i][j], want[i][j], 1e-5, `${metric} ${JSON.stringify(o)} [${i},${j}]`);
    }
  }
  // shrinkage by hand: cosine-common of two rows with 3 co-raters, identical → 1 · 3/(3+3) = 0.5
  close(dense({ matrix: csr([[1, 2, 3], [1, 2, 3]]), metric: 'cosine-common', k: 'all', shrinkage: 3 })[0][1], 0.5);
  // minSupport drops pairs with too few co-raters from the top-k lists entirely
  const m = csr([[1, 2, 3], [1, 2, undefined], [1, undefined, undefined]]);
  const out = allocateSparseSimilarityTopK({ matrix: m, metric: 'msd', k: 2, minSupport: 2 });
  sparseSimilarityTopKReference({ matrix: m, metric: 'msd', k: 2, minSupport: 2 }, out, 0, 3);
  assert.equal(Array.from(out.ids), [1, -1, 0, -1, -1, -1]);
});

test('tfidf and bm25 weighting follow the formulas (dot of weighted rows)', () => {
  const rows = randomRows(9, 7, 0.5, 4);
  const R = rows.length, C = rows[0].length;
  const df = Array.from({ length: C }, (_, c) => rows.filter((r) => r[c] !== undefined).length);
  const idf = df.map((d) => Math.log(R) - Math.log1p(d));
  const tfidf = rows.map((r) => r.map((x, c) => (x === undefined ? undefined : Math.sqrt(x) * idf[c])));
  const K1 = 1.2, B = 0.75;
  const sums = rows.map((r) => r.reduce<number>((s, x) => s + (x ?? 0), 0));
  const avg = sums.reduce((s, x) => s + x, 0) / R;
  const bm25 = rows.map((r, i) => r.map((x, c) => (x === undefined ? undefined : (x * (K1 + 1)) / (K1 * (1 - B + (B * sums[i]) / avg) + x) * idf[c])));
  for (const [weighting, vals, extra] of [['tfidf', tfidf, {}], ['bm25', bm25, { bm25K1: K1, bm25B: B }]] as const) {
    for (const metric of ['dot', 'cosine'] as const) {
      const want = bruteForce(vals, metric);
      const got = dense({ matrix: csr(rows), metric, k: 'all', weighting, ...extra });
      for (let i = 0; i < R; i++) for (let j = 0; j < R; j++) close(got[i][j], want[i][j], 1e-5, `${weighting}/${metric} [${i},${j}]`);
    }
  }
  // bm25 defaults K1=100, B=0.8
  const dflt = bm25Default(rows, idf, sums, avg);
  const got = dense({ matrix: csr(rows), metric: 'dot', k: 'all', weighting: 'bm25' });
  const want = bruteForce(dflt, 'dot');
  for (let i = 0; i < R; i++) for (let j = 0; j < R; j++) close(got[i][j], want[i][j], 1e-5, `bm25 default [${i},${j}]`);
});

function bm25Default(rows: Array<Array<number | undefined>>, idf: number[], sums: number[], avg: number) {
  return rows.map((r, i) => r.map((x, c) => (x === undefined ? undefined : (x * 101) / (100 * (0.2 + (0.8 * sums[i]) / avg) + x) * idf[c])));
}

test('block-by-block result equals the whole, with and without prepared data', () => {
  const rows = randomRows(40, 25, 0.3, 9);
  for (const metric of ['cosine', 'pearson', 'msd'] as const) {
    const base: SparseSimilarityTopKArgs = { matrix: csr(rows), metric, k: 5, weighting: metric === 'cosine' ? 'bm25' : 'none' };
    const whole = allocateSparseSimilarityTopK(base);
    sparseSimilarityTopKReference(base, whole, 0, 40);
    const prepared = withPreparedSimilarity(base);
    const blocks = allocateSparseSimilarityTopK(prepared);
    for (const [s, e] of [[0, 7], [7, 8], [8, 23], [23, 40]]) sparseSimilarityTopKReference(prepared, blocks, s, e);
    const fresh = allocateSparseSimilarityTopK(base);
    for (const [s, e] of [[30, 40], [0, 30]]) sparseSimilarityTopKReference({ ...base }, fresh, s, e);
    assert.equal(Array.from(blocks.ids), Array.from(whole.ids));
    assert.equal(Array.from(blocks.scores), Array.from(whole.scores));
    assert.equal(Array.from(fresh.ids), Array.from(whole.ids));
  }
});

test('ties are broken by lower id; self is excluded unless asked', () => {
  // rows 1..4 are identical to row 0 → all similarities 1
  const m = csr([[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3]]);
  const out = allocateSparseSimilarityTopK({ matrix: m, metric: 'cosine', k: 3 });
  sparseSimilarityTopKReference({ matrix: m, metric: 'cosine', k: 3 }, out, 0, 5);
  assert.equal(Array.from(out.ids.subarray(0, 3)), [1, 2, 3]);
  assert.equal(Array.from(out.ids.subarray(6, 9)), [0, 1, 3]);
  const withSelf = allocateSparseSimilarityTopK({ matrix: m, metric: 'cosine', k: 3, excludeSelf: false });
  sparseSimilarityTopKReference({ matrix: m, metric: 'cosine', k: 3, excludeSelf: false }, withSelf, 0, 5);
  assert.equal(Array.from(withSelf.ids.subarray(6, 9)), [0, 1, 2]);
  close(similarityMatrixDense({ matrix: m, metric: 'msd', k: 'all', excludeSelf: false }).data[0], 1);
});

test('kernel registered; k = all keeps every non-zero pair; unused slots are -1/-Infinity', () => {
  const def = getKernel('sparseSimilarityTopK');
  const m = csr([[1, undefined, undefined], [1, 1, undefined], [undefined, undefined, 2]]);
  const args: SparseSimilarityTopKArgs = { matrix: m, metric: 'dot', k: 'all' };
  def.validate(args);
  const out = def.allocate(args);
  assert.is(out.k, 3);
  def.reference(args, out, 0, 3);
  assert.equal(Array.from(out.ids), [1, -1, -1, 0, -1, -1, -1, -1, -1]);
  assert.equal(Array.from(out.scores.subarray(0, 2)), [1, -Infinity]);
});

test('bad input: unknown metric, k <= 0, empty matrix, missing baselines → clear errors', () => {
  const m = csr([[1, 2], [3, 4]]);
  assert.throws(() => validateSparseSimilarityTopK({ matrix: m, metric: 'euclid' as SimilarityMetric, k: 2 }), /unknown metric 'euclid'/);
  assert.throws(() => validateSparseSimilarityTopK({ matrix: m, metric: 'cosine', k: 0 }), /k must be a positive integer/);
  assert.throws(() => validateSparseSimilarityTopK({ matrix: m, metric: 'cosine', k: -3 }), /k must be a positive integer/);
  assert.throws(() => validateSparseSimilarityTopK({ matrix: m, metric: 'cosine', k: 2.5 }), /k must be a positive integer/);
  assert.throws(() => validateSparseSimilarityTopK({ matrix: csrFromTriplets(3, 3, [], [], []), metric: 'cosine', k: 2 }), /empty/);
  assert.throws(() => validateSparseSimilarityTopK({ matrix: csrFromTriplets(0, 0, [], [], []), metric: 'cosine', k: 2 }), /empty/);
  assert.throws(() => validateSparseSimilarityTopK({ matrix: m, metric: 'pearson-baseline', k: 2 }), /needs baselines/);
  assert.throws(() => validateSparseSimilarityTopK({ matrix: m, metric: 'cosine', k: 2, weighting: 'bm99' as 'bm25' }), /unknown weighting/);
  assert.throws(() => validateSparseSimilarityTopK({ matrix: m, metric: 'cosine', k: 2, shrinkage: -1 }), /shrinkage/);
  assert.throws(() => similarityMatrixDense({ matrix: m, metric: 'nope' as SimilarityMetric, k: 'all' }), /unknown metric/);
});


async function cli(...args: string[]): Promise<void> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerSimilarity(program, new CliEdge());
  for (const c of program.commands) c.exitOverride();
  const err = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try { await program.parseAsync(args, { from: 'user' }); } finally { process.stderr.write = err; }
}

test('cli similarity: JSONL and CSV with external ids, atomic write, bad arguments', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'affinity-sim-'));
  const input = path.join(dir, 'in.csv');
  // items x, y identical over users; z shares one user
  writeFileSync(input, 'user,item,rating\nalice,x,5\nalice,y,5\nbob,x,3\nbob,y,3\nbob,z,4\ncarol,w,2\n');
  const jsonl = path.join(dir, 'nn.jsonl');
  await cli('similarity', '--input', input, '--by', 'item', '--metric', 'cosine', '--k', '2', '--out', jsonl);
  const lines = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.map((l) => l.item), ['x', 'y', 'z', 'w']);
  // the one neighbour-list schema, precompute's similar items' too: {"item", "items", "scores"}
  assert.equal(Object.keys(lines[0]), ['item', 'items', 'scores']);
  assert.equal(lines[0].items, ['y', 'z']);
  close(lines[0].scores[0], 1);
  close(lines[0].scores[1], 3 / Math.sqrt(34)); // x=(5,3), z=(0,4): 12/(√34·4)
  assert.equal(lines[3].items, []);
  const csvOut = path.join(dir, 'nn.csv');
  await cli('similarity', '--input', input, '--by', 'user', '--metric', 'jaccard', '--k', '5', '--out', csvOut);
  const rows = readFileSync(csvOut, 'utf8').trim().split('\n');
  assert.is(rows[0], 'user,rank,similar_user,score');
  // alice {x,y}, bob {x,y,z}: 2/3 ; carol shares nothing
  assert.equal(rows.slice(1), ['alice,1,bob,0.6666667', 'bob,1,alice,0.6666667']);
  assert.equal(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
  for (const bad of [
    ['--metric', 'euclid'], ['--k', '0'], ['--by', 'movie'], ['--out', path.join(dir, 'nn.txt')], ['--weighting', 'idf'],
  ]) {
    const o = ['similarity', '--input', input, '--out', path.join(dir, 'bad.jsonl'), ...bad];
    let msg = '';
    try { await cli(...o); } catch (e) { msg = (e as Error).message; }
    assert.ok(msg.length > 0 && !msg.includes('\n'), `${bad.join(' ')} → one-line error, got '${msg}'`);
  }
  assert.not.ok(existsSync(path.join(dir, 'bad.jsonl')));
});

test.run();
