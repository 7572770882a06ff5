/**
 * The two-tower model on tiny synthetic data with side features (js backend, one thread): fit
 * lowers the loss; recommend excludes seen items and agrees with recommendBatch; users and items
 * without interactions are scored from their features (different features, different lists);
 * save/load round-trips exactly; a seed makes fits bit-identical; every logq mode, the curriculum
 * and balancing train; bad params are clear errors; an AbortSignal stops fit.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../src/engine/engine.js';
import { fromTriplets, subset, toCsr, type Interactions } from '../src/data/interactions.js';
import { mulberry32 } from './helpers/random.js';
import type { SideInfo } from '../src/data/sideInfo.js';
import { TwoTower } from '../src/models/neural/twoTower.js';
import { allModels } from '../src/models/registry.js';
import type { ModelParams } from '../src/models/types.js';

const engine = new Engine({ threads: 1, backend: 'js' });
const dir = mkdtempSync(join(tmpdir(), 'affinity-twotower-'));
const small: ModelParams = { dim: 8, hidden: 16, epochs: 12, batch_size: 32, lr: 0.02, seed: 5 };

/** 50 users in two groups; each interacts with 12 of its group's 15 items (structure the towers can learn) */
function grouped(): Interactions {
  const rows: Array<[string, string, number]> = [];
  const rnd = mulberry32(4);
  for (let u = 0; u < 50; u++) {
    const g = u % 2, picks = new Set<number>();
    while (picks.size < 12) picks.add(g * 15 + Math.floor(rnd() * 15));
    for (const i of picks) rows.push([String(u), String(i), 1]);
  }
  // every item id in the map, in order
  return fromTriplets(rows.sort((a, b) => Number(a[1]) - Number(b[1]) || Number(a[0]) - Number(b[0])), true);
}
const full = grouped();
/** users 0 and 1 and item 0 lose every interaction: cold, but in the id maps */
function coldData(): Interactions {
  const keep: number[] = [];
  for (let p = 0; p < full.user.length; p++) if (full.user[p] > 1 && full.item[p] !== 0) keep.push(p);
  return subset(full, keep);
}
const x = coldData();

function side(kind: 'item' | 'user', ids: string[], tokens: (r: number) => string[]): SideInfo {
  return { kind, ids, features: new Map(ids.map((id, r) => [id, tokens(r)])), text: new Map(ids.map((id, r) => [id, kind === 'item' ? `title ${r % 4}` : ''])) };
}
// tokens by external id: items carry their group as a genre, users their group as an occupation
const items = side('item', x.items.ids().map(String), (r) => [`genre=g${Math.floor(Number(x.items.external(r)) / 15)}`, `decade=d${r % 3}`]);
const users = side('user', x.users.ids().map(String), (r) => [`age=a${r % 4}`, `occupation=o${Number(x.users.external(r)) % 2}`]);

async function fitted(params: ModelParams = small, data = x): Promise<TwoTower> {
  const m = new TwoTower(params);
  m.setSideInfo({ items, users });
  await m.fit(data, { engine });
  return m;
}

test('fit lowers the in-batch softmax loss', async () => {
  const m = await fitted();
  const h = m.history;
  assert.is(h.length, 12);
  assert.ok(h.every((e) => Number.isFinite(e.loss)));
  assert.ok(h[11].loss < 0.95 * h[0].loss, `loss ${h[0].loss} → ${h[11].loss}`);
});

test('recommend excludes seen items and agrees with recommendBatch', async () => {
  const m = await fitted();
  const ur = toCsr(x);
  const all = Int32Array.from({ length: x.users.size }, (_, u) => u);
  const batch = await m.recommendBatch(all, 8, { engine, backend: 'js' });
  for (const u of all) {
    const seen = new Set(ur.indices.subarray(ur.indptr[u], ur.indptr[u + 1]));
    const r = m.recommend(u, 8, { engine });
    for (const i of r.ids) assert.not.ok(seen.has(i), `user ${u} got seen item ${i}`);
    assert.equal(Array.from(batch[u].ids), Array.from(r.ids));
    assert.equal(Array.from(batch[u].scores), Array.from(r.scores));
  }
  const only = m.recommend(3, 2, { engine, items: [1, 2, 3], filterSeen: false });
  for (const i of only.ids) assert.ok([1, 2, 3].includes(i));
});

test('users and items without interactions are scored from their features', async () => {
  const m = await fitted();
  const cold0 = m.recommend(0, 30, { engine }), cold1 = m.recommend(1, 30, { engine });
  assert.is(cold0.ids.length, 30);
  assert.ok(cold0.scores.every(Number.isFinite));
  assert.not.equal(Array.from(cold0.ids), Array.from(cold1.ids));
  assert.is(m.predict(0, 5).impossible, false);
  // the cold item has a finite score from its genre and decade
  assert.ok(Array.from(cold0.ids).includes(0));
  // a cold user's top items come from their group (items of group g are '15g'…'15g+14')
  for (const u of [0, 1]) {
    const g = Number(m.userIds.external(u)) % 2;
    const top = Array.from(m.recommend(u, 5, { engine }).ids, (i) => Math.floor(Number(m.itemIds.external(i)) / 15));
    assert.ok(top.filter((t) => t === g).length >= 4, `cold user ${u} (group ${g}): groups of the top 5 ${top}`);
  }
  // features alone, by token; unknown tokens are ignored
  const byTokens = m.recommendForFeatures([...users.features.get(String(m.userIds.external(0)))!, 'nonsense=1'], 30, { engine });
  assert.equal(Array.from(byTokens.ids), Array.from(cold0.ids));
  // without side info a cold user has nothing but the towers' biases: impossible
  const bare = new TwoTower(small);
  await bare.fit(x, { engine });
  assert.is(bare.predict(0, 5).impossible, true);
});

test('save/load round-trips exactly', async () => {
  const m = await fitted();
  const file = join(dir, 'tt.affm');
  m.save(file);
  const back = TwoTower.load(file);
  assert.equal(back.params, m.params);
  for (const u of [0, 1, 7, 20]) {
    const a = m.recommend(u, 8, { engine }), b = back.recommend(u, 8, { engine });
    assert.equal(Array.from(a.ids), Array.from(b.ids));
    assert.equal(Array.from(a.scores), Array.from(b.scores));
  }
});

test('a seed makes fits bit-identical; another seed differs', async () => {
  const a = await fitted(), b = await fitted(), c = await fitted({ ...small, seed: 6 });
  const ra = a.recommend(9, 30, { engine, filterSeen: false }), rb = b.recommend(9, 30, { engine, filterSeen: false }), rc = c.recommend(9, 30, { engine, filterSeen: false });
  assert.equal(Array.from(ra.scores), Array.from(rb.scores));
  assert.not.equal(Array.from(ra.scores), Array.from(rc.scores));
});

for (const extra of [{ logq: 'train' }, { logq: 'none' }, { curriculum: 'item-popularity' }, { curriculum: 'loss' }, { balance_gamma: 0.5 }, { validation: 6, patience: 2 }] as ModelParams[]) {
  test(`training with ${JSON.stringify(extra)} runs and lowers the loss`, async () => {
    const m = await fitted({ ...small, curriculum_epochs: 3, ...extra });
    const h = m.history;
    const from = extra.curriculum ? 3 : 0;
    assert.ok(h.length >= 1);
    if (h.length > from + 1) assert.ok(h[h.length - 1].loss < h[from].loss, `loss ${h[from].loss} → ${h[h.length - 1].loss}`);
    if (extra.validation) for (const e of h) assert.ok(e.metric! >= 0 && e.metric! <= 1);
    assert.ok(m.recommend(0, 5, { engine }).ids.length === 5);
  });
}

test('bad params are clear errors', () => {
  assert.throws(() => new TwoTower({ batch_size: 1 }), /two-tower: batch_size must be an integer ≥ 2/);
  assert.throws(() => new TwoTower({ feature_dropout: 1 }), /feature_dropout must be in \[0, 1\)/);
  assert.throws(() => new TwoTower({ history_dropout: 2 }), /history_dropout must be in \[0, 1\]/);
  assert.throws(() => new TwoTower({ logq: 'maybe' }), /logq must be one of rank\|train\|none/);
  assert.throws(() => new TwoTower({ items: 3 }), /two-tower: items must be a file path/);
  assert.throws(() => new TwoTower({ towers: 3 }), /unknown parameter 'towers'/);
  assert.throws(() => new TwoTower().recommend(0, 3), /two-tower: recommend\(\) before fit/);
});

test('an AbortSignal stops fit', async () => {
  const ac = new AbortController();
  const m = new TwoTower(small);
  m.setSideInfo({ items, users });
  const r = await m.fit(x, { engine, signal: ac.signal, onEpoch: (e) => { if (e === 1) ac.abort(new Error('halt')); } }).then(() => null, (e: unknown) => e);
  assert.match((r as Error).message, /halt/);
  assert.not.ok(m.isFitted);
});

test('two-tower is in the registry and takes side information', () => {
  const m = allModels['two-tower']();
  assert.is(m.name, 'two-tower');
  assert.is(typeof (m as TwoTower).setSideInfo, 'function');
});

test.after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await engine.close();
});

test.run();
