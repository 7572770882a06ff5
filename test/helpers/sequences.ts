/**
 * Tiny synthetic sequential data for the neural models' tests: user u (index u) walks the
 * catalogue (item index = its id number) from item (3u) mod items in steps of +1, for a length
 * between minLen and maxLen; the interactions come in a shuffled input order with timestamps that
 * give the walk's order, so each user's next item is its last one + 1 (mod items).
 */
import { IdMap } from '../../src/data/idMap.js';
import type { Interactions } from '../../src/data/interactions.js';
import { mulberry32 } from './random.js';

export function walks(o: { users: number; items: number; minLen: number; maxLen: number; seed?: number }): Interactions {
  const rnd = mulberry32(o.seed ?? 1);
  const rows: Array<[number, number, number]> = [];
  for (let u = 0; u < o.users; u++) {
    const len = o.minLen + Math.floor(rnd() * (o.maxLen - o.minLen + 1));
    const start = (u * 3) % o.items;
    for (let j = 0; j < len; j++) rows.push([u, (start + j) % o.items, 1000 + 10 * j]);
  }
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  const n = rows.length;
  return {
    users: IdMap.from(Array.from({ length: o.users }, (_, u) => `u${u}`)),
    items: IdMap.from(Array.from({ length: o.items }, (_, i) => `i${i}`)),
    user: Int32Array.from(rows, (r) => r[0]), item: Int32Array.from(rows, (r) => r[1]),
    rating: new Float32Array(n).fill(1), timestamp: Float64Array.from(rows, (r) => r[2]), implicit: true,
  };
}

/** User u's next item in its walk: its latest item + 1 (mod items). */
export function nextItem(x: Interactions, u: number): number {
  let last = -1, at = -Infinity;
  for (let t = 0; t < x.user.length; t++) if (x.user[t] === u && x.timestamp![t] > at) { at = x.timestamp![t]; last = x.item[t]; }
  return (last + 1) % x.items.size;
}
