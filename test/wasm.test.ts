/**
 * Conformance of the `wasm` backend's denseScoreTopK with the reference (src/kernels/denseScoreTopK.ts).
 *
 * Tolerance: the kernel accumulates in f32, the reference in f64, so
 *   scores must agree within 1e-4 relative: |wasm − ref| ≤ 1e-4 · max(1, |ref|);
 *   ids must agree slot by slot, except where the reference itself has a near-tie: a different id is
 *   accepted only if it is a legal candidate (not excluded, not self, not already in the row) whose exact
 *   (f64) score is within the same tolerance of the reference's score for that slot.
 * Empty slots (id -1, score -Infinity) must match exactly.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { allocateDenseScoreTopK, denseScoreTopKReference, validateDenseScoreTopK, type DenseScoreTopKArgs } from '../src/kernels/denseScoreTopK.js';
import { csrFromTriplets, denseFrom, type Csr, type Dense, type TopK } from '../src/data/matrix.js';
import { loadAffinityWasm, wasmBackend } from '../src/backends/wasm/index.js';
import { randomDense, mulberry32 } from './helpers/random.js';
import { skip } from './helpers/skip.js';

const TOL = 1e-4;
const close = (a: number, b: number) => Math.abs(a - b) <= TOL * Math.max(1, Math.abs(b));

/** Exact score as the reference computes it (f64). */
function exactScore(a: DenseScoreTopKArgs, r: number, j: number): number {
  const d = a.queries.cols;
  let s = 0, nq = 0, nk = 0;
  for (let f = 0; f < d; f++) {
    const x = a.queries.data[r * d + f], y = a.keys.data[j * d + f];
    s += x * y; nq += x * x; nk += y * y;
  }
  if (a.metric === 'cosine') { const den = Math.sqrt(nq) * Math.sqrt(nk); s = den > 0 ? s / den : 0; }
  return s;
}

function excluded(a: DenseScoreTopKArgs, r: number, j: number): boolean {
  if (a.excludeSelf && j === r) return true;
  if (!a.exclude) return false;
  for (let p = a.exclude.indptr[r]; p < a.exclude.indptr[r + 1]; p++) if (a.exclude.indices[p] === j) return true;
  return false;
}

function runWasm(a: DenseScoreTopKArgs, cuts: number[] = []): TopK {
  const out = allocateDenseScoreTopK(a);
  const bounds = [0, ...cuts, a.queries.rows];
  for (let i = 0; i + 1 < bounds.length; i++) wasmBackend.kernels.denseScoreTopK!(a, out, bounds[i], bounds[i + 1]);
  return out;
}

function conform(a: DenseScoreTopKArgs, label: string, cuts: number[] = []): TopK {
  validateDenseScoreTopK(a);
  const ref = allocateDenseScoreTopK(a);
  denseScoreTopKReference(a, ref, 0, a.queries.rows);
  const got = runWasm(a, cuts);
  assert.is(got.k, ref.k, `${label}: k`);
  const k = ref.k;
  for (let r = 0; r < a.queries.rows; r++) {
    const seen = new Set<number>();
    for (let s = 0; s < k; s++) {
      const o = r * k + s;
      const rid = ref.ids[o], rs = ref.scores[o], id = got.ids[o], sc = got.scores[o];
      const where = `${label}: row ${r} slot ${s}`;
      if (rid === -1) {
        assert.is(id, -1, `${where}: should be empty, got id ${id}`);
        assert.is(sc, -Infinity, `${where}: empty slot score`);
        continue;
      }
      assert.ok(id >= 0 && id < a.keys.rows, `${where}: id ${id} out of range (reference ${rid})`);
      assert.ok(close(sc, rs), `${where}: score ${sc} vs reference ${rs}`);
      assert.not.ok(seen.has(id), `${where}: id ${id} repeated`);
      seen.add(id);
      if (id !== rid) {
        assert.not.ok(excluded(a, r, id), `${where}: id ${id} is excluded`);
        assert.ok(close(exactScore(a, r, id), rs), `${where}: id ${id} (exact score ${exactScore(a, r, id)}) instead of ${rid} (${rs}) is not a near-tie`);
      }
    }
  }
  return got;
}

/** Random exclusion lists: some rows empty, the rest up to `maxPerRow` distinct keys. */
function randomExclude(rows: number, keys: number, seed: number, maxPerRow: number): Csr {
  const rnd = mulberry32(seed);
  const r: number[] = [], c: number[] = [], v: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (rnd() < 0.3) continue; // empty row
    const n = Math.floor(rnd() * (maxPerRow + 1));
    const picked = new Set<number>();
    for (let t = 0; t < n; t++) picked.add(Math.floor(rnd() * keys));
    for (const j of picked) { r.push(i); c.push(j); v.push(1); }
  }
  return csrFromTriplets(rows, keys, r, c, v);
}

function zeroRows(m: Dense, rows: number[]): Dense {
  for (const r of rows) m.data.fill(0, r * m.cols, (r + 1) * m.cols);
  return m;
}

const status = loadAffinityWasm();

if (status instanceof Error) {
  skip(test, 'wasm', status.message);
  test('wasm backend is unavailable and says why', () => {
    const p = wasmBackend.probe() as { available: boolean; reason: string };
    assert.is(p.available, false);
    assert.ok(p.reason.trim().length > 0);
  });
} else {
  test('probe reports the backend available', () => {
    const p = wasmBackend.probe() as { available: boolean; reason: string };
    assert.is(p.available, true, p.reason);
    assert.is(wasmBackend.name, 'wasm');
    assert.is(wasmBackend.threading, 'pool');
  });

  test('dot and cosine match the reference over several shapes (d not a multiple of 4/16, K < k, k = K)', () => {
    const shapes: Array<[q: number, n: number, d: number, k: number]> = [
      [37, 53, 7, 5], [64, 200, 64, 20], [13, 5, 3, 8], [50, 301, 17, 10], [9, 1000, 130, 50],
      [1, 1, 1, 1], [5, 9, 33, 9], [6, 40, 1, 3], [130, 260, 16, 7], [3, 17, 0, 4],
    ];
    let seed = 1;
    for (const [q, n, d, k] of shapes) {
      const queries = randomDense(q, d, seed++), keys = randomDense(n, d, seed++);
      for (const metric of ['dot', 'cosine'] as const) conform({ queries, keys, k, metric }, `${q}x${n}x${d} k=${k} ${metric}`);
    }
  });

  test('row ranges write only their rows and stitch to the whole', () => {
    const queries = randomDense(61, 19, 5), keys = randomDense(90, 19, 6);
    const a: DenseScoreTopKArgs = { queries, keys, k: 6, metric: 'dot' };
    const whole = conform(a, 'whole');
    const parts = conform(a, 'parts', [1, 2, 7, 30, 33]);
    assert.equal([...parts.ids], [...whole.ids]);
    const partial = allocateDenseScoreTopK(a);
    wasmBackend.kernels.denseScoreTopK!(a, partial, 10, 20);
    assert.ok(partial.ids.subarray(0, 60).every((x) => x === -1), 'rows before the range untouched');
    assert.ok(partial.ids.subarray(120).every((x) => x === -1), 'rows after the range untouched');
    assert.equal([...partial.ids.subarray(60, 120)], [...whole.ids.subarray(60, 120)]);
  });

  test('all-equal scores: ties go to the lower id', () => {
    const ones = denseFrom(23, 5, new Array(23 * 5).fill(1));
    for (const metric of ['dot', 'cosine'] as const) {
      const a: DenseScoreTopKArgs = { queries: ones, keys: ones, k: 6, metric };
      const got = conform(a, `ones ${metric}`);
      for (let r = 0; r < 23; r++) assert.equal([...got.ids.subarray(r * 6, r * 6 + 6)], [0, 1, 2, 3, 4, 5], `row ${r}`);
      const self = conform({ ...a, excludeSelf: true }, `ones ${metric} excludeSelf`);
      assert.equal([...self.ids.subarray(0, 6)], [1, 2, 3, 4, 5, 6]);
      assert.equal([...self.ids.subarray(3 * 6, 4 * 6)], [0, 1, 2, 4, 5, 6]);
    }
    // quantized entries: many exact ties among distinct scores
    const m = randomDense(70, 3, 9, 1);
    conform({ queries: m, keys: m, k: 12, metric: 'dot' }, 'quantized dot');
    conform({ queries: m, keys: m, k: 12, metric: 'dot', excludeSelf: true }, 'quantized dot excludeSelf');
  });

  test('exclusion lists (with empty rows) and excludeSelf', () => {
    const m = randomDense(80, 12, 21);
    const exclude = randomExclude(80, 80, 22, 30);
    assert.ok(exclude.indptr.some((p, i) => i > 0 && p === exclude.indptr[i - 1]), 'some rows are empty');
    for (const metric of ['dot', 'cosine'] as const) {
      conform({ queries: m, keys: m, k: 10, metric, exclude }, `exclude ${metric}`);
      conform({ queries: m, keys: m, k: 10, metric, exclude, excludeSelf: true }, `exclude+self ${metric}`, [3, 41]);
      conform({ queries: m, keys: m, k: 10, metric, excludeSelf: true }, `self ${metric}`);
    }
    // rows excluding almost every key are padded; a query set different from the keys
    const q = randomDense(7, 12, 23), keys = randomDense(12, 12, 24);
    const all = csrFromTriplets(7, 12, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11], new Array(11).fill(1));
    const got = conform({ queries: q, keys, k: 5, metric: 'dot', exclude: all, excludeSelf: true }, 'mostly excluded');
    assert.equal([...got.ids.subarray(2, 5)], [-1, -1, -1]);
    assert.ok([...got.ids.subarray(0, 2)].sort().join() === '10,11');
  });

  test('exclusion rows need not be sorted', () => {
    const m = randomDense(20, 8, 31);
    const exclude: Csr = {
      rows: 20, cols: 20,
      indptr: Int32Array.from([0, 4, 4, 7, ...new Array(17).fill(7)]),
      indices: Int32Array.from([15, 3, 9, 0, 19, 2, 11]),
      data: new Float32Array(7).fill(1),
    };
    const got = conform({ queries: m, keys: m, k: 19, metric: 'dot', exclude }, 'unsorted exclusions');
    const row0 = [...got.ids.subarray(0, 19)];
    for (const j of [15, 3, 9, 0]) assert.not.ok(row0.includes(j), `row 0 keeps excluded ${j}`);
  });

  test('cosine with zero rows scores 0, never NaN', () => {
    const q = zeroRows(randomDense(30, 10, 41), [0, 7, 29]);
    const keys = zeroRows(randomDense(45, 10, 42), [3, 4, 44]);
    const got = conform({ queries: q, keys, k: 8, metric: 'cosine' }, 'cosine zero rows');
    assert.ok([...got.scores].every((s) => Number.isFinite(s)));
    assert.equal([...got.ids.subarray(0, 8)], [0, 1, 2, 3, 4, 5, 6, 7], 'a zero query ties every key at 0');
    assert.ok([...got.scores.subarray(0, 8)].every((s) => s === 0));
    const m = denseFrom(3, 2, [0, 0, 1, 0, 0, 1]);
    const small = conform({ queries: m, keys: m, k: 3, metric: 'cosine' }, 'cosine 3x2');
    assert.equal([...small.scores.subarray(0, 3)], [0, 0, 0]);
  });

  test('NaN scores are never kept', () => {
    const keys = randomDense(30, 6, 51);
    keys.data[5 * 6 + 2] = NaN;
    const q = randomDense(9, 6, 52);
    const got = conform({ queries: q, keys, k: 30, metric: 'dot' }, 'NaN key');
    for (let r = 0; r < 9; r++) {
      const row = [...got.ids.subarray(r * 30, r * 30 + 30)];
      assert.not.ok(row.includes(5), `row ${r} kept the NaN key`);
      assert.is(row[29], -1, `row ${r}: the NaN key leaves one slot empty`);
    }
  });

  test('edge cases: no query rows, no keys, k ≥ keys (with excludeSelf and exclusions), empty exclusion rows, one key', () => {
    const keys = randomDense(9, 6, 71);
    // no query rows: nothing to do, nothing written
    const none = conform({ queries: denseFrom(0, 6), keys, k: 3, metric: 'dot' }, 'no queries');
    assert.is(none.ids.length, 0);
    // no keys: k clamps to 0, every row empty
    const noKeys = conform({ queries: randomDense(4, 6, 72), keys: denseFrom(0, 6), k: 5, metric: 'cosine' }, 'no keys');
    assert.is(noKeys.k, 0);
    // k ≥ number of keys: every key listed, the excluded ones (and self) leave -1/-Infinity at the end
    for (const metric of ['dot', 'cosine'] as const) {
      const all = conform({ queries: keys, keys, k: 50, metric }, `k=50 > 9 keys ${metric}`);
      assert.is(all.k, 9);
      for (let r = 0; r < 9; r++) assert.equal([...all.ids.subarray(r * 9, r * 9 + 9)].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8], `row ${r} lists every key`);
      const self = conform({ queries: keys, keys, k: 9, metric, excludeSelf: true }, `k=9 excludeSelf ${metric}`);
      for (let r = 0; r < 9; r++) {
        assert.is(self.ids[r * 9 + 8], -1, `row ${r}: self leaves the last slot empty`);
        assert.is(self.scores[r * 9 + 8], -Infinity);
      }
      const empty = csrFromTriplets(9, 9, [], [], []);
      conform({ queries: keys, keys, k: 12, metric, exclude: empty, excludeSelf: true }, `empty exclusion rows ${metric}`, [4]);
    }
    const one = conform({ queries: randomDense(5, 6, 73), keys: randomDense(1, 6, 74), k: 3, metric: 'dot' }, 'one key');
    assert.equal([...one.ids], [0, 0, 0, 0, 0]);
  });

  test('larger random problem (several key blocks and row blocks)', () => {
    const queries = randomDense(300, 48, 61), keys = randomDense(2500, 48, 62);
    const exclude = randomExclude(300, 2500, 63, 200);
    conform({ queries, keys, k: 25, metric: 'dot', exclude }, 'large dot', [129]);
    conform({ queries, keys, k: 25, metric: 'cosine' }, 'large cosine');
  });
}

test.run();
