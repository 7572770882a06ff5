import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fromTriplets, type Interactions } from '../src/data/interactions.js';
import { parseItemFeatures, parseUserFeatures, readItemFeatures, readUserFeatures, ageBucket } from '../src/data/sideInfo.js';
import { DataFormatError } from '../src/data/readers.js';
import { Popularity, ContentKNN, Hybrid, FeatureMF, contentModels, profileScore, weightedMeanProfile, } from '../src/models/content/index.js';
import { attachSideInfo } from '../src/models/attachSideInfo.js';
import type { Model, Recommendations, RecommendOptions } from '../src/models/types.js';

const close = (a: number, b: number, eps = 1e-9, msg?: string): void => assert.ok(Math.abs(a - b) <= eps, msg ?? `${a} ≠ ${b}`);
const ext = (x: Interactions, ids: ArrayLike<number>): string[] => Array.from(ids, (i) => String(x.items.external(i)));

// ---------------------------------------------------------------- side info readers (synthetic fixtures)

const dir = mkdtempSync(join(tmpdir(), 'affinity-content-'));
const flags = (on: number[]): string => Array.from({ length: 19 }, (_, g) => (on.includes(g) ? '1' : '0')).join('|');

test('u.item (pipe, latin-1, gzip): genres, decade, title text', async () => {
  // a synthetic two-line catalogue in the u.item layout; 'Café' is written as latin-1 (é = 0xe9)
  const text = `10|Café Robots (1994)|01-Jan-1994||http://example.org/10|${flags([1, 15])}\n` +
    `11|Quiet Garden (1971)|01-Jan-1971||http://example.org/11|${flags([8])}\n`;
  const path = join(dir, 'u.item.gz');
  writeFileSync(path, gzipSync(Buffer.from(text, 'latin1')));
  const info = await readItemFeatures(path);
  assert.equal(info.ids, ['10', '11']);
  assert.equal(info.features.get('10'), ['genre=Action', 'genre=Sci-Fi', 'decade=1990s']);
  assert.equal(info.features.get('11'), ['genre=Drama', 'decade=1970s']);
  assert.is(info.text.get('10'), 'Café Robots');
  // wrong field count → DataFormatError naming the line
  try {
    parseItemFeatures('1|x|y\n', { format: 'movielens-100k-item', name: 'bad.item' });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, DataFormatError);
    assert.match((e as Error).message, /^bad\.item:1: expected 24/);
  }
});

test('movies.dat (::) and movies.csv (quoted)', async () => {
  const dat = join(dir, 'movies.dat');
  writeFileSync(dat, Buffer.from('1::Zebra Night (2001)::Comedy|Drama\n2::Über Mensch (1988)::(no genres listed)\n', 'latin1'));
  const d = await readItemFeatures(dat);
  assert.equal(d.features.get('1'), ['genre=Comedy', 'genre=Drama', 'decade=2000s']);
  assert.equal(d.features.get('2'), ['decade=1980s']);
  assert.is(d.text.get('2'), 'Über Mensch');
  const csv = join(dir, 'movies.csv');
  writeFileSync(csv, 'movieId,title,genres\n7,"Cat, The (1999)",Horror|Thriller\n8,"He said ""hi"" (2010)",Comedy\n');
  const c = await readItemFeatures(csv);
  assert.equal(c.ids, ['7', '8']);
  assert.is(c.text.get('7'), 'Cat, The');
  assert.is(c.text.get('8'), 'He said "hi"');
  assert.equal(c.features.get('7'), ['genre=Horror', 'genre=Thriller', 'decade=1990s']);
});

test('generic csv items and u.user / users.dat users', async () => {
  const g = parseItemFeatures('sku;name;tags;brand\nA1;Red shoe;sport,run;Acme\nB2;Blue hat;;Hats\n', {
    format: 'csv', delimiter: ';', idColumn: 'sku', textColumns: ['name'], categoricalColumns: ['tags', 'brand'], listSeparator: ',',
  });
  assert.equal(g.features.get('A1'), ['tags=sport', 'tags=run', 'brand=Acme']);
  assert.equal(g.features.get('B2'), ['brand=Hats']);
  assert.is(g.text.get('B2'), 'Blue hat');
  assert.throws(() => parseItemFeatures('a,b\n1,2\n', { format: 'csv' }), /needs textColumns/);
  const upath = join(dir, 'u.user');
  writeFileSync(upath, '1|24|M|technician|85711\n2|53|F|other|94043\n3|17|F|student|T8H1N\n');
  const u = await readUserFeatures(upath);
  assert.equal(u.features.get('1'), ['age=18-24', 'gender=M', 'occupation=technician', 'zip=8']);
  assert.equal(u.features.get('2'), ['age=50-55', 'gender=F', 'occupation=other', 'zip=9']);
  assert.equal(u.features.get('3')![0], 'age=<18');
  const dat = parseUserFeatures('1::F::1::10::48067\n2::M::56::16::70072\n', { format: 'movielens-dat-user' });
  assert.equal(dat.features.get('2'), ['gender=M', 'age=56+', 'occupation=16', 'zip=7']);
  assert.is(ageBucket(35), '35-44');
  assert.throws(() => parseUserFeatures('1|abc|M|x|1\n', { format: 'movielens-100k-user' }), /:1: age 'abc' is not a number/);
  assert.throws(() => parseUserFeatures('1|20|M|x|1\n1|20|M|x|1\n', { format: 'movielens-100k-user' }), /:2: duplicate user id '1'/);
});

// ---------------------------------------------------------------- popularity

test('popularity: most interacted first, seen items filtered, works for a new user', async () => {
  // a: 3 users, b: 2, c: 1
  const x = fromTriplets([['u1', 'a'], ['u2', 'a'], ['u3', 'a'], ['u1', 'b'], ['u2', 'b'], ['u3', 'c']], true);
  x.users.add('new');
  const m = new Popularity();
  await m.fit(x);
  const newUser = x.users.index('new')!;
  assert.equal(ext(x, m.recommend(newUser, 3).ids), ['a', 'b', 'c']);
  assert.equal(Array.from(m.recommend(newUser, 3).scores), [3, 2, 1]);
  assert.equal(ext(x, m.recommend(x.users.index('u1')!, 3).ids), ['c']); // a, b seen
  assert.equal(ext(x, m.recommend(x.users.index('u1')!, 3, { filterSeen: false }).ids), ['a', 'b', 'c']);
  assert.throws(() => m.recommend(newUser, 0), /k must be a positive integer/);
});

test('popularity: time decay exp(−λ(t_max − t)) with half_life 5', async () => {
  // a: 3 interactions at t=0; b: 2 at t=10; c: 1 at t=5; t_max = 10, λ = ln2/5
  // a = 3·2^(−10/5) = 0.75, b = 2·2^0 = 2, c = 1·2^(−5/5) = 0.5 → b, a, c
  const x = fromTriplets([['u1', 'a', 1, 0], ['u2', 'a', 1, 0], ['u3', 'a', 1, 0], ['u1', 'b', 1, 10], ['u2', 'b', 1, 10], ['u3', 'c', 1, 5]], true);
  const m = new Popularity({ half_life: 5 });
  await m.fit(x);
  x.users.add('new');
  const r = m.recommend(x.users.index('new')!, 3);
  assert.equal(ext(x, r.ids), ['b', 'a', 'c']);
  close(r.scores[0], 2, 1e-6); close(r.scores[1], 0.75, 1e-6); close(r.scores[2], 0.5, 1e-6);
  // same with decay = λ directly
  const m2 = new Popularity({ decay: Math.LN2 / 5 });
  await m2.fit(x);
  close(m2.itemScores()[x.items.index('a')!], 0.75, 1e-12);
  // rating weighting: a = 1+1+5 = 7, b = 2
  const y = fromTriplets([['u1', 'a', 1], ['u2', 'a', 1], ['u3', 'a', 5], ['u1', 'b', 2]]);
  const m3 = new Popularity({ weighting: 'rating' });
  await m3.fit(y);
  assert.equal(Array.from(m3.itemScores()), [7, 2]);
});

test('popularity: decay without timestamps is a clear error; bad params too', async () => {
  const x = fromTriplets([['u1', 'a'], ['u2', 'b']], true);
  await assert.not.throws(() => new Popularity({ decay: 0 }).fit(x));
  try { await new Popularity({ decay: 0.1 }).fit(x); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /needs timestamps/); }
  assert.throws(() => new Popularity({ decay: -1 }), /decay must be ≥ 0/);
  assert.throws(() => new Popularity({ decay: 1, half_life: 2 }), /not both/);
  assert.throws(() => new Popularity({ weighting: 'x' }), /count\|rating/);
  assert.throws(() => new Popularity({ bogus: 1 }), /unknown parameter 'bogus'/);
});

// ---------------------------------------------------------------- content-knn

test('the seed example: (0.2, 0.3, 0.5) · (0.1, 0.4, 0.5) = 0.02 + 0.12 + 0.25 = 0.39', async () => {
  close(profileScore([0.2, 0.3, 0.5], [0.1, 0.4, 0.5]), 0.39, 1e-12);
  // cosine: 0.39 / (√0.38 · √0.42) = 0.39 / 0.399500 = 0.976220
  close(profileScore([0.2, 0.3, 0.5], [0.1, 0.4, 0.5], 'cosine'), 0.39 / Math.sqrt(0.38 * 0.42), 1e-12);
  // weighted mean of one-hot profiles with weights 2, 3, 5 → (0.2, 0.3, 0.5)
  const p = weightedMeanProfile([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [2, 3, 5]);
  assert.equal(Array.from(p), [0.2, 0.3, 0.5]);
  // end to end through ContentKNN: items A, B, C have one word each; D has words xx×1, yy×4, zz×5
  // → relative tf (0.1, 0.4, 0.5); the user rated A 2, B 3, C 5 → profile (0.2, 0.3, 0.5)
  const items = parseItemFeatures('id,text\nA,xx\nB,yy\nC,zz\nD,xx yy yy yy yy zz zz zz zz zz\n', { format: 'csv', textColumns: ['text'] });
  const x = fromTriplets([['u', 'A', 2], ['u', 'B', 3], ['u', 'C', 5], ['v', 'D', 4]]);
  const m = new ContentKNN({ metric: 'dot', tf: 'relative', idf: false, normalize: false });
  m.setSideInfo({ items });
  await m.fit(x);
  const u = x.users.index('u')!, D = x.items.index('D')!;
  close(m.predict(u, D).estimate, 0.39, 1e-6);
  assert.equal(Array.from(m.userProfile(u)!).map((v) => Math.round(v * 1e6) / 1e6), [0.2, 0.3, 0.5]);
});

const CATALOGUE = 'id,title,genres\n' +
  'a,Space War,Sci-Fi|Action\n' +
  'b,Space Love,Sci-Fi|Romance\n' +
  'c,Love Story,Romance|Drama\n' +
  'd,War Games,Action\n' +
  'e,Cooking Show,Documentary\n' +
  'f,Space Games,Sci-Fi|Action\n';
const catalogue = () => parseItemFeatures(CATALOGUE, { format: 'csv', textColumns: ['title'], categoricalColumns: ['genres'] });

test('content-knn on a tiny catalogue: TF-IDF, cosine, a cold item is recommended', async () => {
  // u1 liked a (Space War, Sci-Fi/Action) and d (War Games, Action); f has no interactions at all
  const x = fromTriplets([['u1', 'a', 5], ['u1', 'd', 4], ['u2', 'b', 5], ['u2', 'c', 3], ['u3', 'e', 4]]);
  x.items.add('f');
  x.users.add('new');
  const m = new ContentKNN();
  m.setSideInfo({ items: catalogue() });
  await m.fit(x);
  const u1 = x.users.index('u1')!;
  const r = m.recommend(u1, 4);
  // f shares Sci-Fi, Action, space, games with u1's items → first; b shares Sci-Fi and 'space';
  // c and e share nothing → 0, ties by index (c before e)
  assert.equal(ext(x, r.ids), ['f', 'b', 'c', 'e']);
  assert.ok(r.scores[0] > r.scores[1] && r.scores[1] > 0);
  assert.is(r.scores[2], 0); assert.is(r.scores[3], 0);
  // profiles are unit length; the cosine is at most 1
  assert.ok(r.scores[0] <= 1 + 1e-6);
  // popularity cannot see f (no interactions)
  const pop = new Popularity();
  await pop.fit(x);
  assert.is(pop.predict(u1, x.items.index('f')!).impossible, true);
  // a user with no history has no profile
  const nu = x.users.index('new')!;
  assert.is(m.recommend(nu, 3).ids.length, 0);
  assert.is(m.predict(nu, 0).reason, 'user unknown');
  // similar items to a: idf = ln(6/3) = ln 2 for Sci-Fi, Action, space; ln(6/2) = ln 3 for war, games
  //   a·f = 3(ln2)² = 1.441359, ‖a‖² = ‖f‖² = 3(ln2)² + (ln3)² = 2.648308 → cos 0.544256
  //   a·d = (ln2)² + (ln3)² = 1.687402, ‖d‖² = (ln2)² + 2(ln3)² = 2.894351 → cos 1.687402/2.768626 = 0.609475
  //   (the rare shared word 'war' outweighs three common shared tokens)
  const sim = m.similarItems(x.items.index('a')!, 2);
  assert.equal(ext(x, sim.ids), ['d', 'f']);
  close(sim.scores[0], 0.609475, 1e-5);
  close(sim.scores[1], 0.544256, 1e-5);
  close(m.itemSimilarity(0, 0), 1, 1e-6);
  // without side info: a clear error
  await new ContentKNN().fit(x).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /needs item side info/));
});

test('content-knn reads items=FILE from params', async () => {
  const path = join(dir, 'catalogue.csv');
  writeFileSync(path, 'movieId,title,genres\n1,Alpha (1990),Comedy\n2,Beta (1990),Comedy\n3,Gamma (1990),Horror\n');
  const x = fromTriplets([['u', '1', 5], ['v', '2', 1], ['v', '3', 1]]);
  const m = contentModels['content-knn']({ items: path, text: false });
  await m.fit(x);
  assert.equal(ext(x, m.recommend(x.users.index('u')!, 2).ids), ['2', '3']);
  assert.is(attachSideInfo(new Popularity(), {}), false);
});

// ---------------------------------------------------------------- hybrid

/** A model with fixed item scores, the same for every user (to check blending by hand). */
class Fixed implements Model {
  readonly predictsRatings = false;
  constructor(readonly name: string, private readonly s: number[]) {}
  async fit(): Promise<void> {}
  predict(_u: number, i: number) { return { estimate: this.s[i], impossible: false }; }
  recommend(_u: number, k: number, o: RecommendOptions = {}): Recommendations {
    const items = o.items ? Array.from(o.items) : this.s.map((_, i) => i);
    items.sort((a, b) => this.s[b] - this.s[a] || a - b);
    const top = items.slice(0, k);
    return { ids: Int32Array.from(top), scores: Float32Array.from(top.map((i) => this.s[i])) };
  }
}

test('hybrid weighted: per-user min-max normalization then blending', async () => {
  const x = fromTriplets([['u', 'i0'], ['u', 'i1'], ['u', 'i2'], ['u', 'i3']], true);
  // A = (10, 0, 5, 20) → (0.5, 0, 0.25, 1);  B = (1, 3, 2, 0) → (1/3, 1, 2/3, 0)
  const A = new Fixed('A', [10, 0, 5, 20]), B = new Fixed('B', [1, 3, 2, 0]);
  const h = new Hybrid(A, B, { mode: 'weighted', weight: 0.5 });
  await h.fit(x);
  // w = 0.5: (0.416667, 0.5, 0.458333, 0.5) → 1, 3 (tie, lower index first), 2, 0
  const r = h.recommend(0, 4, { filterSeen: false });
  assert.equal(Array.from(r.ids), [1, 3, 2, 0]);
  close(r.scores[2], 0.458333, 1e-6);
  // w = 0.8: (0.466667, 0.2, 0.333333, 0.8) → 3, 0, 2, 1
  const h2 = new Hybrid(A, B, { mode: 'weighted', weight: 0.8 });
  await h2.fit(x);
  const r2 = h2.recommend(0, 4, { filterSeen: false });
  assert.equal(Array.from(r2.ids), [3, 0, 2, 1]);
  close(r2.scores[1], 0.8 * 0.5 + 0.2 / 3, 1e-6);
  close(h2.predict(0, 2).estimate, 0.8 * 0.25 + 0.2 * (2 / 3), 1e-6);
  assert.throws(() => new Hybrid(A, B, { weight: 1.5 }), /weight must be in \[0, 1\]/);
});

test('hybrid switch: short histories go to B (popularity), others to A (content)', async () => {
  // u1 has 2 items, u2 has 1, 'new' has none; threshold 2 → u1 → content, u2/new → popularity
  const x = fromTriplets([['u1', 'a', 5], ['u1', 'd', 4], ['u2', 'b', 5], ['u3', 'b', 4], ['u3', 'c', 3], ['u4', 'b', 3]]);
  x.items.add('e'); x.items.add('f');
  x.users.add('new');
  const h = contentModels.hybrid({ mode: 'switch', threshold: 2, a: 'content-knn', b: 'popularity', 'a.text': true }) as Hybrid;
  h.setSideInfo({ items: catalogue() });
  await h.fit(x);
  const u1 = x.users.index('u1')!, u2 = x.users.index('u2')!, nu = x.users.index('new')!;
  assert.is(h.route(u1), 'a');
  assert.is(h.route(u2), 'b');
  assert.is(h.route(nu), 'b');
  const { a, b } = h.models;
  assert.is(a.name, 'content-knn');
  assert.is(b.name, 'popularity');
  assert.equal(Array.from(h.recommend(u1, 3).ids), Array.from(a.recommend(u1, 3).ids));
  assert.equal(Array.from(h.recommend(nu, 2).ids), Array.from(b.recommend(nu, 2).ids));
  assert.is(String(x.items.external(h.recommend(nu, 1).ids[0])), 'b'); // most popular
  // a switch hybrid the other way round fills a new user's empty content list from popularity
  const h2 = new Hybrid({ a: 'popularity', b: 'content-knn', threshold: 1 });
  h2.setSideInfo({ items: catalogue() });
  await h2.fit(x);
  const filled = h2.recommend(nu, 3);
  // popularity: b (3 users), then a, d, c (1 each) by index (a=0, d=1, b=2, c=3)
  assert.equal(ext(x, filled.ids), ['b', 'a', 'd']);
  // unknown sub-model name → a clear error at fit
  await new Hybrid({ a: 'nope' }).fit(x).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /unknown model 'nope'/));
});

test('hybrid defaults: item-knn for users with ≥ 5 training items, popularity below; no side info needed', async () => {
  const rows: Array<[string, string, number]> = [];
  for (let u = 0; u < 30; u++) for (let j = 0; j < 6 + (u % 5); j++) rows.push([`u${u}`, `i${(u * 3 + j * 7) % 25}`, 1 + ((u + j) % 5)]);
  rows.push(['short', 'i1', 4], ['short', 'i2', 5]);
  const x = fromTriplets(rows);
  x.users.add('new');
  const h = contentModels.hybrid({}) as Hybrid;
  assert.equal({ ...h.options }, { mode: 'switch', threshold: 5, weight: 0.5, candidates: 100 });
  await h.fit(x);
  const { a, b } = h.models;
  assert.equal([a.name, b.name], ['item-knn', 'popularity']);
  const warm = x.users.index('u3')!, short = x.users.index('short')!, nu = x.users.index('new')!;
  assert.equal([h.route(warm), h.route(short), h.route(nu)], ['a', 'b', 'b']);
  assert.equal(Array.from(h.recommend(warm, 5).ids), Array.from(a.recommend(warm, 5).ids));
  assert.equal(Array.from(h.recommend(nu, 5).ids), Array.from(b.recommend(nu, 5).ids));
  assert.is(h.recommend(nu, 5).ids.length, 5, 'a new user gets the popular items');
});

// ---------------------------------------------------------------- feature-mf

test('feature-mf scores a brand-new user from side features (planted pattern)', async () => {
  // 40 users: even ones are group=A and like items i0..i4, odd ones are group=B and like i5..i9
  // (each user 3 of their group's 5 items). 'newA' / 'newB' have side features but no interactions.
  const rows: Array<[string, string]> = [];
  let userCsv = 'id,group\n';
  for (let u = 0; u < 40; u++) {
    const g = u % 2 === 0 ? 'A' : 'B';
    userCsv += `u${u},${g}\n`;
    const base = g === 'A' ? 0 : 5;
    for (let t = 0; t < 3; t++) rows.push([`u${u}`, `i${base + ((u + t) % 5)}`]);
  }
  userCsv += 'newA,A\nnewB,B\n';
  const x = fromTriplets(rows, true);
  x.users.add('newA'); x.users.add('newB'); x.users.add('nobody');
  const users = parseUserFeatures(userCsv, { format: 'csv', categoricalColumns: ['group'] });
  const fit = async (seed: number) => {
    const m = new FeatureMF({ factors: 8, epochs: 30, lr: 0.05, seed });
    m.setSideInfo({ users });
    await m.fit(x);
    return m;
  };
  const m = await fit(3);
  const groupA = new Set(['i0', 'i1', 'i2', 'i3', 'i4']);
  const topA = ext(x, m.recommend(x.users.index('newA')!, 5).ids);
  const topB = ext(x, m.recommend(x.users.index('newB')!, 5).ids);
  assert.equal(new Set(topA), groupA, `newA got ${topA}`);
  assert.ok(topB.every((i) => !groupA.has(i)), `newB got ${topB}`);
  // a user that is not even in the id map, described only by features
  const fresh = ext(x, m.recommendForFeatures(['group=B'], 5).ids);
  assert.ok(fresh.every((i) => !groupA.has(i)), `fresh B user got ${fresh}`);
  // a user added to the shared id map after fit is described by its side-info row
  x.users.add('newA');
  const late = parseUserFeatures(userCsv + 'lateA,A\n', { format: 'csv', categoricalColumns: ['group'] });
  m.setSideInfo({ users: late });
  const lateIdx = x.users.add('lateA');
  assert.equal(new Set(ext(x, m.recommend(lateIdx, 5).ids)), groupA);
  // no history and no features: still scored (by item bias), flagged impossible in predict
  assert.is(m.recommend(x.users.index('nobody')!, 3).ids.length, 3);
  assert.is(m.predict(x.users.index('nobody')!, 0).impossible, true);
  // seeded: same seed → identical factors; different seed → different
  const again = await fit(3);
  assert.equal(Array.from(again.itemFactors.data), Array.from(m.itemFactors.data));
  const other = await fit(4);
  assert.not.equal(Array.from(other.itemFactors.data), Array.from(m.itemFactors.data));
  // logistic loss learns the same pattern
  const lg = new FeatureMF({ factors: 8, epochs: 30, loss: 'logistic', negatives: 2, seed: 1 });
  lg.setSideInfo({ users });
  await lg.fit(x);
  assert.equal(new Set(ext(x, lg.recommend(x.users.index('newA')!, 5).ids)), groupA);
  assert.throws(() => new FeatureMF({ loss: 'hinge' }), /bpr\|logistic/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
