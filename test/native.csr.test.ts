/**
 * The native CSR builders (src/data/csrBuild.ts, src/data/nativeCsr.ts → native/core/src/csr_build.cpp)
 * against the TypeScript references (csrFromTriplets, transpose in src/data/matrix.ts): the
 * same output bit for bit — indptr, indices, data (Object.is) and the arrays' lengths — on random
 * triplets (float32 and float64 values, with and without duplicates), edge cases (empty, no rows,
 * one row, all duplicates, reverse-sorted, rows and columns with no entries, one heavy row), on 1,
 * 2 and 3 threads, and on ML-100k (by user and by item); the same RangeError as the reference for
 * an index out of range; a RangeError for a malformed CSR given to transpose.
 *
 * Without a built addon it prints `SKIP native CSR: <reason>`; without ML-100k, the ML-100k case
 * prints its own SKIP.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { csrFromTriplets as csrFromTripletsReference, transpose as transposeReference, sharedInt32, sharedFloat32, type Csr } from '../src/data/matrix.js';
import { buildCsr, transposeCsr } from '../src/data/csrBuild.js';
import { nativeCsrFromTriplets, nativeCsrUnavailable, nativeTranspose } from '../src/data/nativeCsr.js';
import { toCsr } from '../src/data/interactions.js';
import { readInteractions } from '../src/data/readers.js';
import { Rng } from '../src/data/random.js';
import { skip, testOrSkip } from './helpers/skip.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = process.env.AFFINITY_DATA_DIR ?? path.join(root, '..', 'shared', 'data');
const ml100k = path.join(dataDir, 'ml-100k', 'u.data.gz');

function sameArray(x: ArrayLike<number>, y: ArrayLike<number>, label: string): void {
  assert.is(x.length, y.length, `${label}: length`);
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i])) assert.unreachable(`${label}[${i}]: native ${x[i]} vs reference ${y[i]}`);
  }
}

function sameCsr(a: Csr, b: Csr, label: string): void {
  assert.is(a.rows, b.rows, `${label}: rows`);
  assert.is(a.cols, b.cols, `${label}: cols`);
  assert.is(a.indptr.constructor, b.indptr.constructor, `${label}: indptr type`);
  sameArray(a.indptr, b.indptr, `${label} indptr`);
  sameArray(a.indices, b.indices, `${label} indices`);
  sameArray(a.data, b.data, `${label} data`);
}

interface Triplets { rows: number; cols: number; r: Int32Array; c: Int32Array; v: Float32Array | Float64Array }

function randomTriplets(seed: number, rows: number, cols: number, n: number, f64 = false): Triplets {
  const rng = new Rng(seed);
  const r = new Int32Array(n), c = new Int32Array(n);
  const v = f64 ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    r[i] = rng.int(rows);
    c[i] = rng.int(cols);
    v[i] = (rng.nextDouble() - 0.5) * 10.000000123; // float64 values that are not float32: sums round differently
  }
  return { rows, cols, r, c, v };
}

/** The native build on `threads` threads against the reference: the filled part of each output. */
function checkThreads(t: Triplets, threads: number, label: string): void {
  const want = csrFromTripletsReference(t.rows, t.cols, t.r, t.c, t.v);
  const n = t.r.length;
  const got = nativeCsrFromTriplets(t.rows, t.cols, t.r, t.c, t.v, () => ({ indptr: sharedInt32(t.rows + 1), indices: sharedInt32(n), data: sharedFloat32(n) }), threads);
  assert.ok(got, `${label}: the native build declined`);
  assert.is(got.nnz, want.indices.length, `${label} (${threads} threads): nnz`);
  sameArray(got.out.indptr, want.indptr, `${label} (${threads} threads) indptr`);
  sameArray(got.out.indices.subarray(0, got.nnz), want.indices, `${label} (${threads} threads) indices`);
  sameArray(got.out.data.subarray(0, got.nnz), want.data, `${label} (${threads} threads) data`);
  const back = nativeTranspose(want.rows, want.cols, want.indptr, want.indices, want.data,
    () => ({ outIndptr: sharedInt32(want.cols + 1), outIndices: sharedInt32(want.indices.length), outData: sharedFloat32(want.indices.length) }), threads);
  assert.ok(back, `${label}: the native transpose declined`);
  const wantT = transposeReference(want);
  sameArray(back.outIndptr, wantT.indptr, `${label} (${threads} threads) transpose indptr`);
  sameArray(back.outIndices, wantT.indices, `${label} (${threads} threads) transpose indices`);
  sameArray(back.outData, wantT.data, `${label} (${threads} threads) transpose data`);
}

/** csrFromTriplets and transpose (the public entry points, native where they can be) against the references, and on 1–3 threads. */
function check(t: Triplets, label: string): void {
  const want = csrFromTripletsReference(t.rows, t.cols, t.r, t.c, t.v);
  sameCsr(buildCsr(t.rows, t.cols, t.r, t.c, t.v), want, label);
  sameCsr(transposeCsr(want), transposeReference(want), `${label} transposed`);
  for (const threads of [1, 2, 3]) checkThreads(t, threads, label);
}

function withOrder(t: Triplets, order: number[]): Triplets {
  const pick = <A extends Int32Array | Float32Array | Float64Array>(a: A): A => {
    const out = new (a.constructor as new (n: number) => A)(order.length);
    order.forEach((p, k) => { out[k] = a[p]; });
    return out;
  };
  return { ...t, r: pick(t.r), c: pick(t.c), v: pick(t.v) };
}

const unavailable = nativeCsrUnavailable();
if (unavailable) {
  skip(test, 'native CSR', unavailable);
} else {
  test('random triplets, float32 and float64 values, few and many duplicates', () => {
    check(randomTriplets(1, 50, 40, 3000), 'dense-ish (many duplicates), float32');
    check(randomTriplets(2, 50, 40, 3000, true), 'dense-ish (many duplicates), float64');
    check(randomTriplets(3, 3000, 2000, 20000), 'sparse, float32');
    check(randomTriplets(4, 3000, 2000, 20000, true), 'sparse, float64');
    check(randomTriplets(5, 20000, 700, 200_000), 'several row blocks, more than one thread by default');
    check(randomTriplets(6, 800, 500_000, 30_000), 'far more columns than entries');
  });

  test('edge cases: empty, no rows, one row, one column, all duplicates, reverse-sorted, rows with no entries, one heavy row, 2^16-row blocks', () => {
    const empty = { rows: 4, cols: 3, r: new Int32Array(0), c: new Int32Array(0), v: new Float32Array(0) };
    check(empty, 'empty');
    check({ ...empty, rows: 0, cols: 0 }, '0 × 0');
    check(randomTriplets(7, 1, 30, 500), 'one row');
    check(randomTriplets(8, 30, 1, 500), 'one column');
    const same = randomTriplets(9, 6, 6, 1000);
    same.r.fill(4); same.c.fill(2);
    check(same, 'all duplicates (float32)');
    check({ ...same, v: Float64Array.from(same.v, (x) => x * 1.0000001) }, 'all duplicates (float64)');
    const t = randomTriplets(10, 200, 100, 5000);
    const order = Array.from({ length: 5000 }, (_, i) => i).sort((a, b) => t.r[b] - t.r[a] || t.c[b] - t.c[a]);
    check(withOrder(t, order), 'reverse-sorted');
    check(withOrder(t, [...order].reverse()), 'sorted');
    check(randomTriplets(11, 10_000, 9000, 4000), 'most rows and columns empty');
    const heavy = randomTriplets(12, 30_000, 300, 150_000);
    for (let i = 0; i < heavy.r.length; i += 2) heavy.r[i] = 17;
    check(heavy, 'one heavy row among many blocks');
    // blocks at their cap of 2^16 rows, with entries (and duplicates) on their first and last rows
    const tall = randomTriplets(14, 300_000, 40, 3000);
    const edges = [0, 65_535, 65_536, 131_071, 131_072, 299_999];
    for (let i = 0; i < 600; i++) { tall.r[i * 5] = edges[i % 6]; tall.c[i * 5] = i % 3; }
    check(tall, 'far more rows than entries (blocks of 2^16 rows), float32');
    check({ ...tall, v: Float64Array.from(tall.v, (x) => x * 1.0000001) }, 'far more rows than entries (blocks of 2^16 rows), float64');
  });

  test('an index out of range: the reference\'s RangeError, for the first such triplet', () => {
    const t = randomTriplets(13, 10, 10, 100_000);
    const message = (f: () => unknown): string => {
      try { f(); } catch (e) { assert.instance(e, RangeError); return (e as Error).message; }
      return assert.unreachable('no error') as never;
    };
    const both = (label: string): void => {
      const want = message(() => csrFromTripletsReference(t.rows, t.cols, t.r, t.c, t.v));
      assert.is(message(() => buildCsr(t.rows, t.cols, t.r, t.c, t.v)), want, label);
      for (const threads of [1, 2, 3]) {
        const got = message(() => nativeCsrFromTriplets(t.rows, t.cols, t.r, t.c, t.v, () => ({ indptr: sharedInt32(11), indices: sharedInt32(t.r.length), data: sharedFloat32(t.r.length) }), threads));
        assert.is(got, want, `${label}, ${threads} threads`);
      }
    };
    t.c[90_000] = 10;
    both('a column = cols');
    t.r[60_000] = -1;
    both('an earlier negative row');
    t.c[60_000] = 99;
    both('row and column both bad: the row is named');
  });

  test('arrays of other types go to the reference; transpose of a malformed CSR is a RangeError', () => {
    const t = randomTriplets(14, 20, 20, 300);
    const plain = buildCsr(t.rows, t.cols, Array.from(t.r), Array.from(t.c), Array.from(t.v));
    sameCsr(plain, csrFromTripletsReference(t.rows, t.cols, Array.from(t.r), Array.from(t.c), Array.from(t.v)), 'plain arrays');
    const m = buildCsr(t.rows, t.cols, t.r, t.c, t.v);
    const decreasing = { ...m, indptr: Int32Array.from(m.indptr) };
    decreasing.indptr[5] = decreasing.indptr[6] + 1;
    assert.throws(() => transposeCsr(decreasing), (e: Error) => e instanceof RangeError && /indptr decreases at row 5/.test(e.message));
    const badColumn = { ...m, indices: Int32Array.from(m.indices) };
    badColumn.indices[7] = 20;
    assert.throws(() => transposeCsr(badColumn), (e: Error) => e instanceof RangeError && /column index 20 at position 7 out of range \[0, 20\)/.test(e.message));
  });
}

const onMl100k = testOrSkip(test, unavailable ?? (existsSync(ml100k) ? null : `${ml100k} not found (set AFFINITY_DATA_DIR)`));
onMl100k('ML-100k: toCsr by user and by item, and their transposes, equal the reference', async () => {
  const x = await readInteractions(ml100k, { progress: false });
  for (const by of ['user', 'item'] as const) {
    const m = toCsr(x, by);
    const want = by === 'user'
      ? csrFromTripletsReference(x.users.size, x.items.size, x.user, x.item, x.rating)
      : csrFromTripletsReference(x.items.size, x.users.size, x.item, x.user, x.rating);
    sameCsr(m, want, `ML-100k by ${by}`);
    sameCsr(transposeCsr(m), transposeReference(want), `ML-100k by ${by}, transposed`);
    for (const threads of [1, 2]) checkThreads({ rows: want.rows, cols: want.cols, r: by === 'user' ? x.user : x.item, c: by === 'user' ? x.item : x.user, v: x.rating }, threads, `ML-100k by ${by}`);
  }
});

test.run();
