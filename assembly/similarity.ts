// sparseSimilarityTopK, the same contract as src/kernels/sparseSimilarityTopK.ts (the reference):
// the JS side prepares X' (weighting, centring), its transpose and the row norms with the reference's own
// prepareSparseSimilarity, and lays them out in linear memory; this module does the SMMP accumulation,
// the scoring of every metric and the bounded top-k per row.
//
// Semantics are the reference's to the bit: values are f64, the sums run in the same order (row a's stored
// columns in order, each transposed row in order), and the score formulas are the same f64 expressions, so
// every score equals the reference's before both round it to f32. The heap orders (score desc, id asc) on the
// f64 score as the reference's TopKHeap does; NaN (a pair filtered by minSupport/minSimilarity) and 0 are
// never kept.
//
// Scratch: one record per row b of the matrix (array of structs, so one update touches one cache line):
//   slot 0 n (co-raters, f64), slot 1 Σxy (Σ(x−y)² for msd), slots 2–3 Σx², Σy², slots 4–5 Σx, Σy;
// the record has 1 (jaccard), 2 (dot, cosine, msd), 4 (cosine-common, adjusted-cosine, pearson-baseline)
// or 6 (pearson) slots. A touched list records the rows b with n > 0; only those are scored and cleared.

// metric codes (the JS side maps names to these)
const M_DOT: i32 = 0;
const M_COSINE: i32 = 1;
const M_COSINE_COMMON: i32 = 2;
const M_ADJUSTED_COSINE: i32 = 3;
const M_PEARSON: i32 = 4;
const M_PEARSON_BASELINE: i32 = 5;
const M_MSD: i32 = 6;
const M_JACCARD: i32 = 7;

// accumulator kinds
const A_DOT: i32 = 0;
const A_COMMON: i32 = 1;
const A_PEARSON: i32 = 2;
const A_MSD: i32 = 3;
const A_COUNT: i32 = 4;

let sMetric: i32 = 0;
let sAcc: i32 = 0;
let sStride: i32 = 2;        // f64 slots per scratch record
let sTIndptr: usize = 0;     // i32[cols+1]
let sTIndices: usize = 0;    // i32[nnz]
let sTValues: usize = 0;     // f64[nnz]
let sRowNorm: usize = 0;     // f64[rows]
let sRowCount: usize = 0;    // f64[rows] stored entries per row (jaccard)
let sColFlag: usize = 0;     // u8[cols]: 1 where every value of the transposed row is the same (binary data, tfidf)
let sColConst: usize = 0;    // f64[cols]: that value
let sQIndptr: usize = 0;     // i32[n+1] the task's rows, rebased to its slice
let sQIndices: usize = 0;    // i32 the task's stored columns
let sQValues: usize = 0;     // f64 the task's X' values
let sRowBase: i32 = 0;       // global id of local row 0
let sScratch: usize = 0;     // f64[rows × stride], zero between rows
let sTouched: usize = 0;     // i32[rows]
let sKK: i32 = 0;
let sHeapS: usize = 0;       // f64[kk]
let sHeapI: usize = 0;       // i32[kk]
let sOutI: usize = 0;        // i32[n × kk]
let sOutS: usize = 0;        // f32[n × kk]
let sShrink: f64 = 0;
let sMinSupport: f64 = 1;
let sMinSim: f64 = -Infinity;
let sExcludeSelf: bool = true;

/** Accumulator kind of a metric, and the scratch record size in f64 slots. */
export function simAccKind(metric: i32): i32 {
  if (metric == M_DOT || metric == M_COSINE) return A_DOT;
  if (metric == M_COSINE_COMMON || metric == M_ADJUSTED_COSINE || metric == M_PEARSON_BASELINE) return A_COMMON;
  if (metric == M_PEARSON) return A_PEARSON;
  if (metric == M_MSD) return A_MSD;
  return A_COUNT;
}

export function simStride(metric: i32): i32 {
  const a = simAccKind(metric);
  if (a == A_COUNT) return 1;
  if (a == A_COMMON) return 4;
  if (a == A_PEARSON) return 6;
  return 2;
}

/** The whole matrix's side: transpose of X', norms and counts (these may stay cached across calls). */
export function simSetMatrix(tIndptr: usize, tIndices: usize, tValues: usize, rowNorm: usize, rowCount: usize, colFlag: usize, colConst: usize): void {
  sTIndptr = tIndptr; sTIndices = tIndices; sTValues = tValues; sRowNorm = rowNorm; sRowCount = rowCount;
  sColFlag = colFlag; sColConst = colConst;
}

/** The task's side: its rows of X', scratch, heap and output, and the options. */
export function simSetTask(
  metric: i32, qIndptr: usize, qIndices: usize, qValues: usize, rowBase: i32, scratch: usize, touched: usize,
  kk: i32, heapS: usize, heapI: usize, outI: usize, outS: usize,
  shrink: f64, minSupport: f64, minSim: f64, excludeSelf: bool,
): void {
  sMetric = metric; sAcc = simAccKind(metric); sStride = simStride(metric);
  sQIndptr = qIndptr; sQIndices = qIndices; sQValues = qValues; sRowBase = rowBase;
  sScratch = scratch; sTouched = touched; sKK = kk; sHeapS = heapS; sHeapI = heapI; sOutI = outI; sOutS = outS;
  sShrink = shrink; sMinSupport = minSupport; sMinSim = minSim; sExcludeSelf = excludeSelf;
}

// ---- accumulation: one loop per accumulator kind (the switch stays out of the inner loop) ----
// Touched-list update without a branch: write b at the end of the list, advance only if b was new.
// A transposed row whose values are all equal (flagged by the JS side) is walked without reading its values:
// the products are the same f64 values the general loop would compute, so the sums are unchanged, and the
// stream read per update shrinks from 12 to 4 bytes (tValues need not even be in memory when every column is
// constant, e.g. binary implicit data).

function accDot(q0: i32, q1: i32): i32 {
  const tp = sTIndptr, ti = sTIndices, tv = sTValues, sc = sScratch, touched = sTouched;
  let count = 0;
  for (let q = q0; q < q1; q++) {
    const c = load<i32>(sQIndices + (<usize>q << 2));
    const x = load<f64>(sQValues + (<usize>q << 3));
    const t1 = load<i32>(tp + (<usize>(c + 1) << 2));
    if (load<u8>(sColFlag + <usize>c)) {
      const xy = x * load<f64>(sColConst + (<usize>c << 3));
      for (let t = load<i32>(tp + (<usize>c << 2)); t < t1; t++) {
        const b = load<i32>(ti + (<usize>t << 2));
        const rec = sc + (<usize>b << 4);
        const n = load<f64>(rec);
        store<i32>(touched + (<usize>count << 2), b);
        count += <i32>(n == 0);
        store<f64>(rec, n + 1);
        store<f64>(rec, load<f64>(rec, 8) + xy, 8);
      }
      continue;
    }
    for (let t = load<i32>(tp + (<usize>c << 2)); t < t1; t++) {
      const b = load<i32>(ti + (<usize>t << 2));
      const y = load<f64>(tv + (<usize>t << 3));
      const rec = sc + (<usize>b << 4);
      const n = load<f64>(rec);
      store<i32>(touched + (<usize>count << 2), b);
      count += <i32>(n == 0);
      store<f64>(rec, n + 1);
      store<f64>(rec, load<f64>(rec, 8) + x * y, 8);
    }
  }
  return count;
}

function accMsd(q0: i32, q1: i32): i32 {
  const tp = sTIndptr, ti = sTIndices, tv = sTValues, sc = sScratch, touched = sTouched;
  let count = 0;
  for (let q = q0; q < q1; q++) {
    const c = load<i32>(sQIndices + (<usize>q << 2));
    const x = load<f64>(sQValues + (<usize>q << 3));
    const t1 = load<i32>(tp + (<usize>(c + 1) << 2));
    if (load<u8>(sColFlag + <usize>c)) {
      const d = x - load<f64>(sColConst + (<usize>c << 3));
      const dd = d * d;
      for (let t = load<i32>(tp + (<usize>c << 2)); t < t1; t++) {
        const b = load<i32>(ti + (<usize>t << 2));
        const rec = sc + (<usize>b << 4);
        const n = load<f64>(rec);
        store<i32>(touched + (<usize>count << 2), b);
        count += <i32>(n == 0);
        store<f64>(rec, n + 1);
        store<f64>(rec, load<f64>(rec, 8) + dd, 8);
      }
      continue;
    }
    for (let t = load<i32>(tp + (<usize>c << 2)); t < t1; t++) {
      const b = load<i32>(ti + (<usize>t << 2));
      const d = x - load<f64>(tv + (<usize>t << 3));
      const rec = sc + (<usize>b << 4);
      const n = load<f64>(rec);
      store<i32>(touched + (<usize>count << 2), b);
      count += <i32>(n == 0);
      store<f64>(rec, n + 1);
      store<f64>(rec, load<f64>(rec, 8) + d * d, 8);
    }
  }
  return count;
}

function accCommon(q0: i32, q1: i32): i32 {
  const tp = sTIndptr, ti = sTIndices, tv = sTValues, sc = sScratch, touched = sTouched;
  let count = 0;
  for (let q = q0; q < q1; q++) {
    const c = load<i32>(sQIndices + (<usize>q << 2));
    const x = load<f64>(sQValues + (<usize>q << 3));
    const xx = x * x;
    const t1 = load<i32>(tp + (<usize>(c + 1) << 2));
    if (load<u8>(sColFlag + <usize>c)) {
      const y = load<f64>(sColConst + (<usize>c << 3));
      const xy = x * y, yy = y * y;
      for (let t = load<i32>(tp + (<usize>c << 2)); t < t1; t++) {
        const b = load<i32>(ti + (<usize>t << 2));
        const rec = sc + (<usize>b << 5);
        const n = load<f64>(rec);
        store<i32>(touched + (<usize>count << 2), b);
        count += <i32>(n == 0);
        store<f64>(rec, n + 1);
        store<f64>(rec, load<f64>(rec, 8) + xy, 8);
        store<f64>(rec, load<f64>(rec, 16) + xx, 16);
        store<f64>(rec, load<f64>(rec, 24) + yy, 24);
      }
      continue;
    }
    for (let t = load<i32>(tp + (<usize>c << 2)); t < t1; t++) {
      const b = load<i32>(ti + (<usize>t << 2));
      const y = load<f64>(tv + (<usize>t << 3));
      const rec = sc + (<usize>b << 5);
      const n = load<f64>(rec);
      store<i32>(touched + (<usize>count << 2), b);
      count += <i32>(n == 0);
      store<f64>(rec, n + 1);
      store<f64>(rec, load<f64>(rec, 8) + x * y, 8);
      store<f64>(rec, load<f64>(rec, 16) + xx, 16);
      store<f64>(rec, load<f64>(rec, 24) + y * y, 24);
    }
  }
  return count;
}

function accPearson(q0: i32, q1: i32): i32 {
  const tp = sTIndptr, ti = sTIndices, tv = sTValues, sc = sScratch, touched = sTouched;
  let count = 0;
  for (let q = q0; q < q1; q++) {
    const c = load<i32>(sQIndices + (<usize>q << 2));
    const x = load<f64>(sQValues + (<usize>q << 3));
    const xx = x * x;
    const t1 = load<i32>(tp + (<usize>(c + 1) << 2));
    if (load<u8>(sColFlag + <usize>c)) {
      const y = load<f64>(sColConst + (<usize>c << 3));
      const xy = x * y, yy = y * y;
      for (let t = load<i32>(tp + (<usize>c << 2)); t < t1; t++) {
        const b = load<i32>(ti + (<usize>t << 2));
        const rec = sc + <usize>b * 48;
        const n = load<f64>(rec);
        store<i32>(touched + (<usize>count << 2), b);
        count += <i32>(n == 0);
        store<f64>(rec, n + 1);
        store<f64>(rec, load<f64>(rec, 8) + xy, 8);
        store<f64>(rec, load<f64>(rec, 16) + xx, 16);
        store<f64>(rec, load<f64>(rec, 24) + yy, 24);
        store<f64>(rec, load<f64>(rec, 32) + x, 32);
        store<f64>(rec, load<f64>(rec, 40) + y, 40);
      }
      continue;
    }
    for (let t = load<i32>(tp + (<usize>c << 2)); t < t1; t++) {
      const b = load<i32>(ti + (<usize>t << 2));
      const y = load<f64>(tv + (<usize>t << 3));
      const rec = sc + <usize>b * 48;
      const n = load<f64>(rec);
      store<i32>(touched + (<usize>count << 2), b);
      count += <i32>(n == 0);
      store<f64>(rec, n + 1);
      store<f64>(rec, load<f64>(rec, 8) + x * y, 8);
      store<f64>(rec, load<f64>(rec, 16) + xx, 16);
      store<f64>(rec, load<f64>(rec, 24) + y * y, 24);
      store<f64>(rec, load<f64>(rec, 32) + x, 32);
      store<f64>(rec, load<f64>(rec, 40) + y, 40);
    }
  }
  return count;
}

function accCount(q0: i32, q1: i32): i32 {
  const tp = sTIndptr, ti = sTIndices, sc = sScratch, touched = sTouched;
  let count = 0;
  for (let q = q0; q < q1; q++) {
    const c = load<i32>(sQIndices + (<usize>q << 2));
    const t1 = load<i32>(tp + (<usize>(c + 1) << 2));
    for (let t = load<i32>(tp + (<usize>c << 2)); t < t1; t++) {
      const b = load<i32>(ti + (<usize>t << 2));
      const rec = sc + (<usize>b << 3);
      const n = load<f64>(rec);
      store<i32>(touched + (<usize>count << 2), b);
      count += <i32>(n == 0);
      store<f64>(rec, n + 1);
    }
  }
  return count;
}

// ---- bounded heap (one row at a time): min-heap on (score asc, id desc), the worst kept entry at the root ----

@inline function worse(sa: f64, ia: i32, sb: f64, ib: i32): bool {
  return sa < sb || (sa == sb && ia > ib);
}

function siftDown(hs: usize, hi: usize, start: i32, n: i32): void {
  let i = start;
  const s = load<f64>(hs + (<usize>i << 3));
  const id = load<i32>(hi + (<usize>i << 2));
  while (true) {
    const l = 2 * i + 1;
    if (l >= n) break;
    let m = l;
    let ms = load<f64>(hs + (<usize>l << 3));
    let mi = load<i32>(hi + (<usize>l << 2));
    const r = l + 1;
    if (r < n) {
      const rs = load<f64>(hs + (<usize>r << 3));
      const ri = load<i32>(hi + (<usize>r << 2));
      if (worse(rs, ri, ms, mi)) { m = r; ms = rs; mi = ri; }
    }
    if (!worse(ms, mi, s, id)) break;
    store<f64>(hs + (<usize>i << 3), ms);
    store<i32>(hi + (<usize>i << 2), mi);
    i = m;
  }
  store<f64>(hs + (<usize>i << 3), s);
  store<i32>(hi + (<usize>i << 2), id);
}

/** Push (id j, score s) into a heap of n entries (capacity kk); returns the new size. s is not NaN. */
@inline function heapPush(hs: usize, hi: usize, n: i32, kk: i32, j: i32, s: f64): i32 {
  if (n < kk) {
    let i = n;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ps = load<f64>(hs + (<usize>p << 3));
      const pi = load<i32>(hi + (<usize>p << 2));
      if (!worse(s, j, ps, pi)) break;
      store<f64>(hs + (<usize>i << 3), ps);
      store<i32>(hi + (<usize>i << 2), pi);
      i = p;
    }
    store<f64>(hs + (<usize>i << 3), s);
    store<i32>(hi + (<usize>i << 2), j);
    return n + 1;
  }
  const s0 = load<f64>(hs);
  if (s > s0 || (s == s0 && j < load<i32>(hi))) {
    store<f64>(hs, s);
    store<i32>(hi, j);
    siftDown(hs, hi, 0, kk);
  }
  return n;
}

/** Heap-sort best-first into the output row at oi/os (f32 scores), padding with -1 / -Infinity. */
function drainRow(hs: usize, hi: usize, n: i32, kk: i32, oi: usize, os: usize): void {
  for (let end = n - 1; end > 0; end--) {
    const s0 = load<f64>(hs), i0 = load<i32>(hi);
    store<f64>(hs, load<f64>(hs + (<usize>end << 3)));
    store<i32>(hi, load<i32>(hi + (<usize>end << 2)));
    store<f64>(hs + (<usize>end << 3), s0);
    store<i32>(hi + (<usize>end << 2), i0);
    siftDown(hs, hi, 0, end);
  }
  for (let i = 0; i < n; i++) {
    store<i32>(oi + (<usize>i << 2), load<i32>(hi + (<usize>i << 2)));
    store<f32>(os + (<usize>i << 2), <f32>load<f64>(hs + (<usize>i << 3)));
  }
  for (let i = n; i < kk; i++) {
    store<i32>(oi + (<usize>i << 2), -1);
    store<f32>(os + (<usize>i << 2), -Infinity);
  }
}

/** Similarity of global row a with b from b's scratch record (the reference's RowSimilarity.score); NaN = filtered. */
@inline function score(a: i32, b: i32, rec: usize): f64 {
  const n = load<f64>(rec);
  if (n < sMinSupport || n == 0) return NaN;
  let s: f64 = 0;
  const metric = sMetric;
  if (metric == M_DOT) {
    s = load<f64>(rec, 8);
  } else if (metric == M_COSINE) {
    const den = load<f64>(sRowNorm + (<usize>a << 3)) * load<f64>(sRowNorm + (<usize>b << 3));
    s = den > 0 ? load<f64>(rec, 8) / den : 0;
  } else if (metric == M_COSINE_COMMON || metric == M_ADJUSTED_COSINE || metric == M_PEARSON_BASELINE) {
    const den = Math.sqrt(load<f64>(rec, 16) * load<f64>(rec, 24));
    s = den > 0 ? load<f64>(rec, 8) / den : 0;
  } else if (metric == M_PEARSON) {
    const sx = load<f64>(rec, 32), sy = load<f64>(rec, 40);
    const vx = n * load<f64>(rec, 16) - sx * sx, vy = n * load<f64>(rec, 24) - sy * sy;
    const den = Math.sqrt(vx * vy);
    s = vx > 0 && vy > 0 && den > 0 ? (n * load<f64>(rec, 8) - sx * sy) / den : 0;
    if (s > 1) s = 1; else if (s < -1) s = -1;
  } else if (metric == M_MSD) {
    s = 1 / (load<f64>(rec, 8) / n + 1);
  } else {
    s = n / (load<f64>(sRowCount + (<usize>a << 3)) + load<f64>(sRowCount + (<usize>b << 3)) - n);
  }
  if (metric == M_PEARSON_BASELINE) s *= (n - 1) / (n - 1 + sShrink);
  else if (sShrink > 0) s *= n / (n + sShrink);
  if (s < sMinSim) return NaN;
  return s;
}

/** Local rows [r0, r1) of the task: accumulate, score, keep the top kk, write the output rows. */
export function simRows(r0: i32, r1: i32): void {
  const kk = sKK, hs = sHeapS, hi = sHeapI;
  const strideShift: usize = sStride == 1 ? 3 : sStride == 2 ? 4 : sStride == 4 ? 5 : 0;
  const recBytes = <usize>sStride << 3;
  const acc = sAcc;
  const excludeSelf = sExcludeSelf;
  for (let r = r0; r < r1; r++) {
    const a = sRowBase + r;
    const q0 = load<i32>(sQIndptr + (<usize>r << 2)), q1 = load<i32>(sQIndptr + (<usize>(r + 1) << 2));
    let count: i32;
    if (acc == A_DOT) count = accDot(q0, q1);
    else if (acc == A_COMMON) count = accCommon(q0, q1);
    else if (acc == A_PEARSON) count = accPearson(q0, q1);
    else if (acc == A_MSD) count = accMsd(q0, q1);
    else count = accCount(q0, q1);
    let n = 0;
    for (let t = 0; t < count; t++) {
      const b = load<i32>(sTouched + (<usize>t << 2));
      const rec = sScratch + (strideShift ? <usize>b << strideShift : <usize>b * recBytes);
      if (!(excludeSelf && b == a)) {
        const s = score(a, b, rec);
        if (s != 0 && s == s) n = heapPush(hs, hi, n, kk, b, s);
      }
      for (let o: usize = 0; o < recBytes; o += 8) store<f64>(rec + o, 0);
    }
    drainRow(hs, hi, n, kk, sOutI + (<usize>r * <usize>kk << 2), sOutS + (<usize>r * <usize>kk << 2));
  }
}
