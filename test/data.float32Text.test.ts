/**
 * float32Text (the score text of every output) against its definition: the first p = 1 … 9 whose
 * toPrecision(p) reads back to the same float32, written as String(Number(·)). The fast path for
 * 1e-4 ≤ |f| < 10 computes the candidates in double arithmetic; it must give the same text.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { float32Text } from '../src/data/csvLine.js';
import { Rng } from '../src/data/random.js';

function byDefinition(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const f = Math.fround(v);
  for (let p = 1; p <= 9; p++) {
    const t = f.toPrecision(p);
    if (Math.fround(Number(t)) === f) return String(Number(t));
  }
  return String(f);
}

const bits = new Uint32Array(1), asFloat = new Float32Array(bits.buffer);
function fromBits(b: number): number { bits[0] = b >>> 0; return asFloat[0]; }

function check(v: number, what: string): void {
  const want = byDefinition(v), got = float32Text(v);
  if (got !== want) assert.unreachable(`${what}: float32Text(${v}) = ${got}, by definition ${want}`);
}

test('random float32 bit patterns in the fast range and anywhere', () => {
  const rng = new Rng(7);
  const lo = 0x38d1b717, hi = 0x41200000; // fround(1e-4) … 10
  for (let k = 0; k < 200_000; k++) {
    const inRange = (lo + Math.floor(rng.next() * (hi - lo))) | (rng.next() < 0.5 ? 0x80000000 : 0);
    check(fromBits(inRange), 'in range');
    const any = fromBits(Math.floor(rng.next() * 2 ** 32));
    if (!Number.isNaN(any)) check(any, 'any');
  }
});

test('powers of two, short decimals and their float32 neighbours, range ends', () => {
  for (let e = -149; e < 128; e++) { check(2 ** e, 'power of two'); check(-(2 ** e), 'power of two'); }
  for (let s = -7; s <= 2; s++) {
    for (let d = 1; d < 1000; d++) {
      const f = Math.fround(d * 10 ** s);
      asFloat[0] = f;
      const b = bits[0];
      for (let delta = -2; delta <= 2; delta++) check(fromBits(b + delta), 'short decimal');
    }
  }
  for (const v of [1e-4, 9.999999, 9.9999995, 10, 0.5, 0.125, 1.5, 2.5, 0.05, 0.15, 0.35, 3.4028234663852886e38, 1.401298464324817e-45, Infinity]) {
    check(v, 'edge'); check(-v, 'edge');
  }
  assert.is(float32Text(0.1), '0.1');
  assert.is(float32Text(Math.fround(0.1)), '0.1');
  assert.is(float32Text(0.00012345679), '0.00012345679');
  assert.is(float32Text(-2.5), '-2.5');
  assert.is(float32Text(1 / 3), '0.33333334');
});

test.run();
