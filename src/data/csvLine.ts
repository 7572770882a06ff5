/**
 * Splitting one delimited record into fields, RFC 4180 style: a field that starts with a
 * double quote runs to the matching closing quote, `""` inside it is one quote, and it may
 * contain the delimiter and line breaks. Delimiters may be longer than one character ('::').
 */

/** Fields of one record, or null when a quoted field is still open at the end of `s` (the record continues on the next line). */
export function splitRecord(s: string, delimiter: string, quotes = true): string[] | null {
  if (!quotes || s.indexOf('"') < 0) return s.split(delimiter);
  const out: string[] = [];
  const n = s.length, dl = delimiter.length;
  let i = 0;
  for (;;) {
    let field: string;
    if (s.charCodeAt(i) === 34 /* " */) {
      let j = i + 1;
      field = '';
      for (;;) {
        const k = s.indexOf('"', j);
        if (k < 0) return null;
        field += s.slice(j, k);
        if (s.charCodeAt(k + 1) === 34) { field += '"'; j = k + 2; }
        else { i = k + 1; break; }
      }
      // anything between the closing quote and the delimiter is kept as is (lenient)
      const k = s.indexOf(delimiter, i);
      const end = k < 0 ? n : k;
      if (end > i) field += s.slice(i, end);
      i = end;
    } else {
      const k = s.indexOf(delimiter, i);
      const end = k < 0 ? n : k;
      field = s.slice(i, end);
      i = end;
    }
    out.push(field);
    if (i >= n) return out;
    i += dl;
  }
}

/** A field for CSV output: quoted when it holds a comma, quote or line break. */
export function csvField(s: string): string {
  if (!/[",\r\n]/.test(s)) return s;
  return '"' + s.replace(/"/g, '""') + '"';
}

/** 10^k, k = 0 … 12: exact doubles. */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12];

/**
 * Shortest decimal text that reads back to the same float32 value: the first p = 1 … 9 whose
 * p-significant-digit rounding t = f.toPrecision(p) has fround(Number(t)) === f, written as
 * String(Number(t)).
 *
 * For 1e-4 ≤ |f| < 10 (scores, ratings) the candidates are computed in double arithmetic with
 * the same result, about ten times faster than toPrecision: with e = ⌊log10 |f|⌋ and
 * k = p − 1 − e ∈ [0, 12], x = |f|·10^k is exact (a 24-bit mantissa times 5^k < 2^28), so
 * n = Math.round(x) is exactly toPrecision's digit string (ties away from zero, as toPrecision
 * picks the larger n), and n / 10^k is one correctly rounded division: exactly Number(t).
 */
export function float32Text(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const f = Math.fround(v);
  const a = Math.abs(f);
  if (a >= 1e-4 && a < 10) {
    // e = ⌊log10 a⌋ ∈ [−4, 0], by exact comparisons (a·10^j is exact for j ≤ 12)
    let e = 0;
    while (a * POW10[-e] < 1) e--;
    for (let p = 1; p <= 9; p++) {
      let k = p - 1 - e;
      let n = Math.round(a * POW10[k]);
      if (Math.fround(n / POW10[k]) !== a) continue;
      // String(n / 10^k) is this decimal without trailing zeros (at most 9 digits, so it is the
      // shortest text of that double), in plain notation (JavaScript writes 1e-4 ≤ |d| < 10 so)
      while (k > 0 && n % 10 === 0) { n /= 10; k--; }
      const digits = String(n);
      const point = digits.length - k;
      const text = k === 0 ? digits : point > 0 ? `${digits.slice(0, point)}.${digits.slice(point)}` : `0.${'0'.repeat(-point)}${digits}`;
      return f < 0 ? `-${text}` : text;
    }
    return String(f);
  }
  for (let p = 1; p <= 9; p++) {
    const t = f.toPrecision(p);
    if (Math.fround(Number(t)) === f) return String(Number(t));
  }
  return String(f);
}
