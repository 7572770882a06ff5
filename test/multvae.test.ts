/**
 * Mult-VAE on tiny synthetic data (js backend, one thread): fit lowers the loss; recommend excludes
 * seen items and agrees with recommendBatch and with recommendForHistory of the user's own items;
 * save/load round-trips exactly; a seed makes fits bit-identical; validation users drive early
 * stopping; the curriculum and popularity balancing train; bad params are clear errors; an
 * AbortSignal stops fit; progress reports (onEpoch, and affinity eval's lines per epoch).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/engine.js';
import { generateInteractions } from '../src/data/synthetic.js';
import { toCsr, type Interactions } from '../src/data/interactions.js';
import { annealedBeta, elboLossAndGrads, MultVAE, MultVaeNet } from '../src/models/neural/multVae.js';
import { Rng } from '../src/data/random.js';
import { Runtime } from '../src/nn/runtime.js';
import type { Param } from '../src/nn/params.js';
import { denseFrom, type Csr } from '../src/data/matrix.js';
import { gridValues } from './helpers/nnCheck.js';
import { Trainset } from '../src/models/trainset.js';
import { meanNdcg, splitValidationUsers } from '../src/models/neural/validation.js';
import { allModels } from '../src/models/registry.js';
import type { EpochInfo, ModelParams } from '../src/models/types.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');

const engine = new Engine({ threads: 1, backend: 'js' });
const dir = mkdtempSync(join(tmpdir(), 'affinity-multvae-'));
const small: ModelParams = { hidden: 16, latent: 4, epochs: 25, batch_size: 8, lr: 0.01, seed: 3 };

function data(seed = 3): Interactions {
  return generateInteractions({ users: 40, items: 30, interactions: 400, seed });
}

async function fitted(params: ModelParams = small, x = data()): Promise<MultVAE> {
  const m = new MultVAE(params);
  await m.fit(x, { engine });
  return m;
}

function gradOf(p: Param): Float64Array {
  const g = new Float64Array(p.size);
  if (p.grad) g.set(p.grad);
  for (const sp of p.sparse) sp.rows.forEach((row, r) => { for (let j = 0; j < p.cols; j++) g[row * p.cols + j] += sp.values[r * p.cols + j]; });
  return g;
}

test('one step\'s β-ELBO (β > 0, fixed ε, no dropout) has the gradients of its finite differences on every encoder and decoder weight', async () => {
  const I = 7, H = 5, L = 3, B = 3, step = 2 ** -8;
  const rt = new Runtime({ engine }, 1);
  const net = new MultVaeNet(rt, I, H, L);
  net.arena.allocate(new Rng(3));
  for (const p of net.arena.params) p.value.set(gridValues(p.size, p.offset + 11, -0.6, 0.6, 0.02));
  // three normalized input rows, their multinomial targets, and fixed noise ε
  const rows = [[0, 2, 5], [1, 3], [2, 4, 5, 6]];
  const indptr = Int32Array.from([0, 3, 5, 9]), indices = Int32Array.from(rows.flat());
  const x: Csr = { rows: B, cols: I, indptr, indices, data: Float32Array.from(rows.flatMap((r) => r.map(() => 1 / Math.sqrt(r.length)))) };
  const targets = denseFrom(B, I);
  rows.forEach((r, t) => r.forEach((i) => { targets.data[t * I + i] = 1; }));
  const eps = Float64Array.from(gridValues(B * L, 5, -1.5, 1.5));
  const gradsAt = async (beta: number): Promise<Float64Array[]> => {
    net.arena.clearGrads();
    await elboLossAndGrads(rt, net, x, targets, eps, beta);
    return net.arena.params.map(gradOf);
  };
  const beta = 0.7;
  const analytic = await gradsAt(beta);
  const loss = async () => elboLossAndGrads(rt, net, x, targets, eps, beta);
  let checked = 0;
  for (let k = 0; k < net.arena.params.length; k++) {
    const p = net.arena.params[k];
    for (let i = 0; i < p.size; i++) {
      const v0 = p.value[i];
      p.value[i] = v0 + step; const up = await loss();
      p.value[i] = v0 - step; const down = await loss();
      p.value[i] = v0;
      const num = (up - down) / (2 * step), ana = analytic[k][i];
      if (!(Math.abs(num - ana) <= 3e-3 * (1 + Math.abs(ana)))) assert.unreachable(`∂L/∂${p.name}[${i}] analytic ${ana}, finite difference ${num}`);
      checked++;
    }
  }
  assert.ok(checked > 100, `${checked} weights checked`);
  // the KL term matters here: the encoder's gradients at β = 0.7 differ from those at β = 0
  const atZero = await gradsAt(0);
  const enc2 = net.arena.params.findIndex((p) => p.name.startsWith('encoder.2'));
  assert.ok(analytic[enc2].some((g, i) => Math.abs(g - atZero[enc2][i]) > 1e-2), 'β changes the encoder gradients');
});

test('β schedules: anneal_steps ramps to the cap; total_anneal_steps is Liang et al.\'s min(anneal_cap, t/T); no lam alias', () => {
  const ours = new MultVAE({ beta: 0.2, anneal_steps: 100 }).params;
  assert.is(annealedBeta(ours, 100, 50), 0.1);
  assert.is(annealedBeta(ours, 100, 100), 0.2);
  assert.is(annealedBeta(ours, 100, 500), 0.2);
  const liang = new MultVAE({ anneal_cap: 0.2, total_anneal_steps: 200000 }).params;
  assert.is(liang.totalAnnealSteps, 200000);
  assert.is(annealedBeta(liang, 999, 20000), 0.1);
  assert.is(annealedBeta(liang, 999, 40000), 0.2);
  assert.is(annealedBeta(liang, 999, 100000), 0.2);
  assert.throws(() => new MultVAE({ anneal_steps: 10, total_anneal_steps: 10 }), /not both/);
  assert.throws(() => new MultVAE({ lam: 0.01 }), /unknown parameter 'lam'/);
});

test('fit lowers the loss (β-ELBO per user)', async () => {
  const losses: number[] = [];
  const m = new MultVAE({ ...small, beta: 0 });
  await m.fit(data(), { engine, onEpoch: (_e, l) => losses.push(l) });
  assert.is(losses.length, 25);
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[24] < 0.95 * losses[0], `loss ${losses[0]} → ${losses[24]}`);
});

test('recommend excludes seen items; recommendBatch and recommendForHistory agree with it', async () => {
  const x = data(5), m = await fitted(small, x);
  const ur = toCsr(x);
  const users = Int32Array.from({ length: ur.rows }, (_, u) => u);
  const batch = await m.recommendBatch(users, 10, { engine, backend: 'js' });
  for (const u of users) {
    const seen = Array.from(ur.indices.subarray(ur.indptr[u], ur.indptr[u + 1]));
    const r = m.recommend(u, 10, { engine });
    assert.is(r.ids.length, Math.min(10, 30 - seen.length));
    for (const i of r.ids) assert.not.ok(seen.includes(i), `user ${u} got seen item ${i}`);
    for (let t = 1; t < r.scores.length; t++) assert.ok(r.scores[t - 1] >= r.scores[t]);
    assert.equal(Array.from(batch[u].ids), Array.from(r.ids));
    assert.equal(Array.from(batch[u].scores), Array.from(r.scores));
    const h = m.recommendForHistory({ items: seen }, 10, { engine });
    assert.equal(Array.from(h.ids), Array.from(r.ids));
    if (r.ids.length) assert.ok(Math.abs(m.predict(u, r.ids[0]).estimate - r.scores[0]) <= 1e-5 * (1 + Math.abs(r.scores[0])));
  }
  const all = m.recommend(0, 100, { engine, filterSeen: false });
  assert.is(all.ids.length, 30);
  const only = m.recommend(0, 3, { engine, items: [2, 4, 6, 8], filterSeen: false });
  for (const i of only.ids) assert.ok([2, 4, 6, 8].includes(i));
  assert.equal(Array.from(m.recommendForHistory({ items: [] }, 5, { engine }).ids), []);
});

test('a history listing an item twice ranks as the training user with it once (duplicates merged as in Trainset)', async () => {
  const x = data(5), m = await fitted(small, x);
  const ur = toCsr(x);
  for (const u of [0, 7, 19]) {
    const seen = Array.from(ur.indices.subarray(ur.indptr[u], ur.indptr[u + 1]));
    const r = m.recommend(u, 30, { engine });
    const h = m.recommendForHistory({ items: [...seen, seen[0], seen[seen.length - 1]] }, 30, { engine });
    assert.equal(Array.from(h.ids), Array.from(r.ids));
    assert.equal(Array.from(h.scores), Array.from(r.scores));
  }
});

test('save/load round-trips exactly, and a corrupt file is a clear error', async () => {
  const m = await fitted();
  const file = join(dir, 'vae.affm');
  m.save(file);
  const back = MultVAE.load(file);
  assert.equal(back.params, m.params);
  for (const u of [0, 5, 17]) {
    const a = m.recommend(u, 8, { engine }), b = back.recommend(u, 8, { engine });
    assert.equal(Array.from(a.ids), Array.from(b.ids));
    assert.equal(Array.from(a.scores), Array.from(b.scores));
  }
  const bytes = readFileSync(file);
  bytes[bytes.length - 10] ^= 0xff;
  writeFileSync(join(dir, 'bad.affm'), bytes);
  assert.throws(() => MultVAE.load(join(dir, 'bad.affm')), /cannot load model .*bad\.affm.*checksum mismatch/);
  assert.throws(() => MultVAE.load(join(dir, 'missing.affm')), /cannot load model .*missing\.affm/);
});

test('a seed makes fits bit-identical; another seed gives another model', async () => {
  const a = await fitted(), b = await fitted(), c = await fitted({ ...small, seed: 4 });
  const ra = a.recommend(3, 30, { engine, filterSeen: false }), rb = b.recommend(3, 30, { engine, filterSeen: false }), rc = c.recommend(3, 30, { engine, filterSeen: false });
  assert.equal(Array.from(ra.scores), Array.from(rb.scores));
  assert.not.equal(Array.from(ra.scores), Array.from(rc.scores));
});

test('validation users: NDCG@100 per epoch, early stopping keeps the best epoch', async () => {
  const m = await fitted({ ...small, epochs: 40, validation: 8, patience: 3 });
  assert.ok(m.history.length >= 1 && m.history.length <= 40);
  for (const h of m.history) assert.ok(h.metric! >= 0 && h.metric! <= 1, `metric ${h.metric}`);
  assert.throws(() => new MultVAE({ validation: -1 }), /validation must be ≥ 0/);
  try {
    await new MultVAE({ ...small, validation: 1000 }).fit(data(), { engine });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /multvae: validation 1000 leaves no validation or no training users/);
  }
});

// a curriculum trains on a growing subset for curriculum_epochs (5) epochs: the loss is compared from then on
for (const extra of [{ curriculum: 'user-activity' }, { curriculum: 'item-popularity', pacing: 'root' }, { curriculum: 'loss' }, { balance_gamma: 0.5 }] as ModelParams[]) {
  test(`training with ${JSON.stringify(extra)} lowers the loss`, async () => {
    const losses: number[] = [];
    const m = new MultVAE({ ...small, beta: 0, curriculum_epochs: 5, ...extra });
    await m.fit(data(), { engine, onEpoch: (_e, l) => losses.push(l) });
    assert.ok(losses[24] < losses[5], `loss ${losses[5]} → ${losses[24]}`);
  });
}

test('early stopping keeps the parameters of the best validation epoch', async () => {
  // with anneal_steps fixed, a fit of exactly best-epoch epochs follows the same trajectory
  const params = { ...small, epochs: 40, validation: 8, patience: 3, anneal_steps: 50, lr: 0.03 };
  const a = await fitted(params);
  const metrics = a.history.map((h) => h.metric!);
  const best = metrics.indexOf(Math.max(...metrics)) + 1;
  assert.ok(a.history.length > best, `stopped at epoch ${a.history.length}, best ${best}: training went on past the best epoch`);
  const b = await fitted({ ...params, epochs: best, patience: 1000 });
  for (const u of [0, 5, 17, 33]) {
    const sa = a.recommend(u, 30, { engine, filterSeen: false }), sb = b.recommend(u, 30, { engine, filterSeen: false });
    assert.equal(Array.from(sa.scores), Array.from(sb.scores), `user ${u}: the kept parameters are those after epoch ${best}`);
  }
  // the kept parameters score the validation users (the same seeded split as fit's) at the best epoch's NDCG@100, not the last epoch's
  const ts = Trainset.of(data(), 'multvae');
  const users = Int32Array.from({ length: ts.nUsers }, (_, u) => u).filter((u) => ts.userCount[u] > 0);
  const { validation } = splitValidationUsers(ts.ur, users, 8, 0.2, new Rng(small.seed as number + 2));
  const lists = Array.from(validation.users, (_, r) => {
    const at = validation.foldIn.indptr[r], end = validation.foldIn.indptr[r + 1];
    return a.recommendForHistory({ items: validation.foldIn.indices.subarray(at, end) }, 100, { engine });
  });
  const kept = meanNdcg(lists, validation.targets, 100);
  assert.ok(Math.abs(kept - metrics[best - 1]) < 1e-12, `kept ${kept}, best epoch ${metrics[best - 1]}`);
  assert.ok(Math.abs(kept - metrics[metrics.length - 1]) > 1e-9, `kept ${kept}, last epoch ${metrics[metrics.length - 1]}`);
});

test('bad params are clear errors', () => {
  assert.throws(() => new MultVAE({ dropout: 1 }), /multvae: dropout must be in \[0, 1\)/);
  assert.throws(() => new MultVAE({ hidden: 0 }), /multvae: hidden must be a positive integer/);
  assert.throws(() => new MultVAE({ lr: 'fast' }), /multvae: lr must be a finite number/);
  assert.throws(() => new MultVAE({ curriculum: 'hard-first' }), /curriculum must be one of none\|item-popularity\|user-activity\|loss/);
  assert.throws(() => new MultVAE({ curriculum_start: 2 }), /curriculumStart must be in \(0, 1\]/);
  assert.throws(() => new MultVAE({ wings: 2 }), /unknown parameter 'wings'/);
  assert.throws(() => new MultVAE().recommend(0, 3), /multvae: recommend\(\) before fit/);
});

test('an AbortSignal stops fit between batches', async () => {
  const ac = new AbortController();
  const m = new MultVAE(small);
  const r = await m.fit(data(), { engine, signal: ac.signal, onEpoch: (e) => { if (e === 2) ac.abort(new Error('enough')); } }).then(() => null, (e: unknown) => e);
  assert.match((r as Error).message, /enough/);
  assert.not.ok(m.isFitted);
});

test('progress: onEpoch gets the loss, the epoch count and the validation NDCG@100; affinity eval prints a line per epoch off a TTY', async () => {
  const reports: Array<[number, number, EpochInfo | undefined]> = [];
  const m = new MultVAE({ ...small, epochs: 3, validation: 8, patience: 10 });
  await m.fit(data(), { engine, onEpoch: (e, l, info) => reports.push([e, l, info]) });
  assert.equal(reports.map((r) => r[0]), [1, 2, 3]);
  for (const [e, l, info] of reports) {
    assert.ok(Number.isFinite(l) && l > 0, `loss ${l}`);
    assert.is(info?.epochs, 3);
    assert.is(info?.metricName, 'ndcg@100');
    assert.ok(info!.metric! >= 0 && info!.metric! <= 1 && info!.bestEpoch! >= 1 && info!.bestEpoch! <= e);
  }
  const csv = join(dir, 'ratings.csv');
  const x = data();
  writeFileSync(csv, 'user,item,rating\n' + Array.from(x.user, (u, p) => `${x.users.external(u)},${x.items.external(x.item[p])},${x.rating[p]}`).join('\n') + '\n');
  const r = spawnSync(process.execPath, [cli, 'eval', '--input', csv, '--model', 'multvae', '--params', 'hidden=16,latent=4,epochs=2,batch_size=8,validation_users=8', '--protocol', 'heldout-users:8', '--metrics', 'ndcg@10'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /multvae fold 1\/1 epoch 1\/2: loss [0-9.]+, ndcg@100 [0-9.]+ \(best epoch 1\)/);
  assert.match(r.stderr, /multvae fold 1\/1 epoch 2\/2: loss [0-9.]+/);
});

test('multvae is in the registry', () => {
  assert.is(allModels.multvae().name, 'multvae');
});

test.after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await engine.close();
});

test.run();
