// Conversions between f32x4 and f64x2 lanes (for f32 data computed or scaled in f64).

/** lanes 0–1 of an f32x4 as f64x2 */
@inline export function lo64(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
/** lanes 2–3 of an f32x4 as f64x2 */
@inline export function hi64(v: v128): v128 { return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)); }
/** two f64x2 → one f32x4 (each lane rounded once) */
@inline export function demote2(a: v128, b: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 1, 4, 5);
}
