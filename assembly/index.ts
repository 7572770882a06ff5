// affinity WebAssembly kernels (AssemblyScript, compiled with SIMD, no GC: --runtime stub, no allocations).
//
// The module owns no data structures: the JS side (src/backends/wasm/core.ts) lays out every buffer in
// linear memory above __heap_base, grows the memory itself, copies inputs in and results out.
//
// denseScoreTopK, the same contract as src/kernels/denseScoreTopK.ts (the reference):
//   for each query row r, the kk = min(k, K) keys j with the highest score(r, j), best first,
//   ties by lower key id, unused slots id -1 / score -Infinity, NaN never kept,
//   keys in r's exclusion list (and j == r with excludeSelf) skipped.
//   dot: Σ_f Q[r,f]·K[j,f]; cosine: the same on rows scaled by 1/‖row‖ (0 for a zero row).
// Accumulation is f32 (the reference accumulates in f64).
//
// How it is fast:
//  * keys are packed into panels of 8 keys, feature-major ([f][8 keys], 32 bytes per feature), and query
//    rows into panels of 4 ([f][4 queries]); the micro-kernel computes a 4 queries × 8 keys tile with 8
//    f32x4 accumulators: per feature, 2 key-vector loads and 4 broadcast loads feed 8 mul+add, so each
//    loaded key vector is reused 4 times and each query scalar 8 times. No horizontal sums are needed.
//  * keys are processed in blocks that stay in L1/L2 while every query panel of the block runs over them.
//  * top-k is fused: each query row has a bounded min-heap (worst kept entry at the root) and a threshold
//    (the root score once the heap is full, -Infinity before). A tile's 8 scores are compared to the
//    threshold with two f32x4.ge and one any_true: most tiles are rejected there. Keys reach a row in
//    ascending id order, so a candidate that ties the root can never win (it has the higher id): only
//    strictly greater scores replace the root, and `ge` lets ties fall through to the exact scalar check.
//    NaN fails `ge`, so it is never kept; -Infinity passes `ge(-inf, -inf)` while the heap is not full,
//    exactly as the reference keeps it.

// ---- state of the current call (set by setup) ----
let gD: i32 = 0;            // features
let gKeys: i32 = 0;         // number of keys K
let gPanels: usize = 0;     // packed key panels: ceil(K/8) × d × 8 f32
let gQ: usize = 0;          // packed query panels: nq/4 × d × 4 f32
let gRowBase: i32 = 0;      // global row id of local query row 0 (for excludeSelf)
let gExcludeSelf: bool = false;
let gExPtr: usize = 0;      // i32[nq+1] row offsets into gExIdx, or 0 when there are no exclusions
let gExIdx: usize = 0;      // i32 excluded key ids, ascending within each row
let gKK: i32 = 0;           // kept entries per row
let gHeapS: usize = 0;      // f32[nq × kk]
let gHeapI: usize = 0;      // i32[nq × kk]
let gCount: usize = 0;      // i32[nq] entries in each heap
let gThr: usize = 0;        // f32[nq] threshold per row
let gCursor: usize = 0;     // i32[nq] position in the row's exclusion list
let gOutI: usize = 0;       // i32[nq × kk] output ids (local rows)
let gOutS: usize = 0;       // f32[nq × kk] output scores
let gScratch: usize = 0;    // 64 bytes for spilling a tile's scores
let gKeyBlock: i32 = 64;    // key panels per cache block

export function heapBase(): usize {
  return __heap_base;
}

/** Scale of a row for the metric: 1/‖row‖ (f64 accumulation), 0 for a zero row. */
@inline function rowScale(src: usize, d: i32): f64 {
  let s: f64 = 0;
  for (let f = 0; f < d; f++) {
    const x = <f64>load<f32>(src + (<usize>f << 2));
    s += x * x;
  }
  const n = Math.sqrt(s);
  return n > 0 ? 1.0 / n : 0.0;
}

/**
 * Pack n row-major rows of d features at src into panels of `width` rows (width 4 or 8),
 * feature-major within a panel; the last panel is padded with zero rows. normalize: scale rows to unit length.
 */
export function packRows(src: usize, dst: usize, n: i32, d: i32, width: i32, normalize: bool): void {
  const panels = (n + width - 1) / width;
  const panelBytes = <usize>d * <usize>width << 2;
  memory.fill(dst + <usize>(n / width) * panelBytes, 0, <usize>(panels - n / width) * panelBytes);
  for (let r = 0; r < n; r++) {
    const row = src + (<usize>r * <usize>d << 2);
    const p = r / width, lane = r % width;
    const out = dst + <usize>p * panelBytes + (<usize>lane << 2);
    const stride = <usize>width << 2;
    if (normalize) {
      const sc = rowScale(row, d);
      for (let f = 0; f < d; f++) store<f32>(out + <usize>f * stride, <f32>(<f64>load<f32>(row + (<usize>f << 2)) * sc));
    } else {
      for (let f = 0; f < d; f++) store<f32>(out + <usize>f * stride, load<f32>(row + (<usize>f << 2)));
    }
  }
}

export function setup(
  d: i32, keys: i32, panels: usize, q: usize, rowBase: i32, excludeSelf: bool, exPtr: usize, exIdx: usize,
  kk: i32, heapS: usize, heapI: usize, count: usize, thr: usize, cursor: usize, outI: usize, outS: usize,
  scratch: usize, keyBlock: i32,
): void {
  gD = d; gKeys = keys; gPanels = panels; gQ = q; gRowBase = rowBase; gExcludeSelf = excludeSelf;
  gExPtr = exPtr; gExIdx = exIdx; gKK = kk; gHeapS = heapS; gHeapI = heapI; gCount = count; gThr = thr;
  gCursor = cursor; gOutI = outI; gOutS = outS; gScratch = scratch; gKeyBlock = keyBlock > 0 ? keyBlock : 1;
}

// ---- bounded heap per row: min-heap on (score asc, id desc), i.e. the worst kept entry at the root ----

@inline function worse(sa: f32, ia: i32, sb: f32, ib: i32): bool {
  return sa < sb || (sa == sb && ia > ib);
}

function siftDown(hs: usize, hi: usize, start: i32, n: i32): void {
  let i = start;
  const s = load<f32>(hs + (<usize>i << 2));
  const id = load<i32>(hi + (<usize>i << 2));
  while (true) {
    const l = 2 * i + 1;
    if (l >= n) break;
    let m = l;
    let ms = load<f32>(hs + (<usize>l << 2));
    let mi = load<i32>(hi + (<usize>l << 2));
    const r = l + 1;
    if (r < n) {
      const rs = load<f32>(hs + (<usize>r << 2));
      const ri = load<i32>(hi + (<usize>r << 2));
      if (worse(rs, ri, ms, mi)) { m = r; ms = rs; mi = ri; }
    }
    if (!worse(ms, mi, s, id)) break;
    store<f32>(hs + (<usize>i << 2), ms);
    store<i32>(hi + (<usize>i << 2), mi);
    i = m;
  }
  store<f32>(hs + (<usize>i << 2), s);
  store<i32>(hi + (<usize>i << 2), id);
}

/** Exact push of candidate (key j, score s) into local row `row`; updates the row's threshold. */
function push(row: i32, j: i32, s: f32): void {
  if (j >= gKeys) return; // padding key of the last panel
  if (gExcludeSelf && j == gRowBase + row) return;
  if (gExPtr) {
    const end = load<i32>(gExPtr + (<usize>(row + 1) << 2));
    const cp = gCursor + (<usize>row << 2);
    let c = load<i32>(cp);
    while (c < end && load<i32>(gExIdx + (<usize>c << 2)) < j) c++;
    store<i32>(cp, c);
    if (c < end && load<i32>(gExIdx + (<usize>c << 2)) == j) return;
  }
  const kk = gKK;
  const hs = gHeapS + (<usize>row * <usize>kk << 2);
  const hi = gHeapI + (<usize>row * <usize>kk << 2);
  const cp = gCount + (<usize>row << 2);
  const n = load<i32>(cp);
  if (n < kk) {
    // sift up
    let i = n;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ps = load<f32>(hs + (<usize>p << 2));
      const pi = load<i32>(hi + (<usize>p << 2));
      if (!worse(s, j, ps, pi)) break;
      store<f32>(hs + (<usize>i << 2), ps);
      store<i32>(hi + (<usize>i << 2), pi);
      i = p;
    }
    store<f32>(hs + (<usize>i << 2), s);
    store<i32>(hi + (<usize>i << 2), j);
    store<i32>(cp, n + 1);
    if (n + 1 == kk) store<f32>(gThr + (<usize>row << 2), load<f32>(hs));
    return;
  }
  // full: keys arrive in ascending id order, so only a strictly greater score beats the root
  if (!(s > load<f32>(hs))) return;
  store<f32>(hs, s);
  store<i32>(hi, j);
  siftDown(hs, hi, 0, kk);
  store<f32>(gThr + (<usize>row << 2), load<f32>(hs));
}

/** Scores of one query row against 8 keys (two vectors) passed the threshold test: check each lane exactly. */
function slowTile(row: i32, j0: i32, a: v128, b: v128): void {
  const thr = f32x4.splat(load<f32>(gThr + (<usize>row << 2)));
  let mask = i32x4.bitmask(f32x4.ge(a, thr)) | (i32x4.bitmask(f32x4.ge(b, thr)) << 4);
  v128.store(gScratch, a);
  v128.store(gScratch, b, 16);
  while (mask) {
    const lane = ctz(mask);
    mask &= mask - 1;
    push(row, j0 + lane, load<f32>(gScratch + (<usize>lane << 2)));
  }
}

/** Drain row `row`'s heap best-first into the output, padding with -1 / -Infinity. */
function drain(row: i32): void {
  const kk = gKK;
  const hs = gHeapS + (<usize>row * <usize>kk << 2);
  const hi = gHeapI + (<usize>row * <usize>kk << 2);
  const n = load<i32>(gCount + (<usize>row << 2));
  // heap-sort: move the worst to the end repeatedly → best first
  for (let end = n - 1; end > 0; end--) {
    const s0 = load<f32>(hs), i0 = load<i32>(hi);
    store<f32>(hs, load<f32>(hs + (<usize>end << 2)));
    store<i32>(hi, load<i32>(hi + (<usize>end << 2)));
    store<f32>(hs + (<usize>end << 2), s0);
    store<i32>(hi + (<usize>end << 2), i0);
    siftDown(hs, hi, 0, end);
  }
  const oi = gOutI + (<usize>row * <usize>kk << 2);
  const os = gOutS + (<usize>row * <usize>kk << 2);
  for (let i = 0; i < n; i++) {
    store<i32>(oi + (<usize>i << 2), load<i32>(hi + (<usize>i << 2)));
    store<f32>(os + (<usize>i << 2), load<f32>(hs + (<usize>i << 2)));
  }
  for (let i = n; i < kk; i++) {
    store<i32>(oi + (<usize>i << 2), -1);
    store<f32>(os + (<usize>i << 2), -Infinity);
  }
}

/**
 * Score local query rows [r0, r1) (r0 a multiple of 4; r1 a multiple of 4 or the padded row count)
 * against all keys, and write their top-k into the output region.
 */
export function scoreRows(r0: i32, r1: i32): void {
  const d = gD;
  const panels = (gKeys + 7) >> 3;
  const keyBlock = gKeyBlock;
  const qPanelBytes = <usize>d << 4;   // 4 queries × 4 bytes per feature
  const kPanelBytes = <usize>d << 5;   // 8 keys × 4 bytes per feature
  const exPtr = gExPtr;
  for (let r = r0; r < r1; r++) {
    store<i32>(gCount + (<usize>r << 2), 0);
    store<f32>(gThr + (<usize>r << 2), -Infinity);
    if (exPtr) store<i32>(gCursor + (<usize>r << 2), load<i32>(exPtr + (<usize>r << 2)));
  }
  const thrBase = gThr;
  for (let pb = 0; pb < panels; pb += keyBlock) {
    const pe = min(panels, pb + keyBlock);
    for (let r = r0; r < r1; r += 4) {
      const qp0 = gQ + <usize>(r >> 2) * qPanelBytes;
      const tp = thrBase + (<usize>r << 2);
      let kp = gPanels + <usize>pb * kPanelBytes;
      for (let p = pb; p < pe; p++) {
        let a00 = f32x4.splat(0), a01 = f32x4.splat(0);
        let a10 = f32x4.splat(0), a11 = f32x4.splat(0);
        let a20 = f32x4.splat(0), a21 = f32x4.splat(0);
        let a30 = f32x4.splat(0), a31 = f32x4.splat(0);
        let qp = qp0;
        let kq = kp;
        const kend = kp + kPanelBytes;
        while (kq < kend) {
          const k0 = v128.load(kq);
          const k1 = v128.load(kq, 16);
          const x0 = v128.load32_splat(qp);
          a00 = f32x4.add(a00, f32x4.mul(x0, k0));
          a01 = f32x4.add(a01, f32x4.mul(x0, k1));
          const x1 = v128.load32_splat(qp, 4);
          a10 = f32x4.add(a10, f32x4.mul(x1, k0));
          a11 = f32x4.add(a11, f32x4.mul(x1, k1));
          const x2 = v128.load32_splat(qp, 8);
          a20 = f32x4.add(a20, f32x4.mul(x2, k0));
          a21 = f32x4.add(a21, f32x4.mul(x2, k1));
          const x3 = v128.load32_splat(qp, 12);
          a30 = f32x4.add(a30, f32x4.mul(x3, k0));
          a31 = f32x4.add(a31, f32x4.mul(x3, k1));
          kq += 32;
          qp += 16;
        }
        const j0 = p << 3;
        // threshold test: one broadcast load, two compares, one any_true per query row
        let t = v128.load32_splat(tp);
        if (v128.any_true(v128.or(f32x4.ge(a00, t), f32x4.ge(a01, t)))) slowTile(r, j0, a00, a01);
        t = v128.load32_splat(tp, 4);
        if (v128.any_true(v128.or(f32x4.ge(a10, t), f32x4.ge(a11, t)))) slowTile(r + 1, j0, a10, a11);
        t = v128.load32_splat(tp, 8);
        if (v128.any_true(v128.or(f32x4.ge(a20, t), f32x4.ge(a21, t)))) slowTile(r + 2, j0, a20, a21);
        t = v128.load32_splat(tp, 12);
        if (v128.any_true(v128.or(f32x4.ge(a30, t), f32x4.ge(a31, t)))) slowTile(r + 3, j0, a30, a31);
        kp = kend;
      }
    }
  }
  for (let r = r0; r < r1; r++) drain(r);
}

// ---- the other kernels live in their own files ----
export * from './similarity';
export * from './als';
export * from './sgd';
export * from './bpr';
export * from './gemm';
export * from './nn';
