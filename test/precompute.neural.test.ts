/**
 * precompute with the models of issue 19 (ease, multvae, two-tower): block scoring through their
 * recommendBatch equals recommend() per user; two shards together hold the unsharded output; a
 * saved model file is loaded by its kind (--model-file / modelFile); a run killed by SIGKILL and
 * resumed writes the same bytes as an uninterrupted one (the refit is seeded, so it is the same model);
 * a saved file's partitioned dataset (precompute --shards, queue workers) holds the same lists.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/engine.js';
import { closeEngine } from '../src/engine/processEngine.js';
import { readInteractions } from '../src/data/readers.js';
import { writeSyntheticCsv } from '../src/data/synthetic.js';
import type { Interactions } from '../src/data/interactions.js';
import { precompute, type UserBlock } from '../src/pipeline/precompute.js';
import { allModels } from '../src/models/registry.js';
import { loadSavedModel } from '../src/models/savedModel.js';
import { precomputeDatasetShard } from '../src/pipeline/datasetShard.js';
import { verifyDataset } from '../src/pipeline/dataset.js';
import type { Model, ModelParams } from '../src/models/types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-precompute-neural-'));
const engine = new Engine({ threads: 1, backend: 'js' });

const MODELS: Array<[string, ModelParams]> = [
  ['ease', { lambda: 20 }],
  ['multvae', { hidden: 16, latent: 4, epochs: 3, batch_size: 16, seed: 2 }],
  ['two-tower', { dim: 8, hidden: 16, epochs: 2, batch_size: 64, seed: 2 }],
];

let data: Interactions | null = null;
async function input(): Promise<{ file: string; x: Interactions }> {
  const file = path.join(tmp, 'ratings.csv');
  if (!data) {
    await writeSyntheticCsv({ users: 120, items: 60, interactions: 2000, explicit: false, seed: 9, out: file });
    data = await readInteractions(file);
  }
  return { file, x: data };
}

async function drain(blocks: AsyncIterable<UserBlock>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const b of blocks) b.users.forEach((u, t) => out.set(u, b.items[t]));
  return out;
}

for (const [name, params] of MODELS) {
  test(`${name}: block scoring equals recommend() per user; two shards hold the unsharded lists; a saved file is loaded by kind`, async () => {
    const { x } = await input();
    const model: Model = allModels[name](params);
    await model.fit(x, { engine });
    const run = precompute({ input: x, model, k: 7, blockSize: 13, engine, backend: 'js' });
    const lists = await drain(run.blocks);
    const summary = await run.summary;
    assert.is(summary.users, x.users.size);
    for (let u = 0; u < x.users.size; u++) {
      const want = Array.from(model.recommend(u, 7, { engine }).ids, (i) => String(x.items.external(i)));
      assert.equal(lists.get(String(x.users.external(u))), want, `user ${u}`);
    }
    const shards = new Map<string, string[]>();
    for (const shard of ['0/2', '1/2']) for (const [u, l] of await drain(precompute({ input: x, model, k: 7, blockSize: 13, shard, engine, backend: 'js' }).blocks)) shards.set(u, l);
    assert.equal([...shards].sort(), [...lists].sort());
    // save → load by kind → the same lists from the file alone
    const file = path.join(tmp, `${name}.affm`);
    (model as unknown as { save(p: string): void }).save(file);
    assert.is(loadSavedModel(file).name, name);
    const fromFile = await drain(precompute({ modelFile: file, k: 7, blockSize: 50, engine, backend: 'js' }).blocks);
    assert.equal([...fromFile].sort(), [...lists].sort());
    // the partitioned dataset (what queue workers and a Kubernetes Indexed Job run): 3 shards from the file
    const dir = path.join(tmp, `${name}-dataset`);
    for (const s of [2, 0, 1]) await precomputeDatasetShard({ modelFile: file, dir, shards: 3, shard: s, k: 7, blockSize: 11 });
    const { manifest, files } = await verifyDataset(dir);
    assert.is(manifest.model.kind, name);
    const parts = new Map<string, string[]>();
    for (const f of files) {
      for (const line of readFileSync(f, 'utf8').split('\n')) {
        if (line) { const r = JSON.parse(line) as { user: string; items: string[] }; parts.set(r.user, r.items); }
      }
    }
    assert.equal([...parts].sort(), [...lists].sort());
  });
}

function affinity(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run the CLI and SIGKILL it once its checkpoint has at least `blocks` blocks. */
function runAndKill(args: string[], checkpoint: string, blocks: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
    let killed = false;
    const poll = setInterval(() => {
      if (killed || !existsSync(checkpoint)) return;
      try {
        if (JSON.parse(readFileSync(checkpoint, 'utf8')).recommendations.blocks >= blocks) { killed = true; child.kill('SIGKILL'); }
      } catch { /* being replaced; try again */ }
    }, 2);
    child.on('error', (e) => { clearInterval(poll); reject(e); });
    child.on('exit', (_code, signal) => { clearInterval(poll); resolve(signal === 'SIGKILL'); });
  });
}

for (const [name, params] of MODELS.slice(0, 2)) {
  test(`${name}: a run killed after some blocks and resumed writes the bytes of an uninterrupted run`, async () => {
    const { file } = await input();
    const spec = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(',');
    const base = ['precompute', '--input', file, '--implicit', '--model', name, '--params', spec, '--k', '5', '--block-size', '1', '--backend', 'js', '--quiet'];
    const ref = path.join(tmp, `${name}-ref.jsonl`), out = path.join(tmp, `${name}-recs.jsonl`);
    const r0 = affinity(...base, '--out', ref);
    assert.is(r0.code, 0, r0.stderr);
    const killed = await runAndKill([...base, '--out', out], `${out}.checkpoint`, 10);
    assert.ok(killed, 'the run was killed before it finished');
    assert.not.ok(existsSync(out));
    const r1 = affinity(...base, '--out', out, '--resume', '--json');
    assert.is(r1.code, 0, r1.stderr);
    assert.ok(JSON.parse(r1.stdout).resumedFromBlock.block >= 10);
    assert.ok(readFileSync(out).equals(readFileSync(ref)), 'resumed output is byte-identical');
  });
}

test.after(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await engine.close();
  await closeEngine(); // the process engine the dataset shards ran on
});

test.run();
