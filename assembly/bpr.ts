// bprEpoch, the same contract as src/kernels/bprEpoch.ts (the reference): BPR-Opt SGD steps with positives drawn
// uniformly from the stored entries and negatives by popularity or from a CDF table, with the reference's
// xoshiro128** stream (src/data/xoshiro128.ts), so a run draws exactly the reference's samples.
//
// Bit-for-bit the reference: the updates are the reference's f64 expressions on the f32 factors, in its order;
// exp and log1p are the JavaScript engine's own Math.exp / Math.log1p, imported (WebAssembly has no
// transcendental instructions, and a software exp could differ in the last bit).

@external("env", "exp") declare function jsExp(x: f64): f64;
@external("env", "log1p") declare function jsLog1p(x: f64): f64;

let s0: u32 = 0, s1: u32 = 0, s2: u32 = 0, s3: u32 = 0;

/** xoshiro128** next 32-bit value (xoshiroNext). */
@inline function next(): u32 {
  const result = rotl<u32>(s1 * 5, 7) * 9;
  const t = s1 << 9;
  const n2 = s2 ^ s0;
  const n3 = s3 ^ s1;
  s1 = s1 ^ n2;
  s0 = s0 ^ n3;
  s2 = n2 ^ t;
  s3 = rotl<u32>(n3, 11);
  return result;
}

/** ⌊(next / 2^32) · n⌋, as the reference computes it in f64. */
@inline function drawIndex(n: i32): i32 {
  return <i32>Math.floor((<f64>next() / 4294967296.0) * <f64>n);
}

let bIndptr: usize = 0;    // i32[users+1] userItems
let bIndices: usize = 0;   // i32[nz]
let bEntryUser: usize = 0; // i32[nz]
let bSIndptr: usize = 0;   // i32 seen
let bSIndices: usize = 0;
let bPop: usize = 0;       // i32[npop]
let bNPop: i32 = 0;
let bCdf: usize = 0;       // f64[items] or 0
let bX: usize = 0;         // f32[users × D]
let bY: usize = 0;         // f32[items × D]
let bF: i32 = 0;
let bItems: i32 = 0;
let bNz: i32 = 0;
let bState: usize = 0;     // u32[4] rng in/out; f64[3] results follow at +16

export function bprSetup(
  indptr: usize, indices: usize, entryUser: usize, sIndptr: usize, sIndices: usize, pop: usize, npop: i32, cdf: usize,
  x: usize, y: usize, f: i32, items: i32, nz: i32, state: usize,
): void {
  bIndptr = indptr; bIndices = indices; bEntryUser = entryUser; bSIndptr = sIndptr; bSIndices = sIndices;
  bPop = pop; bNPop = npop; bCdf = cdf; bX = x; bY = y; bF = f; bItems = items; bNz = nz; bState = state;
}

function hasEntry(lo: i32, hi: i32, col: i32): bool {
  hi--;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = load<i32>(bSIndices + (<usize>mid << 2));
    if (v == col) return true;
    if (v < col) lo = mid + 1; else hi = mid - 1;
  }
  return false;
}

@inline function ldf(p: usize, i: i32): f64 { return <f64>load<f32>(p + (<usize>i << 2)); }
@inline function stf(p: usize, i: i32, v: f64): void { store<f32>(p + (<usize>i << 2), <f32>v); }

/**
 * Steps [t0, t1) (only their count matters). mode 0 'all', 1 'users', 2 'positive'.
 * Reads the rng state from state[0..4), writes it back, and writes [correct, skipped, lossSum] as f64 at state+16.
 */
export function bprSteps(t0: i32, t1: i32, lr: f64, reg: f64, verify: bool, mode: i32): void {
  s0 = load<u32>(bState); s1 = load<u32>(bState, 4); s2 = load<u32>(bState, 8); s3 = load<u32>(bState, 12);
  const F = bF, D = F + 1, X = bX, Y = bY, nz = bNz, nItems = bItems;
  let correct: f64 = 0, skipped: f64 = 0, lossSum: f64 = 0;
  for (let t = t0; t < t1; t++) {
    const liked = drawIndex(nz);
    const i = load<i32>(bIndices + (<usize>liked << 2));
    const u = load<i32>(bEntryUser + (<usize>liked << 2));
    let j: i32;
    if (bCdf) {
      const x = <f64>next() / 4294967296.0;
      let lo = 0, hi = nItems - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (load<f64>(bCdf + (<usize>mid << 3)) > x) hi = mid; else lo = mid + 1;
      }
      j = lo;
    } else {
      j = load<i32>(bPop + (<usize>drawIndex(bNPop) << 2));
    }
    if (verify && hasEntry(load<i32>(bSIndptr + (<usize>u << 2)), load<i32>(bSIndptr + (<usize>(u + 1) << 2)), j)) { skipped++; continue; }
    if (j == i) { skipped++; continue; }
    const uo = u * D, io = i * D, jo = j * D;
    let score: f64 = 0;
    for (let k = 0; k < D; k++) score += ldf(X, uo + k) * (ldf(Y, io + k) - ldf(Y, jo + k));
    const z = 1 / (1 + jsExp(score));
    if (z < 0.5) correct++;
    lossSum += score > 0 ? jsLog1p(jsExp(-score)) : -score + jsLog1p(jsExp(score));
    if (mode == 0) {
      for (let k = 0; k < F; k++) {
        const xu = ldf(X, uo + k), yi = ldf(Y, io + k), yjk = ldf(Y, jo + k);
        stf(X, uo + k, xu + lr * (z * (yi - yjk) - reg * xu));
        stf(Y, io + k, yi + lr * (z * xu - reg * yi));
        stf(Y, jo + k, yjk + lr * (-z * xu - reg * yjk));
      }
      stf(Y, io + F, ldf(Y, io + F) + lr * (z - reg * ldf(Y, io + F)));
      stf(Y, jo + F, ldf(Y, jo + F) + lr * (-z - reg * ldf(Y, jo + F)));
    } else if (mode == 1) {
      for (let k = 0; k < F; k++) {
        const xu = ldf(X, uo + k);
        stf(X, uo + k, xu + lr * (z * (ldf(Y, io + k) - ldf(Y, jo + k)) - reg * xu));
      }
    } else {
      for (let k = 0; k < F; k++) {
        const yi = ldf(Y, io + k);
        stf(Y, io + k, yi + lr * (z * ldf(X, uo + k) - reg * yi));
      }
      stf(Y, io + F, ldf(Y, io + F) + lr * (z - reg * ldf(Y, io + F)));
    }
  }
  store<u32>(bState, s0); store<u32>(bState, s1, 4); store<u32>(bState, s2, 8); store<u32>(bState, s3, 12);
  store<f64>(bState, correct, 16); store<f64>(bState, skipped, 24); store<f64>(bState, lossSum, 32);
}
