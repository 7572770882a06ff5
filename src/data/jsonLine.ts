/**
 * The source text of numbers in one JSON Lines object. JSON.parse turns 9007199254740993 into
 * the double 9007199254740992 (node 20 has no reviver source access), so numeric ids would merge;
 * the readers read the token itself when the double lost digits.
 */

/**
 * Raw number tokens of the top-level keys of `text`, which JSON.parse has already accepted as an
 * object (so the scan may assume valid JSON). A repeated key keeps its last value, as JSON.parse does.
 */
export function jsonNumberTokens(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const n = text.length;
  let i = text.indexOf('{') + 1;
  const space = (): void => { while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++; };
  const string = (): string => {
    const s = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return text.slice(s, i);
  };
  /** Skips a string, literal or nested object/array, up to the ',' or '}' that ends this member. */
  const skipValue = (): void => {
    let depth = 0;
    while (i < n) {
      const c = text[i];
      if (c === '"') { string(); continue; }
      if (depth === 0 && (c === ',' || c === '}')) return;
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') depth--;
      i++;
    }
  };
  for (;;) {
    space();
    if (i >= n || text[i] === '}') return out;
    const key = JSON.parse(string()) as string;
    space();
    i++; // ':'
    space();
    const c = text.charCodeAt(i);
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const s = i;
      while (i < n && /[-+.eE0-9]/.test(text[i])) i++;
      out.set(key, text.slice(s, i));
    } else {
      out.delete(key);
      skipValue();
    }
    space();
    if (text[i] === ',') i++;
  }
}

/** Digits and exponent of a decimal literal with zeros stripped ('1.50' and '15e-1' → '15e-1'); null when it is not one. */
function canonical(s: string): string | null {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m) return null;
  const frac = m[3] ?? '';
  let digits = (m[2] + frac).replace(/^0+/, '');
  if (digits === '') return '0';
  let exp = Number(m[4] ?? 0) - frac.length;
  const trimmed = digits.replace(/0+$/, '');
  exp += digits.length - trimmed.length;
  digits = trimmed;
  return `${m[1]}${digits}e${exp}`;
}

/**
 * The id of a JSON number: String(v) as always (1.0 → '1', 1e2 → '100'), unless the double
 * holds a different decimal value than the token (9007199254740993 → …992): then the token,
 * so that distinct numbers never become one id.
 */
export function jsonNumberId(v: number, token: string): string {
  const s = String(v);
  return canonical(s) !== null && canonical(s) === canonical(token) ? s : token;
}
