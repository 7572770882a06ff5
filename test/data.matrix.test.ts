/** csrFromTriplets (counting sort) against a plain per-row map, on random triplets with many duplicates. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { csrFromTriplets, transpose } from '../src/data/matrix.js';
import { Rng } from '../src/data/random.js';

/** The oracle: per row, a map column → float32 sum in input order; columns sorted. */
function naive(rows: number, r: number[], c: number[], v: number[]): { indptr: number[]; indices: number[]; data: number[] } {
  const perRow = Array.from({ length: rows }, () => new Map<number, number>());
  for (let i = 0; i < r.length; i++) {
    const m = perRow[r[i]];
    m.set(c[i], m.has(c[i]) ? Math.fround(m.get(c[i])! + v[i]) : Math.fround(v[i]));
  }
  const indptr = [0], indices: number[] = [], data: number[] = [];
  for (const m of perRow) {
    for (const col of [...m.keys()].sort((a, b) => a - b)) { indices.push(col); data.push(m.get(col)!); }
    indptr.push(indices.length);
  }
  return { indptr, indices, data };
}

test('random triplets (duplicates, empty rows and columns) build the same Csr as the oracle', () => {
  const rng = new Rng(5);
  for (const [rows, cols, n] of [[1, 1, 0], [1, 1, 5], [7, 3, 40], [50, 80, 2000], [300, 20, 5000], [20, 300, 5000]]) {
    const r: number[] = [], c: number[] = [], v: number[] = [];
    for (let i = 0; i < n; i++) { r.push(rng.int(rows)); c.push(rng.int(cols)); v.push(rng.nextDouble() * 10 - 3); }
    const got = csrFromTriplets(rows, cols, r, c, v);
    const want = naive(rows, r, c, v);
    assert.equal([...got.indptr], want.indptr, `${rows}×${cols} n=${n} indptr`);
    assert.equal([...got.indices], want.indices, `${rows}×${cols} n=${n} indices`);
    assert.equal([...got.data], want.data, `${rows}×${cols} n=${n} data`);
    // the transpose of the transpose is the matrix
    const tt = transpose(transpose(got));
    assert.equal([...tt.indices], [...got.indices]);
    assert.equal([...tt.data], [...got.data]);
  }
});

test('out-of-range and non-integer indices are rejected with the value', () => {
  assert.throws(() => csrFromTriplets(2, 2, [0, 2], [0, 1], [1, 1]), /row index 2 out of range \[0, 2\)/);
  assert.throws(() => csrFromTriplets(2, 2, [0, 1], [0, 1.5], [1, 1]), /column index 1.5 out of range \[0, 2\)/);
  assert.throws(() => csrFromTriplets(2, 2, [0], [0, 1], [1, 1]), /differ in length/);
});

test.run();
