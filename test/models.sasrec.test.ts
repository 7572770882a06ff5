/**
 * SASRec on tiny synthetic walks (test/helpers/sequences.ts: every user's next item is its last
 * one + 1): the batch loss's gradients against finite differences (both losses, weights, a chunked
 * output layer); it learns the pattern and its loss falls; recommend excludes the seen items and
 * returns no padding; recommendBatch equals recommend; save/load round-trips exactly; a seed makes
 * fits bit-identical; early stopping on a validation set; bad parameters and input are clear
 * errors; an AbortSignal stops the fit and leaves the model as it was. On the native backend (skipped
 * without it): the fused output layer (softmaxOutputLayer) gives the separate kernels' loss and
 * gradients, and a ce fit is bit-identical for a seed; a backend without the kernel composes them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../src/engine/engine.js';
import { Rng } from '../src/data/random.js';
import { subset } from '../src/data/interactions.js';
import { leaveLastSplit } from '../src/data/leaveLast.js';
import { Runtime } from '../src/nn/runtime.js';
import { ParamArena, type Param } from '../src/nn/params.js';
import { SASRec } from '../src/models/neural/sasrec.js';
import { SasrecNet, trainingExamples, trainingWindows } from '../src/models/neural/sasrecNet.js';
import { holdOut, seenExceptHeld, userSequences } from '../src/models/neural/sequences.js';
import { allModels } from '../src/models/registry.js';
import type { ModelParams } from '../src/models/types.js';
import { nextItem, walks } from './helpers/sequences.js';
import { probeBackend } from '../src/backends/registry.js';
import { skip } from './helpers/skip.js';

const engine = new Engine({ threads: 1, backend: 'js' });
const ctx = { engine };
const H = 2 ** -8;

/** Small, fast settings; the tests override what they need. */
const tiny = { hidden: 8, maxLen: 6, blocks: 1, heads: 1, dropout: 0, lr: 0.02, batchSize: 8, epochs: 25, patience: 0, seed: 3 };

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  const e = await p.then(() => null, (err: unknown) => err);
  assert.ok(e instanceof Error, 'expected a rejection');
  assert.match((e as Error).message, re);
}

function gradOf(p: Param): Float64Array {
  const g = new Float64Array(p.size);
  if (p.grad) g.set(p.grad);
  for (const s of p.sparse) s.rows.forEach((row, r) => { for (let j = 0; j < p.cols; j++) g[row * p.cols + j] += s.values[r * p.cols + j]; });
  return g;
}

test('the batch loss (ce, bce, weighted, chunked) has the gradients of its finite differences', async () => {
  const x = walks({ users: 5, items: 7, minLen: 3, maxLen: 6 });
  const seq = userSequences(x, 5);
  const w = trainingWindows(seq, Int32Array.from([0, 1, 2, 3, 4]), 4);
  let n = 0;
  for (const t of w.targets!) if (t >= 0) n++;
  const negatives = Int32Array.from({ length: n }, (_, t) => (t * 5 + 2) % 7);
  const itemWeight = Float32Array.from({ length: 7 }, (_, i) => 0.5 + i / 7);
  const cases = [
    { label: 'ce', o: { loss: 'ce' as const } },
    { label: 'ce chunked, weighted', o: { loss: 'ce' as const, outputElements: 7 * 3, itemWeight } },
    { label: 'bce', o: { loss: 'bce' as const, negatives } },
    { label: 'bce weighted', o: { loss: 'bce' as const, negatives, itemWeight } },
  ];
  for (const { label, o } of cases) {
    const rt = new Runtime(ctx, 1), arena = new ParamArena();
    const net = new SasrecNet(rt, arena, 7, { hidden: 4, maxLen: 4, blocks: 1, heads: 2, dropout: 0 });
    arena.allocate(new Rng(5));
    arena.clearGrads();
    const first = await net.trainStep(w, o);
    assert.is(first.positions, n);
    const analytic = arena.params.map(gradOf);
    const loss = async () => { const r = await net.trainStep(w, o); arena.clearGrads(); return r.loss; };
    for (let k = 0; k < arena.params.length; k++) {
      const p = arena.params[k], step = Math.max(1, Math.floor(p.size / 12));
      for (let i = 0; i < p.size; i += step) {
        const v0 = p.value[i];
        p.value[i] = v0 + H;
        const up = await loss();
        p.value[i] = v0 - H;
        const down = await loss();
        p.value[i] = v0;
        const num = (up - down) / (2 * H), ana = analytic[k][i];
        if (!(Math.abs(num - ana) <= 5e-3 * (1 + Math.abs(ana)))) assert.unreachable(`${label}: ∂L/∂${p.name}[${i}] analytic ${ana}, finite difference ${num}`);
      }
    }
  }
});

test("training windows: 'last' is each user's last maxLen targets; 'all' covers every target s_2…s_n exactly once", () => {
  // user 0: items 0…9 in order (10 items), user 1: 3 items, user 2: 1 item (no example expected from callers; here only 0, 1)
  const seq = { indptr: Int32Array.from([0, 10, 13, 14]), items: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 21, 22, 30]) };
  const last = trainingExamples(seq, [0, 1], 4, 'last');
  assert.equal([...last.user], [0, 1]);
  assert.equal([...last.end], [10, 3]);
  const all = trainingExamples(seq, [0, 1], 4, 'all');
  assert.equal([...all.user], [0, 0, 0, 1]);
  assert.equal([...all.end], [10, 6, 2, 3]);
  const w = trainingWindows(seq, all.user, 4, all.end);
  assert.is(w.T, 4);
  // row b: left-padded inputs and their next items
  assert.equal([...w.ids.subarray(0, 4)], [5, 6, 7, 8]);
  assert.equal([...w.targets!.subarray(0, 4)], [6, 7, 8, 9]);
  assert.equal([...w.ids.subarray(4, 8)], [1, 2, 3, 4]);
  assert.equal([...w.targets!.subarray(4, 8)], [2, 3, 4, 5]);
  assert.equal([...w.ids.subarray(8, 12)], [-1, -1, -1, 0]);
  assert.equal([...w.targets!.subarray(8, 12)], [-1, -1, -1, 1]);
  assert.equal([...w.ids.subarray(12, 16)], [-1, -1, 20, 21]);
  assert.equal([...w.targets!.subarray(12, 16)], [-1, -1, 21, 22]);
  const user0 = [...w.targets!.subarray(0, 12)].filter((t) => t >= 0).sort((a, b) => a - b);
  assert.equal(user0, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // without ends: the whole sequence, as 'last'
  assert.equal([...trainingWindows(seq, Int32Array.from([0]), 4).targets!], [6, 7, 8, 9]);
  assert.throws(() => trainingWindows(seq, Int32Array.from([1]), 4, Int32Array.from([4])), /window end 4 is past user 1's 3 items/);
});

test('sasrec learns the walks (next = last + 1) with either loss; the loss falls', async () => {
  const x = walks({ users: 40, items: 20, minLen: 4, maxLen: 8 });
  for (const loss of ['ce', 'bce'] as const) {
    const m = new SASRec({ ...tiny, loss, epochs: loss === 'ce' ? 25 : 60 });
    const losses: number[] = [];
    await m.fit(x, { ...ctx, onEpoch: (_e, l) => losses.push(l) });
    assert.is(losses.length, m.opts.epochs);
    assert.ok(losses[losses.length - 1] < 0.5 * losses[0], `${loss}: loss ${losses[0]} → ${losses[losses.length - 1]}`);
    let hits = 0;
    for (let u = 0; u < 40; u++) if (m.recommend(u, 3).ids.includes(nextItem(x, u))) hits++;
    assert.ok(hits >= 36, `${loss}: the next item is in the top 3 for ${hits} of 40 users`);
  }
  // windows 'all' with histories longer than maxLen: more windows than users, and it learns too
  const long = walks({ users: 20, items: 20, minLen: 9, maxLen: 16 });
  const m = new SASRec({ ...tiny, maxLen: 4, windows: 'all', batchSize: 4 });
  await m.fit(long, ctx);
  assert.ok(m.history[0].batches > 20 / 4, `${m.history[0].batches} batches of 4 windows for 20 users`);
  let hits = 0;
  for (let u = 0; u < 20; u++) if (m.recommend(u, 3).ids.includes(nextItem(long, u))) hits++;
  assert.ok(hits >= 18, `windows 'all': the next item is in the top 3 for ${hits} of 20 users`);
});

test('recommend: seen items excluded, no padding, candidate lists, unknown users; recommendBatch equals recommend', async () => {
  const x = walks({ users: 12, items: 15, minLen: 3, maxLen: 7 });
  const m = new SASRec({ ...tiny, epochs: 3 });
  await m.fit(x, ctx);
  for (let u = 0; u < 12; u++) {
    const seen = new Set<number>();
    for (let t = 0; t < x.user.length; t++) if (x.user[t] === u) seen.add(x.item[t]);
    const all = m.recommend(u, 100, ctx);
    assert.is(all.ids.length, 15 - seen.size, 'every unseen item, no padding');
    for (const i of all.ids) assert.ok(i >= 0 && !seen.has(i));
    for (let t = 1; t < all.scores.length; t++) assert.ok(all.scores[t - 1] >= all.scores[t]);
    const some = m.recommend(u, 10, { ...ctx, items: [0, 1, 2, 3], filterSeen: false });
    assert.equal([...some.ids].sort((a, b) => a - b), [0, 1, 2, 3]);
    assert.is(m.recommend(u, 100, { ...ctx, filterSeen: false }).ids.length, 15);
    assert.ok(Number.isFinite(m.predict(u, 0).estimate));
  }
  const users = Int32Array.from([3, 0, 11, 7]);
  const batch = await m.recommendBatch(users, 5, ctx);
  users.forEach((u, t) => {
    const one = m.recommend(u, 5, ctx);
    assert.equal([...batch[t].ids], [...one.ids]);
    assert.equal([...batch[t].scores], [...one.scores]);
  });
  // a user index the model never saw (ids shared with a larger data set) gets nothing, and says why
  x.users.add('newcomer');
  assert.is(m.recommend(12, 5, ctx).ids.length, 0);
  assert.is(m.predict(12, 0).impossible, true);
  const sim = m.similarItems(4, 3, ctx);
  assert.is(sim.ids.length, 3);
  assert.not.ok(sim.ids.includes(4));
  assert.equal((await m.similarItemsBatch(Int32Array.of(4), 3, ctx))[0].ids, sim.ids);
  assert.throws(() => m.recommend(0, 0), /k must be a positive integer/);
});

test('save/load round-trips exactly; a corrupt file or another kind is a clear error', async () => {
  const x = walks({ users: 10, items: 12, minLen: 3, maxLen: 6 });
  const m = new SASRec({ ...tiny, epochs: 2, loss: 'bce' });
  await m.fit(x, ctx);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'affinity-sasrec-'));
  try {
    const file = path.join(dir, 'm.affm');
    m.save(file);
    const back = SASRec.load(file);
    assert.equal(back.params, m.params);
    assert.equal([...back.userVectors.data], [...m.userVectors.data]);
    assert.equal([...back.itemVectors.data], [...m.itemVectors.data]);
    for (let u = 0; u < 10; u++) {
      const a = m.recommend(u, 5, ctx), b = back.recommend(u, 5, ctx);
      assert.equal([...a.ids], [...b.ids]);
      assert.equal([...a.scores], [...b.scores]);
    }
    assert.equal([...back.userIds!.toJSON()], [...m.userIds!.toJSON()]);
    assert.is(back.history.length, 2);
    const bytes = readFileSync(file);
    bytes[bytes.length - 9] ^= 0xff;
    writeFileSync(path.join(dir, 'bad.affm'), bytes);
    assert.throws(() => SASRec.load(path.join(dir, 'bad.affm')), /checksum mismatch/);
    const als = allModels.als({ factors: 4, iterations: 1 }) as unknown as { fit: (x: unknown) => Promise<void>; save: (p: string) => void };
    await als.fit(x);
    als.save(path.join(dir, 'als.affm'));
    assert.throws(() => SASRec.load(path.join(dir, 'als.affm')), /holds a 'als' model, not 'sasrec'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('learning-rate schedule: warm-up over warmupEpochs epochs, then linear decay to 0 at the last step of the budget; constant by default', async () => {
  const x = walks({ users: 20, items: 12, minLen: 3, maxLen: 6 });
  const lr = 0.02;
  const m = new SASRec({ ...tiny, batchSize: 4, epochs: 4, lr, warmupEpochs: 1, lrDecay: 'linear' });
  await m.fit(x, ctx);
  const b = m.history[0].batches!;
  assert.ok(b > 1 && m.history.every((h) => h.batches === b), `batches per epoch ${m.history.map((h) => h.batches)}`);
  // the lr of each epoch's last step t = e·b: t/b during the warm-up (b steps), then (4b − t)/(4b − b)
  const want = [1, 2 / 3, 1 / 3, 0].map((f) => lr * f);
  m.history.forEach((h, e) => assert.ok(Math.abs(h.lr! - want[e]) < 1e-9, `epoch ${e + 1}: lr ${h.lr}, expected ${want[e]}`));
  const warm = new SASRec({ ...tiny, batchSize: 4, epochs: 3, lr, warmupEpochs: 2 });
  await warm.fit(x, ctx);
  assert.equal(warm.history.map((h) => h.lr), [lr / 2, lr, lr]);
  const plain = new SASRec({ ...tiny, batchSize: 4, epochs: 2, lr });
  await plain.fit(x, ctx);
  assert.equal(plain.history.map((h) => h.lr), [lr, lr]);
});

test("blockLayout 'sasrec-code': fits, learns, is saved and loaded with the model's parameters", async () => {
  const x = walks({ users: 10, items: 12, minLen: 3, maxLen: 6 });
  const m = new SASRec({ ...tiny, blocks: 2, epochs: 3, blockLayout: 'sasrec-code' });
  await m.fit(x, ctx);
  assert.ok(m.history[2].loss < m.history[0].loss, `loss ${m.history[0].loss} → ${m.history[2].loss}`);
  const pre = new SASRec({ ...tiny, blocks: 2, epochs: 3 });
  await pre.fit(x, ctx);
  assert.not.equal([...pre.userVectors.data], [...m.userVectors.data]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'affinity-sasrec-'));
  try {
    const file = path.join(dir, 'm.affm');
    m.save(file);
    const back = SASRec.load(file);
    assert.is(back.opts.blockLayout, 'sasrec-code');
    assert.equal(back.params, m.params);
    assert.equal([...back.itemVectors.data], [...m.itemVectors.data]);
    for (let u = 0; u < 10; u++) assert.equal([...back.recommend(u, 5, ctx).ids], [...m.recommend(u, 5, ctx).ids]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a seed makes fits bit-identical (dropout, batches, negatives); another seed differs', async () => {
  const x = walks({ users: 16, items: 12, minLen: 3, maxLen: 7 });
  const fit = async (seed: number) => {
    const m = new SASRec({ ...tiny, dropout: 0.2, loss: 'bce', epochs: 3, seed });
    await m.fit(x, ctx);
    return Buffer.from(m.userVectors.data.buffer, m.userVectors.data.byteOffset, m.userVectors.data.byteLength);
  };
  const a = await fit(4), b = await fit(4), c = await fit(5);
  assert.ok(a.equals(b));
  assert.not.ok(a.equals(c));
});

test('validation excludes a user\'s training items but not the held-out item, even when it was consumed before (a repeat)', () => {
  // user 0: 1 2 1 3 1 (the last 1 held out); user 1: 0 2 (the last 2 held out); user 2: 3
  const seq = { indptr: Int32Array.from([0, 5, 7, 8]), items: Int32Array.from([1, 2, 1, 3, 1, 0, 2, 3]) };
  const held = holdOut(seq, [0, 1], [1, 2]);
  const ex = seenExceptHeld(held.train, 3, 4, held.items);
  const row = (u: number) => Array.from(ex.indices.subarray(ex.indptr[u], ex.indptr[u + 1]));
  assert.equal(row(0), [2, 3]); // 1 is user 0's held-out item: still a candidate
  assert.equal(row(1), [0]);
  assert.equal(row(2), [3]);
});

test('early stopping on a validation set: the held-out items are scored, the best epoch kept', async () => {
  const x = walks({ users: 30, items: 15, minLen: 5, maxLen: 8 });
  const split = leaveLastSplit(x, { k: 1 });
  const m = new SASRec({ ...tiny, epochs: 40, patience: 3 });
  const metrics: number[] = [];
  await m.fit(split.train, { ...ctx, validation: split.validation, onEpoch: (_e, _l, info) => metrics.push(info!.metric!) });
  assert.ok(metrics.every((v) => v >= 0 && v <= 1));
  const best = Math.max(...metrics);
  const bestEpoch = metrics.indexOf(best) + 1;
  assert.is(m.history.length, metrics.length);
  assert.ok(metrics.length === 40 || metrics.length === bestEpoch + 3, `stopped after ${metrics.length} epochs, best ${bestEpoch}`);
  assert.ok(best > 0.5, `validation NDCG@10 ${best}`);
  // the validation set must be training interactions
  await rejects(m.fit(split.train, { ...ctx, validation: split.test }), /\d+ validation interactions are not training interactions/);
  // without one, each user's last training item is held out (holdoutLast)
  const own = new SASRec({ ...tiny, epochs: 2, patience: 2 });
  const seen: Array<number | undefined> = [];
  await own.fit(split.train, { ...ctx, onEpoch: (_e, _l, info) => seen.push(info?.metric) });
  assert.ok(seen.every((v) => v !== undefined));
  const none = new SASRec({ ...tiny, epochs: 2, patience: 2, holdoutLast: false });
  const seen2: Array<number | undefined> = [];
  await none.fit(split.train, { ...ctx, onEpoch: (_e, _l, info) => seen2.push(info?.metric) });
  assert.equal(seen2, [undefined, undefined]);
});

test('curriculum and popularity balancing train (and change the fit)', async () => {
  const x = walks({ users: 20, items: 12, minLen: 3, maxLen: 8 });
  const base = new SASRec({ ...tiny, epochs: 4 });
  await base.fit(x, ctx);
  for (const p of [{ curriculum: 'user-activity' }, { curriculum: 'item-popularity', curriculumPacing: 'root' }, { balanceGamma: 0.5 }, { balanceGamma: 0.5, loss: 'bce' }] as ModelParams[]) {
    const m = new SASRec({ ...tiny, epochs: 4, ...p });
    const losses: number[] = [];
    await m.fit(x, { ...ctx, onEpoch: (_e, l) => losses.push(l) });
    assert.ok(losses.every(Number.isFinite), JSON.stringify(p));
    assert.not.equal([...m.userVectors.data], [...base.userVectors.data], JSON.stringify(p));
  }
});

test('bad parameters and input are clear errors', async () => {
  assert.throws(() => new SASRec({ hidden: 10, heads: 3 }), /hidden \(10\) must be a multiple of heads \(3\)/);
  assert.throws(() => new SASRec({ dropout: 1 }), /dropout must be in \[0, 1\)/);
  assert.throws(() => new SASRec({ loss: 'hinge' } as never), /loss must be one of bce\|ce/);
  assert.throws(() => new SASRec({ blockLayout: 'post-ln' } as never), /blockLayout must be one of pre-ln\|sasrec-code/);
  assert.throws(() => new SASRec({ lrDecay: 'cosine' } as never), /lrDecay must be one of none\|linear/);
  assert.throws(() => new SASRec({ warmupEpochs: -1 }), /warmupEpochs must be ≥ 0/);
  assert.throws(() => new SASRec({ maxlen: 0 }), /maxlen must be a positive integer/);
  assert.throws(() => new SASRec({ curriculum: 'loss' } as never), /curriculum must be one of/);
  assert.throws(() => new SASRec({ nope: 1 } as never), /unknown parameter 'nope'/);
  const m = new SASRec(tiny);
  assert.throws(() => m.recommend(0, 5), /recommend\(\) before fit\(\)/);
  const one = walks({ users: 3, items: 5, minLen: 1, maxLen: 1 });
  await rejects(m.fit(one, ctx), /no user has 2 or more training interactions/);
  await rejects(m.fit(subset(one, []), ctx), /training data is empty/);
});

test('an AbortSignal stops the fit; the model keeps its previous state', async () => {
  const x = walks({ users: 12, items: 10, minLen: 3, maxLen: 6 });
  const m = new SASRec({ ...tiny, epochs: 2 });
  await m.fit(x, ctx);
  const before = [...m.userVectors.data];
  const ac = new AbortController();
  const err = await new SASRec({ ...tiny, epochs: 50 }).fit(x, { ...ctx, signal: ac.signal, onEpoch: (e) => { if (e === 1) ac.abort(new Error('stop now')); } }).then(() => null, (e: unknown) => e);
  assert.match((err as Error).message, /stop now/);
  const err2 = await m.fit(x, { ...ctx, signal: AbortSignal.abort(new Error('before start')) }).then(() => null, (e: unknown) => e);
  assert.match((err2 as Error).message, /before start/);
  assert.equal([...m.userVectors.data], before);
});

test.after(() => engine.close());

const nativeFused = 'native: the fused output layer gives the separate kernels\' loss and gradients (ce, weighted); a ce fit is bit-identical for a seed';
const native = await probeBackend('native');
if (!native.available || !native.kernels.includes('softmaxOutputLayer')) skip(test, nativeFused, native.available ? 'this native module has no softmaxOutputLayer' : native.reason);
else {
  test(nativeFused, async () => {
    const e = new Engine({ threads: 2 });
    try {
      const x = walks({ users: 40, items: 300, minLen: 3, maxLen: 30 });
      const seq = userSequences(x, 40);
      const w = trainingWindows(seq, Int32Array.from({ length: 40 }, (_, u) => u), 16);
      const itemWeight = Float32Array.from({ length: 300 }, (_, i) => 0.5 + (i % 7) / 7);
      for (const o of [{ loss: 'ce' as const }, { loss: 'ce' as const, itemWeight }]) {
        const step = async (backend: string) => {
          const rt = new Runtime({ engine: e, backend }, 1), arena = new ParamArena();
          const net = new SasrecNet(rt, arena, 300, { hidden: 16, maxLen: 16, blocks: 1, heads: 2, dropout: 0 });
          arena.allocate(new Rng(7));
          arena.clearGrads();
          const fused = await rt.implements('softmaxOutputLayer', 1e9);
          const r = await net.trainStep(w, o);
          return { fused, loss: r.loss, grads: arena.params.map(gradOf), names: arena.params.map((p) => p.name) };
        };
        // native fuses them; the reference backend composes gemm and softmaxCrossEntropy (as CUDA and wasm, which lack the kernel)
        const a = await step('native'), b = await step('js');
        assert.ok(a.fused, 'native runs the fused kernel');
        assert.not.ok(b.fused, 'js composes the separate kernels');
        assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * (1 + Math.abs(b.loss)), `loss ${a.loss} vs ${b.loss}`);
        a.grads.forEach((g, k) => {
          let scale = 0;
          for (const v of b.grads[k]) scale = Math.max(scale, Math.abs(v));
          for (let i = 0; i < g.length; i++) {
            if (!(Math.abs(g[i] - b.grads[k][i]) <= 1e-5 + 1e-3 * scale)) assert.unreachable(`${o.itemWeight ? 'weighted' : 'ce'}: ∂L/∂${a.names[k]}[${i}] fused ${g[i]}, separate ${b.grads[k][i]}`);
          }
        });
      }
      const fit = async (seed: number) => {
        const m = new SASRec({ ...tiny, hidden: 16, maxLen: 16, dropout: 0.2, loss: 'ce', epochs: 2, seed });
        await m.fit(x, { engine: e, backend: 'native' });
        return Buffer.from(m.userVectors.data.buffer, m.userVectors.data.byteOffset, m.userVectors.data.byteLength);
      };
      const f1 = await fit(4), f2 = await fit(4);
      assert.ok(f1.equals(f2), 'same seed, same bits');
    } finally {
      await e.close();
    }
  });
}

test.run();
