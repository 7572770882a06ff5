/**
 * EASE on tiny synthetic data: B equals a direct dense float64 computation of Steck's closed form;
 * recommend/recommendBatch/recommendForHistory agree and exclude seen items; save/load round-trips
 * exactly; fits are deterministic; bad params, too-large catalogues and aborted fits are clear errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../src/engine/engine.js';
import { generateInteractions } from '../src/data/synthetic.js';
import { toCsr, type Interactions } from '../src/data/interactions.js';
import { historyLists } from '../src/eval/heldoutUsers.js';
import { EASE } from '../src/models/ease.js';
import { allModels } from '../src/models/registry.js';

const engine = new Engine({ threads: 1, backend: 'js' });
const dir = mkdtempSync(join(tmpdir(), 'affinity-ease-'));

function data(seed = 3): Interactions {
  return generateInteractions({ users: 40, items: 25, interactions: 300, seed });
}

/** Gauss–Jordan inverse in float64 (an independent oracle for spdSolve's Cholesky). */
function inverse(a: Float64Array, n: number): Float64Array {
  const m = new Float64Array(n * 2 * n);
  for (let i = 0; i < n; i++) { for (let j = 0; j < n; j++) m[i * 2 * n + j] = a[i * n + j]; m[i * 2 * n + n + i] = 1; }
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * 2 * n + c]) > Math.abs(m[piv * 2 * n + c])) piv = r;
    for (let j = 0; j < 2 * n; j++) { const t = m[c * 2 * n + j]; m[c * 2 * n + j] = m[piv * 2 * n + j]; m[piv * 2 * n + j] = t; }
    const d = m[c * 2 * n + c];
    for (let j = 0; j < 2 * n; j++) m[c * 2 * n + j] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * 2 * n + c];
      for (let j = 0; j < 2 * n; j++) m[r * 2 * n + j] -= f * m[c * 2 * n + j];
    }
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = m[i * 2 * n + n + j];
  return out;
}

/** B = I − P·diag(1/diag(P)), P = (XᵀX + λI)⁻¹, X binary (or the ratings), all in float64. */
function directB(x: Interactions, lambda: number, binary: boolean): Float64Array {
  const ur = toCsr(x), n = ur.cols;
  const dense = new Float64Array(ur.rows * n);
  for (let u = 0; u < ur.rows; u++) for (let p = ur.indptr[u]; p < ur.indptr[u + 1]; p++) dense[u * n + ur.indices[p]] = binary ? 1 : ur.data[p];
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let u = 0; u < ur.rows; u++) s += dense[u * n + i] * dense[u * n + j];
    g[i * n + j] = s + (i === j ? lambda : 0);
  }
  const p = inverse(g, n);
  const b = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i * n + j] = (i === j ? 1 : 0) - p[i * n + j] / p[j * n + j];
  return b;
}

for (const [lambda, binary] of [[500, true], [3, true], [10, false]] as const) {
  test(`B equals the direct dense computation (λ = ${lambda}, binary ${binary})`, async () => {
    const x = data();
    const m = new EASE({ lambda, binary });
    await m.fit(x, { engine });
    const b = m.weights(), want = directB(x, lambda, binary), n = b.rows;
    let worst = 0, scale = 0;
    for (let i = 0; i < n * n; i++) { worst = Math.max(worst, Math.abs(b.data[i] - want[i])); scale = Math.max(scale, Math.abs(want[i])); }
    assert.ok(worst <= 1e-5 * Math.max(1, scale), `max |B − B_direct| = ${worst} (max |B| ${scale})`);
    for (let j = 0; j < n; j++) assert.is(b.data[j * n + j], 0);
    // a user's scores are x_u·B
    const ur = toCsr(x);
    for (const u of [0, 7, 19]) {
      const r = m.recommend(u, n, { filterSeen: false });
      for (let t = 0; t < r.ids.length; t++) {
        let s = 0;
        for (let p = ur.indptr[u]; p < ur.indptr[u + 1]; p++) s += (binary ? 1 : ur.data[p]) * want[ur.indices[p] * n + r.ids[t]];
        assert.ok(Math.abs(r.scores[t] - s) <= 1e-4 * Math.max(1, Math.abs(s)), `user ${u} item ${r.ids[t]}: ${r.scores[t]} vs ${s}`);
        assert.ok(Math.abs(m.predict(u, r.ids[t]).estimate - s) <= 1e-4 * Math.max(1, Math.abs(s)));
      }
    }
  });
}

test('recommend excludes seen items; recommendBatch and recommendForHistory agree with it', async () => {
  const x = data(5);
  const m = new EASE({ lambda: 20 });
  await m.fit(x, { engine });
  const ur = toCsr(x);
  const users = Int32Array.from({ length: ur.rows }, (_, u) => u);
  const batch = await m.recommendBatch(users, 10, { engine, backend: 'js' });
  for (const u of users) {
    const seen = new Set(ur.indices.subarray(ur.indptr[u], ur.indptr[u + 1]));
    const r = m.recommend(u, 10, { engine });
    for (const i of r.ids) assert.not.ok(seen.has(i), `user ${u} got seen item ${i}`);
    assert.equal(Array.from(batch[u].ids), Array.from(r.ids));
    assert.equal(Array.from(batch[u].scores), Array.from(r.scores));
    const h = m.recommendForHistory({ items: [...seen] }, 10, { engine });
    assert.equal(Array.from(h.ids), Array.from(r.ids));
  }
  // an explicit candidate list
  const r = m.recommend(0, 3, { engine, items: [1, 2, 3, 4, 5], filterSeen: false });
  for (const i of r.ids) assert.ok([1, 2, 3, 4, 5].includes(i));
});

test('a history listing an item twice scores as the training user with it once (duplicates merged as in Trainset), also for held-out fold-in rows', async () => {
  const x = data(5);
  const ur = toCsr(x);
  for (const binary of [true, false]) {
    const m = new EASE({ lambda: 20, binary });
    await m.fit(x, { engine });
    const u = 3, seen = Array.from(ur.indices.subarray(ur.indptr[u], ur.indptr[u + 1])), values = Array.from(ur.data.subarray(ur.indptr[u], ur.indptr[u + 1]));
    const r = m.recommend(u, 25, { engine, filterSeen: false });
    // the first item twice, its value split in two halves (sum = the training value)
    const h = m.recommendForHistory({ items: [seen[0], ...seen], values: [values[0] / 2, values[0] / 2, ...values.slice(1)] }, 25, { engine, filterSeen: false });
    assert.equal(Array.from(h.ids), Array.from(r.ids), `binary ${binary}`);
    for (let t = 0; t < r.scores.length; t++) assert.ok(Math.abs(h.scores[t] - r.scores[t]) <= 1e-5 * (1 + Math.abs(r.scores[t])), `binary ${binary}: ${h.scores[t]} vs ${r.scores[t]}`);
    // held-out users' fold-in rows (heldoutUsers.ts) merge a repeated (user, item) pair the same way
    const foldIn: Interactions = {
      ...x, timestamp: undefined, user: new Int32Array(seen.length + 1).fill(u), item: Int32Array.from([seen[0], ...seen]),
      rating: Float32Array.from([values[0] / 2, values[0] / 2, ...values.slice(1)]),
    };
    const lists = await historyLists(m, { users: Int32Array.of(u), foldIn, train: x, dropped: 0 }, x.items.size, 25, false, { engine });
    assert.equal(Array.from(lists.top.get(u)!), Array.from(m.recommend(u, 25, { engine }).ids), `binary ${binary}: fold-in row`);
  }
});

test('save/load round-trips exactly', async () => {
  const x = data(7);
  const m = new EASE({ lambda: 50 });
  await m.fit(x, { engine });
  const file = join(dir, 'ease.affm');
  m.save(file);
  const back = EASE.load(file);
  assert.equal(back.params, m.params);
  assert.equal(Array.from(back.weights().data), Array.from(m.weights().data));
  for (const u of [0, 3, 11]) {
    const a = m.recommend(u, 8, { engine }), b = back.recommend(u, 8, { engine });
    assert.equal(Array.from(a.ids), Array.from(b.ids));
    assert.equal(Array.from(a.scores), Array.from(b.scores));
  }
  assert.equal(back.userIds.toJSON(), m.userIds.toJSON());
});

test('fits are deterministic', async () => {
  const x = data(9);
  const a = new EASE(), b = new EASE();
  await a.fit(x, { engine });
  await b.fit(x, { engine });
  assert.equal(Array.from(a.weights().data), Array.from(b.weights().data));
});

test('bad params and too-large catalogues are clear errors; the size is checked before any kernel runs', async () => {
  assert.throws(() => new EASE({ lambda: 0 }), /ease: lambda must be > 0/);
  assert.throws(() => new EASE({ l2: 'x' }), /ease: l2 must be a finite number/);
  assert.throws(() => new EASE({ memory_limit_gib: -1 }), /memory_limit_gib must be ≥ 0/);
  assert.throws(() => new EASE({ nope: 1 }), /unknown parameter 'nope'/);
  const x = data();
  const kernels: string[] = [];
  const stop = engine.observe((r) => kernels.push(r.kernel));
  try {
    // 25 items need 16·25² = 10,000 bytes; a limit of 1e-6 GiB (~1 KiB) refuses them
    await new EASE({ memory_limit_gib: 1e-6 }).fit(x, { engine });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, RangeError);
    assert.match((e as Error).message, /ease: 25 items need a 25 × 25 item-item matrix: about 0\.0 GiB .* more than the limit of 0\.0 GiB \(memory_limit_gib\)/);
  } finally {
    stop();
  }
  assert.equal(kernels, []);
  assert.throws(() => new EASE().checkCatalogueFits(27_000 * 2), /54,000 items .* exceed one array/);
  assert.throws(() => new EASE({ memory_limit_gib: 4 }).checkCatalogueFits(27_000), /27,000 items need .*about 10\.9 GiB.*limit of 4\.0 GiB/);
  const m = new EASE();
  assert.throws(() => m.recommend(0, 5), /ease: recommend\(\) before fit/);
});

test('an aborted signal stops fit', async () => {
  const ac = new AbortController();
  ac.abort(new Error('stop now'));
  try {
    await new EASE().fit(data(), { engine, signal: ac.signal });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /stop now/);
  }
});

test('ease is in the registry', () => {
  assert.ok(allModels.ease().name === 'ease');
});

test.after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await engine.close();
});

test.run();
