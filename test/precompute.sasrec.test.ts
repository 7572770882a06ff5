/**
 * precompute with the neural models: lists equal to the fitted model's recommend (block scoring
 * through recommendBatch), shards that add up to the unsharded output, a killed SASRec job resumed
 * to the same bytes, and saved sasrec/neumf files loaded by --model-file (similar items from
 * SASRec's item embeddings).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/engine.js';
import type { Interactions } from '../src/data/interactions.js';
import { precomputeToFile } from '../src/pipeline/precompute.js';
import { SASRec } from '../src/models/neural/sasrec.js';
import { NeuMF } from '../src/models/neural/neumf.js';
import type { Model } from '../src/models/types.js';
import { walks } from './helpers/sequences.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'affinity-precompute-neural-'));
const engine = new Engine({ threads: 1, backend: 'js' });
const sasrecParams = { hidden: 8, maxLen: 6, blocks: 1, dropout: 0, lr: 0.02, epochs: 3, patience: 0, seed: 1 };
const neumfParams = { factors: 4, layers: 2, lr: 0.01, epochs: 2, patience: 0, seed: 1 };

interface Line { user: string; items: string[]; scores: number[] }

function readJsonl(file: string): Line[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
}

function expected(m: Model, x: Interactions, k: number): Line[] {
  return Array.from({ length: x.users.size }, (_, u) => {
    const r = m.recommend(u, k, { engine });
    return { user: String(x.users.external(u)), items: Array.from(r.ids, (i) => String(x.items.external(i))), scores: Array.from(r.scores) };
  });
}

const same = (a: Line[], b: Line[]) => {
  assert.equal(a.map((l) => [l.user, l.items]), b.map((l) => [l.user, l.items]));
  a.forEach((l, t) => l.scores.forEach((s, j) => assert.ok(Math.abs(s - b[t].scores[j]) <= 1e-5 * (1 + Math.abs(s)), `${l.user} score ${j}: ${s} vs ${b[t].scores[j]}`)));
};

test('sasrec and neumf by name: the lists of the fitted model; shards add up to the whole', async () => {
  const x = walks({ users: 30, items: 16, minLen: 3, maxLen: 8 });
  for (const [name, params, make] of [['sasrec', sasrecParams, () => new SASRec(sasrecParams)], ['neumf', neumfParams, () => new NeuMF(neumfParams)]] as const) {
    const out = path.join(dir, `${name}.jsonl`);
    const epochs: number[] = [];
    const s = await precomputeToFile({ input: x, model: name, params, k: 4, out, engine, blockSize: 7, onEpoch: (e) => epochs.push(e) });
    assert.is(s.users, 30);
    assert.equal(epochs, Array.from({ length: params.epochs }, (_, e) => e + 1), 'fit progress reaches onEpoch');
    const m = make();
    await m.fit(x, { engine });
    same(readJsonl(out), expected(m, x, 4));
    const parts: Line[] = [];
    for (const shard of ['0/2', '1/2']) {
      const p = path.join(dir, `${name}-${shard.replace('/', 'of')}.jsonl`);
      await precomputeToFile({ input: x, model: name, params, k: 4, out: p, engine, shard, blockSize: 4 });
      parts.push(...readJsonl(p));
    }
    parts.sort((a, b) => Number(a.user.slice(1)) - Number(b.user.slice(1)));
    same(parts, readJsonl(out));
  }
});

test('--model-file: saved sasrec and neumf models are loaded, not refitted (similar items from SASRec)', async () => {
  const x = walks({ users: 20, items: 12, minLen: 3, maxLen: 7 });
  const sas = new SASRec(sasrecParams), neu = new NeuMF(neumfParams);
  await sas.fit(x, { engine });
  await neu.fit(x, { engine });
  for (const [name, m] of [['sasrec', sas], ['neumf', neu]] as const) {
    const file = path.join(dir, `${name}.affm`);
    m.save(file);
    const out = path.join(dir, `${name}-file.jsonl`);
    const r = spawnSync(process.execPath, [cli, 'precompute', '--model-file', file, '--k', '5', '--out', out, '--json', '--backend', 'js', ...(name === 'sasrec' ? ['--similar-items', '3'] : [])], { encoding: 'utf8', timeout: 120_000 });
    assert.is(r.status, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).model, name);
    same(readJsonl(out), expected(m, x, 5));
    if (name === 'sasrec') {
      const sim = readFileSync(path.join(dir, 'sasrec-file.similar.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { item: string; items: string[] });
      assert.is(sim.length, 12);
      sim.forEach((l, i) => assert.equal(l.items, Array.from(sas.similarItems(i, 3, { engine }).ids, (j) => String(x.items.external(j)))));
    }
  }
  const bad = spawnSync(process.execPath, [cli, 'precompute', '--model-file', path.join(dir, 'sasrec.affm'), '--model', 'neumf', '--k', '5', '--out', path.join(dir, 'x.jsonl')], { encoding: 'utf8' });
  assert.is.not(bad.status, 0);
  assert.match(bad.stderr, /holds a 'sasrec' model, not 'neumf'/);
});

test('off a TTY, affinity eval and precompute print one line per epoch of the neural models: epoch, loss, validation NDCG@10', () => {
  const x = walks({ users: 40, items: 15, minLen: 4, maxLen: 8, seed: 5 });
  const csv = path.join(dir, 'epochs.csv');
  writeFileSync(csv, 'user,item,rating,timestamp\n' + Array.from(x.user, (u, t) => `${x.users.external(u)},${x.items.external(x.item[t])},1,${x.timestamp![t]}`).join('\n') + '\n');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args, '--backend', 'js'], { encoding: 'utf8', timeout: 120_000 });
  const ev = run('eval', '--input', csv, '--model', 'sasrec,neumf', '--params', 'sasrec:hidden=8,maxLen=6,blocks=1,epochs=2,patience=2;neumf:factors=4,layers=2,epochs=2,patience=2', '--protocol', 'leave-last:1', '--metrics', 'ndcg@10');
  assert.is(ev.status, 0, ev.stderr);
  const num = String.raw`-?\d+(\.\d+)?(e[-+]?\d+)?`;
  for (const m of ['sasrec', 'neumf']) {
    for (const e of [1, 2]) assert.match(ev.stderr, new RegExp(`^${m} fold 1/1 epoch ${e}/2: loss ${num}, ndcg@10 ${num} \\(best epoch [12]\\)`, 'm'), ev.stderr);
  }
  const out = path.join(dir, 'epochs.jsonl');
  const pre = run('precompute', '--input', csv, '--model', 'sasrec', '--params', 'hidden=8,maxLen=6,blocks=1,epochs=2,patience=2', '--k', '3', '--out', out);
  assert.is(pre.status, 0, pre.stderr);
  for (const e of [1, 2]) assert.match(pre.stderr, new RegExp(`^fitting sasrec epoch ${e}/2: loss ${num}, ndcg@10 ${num} \\(best epoch [12]\\)`, 'm'), pre.stderr);
  const quiet = run('precompute', '--input', csv, '--model', 'sasrec', '--params', 'hidden=8,maxLen=6,blocks=1,epochs=2,patience=0', '--k', '3', '--out', out, '--quiet');
  assert.is(quiet.status, 0, quiet.stderr);
  assert.is(quiet.stderr, '');
});

test('a killed sasrec precompute resumes to the same bytes (the refit is seeded)', async () => {
  const x = walks({ users: 600, items: 30, minLen: 3, maxLen: 8, seed: 4 });
  const csv = path.join(dir, 'walks.csv');
  writeFileSync(csv, 'user,item,rating,timestamp\n' + Array.from(x.user, (u, t) => `${x.users.external(u)},${x.items.external(x.item[t])},1,${x.timestamp![t]}`).join('\n') + '\n');
  const params = 'hidden=8,maxLen=6,blocks=1,dropout=0,epochs=2,patience=0,seed=2';
  const base = ['precompute', '--input', csv, '--model', 'sasrec', '--params', params, '--k', '5', '--block-size', '1', '--backend', 'js', '--quiet'];
  const ref = path.join(dir, 'ref.jsonl');
  const r0 = spawnSync(process.execPath, [cli, ...base, '--out', ref], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r0.status, 0, r0.stderr);
  const out = path.join(dir, 'resumed.jsonl'), cp = `${out}.checkpoint`;
  const killed = await new Promise<boolean>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...base, '--out', out], { stdio: 'ignore' });
    let done = false;
    const poll = setInterval(() => {
      try {
        if (!done && existsSync(cp) && JSON.parse(readFileSync(cp, 'utf8')).recommendations.blocks >= 20) { done = true; child.kill('SIGKILL'); }
      } catch { /* being replaced */ }
    }, 2);
    child.on('error', (e) => { clearInterval(poll); reject(e); });
    child.on('exit', (_c, signal) => { clearInterval(poll); resolve(signal === 'SIGKILL'); });
  });
  assert.ok(killed, 'the job was killed while scoring');
  assert.not.ok(existsSync(out));
  const r1 = spawnSync(process.execPath, [cli, ...base, '--out', out, '--resume', '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r1.status, 0, r1.stderr);
  assert.ok(JSON.parse(r1.stdout).resumedFromBlock.block >= 20);
  assert.ok(readFileSync(out).equals(readFileSync(ref)), 'resumed output is byte-identical');
});

test.after(async () => {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});
test.run();
