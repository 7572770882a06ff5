/**
 * Numbers given as text (data files, `--params k=v`, numeric CLI options) are decimal literals
 * only: optionally signed and space-padded, with an optional fraction and exponent. Number()
 * also reads hex, octal and binary ('0x10' is 16), 'Infinity' and '' (0), which as data are
 * mistakes to report, not values to use.
 */
const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

export function isDecimal(s: string): boolean {
  return DECIMAL.test(s);
}

/** `s` as a number when it is a decimal literal, else NaN. */
export function decimalNumber(s: string): number {
  return DECIMAL.test(s) ? Number(s) : NaN;
}
