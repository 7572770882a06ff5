import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Rng, ZipfSampler, embeddedDataset, generateInteractions, readInteractions, writeSyntheticCsv, type Interactions } from '../src/data/index.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-synth-'));

function same(a: Interactions, b: Interactions): boolean {
  const eq = (x: ArrayLike<number>, y: ArrayLike<number>): boolean => {
    if (x.length !== y.length) return false;
    for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return false;
    return true;
  };
  return eq(a.user, b.user) && eq(a.item, b.item) && eq(a.rating, b.rating) && eq(a.timestamp!, b.timestamp!);
}

/** Least-squares slope of log(count) against log(rank) (1-based) over the `top` most frequent items. */
function zipfSlope(x: Interactions, top: number): number {
  const c = new Float64Array(x.items.size);
  for (const i of x.item) c[i]++;
  const sorted = Array.from(c).sort((a, b) => b - a).slice(0, top);
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  sorted.forEach((v, r) => {
    const lx = Math.log(r + 1), ly = Math.log(v);
    sx += lx; sy += ly; sxx += lx * lx; sxy += lx * ly;
  });
  const n = sorted.length;
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

test('Rng: seeded, uniform-ish, int in range, normal moments, shuffle is a permutation', () => {
  const a = new Rng(5), b = new Rng(5), c = new Rng(6);
  const sa = Array.from({ length: 8 }, () => a.nextU32());
  assert.equal(sa, Array.from({ length: 8 }, () => b.nextU32()));
  assert.not.equal(sa, Array.from({ length: 8 }, () => c.nextU32()));
  const r = new Rng(1);
  let sum = 0, sq = 0;
  const hist = new Int32Array(7);
  for (let k = 0; k < 100000; k++) {
    const z = r.normal(); sum += z; sq += z * z;
    const v = r.int(7); assert.ok(v >= 0 && v < 7); hist[v]++;
    const u = r.next(); assert.ok(u >= 0 && u < 1);
  }
  assert.ok(Math.abs(sum / 100000) < 0.02);
  assert.ok(Math.abs(sq / 100000 - 1) < 0.03);
  for (const h of hist) assert.ok(Math.abs(h / 100000 - 1 / 7) < 0.01);
  const p = r.shuffle(Array.from({ length: 50 }, (_, k) => k));
  assert.equal([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, k) => k));
  // Zipf sampler frequencies follow p ∝ 1/(r+1)^s
  const z = new ZipfSampler(20, 1.2);
  const f = new Float64Array(20);
  for (let k = 0; k < 200000; k++) f[z.sample(r)]++;
  for (const k of [0, 1, 5, 19]) assert.ok(Math.abs(f[k] / 200000 - z.probability(k)) < 0.005, `rank ${k}`);
  assert.ok(Math.abs(z.probability(0) / z.probability(3) - Math.pow(4, 1.2)) < 1e-9);
});

test('generator: same seed → identical arrays, different seed → different', () => {
  const o = { users: 500, items: 300, interactions: 10000 };
  const a = generateInteractions({ ...o, seed: 1 });
  assert.ok(same(a, generateInteractions({ ...o, seed: 1 })));
  assert.not.ok(same(a, generateInteractions({ ...o, seed: 2 })));
});

test('generator: counts, ids, no duplicate pairs, ratings 1..5, increasing timestamps, per-user bounds', () => {
  const x = generateInteractions({ users: 1000, items: 400, interactions: 30000, minPerUser: 5, maxPerUser: 300, seed: 3 });
  assert.is(x.user.length, 30000);
  assert.is(x.users.size, 1000);
  assert.is(x.items.size, 400);
  assert.is(x.users.external(17), 'u17');
  assert.is(x.items.external(399), 'i399');
  assert.is(x.implicit, false);
  const seen = new Set<number>();
  const per = new Int32Array(1000);
  const ratings = new Set<number>();
  for (let p = 0; p < x.user.length; p++) {
    const key = x.user[p] * 400 + x.item[p];
    assert.not.ok(seen.has(key), `duplicate pair at ${p}`);
    seen.add(key);
    per[x.user[p]]++;
    const r = x.rating[p];
    assert.ok(Number.isInteger(r) && r >= 1 && r <= 5, `rating ${r}`);
    ratings.add(r);
    if (p > 0) assert.ok(x.timestamp![p] > x.timestamp![p - 1]);
  }
  assert.is(ratings.size, 5);
  let min = Infinity, max = 0;
  for (const c of per) { min = Math.min(min, c); max = Math.max(max, c); }
  assert.ok(min >= 5 && max <= 300, `per-user range ${min}..${max}`);
  assert.ok(max > 5 * (30000 / 1000), 'activity is heavy-tailed');
  // users are interleaved in time, not one after another
  let switches = 0;
  for (let p = 1; p < x.user.length; p++) if (x.user[p] !== x.user[p - 1]) switches++;
  assert.ok(switches > x.user.length / 2);

  const imp = generateInteractions({ users: 100, items: 50, interactions: 1000, explicit: false, seed: 3 });
  assert.is(imp.implicit, true);
  assert.ok(imp.rating.every((v) => v === 1));
  // dense corner: every user takes every item
  const full = generateInteractions({ users: 20, items: 30, interactions: 600, seed: 1 });
  assert.is(new Set(Array.from(full.user, (u, p) => u * 30 + full.item[p])).size, 600);
  assert.throws(() => generateInteractions({ users: 2, items: 2, interactions: 5 }), /exceeds/);
});

test('generator: item popularity follows Zipf (slope of log count vs log rank over the top 100)', () => {
  for (const zipf of [0.8, 1.0, 1.2]) {
    const x = generateInteractions({ users: 50000, items: 5000, interactions: 100000, zipf, seed: 5 });
    const slope = zipfSlope(x, 100);
    assert.ok(Math.abs(slope + zipf) <= 0.15, `zipf ${zipf}: slope ${slope.toFixed(3)}`);
  }
  // popularity is not tied to the item id
  const x = generateInteractions({ users: 5000, items: 1000, interactions: 50000, zipf: 1, seed: 5 });
  const c = new Float64Array(1000);
  for (const i of x.item) c[i]++;
  let top = 0;
  for (let i = 1; i < 1000; i++) if (c[i] > c[top]) top = i;
  let ascending = 0;
  for (let i = 1; i < 1000; i++) if (c[i] <= c[i - 1]) ascending++;
  assert.ok(ascending < 700, 'counts are not sorted by id');
});

test('generator: explicit ratings carry a learnable signal (user and item means vary)', () => {
  const x = embeddedDataset();
  assert.is(x.user.length, 60000);
  assert.is(x.users.size, 2000);
  assert.is(x.items.size, 1000);
  const s = new Float64Array(1000), n = new Float64Array(1000);
  for (let p = 0; p < x.user.length; p++) { s[x.item[p]] += x.rating[p]; n[x.item[p]]++; }
  const means: number[] = [];
  for (let i = 0; i < 1000; i++) if (n[i] >= 30) means.push(s[i] / n[i]);
  const m = means.reduce((a, b) => a + b, 0) / means.length;
  const sd = Math.sqrt(means.reduce((a, b) => a + (b - m) * (b - m), 0) / means.length);
  assert.ok(m > 3 && m < 4.2, `mean ${m}`);
  // with ≥30 ratings the sampling noise of an item mean is ≈ 0.2; a real item effect pushes the spread above it
  assert.ok(sd > 0.3, `item mean spread ${sd}`);
  assert.ok(same(x, embeddedDataset()));
});

test('writeSyntheticCsv: reads back identically; same seed → same bytes (plain and gzip)', async () => {
  const o = { users: 200, items: 100, interactions: 3000, seed: 9 };
  const a = path.join(tmp, 'a.csv.gz'), b = path.join(tmp, 'b.csv.gz'), c = path.join(tmp, 'c.csv');
  const x = await writeSyntheticCsv({ ...o, out: a });
  await writeSyntheticCsv({ ...o, out: b });
  await writeSyntheticCsv({ ...o, out: c });
  assert.ok(readFileSync(a).equals(readFileSync(b)));
  assert.is(gunzipSync(readFileSync(a)).toString(), readFileSync(c, 'utf8'));
  assert.is(readFileSync(c, 'utf8').split('\n')[0], 'user,item,rating,timestamp');
  const y = await readInteractions(a, { duplicates: 'error' });
  assert.is(y.user.length, 3000);
  for (let p = 0; p < 3000; p++) {
    assert.is(y.users.external(y.user[p]), x.users.external(x.user[p]));
    assert.is(y.items.external(y.item[p]), x.items.external(x.item[p]));
    assert.is(y.rating[p], x.rating[p]);
    assert.is(y.timestamp![p], x.timestamp![p]);
  }
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
