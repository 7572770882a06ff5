// f32x4 exp, log and the activations built on them, for the neural-network kernels (./nn.ts).
//
// exp: Cephes' expf — x = n·ln2 + r with n = round(x/ln2) (ln2 split in two parts, so r is exact to f32),
// e^r by its degree-7 Taylor-like minimax polynomial, 2ⁿ built in the exponent bits. Within 1–2 ulp of e^x on
// [−87, 88]; inputs are clamped to that range first (e^−87 ≈ 1.6e−38 stands in for smaller results and
// e^88 ≈ 1.7e38 for larger ones, so nothing overflows to ∞ and sigmoid/tanh of any finite input stay finite).
// log: Cephes' logf for positive finite inputs (frexp by bit operations, a degree-9 polynomial), within 1–2 ulp.
// Lanes of a vector are independent: a scalar is computed by splatting it (so tails match the vector lanes).

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const EXP_LO: f32 = -87.0;
const EXP_HI: f32 = 88.0;

/** e^x per lane (clamped to [e^−87, e^88]; NaN stays NaN). */
@inline export function exp4(x: v128): v128 {
  // pmin(a, b) = b < a ? b : a and pmax(a, b) = a < b ? b : a: with x first, a NaN lane stays NaN
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(EXP_HI)), f32x4.splat(EXP_LO));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  p = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1));
  // 2^n: n in [−126, 127] after the clamp
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, pow2);
}

/** ln x per lane, for positive finite x. */
@inline export function log4(x: v128): v128 {
  const bits = x;
  let e = i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(126));
  // mantissa in [0.5, 1)
  let m = v128.or(v128.and(bits, i32x4.splat(0x807fffff)), i32x4.splat(0x3f000000));
  // m < √½: use 2m − 1 and e − 1, else m − 1 (keeps the argument in [√½ − 1, √2 − 1])
  const small = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  e = i32x4.add(e, small); // small lanes are −1
  const ef = f32x4.convert_i32x4_s(e);
  const xm = f32x4.sub(f32x4.add(m, v128.and(m, small)), f32x4.splat(1));
  const z = f32x4.mul(xm, xm);
  let y = f32x4.splat(7.0376836292e-2);
  y = f32x4.add(f32x4.mul(y, xm), f32x4.splat(-1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, xm), f32x4.splat(1.1676998740e-1));
  y = f32x4.add(f32x4.mul(y, xm), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, xm), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, xm), f32x4.splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, xm), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, xm), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, xm), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, xm), z);
  y = f32x4.add(y, f32x4.mul(ef, f32x4.splat(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  let r = f32x4.add(xm, y);
  r = f32x4.add(r, f32x4.mul(ef, f32x4.splat(LN2_HI)));
  return r;
}

/** σ(z) = 1/(1 + e^−z) per lane (e^−z clamped: 0 < σ < 1 stays finite). */
@inline export function sigmoid4(z: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), exp4(f32x4.neg(z))));
}

/** tanh z = 1 − 2/(e^{2z} + 1) per lane (absolute error ~1e−7 near 0, ±1 at the extremes). */
@inline export function tanh4(z: v128): v128 {
  const e = exp4(f32x4.add(z, z));
  return f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
}

// gelu (tanh approximation): ½·z·(1 + tanh u), u = c·(z + 0.044715·z³), c = √(2/π)
const GELU_C: f32 = 0.7978845608028654;
const GELU_A: f32 = 0.044715;

@inline function geluU(z: v128): v128 {
  const z2 = f32x4.mul(z, z);
  return f32x4.mul(f32x4.splat(GELU_C), f32x4.add(z, f32x4.mul(f32x4.splat(GELU_A), f32x4.mul(z2, z))));
}

export const ACT_IDENTITY: i32 = 0;
export const ACT_RELU: i32 = 1;
export const ACT_SIGMOID: i32 = 2;
export const ACT_TANH: i32 = 3;
export const ACT_GELU: i32 = 4;

/** act(z) per lane. */
@inline export function activate4(act: i32, z: v128): v128 {
  // pmax(0, z) = 0 < z ? z : 0, the reference's z > 0 ? z : 0 (NaN → 0 as there)
  if (act == ACT_RELU) return f32x4.pmax(f32x4.splat(0), z);
  if (act == ACT_SIGMOID) return sigmoid4(z);
  if (act == ACT_TANH) return tanh4(z);
  if (act == ACT_GELU) {
    const t = tanh4(geluU(z));
    return f32x4.mul(f32x4.mul(f32x4.splat(0.5), z), f32x4.add(f32x4.splat(1), t));
  }
  return z;
}

/** act'(z) per lane. */
@inline export function derivative4(act: i32, z: v128): v128 {
  if (act == ACT_RELU) return v128.and(f32x4.gt(z, f32x4.splat(0)), f32x4.splat(1));
  if (act == ACT_SIGMOID) {
    const s = sigmoid4(z);
    return f32x4.mul(s, f32x4.sub(f32x4.splat(1), s));
  }
  if (act == ACT_TANH) {
    const t = tanh4(z);
    return f32x4.sub(f32x4.splat(1), f32x4.mul(t, t));
  }
  if (act == ACT_GELU) {
    // ½·(1 + t) + ½·z·(1 − t²)·c·(1 + 3·0.044715·z²)
    const t = tanh4(geluU(z));
    const half = f32x4.splat(0.5);
    const z2 = f32x4.mul(z, z);
    const du = f32x4.mul(f32x4.splat(GELU_C), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(3 * GELU_A), z2)));
    const sech2 = f32x4.sub(f32x4.splat(1), f32x4.mul(t, t));
    return f32x4.add(f32x4.mul(half, f32x4.add(f32x4.splat(1), t)), f32x4.mul(f32x4.mul(f32x4.mul(half, z), sech2), du));
  }
  return f32x4.splat(1);
}
