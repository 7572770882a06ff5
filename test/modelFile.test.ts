/**
 * saveModel/loadModel (src/models/modelFile.ts): every registered model, saved after a fit and
 * loaded back, predicts and recommends exactly as the saved one — factor models from their
 * factors, the others by the deterministic refit on the saved interactions, params and side info.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateInteractions } from '../src/data/synthetic.js';
import type { SideInfo } from '../src/data/sideInfo.js';
import { allModels } from '../src/models/registry.js';
import { attachSideInfo } from '../src/models/attachSideInfo.js';
import { loadModel, saveModel } from '../src/models/modelFile.js';
import type { ModelParams } from '../src/models/types.js';

const dir = mkdtempSync(path.join(tmpdir(), 'affinity-modelfile-'));
const x = generateInteractions({ users: 60, items: 40, interactions: 900, seed: 5, explicit: true });
const genres = ['Drama', 'Comedy', 'Action', 'Horror'];
const items: SideInfo = {
  kind: 'item', ids: x.items.ids().map(String),
  features: new Map(x.items.ids().map((id, k) => [String(id), [`genre=${genres[k % 4]}`, `decade=${1970 + 10 * (k % 3)}`]])),
  text: new Map(x.items.ids().map((id, k) => [String(id), `film ${k % 7} story`])),
};
const users: SideInfo = {
  kind: 'user', ids: x.users.ids().map(String),
  features: new Map(x.users.ids().map((id, k) => [String(id), [`age=${k % 5}`]])),
  text: new Map(),
};

/** small, quick params per model (defaults elsewhere) */
const params: Record<string, ModelParams> = {
  svd: { factors: 4, epochs: 3 }, svdpp: { factors: 3, epochs: 2 }, nmf: { factors: 3, epochs: 3 }, als: { factors: 4, iterations: 2 },
  'als-explicit': { factors: 3, iterations: 2 }, bpr: { factors: 4, epochs: 2 }, 'feature-mf': { factors: 4, epochs: 3 },
  hybrid: { a: 'svd', b: 'popularity', 'a.factors': 3, 'a.epochs': 2, threshold: 15 }, 'co-clustering': { n_epochs: 3 },
};

async function rejects(f: () => Promise<unknown>, re: RegExp): Promise<void> {
  let msg = '(it resolved)';
  try { await f(); } catch (e) { msg = (e as Error).message; }
  assert.match(msg, re);
}

for (const name of Object.keys(allModels).sort()) {
  test(`${name}: saved and loaded, it predicts and recommends exactly as before`, async () => {
    const p = params[name] ?? {};
    const model = allModels[name](p);
    attachSideInfo(model, { items, users });
    await model.fit(x);
    const file = path.join(dir, `${name}.affm`);
    saveModel(model, file, { params: p, train: x, sideInfo: { items, users } });
    const loaded = await loadModel(file, { expect: name });
    assert.is(loaded.kind, name);
    assert.equal(loaded.users.ids(), x.users.ids());
    assert.equal(loaded.items.ids(), x.items.ids());
    // the random model draws at predict time: compare it from a fresh fit's state
    const fresh = name === 'random' ? allModels[name](p) : model;
    if (name === 'random') await fresh.fit(x);
    for (let u = 0; u < x.users.size; u += 7) {
      const a = fresh.recommend(u, 5), b = loaded.model.recommend(u, 5);
      assert.equal(Array.from(b.ids), Array.from(a.ids), `${name} user ${u}: recommended ids`);
      assert.equal(Array.from(b.scores), Array.from(a.scores), `${name} user ${u}: scores`);
      if (model.predictsRatings) assert.is(loaded.model.predict(u, 3).estimate, fresh.predict(u, 3).estimate, `${name} predict(${u}, 3)`);
    }
    assert.equal(readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
  });
}

test('errors: another kind than expected, a non-model file, a refit file without its interactions', async () => {
  const m = allModels.popularity({});
  await m.fit(x);
  const file = path.join(dir, 'pop.affm');
  saveModel(m, file, { train: x });
  await rejects(() => loadModel(file, { expect: 'als' }), /cannot load model '.*pop\.affm': it holds a 'popularity' model, not 'als'/);
  const junk = path.join(dir, 'junk.bin');
  writeFileSync(junk, 'hello world, not a model');
  await rejects(() => loadModel(junk), /not an affinity model file/);
  assert.throws(() => saveModel(m, path.join(dir, 'nothing.affm')), /without the interactions it was fitted on/);
  assert.not.ok(existsSync(path.join(dir, 'nothing.affm')));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
