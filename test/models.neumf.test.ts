/**
 * NeuMF on tiny synthetic data (two groups of users, each interacting with one group of items):
 * the network's gradients against finite differences; it learns the groups and its loss falls;
 * recommend excludes the seen items, returns no padding, agrees with predict; recommendBatch equals
 * recommend; save/load round-trips exactly; a seed makes fits bit-identical; early stopping on a
 * validation set; curriculum and balancing; bad parameters are clear errors; AbortSignal.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../src/engine/engine.js';
import { Rng } from '../src/data/random.js';
import { fromTriplets, type Interactions } from '../src/data/interactions.js';
import { leaveLastSplit } from '../src/data/leaveLast.js';
import { Runtime } from '../src/nn/runtime.js';
import { ParamArena, type Param } from '../src/nn/params.js';
import { NeuMF, NeumfNet } from '../src/models/neural/neumf.js';
import { SASRec } from '../src/models/neural/sasrec.js';
import type { ModelParams } from '../src/models/types.js';
import { gridValues } from './helpers/nnCheck.js';
import { mulberry32 } from './helpers/random.js';

const engine = new Engine({ threads: 1, backend: 'js' });
const ctx = { engine };
const H = 2 ** -8;
const tiny = { factors: 4, layers: 2, lr: 0.02, batchSize: 64, epochs: 15, patience: 0, seed: 2 };

/** users × items: user u (group u mod 2) interacts with `per` random items of its group (item i in group i mod 2), timestamps in order. */
function groups(users: number, items: number, per: number, seed = 1): Interactions {
  const rnd = mulberry32(seed);
  const rows: Array<[string, string, number, number]> = [];
  for (let u = 0; u < users; u++) {
    const chosen = new Set<number>();
    while (chosen.size < per) chosen.add(2 * Math.floor(rnd() * (items / 2)) + (u % 2));
    let t = 0;
    for (const i of chosen) rows.push([`u${u}`, `i${i}`, 1, t++]);
  }
  return fromTriplets(rows, true);
}

function groupOf(x: Interactions, i: number): number {
  return Number(String(x.items.external(i)).slice(1)) % 2;
}

function gradOf(p: Param): Float64Array {
  const g = new Float64Array(p.size);
  if (p.grad) g.set(p.grad);
  for (const s of p.sparse) s.rows.forEach((row, r) => { for (let j = 0; j < p.cols; j++) g[row * p.cols + j] += s.values[r * p.cols + j]; });
  return g;
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  const e = await p.then(() => null, (err: unknown) => err);
  assert.ok(e instanceof Error, 'expected a rejection');
  assert.match((e as Error).message, re);
}

test('the network (GMF ⊙, split first layer, ReLU tower, fused output) has the gradients of its finite differences', async () => {
  const rt = new Runtime(ctx, 1), arena = new ParamArena();
  const net = new NeumfNet(rt, arena, 5, 6, { ...new NeuMF(tiny).opts, factors: 2, layers: 3 });
  arena.allocate(new Rng(3));
  for (const p of arena.params) p.value.set(gridValues(p.size, p.offset + 11, -0.6, 0.6, 0.02));
  const users = Int32Array.from([0, 1, 4, 2, 0, 3]), items = Int32Array.from([5, 0, 2, 2, 1, 4]);
  const g = gridValues(users.length, 7);
  const loss = async () => { const y = await net.forward(users, items); let s = 0; for (let t = 0; t < y.length; t++) s += g[t] * y[t]; return s; };
  arena.clearGrads();
  await net.forward(users, items);
  await net.backward(g);
  const analytic = arena.params.map(gradOf);
  for (let k = 0; k < arena.params.length; k++) {
    const p = arena.params[k];
    for (let i = 0; i < p.size; i++) {
      const v0 = p.value[i];
      p.value[i] = v0 + H; const up = await loss();
      p.value[i] = v0 - H; const down = await loss();
      p.value[i] = v0;
      const num = (up - down) / (2 * H), ana = analytic[k][i];
      if (!(Math.abs(num - ana) <= 3e-3 * (1 + Math.abs(ana)))) assert.unreachable(`∂L/∂${p.name}[${i}] analytic ${ana}, finite difference ${num}`);
    }
  }
});

test('neumf learns the groups; the loss falls; recommend agrees with predict and excludes the seen items', async () => {
  const x = groups(60, 40, 8);
  const m = new NeuMF({ ...tiny, lr: 0.01, epochs: 10 });
  const losses: number[] = [];
  await m.fit(x, { ...ctx, onEpoch: (_e, l) => losses.push(l) });
  assert.ok(losses[losses.length - 1] < 0.7 * losses[0], `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  let own = 0, total = 0;
  for (let u = 0; u < 60; u++) {
    const seen = new Set<number>();
    x.user.forEach((v, t) => { if (v === u) seen.add(x.item[t]); });
    const top = m.recommend(u, 5, ctx);
    for (const i of top.ids) { total++; if (groupOf(x, i) === u % 2) own++; }
    const all = m.recommend(u, 100, ctx);
    assert.is(all.ids.length, 40 - seen.size);
    for (const i of all.ids) assert.ok(i >= 0 && !seen.has(i));
    for (let t = 0; t < 3; t++) assert.ok(Math.abs(m.predict(u, all.ids[t]).estimate - all.scores[t]) < 1e-5);
    const some = m.recommend(u, 10, { ...ctx, items: [0, 1, 2], filterSeen: false });
    assert.equal([...some.ids].sort((a, b) => a - b), [0, 1, 2]);
  }
  assert.ok(own / total >= 0.9, `own-group share of the top 5: ${own}/${total}`);
  const users = Int32Array.from([4, 0, 59, 13]);
  const batch = await m.recommendBatch(users, 6, ctx);
  users.forEach((u, t) => {
    const one = m.recommend(u, 6, ctx);
    assert.equal([...batch[t].ids], [...one.ids]);
    for (let j = 0; j < one.scores.length; j++) assert.ok(Math.abs(batch[t].scores[j] - one.scores[j]) < 1e-5);
  });
  x.users.add('newcomer');
  assert.is(m.recommend(60, 5, ctx).ids.length, 0);
  assert.is(m.predict(60, 0).impossible, true);
});

test('save/load round-trips exactly; a seed makes fits bit-identical', async () => {
  const x = groups(16, 12, 4);
  const fit = async (seed: number) => { const m = new NeuMF({ ...tiny, epochs: 3, seed }); await m.fit(x, ctx); return m; };
  const a = await fit(5), b = await fit(5), c = await fit(6);
  const scores = (m: NeuMF) => Array.from({ length: 16 }, (_, u) => [...m.recommend(u, 8, ctx).scores]).flat();
  assert.equal(scores(a), scores(b));
  assert.not.equal(scores(a), scores(c));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'affinity-neumf-'));
  try {
    a.save(path.join(dir, 'n.affm'));
    const back = NeuMF.load(path.join(dir, 'n.affm'));
    assert.equal(back.params, a.params);
    assert.equal(scores(back), scores(a));
    for (let u = 0; u < 16; u++) assert.equal([...back.recommend(u, 8, ctx).ids], [...a.recommend(u, 8, ctx).ids]);
    assert.throws(() => SASRec.load(path.join(dir, 'n.affm')), /holds a 'neumf' model, not 'sasrec'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('early stopping on a validation set; curriculum and balancing change the fit', async () => {
  const x = groups(30, 24, 7);
  const split = leaveLastSplit(x, { k: 1 });
  const m = new NeuMF({ ...tiny, epochs: 30, patience: 2 });
  const metrics: number[] = [];
  await m.fit(split.train, { ...ctx, validation: split.validation, onEpoch: (_e, _l, info) => metrics.push(info!.metric!) });
  const best = metrics.indexOf(Math.max(...metrics)) + 1;
  assert.ok(metrics.length === 30 || metrics.length === best + 2, `stopped after ${metrics.length}, best ${best}`);
  await rejects(m.fit(split.train, { ...ctx, validation: split.test }), /validation interactions are not training interactions/);
  const base = new NeuMF({ ...tiny, epochs: 3 });
  await base.fit(x, ctx);
  for (const p of [{ curriculum: 'item-popularity' }, { curriculum: 'user-activity', curriculumPacing: 'root' }, { balanceGamma: 0.5 }] as ModelParams[]) {
    const v = new NeuMF({ ...tiny, epochs: 3, ...p });
    const losses: number[] = [];
    await v.fit(x, { ...ctx, onEpoch: (_e, l) => losses.push(l) });
    assert.ok(losses.every(Number.isFinite));
    assert.not.equal([...v.recommend(0, 10, ctx).scores], [...base.recommend(0, 10, ctx).scores], JSON.stringify(p));
  }
});

test('bad parameters are clear errors; an AbortSignal stops the fit and keeps the model', async () => {
  assert.throws(() => new NeuMF({ factors: 0 }), /factors must be a positive integer/);
  assert.throws(() => new NeuMF({ negatives: 0 }), /negatives must be an integer ≥ 1/);
  assert.throws(() => new NeuMF({ factors: 4096, layers: 6 }), /MLP units is more than/);
  assert.throws(() => new NeuMF({ curriculumStart: 2 }), /curriculumStart must be in \(0, 1\]/);
  assert.throws(() => new NeuMF({ curriculum: 'loss' } as never), /curriculum must be one of/);
  assert.throws(() => new NeuMF().recommend(0, 1), /recommend\(\) before fit\(\)/);
  const x = groups(10, 8, 3);
  const m = new NeuMF({ ...tiny, epochs: 2 });
  await m.fit(x, ctx);
  const before = [...m.recommend(0, 5, ctx).scores];
  const ac = new AbortController();
  await rejects(m.fit(x, { ...ctx, signal: ac.signal, onEpoch: () => ac.abort(new Error('enough')) }), /enough/);
  assert.equal([...m.recommend(0, 5, ctx).scores], before);
});

test.after(() => engine.close());
test.run();
