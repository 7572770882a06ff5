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

/** Shortest decimal text that reads back to the same float32 value. */
export function float32Text(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const f = Math.fround(v);
  for (let p = 1; p <= 9; p++) {
    const t = f.toPrecision(p);
    if (Math.fround(Number(t)) === f) return String(Number(t));
  }
  return String(f);
}
