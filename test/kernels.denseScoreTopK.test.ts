import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { denseScoreTopKReference, allocateDenseScoreTopK, validateDenseScoreTopK, type DenseScoreTopKArgs } from '../src/kernels/denseScoreTopK.js';
import { TopKHeap } from '../src/kernels/topk.js';
import { csrFromTriplets, denseFrom } from '../src/data/matrix.js';
import { randomDense, mulberry32 } from './helpers/random.js';

/** Brute force: every score, full sort by (score desc, id asc). */
function bruteForce(a: DenseScoreTopKArgs) {
  const { queries: q, keys } = a;
  const k = Math.min(a.k, keys.rows);
  const rows: Array<Array<[number, number]>> = [];
  for (let r = 0; r < q.rows; r++) {
    const seen = new Set<number>();
    if (a.exclude) for (let p = a.exclude.indptr[r]; p < a.exclude.indptr[r + 1]; p++) seen.add(a.exclude.indices[p]);
    const all: Array<[number, number]> = [];
    for (let j = 0; j < keys.rows; j++) {
      if (seen.has(j) || (a.excludeSelf && j === r)) continue;
      let s = 0, nq = 0, nk = 0;
      for (let f = 0; f < q.cols; f++) {
        const x = q.data[r * q.cols + f], y = keys.data[j * q.cols + f];
        s += x * y; nq += x * x; nk += y * y;
      }
      if (a.metric === 'cosine') s = nq > 0 && nk > 0 ? s / (Math.sqrt(nq) * Math.sqrt(nk)) : 0;
      all.push([j, s]);
    }
    all.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
    rows.push(all.slice(0, k));
  }
  return { k, rows };
}

function check(a: DenseScoreTopKArgs) {
  const out = allocateDenseScoreTopK(a);
  denseScoreTopKReference(a, out, 0, a.queries.rows);
  const bf = bruteForce(a);
  assert.is(out.k, bf.k);
  for (let r = 0; r < a.queries.rows; r++) {
    for (let j = 0; j < out.k; j++) {
      const want = bf.rows[r][j];
      const id = out.ids[r * out.k + j], s = out.scores[r * out.k + j];
      if (!want) {
        assert.is(id, -1, `row ${r} slot ${j} should be empty`);
        assert.is(s, -Infinity);
      } else {
        assert.is(id, want[0], `row ${r} slot ${j}`);
        assert.ok(Math.abs(s - want[1]) <= 1e-5 * Math.max(1, Math.abs(want[1])), `score row ${r} slot ${j}: ${s} vs ${want[1]}`);
      }
    }
  }
}

test('matches brute force: dot and cosine, several shapes', () => {
  for (const [q, n, d, k, seed] of [[7, 30, 5, 4, 1], [20, 50, 16, 10, 2], [3, 5, 3, 8, 3], [1, 1, 1, 1, 4]] as const) {
    const queries = randomDense(q, d, seed), keys = randomDense(n, d, seed + 100);
    check({ queries, keys, k, metric: 'dot' });
    check({ queries, keys, k, metric: 'cosine' });
  }
});

test('ties are broken by the lower id', () => {
  // quantized entries make many equal scores
  const m = randomDense(40, 3, 9, 1);
  check({ queries: m, keys: m, k: 12, metric: 'dot' });
  const ones = denseFrom(6, 2, new Array(12).fill(1));
  const out = allocateDenseScoreTopK({ queries: ones, keys: ones, k: 3, metric: 'dot' });
  denseScoreTopKReference({ queries: ones, keys: ones, k: 3, metric: 'dot' }, out, 0, 6);
  assert.equal([...out.ids.subarray(0, 3)], [0, 1, 2]);
  assert.equal([...out.ids.subarray(15, 18)], [0, 1, 2]);
});

test('exclusion lists and excludeSelf are honoured; short rows are padded', () => {
  const m = randomDense(10, 4, 11);
  const exclude = csrFromTriplets(10, 10, [0, 0, 0, 3, 9], [1, 2, 3, 3, 0], [1, 1, 1, 1, 1]);
  check({ queries: m, keys: m, k: 5, metric: 'cosine', exclude, excludeSelf: true });
  // exclude all but two keys of row 0 → three padded slots
  const ex2 = csrFromTriplets(10, 10, [0, 0, 0, 0, 0, 0, 0, 0], [0, 1, 2, 3, 4, 5, 6, 7], new Array(8).fill(1));
  const a: DenseScoreTopKArgs = { queries: m, keys: m, k: 5, metric: 'dot', exclude: ex2 };
  const out = allocateDenseScoreTopK(a);
  denseScoreTopKReference(a, out, 0, 10);
  assert.equal([...out.ids.subarray(2, 5)], [-1, -1, -1]);
  assert.ok([...out.ids.subarray(0, 2)].every((id) => id === 8 || id === 9));
});

test('cosine of a zero row is 0, never NaN', () => {
  const m = denseFrom(3, 2, [0, 0, 1, 0, 0, 1]);
  const a: DenseScoreTopKArgs = { queries: m, keys: m, k: 3, metric: 'cosine' };
  const out = allocateDenseScoreTopK(a);
  denseScoreTopKReference(a, out, 0, 3);
  assert.ok([...out.scores].every((s) => Number.isFinite(s)));
  assert.equal([...out.scores.subarray(0, 3)], [0, 0, 0]);
});

test('a row range fills only its rows', () => {
  const m = randomDense(8, 3, 5);
  const a: DenseScoreTopKArgs = { queries: m, keys: m, k: 2, metric: 'dot' };
  const whole = allocateDenseScoreTopK(a), parts = allocateDenseScoreTopK(a);
  denseScoreTopKReference(a, whole, 0, 8);
  denseScoreTopKReference(a, parts, 0, 3);
  assert.equal([...parts.ids.subarray(6)], new Array(10).fill(-1));
  denseScoreTopKReference(a, parts, 3, 8);
  assert.equal([...parts.ids], [...whole.ids]);
});

test('validation names the problem', () => {
  const m = randomDense(4, 3, 1), n = randomDense(4, 2, 1);
  assert.throws(() => validateDenseScoreTopK({ queries: m, keys: n, k: 1, metric: 'dot' }), /columns/);
  assert.throws(() => validateDenseScoreTopK({ queries: m, keys: m, k: 0, metric: 'dot' }), /k must be/);
  assert.throws(() => validateDenseScoreTopK({ queries: m, keys: m, k: 1, metric: 'euclid' as never }), /unknown metric/);
  const bad = csrFromTriplets(4, 9, [0], [8], [1]);
  assert.throws(() => validateDenseScoreTopK({ queries: m, keys: m, k: 1, metric: 'dot', exclude: bad }), /out of range/);
  assert.throws(() => validateDenseScoreTopK({ queries: { rows: 4, cols: 3, data: new Float32Array(5) }, keys: m, k: 1, metric: 'dot' }), /length/);
});

test('TopKHeap keeps the k best with ties by lower id, ignores NaN', () => {
  const rnd = mulberry32(3);
  for (let trial = 0; trial < 20; trial++) {
    const k = 1 + Math.floor(rnd() * 6);
    const n = Math.floor(rnd() * 30);
    const items: Array<[number, number]> = [];
    const h = new TopKHeap(k);
    for (let i = 0; i < n; i++) {
      const s = rnd() < 0.1 ? NaN : Math.round(rnd() * 5);
      h.push(i, s);
      if (s === s) items.push([i, s]);
    }
    items.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const ids = new Int32Array(k), scores = new Float32Array(k);
    h.drainInto(ids, scores, 0);
    for (let j = 0; j < k; j++) assert.is(ids[j], items[j] ? items[j][0] : -1);
  }
});

test.run();
