/**
 * The partitioned precompute without a queue: the dataset layout (parts, receipts, manifest,
 * _SUCCESS), its verification, shard runs as a Kubernetes Indexed Job runs them (the manifest in
 * deploy/k8s parsed, JOB_COMPLETION_INDEX/AFFINITY_SHARDS selecting the shard), a shard killed
 * with SIGKILL and resumed, and Redis URL parsing. The queue itself: queue.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parquetReadObjects } from 'hyparquet';
import { datasetJobKey, DatasetInputError, partFileName, publishOnce, readManifest, stagingDir, verifyDataset, writeOnce, type DatasetSpec } from '../src/pipeline/dataset.js';
import { precomputeToFile } from '../src/pipeline/precompute.js';
import { readModelFile, readModelHeader } from '../src/models/factorization/index.js';
import { openSavedModel, precomputeDatasetShard, runDatasetShard } from '../src/pipeline/datasetShard.js';
import { parseRedisUrl, scrub } from '../src/pipeline/redisUrl.js';
import { closeEngine } from '../src/engine/processEngine.js';
import { affinity, affinityAsync, partFiles, rejects, root, savedAlsModel, singleMachine, sortedLines, waitFor } from './helpers/partitioned.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-dataset-'));
const model = path.join(tmp, 'model.affm');
const single = path.join(tmp, 'single.jsonl');
const K = 10, SIMILAR = 5;

test.before(async () => {
  await savedAlsModel(model, { users: 1500, items: 600, interactions: 30_000 });
  await singleMachine(model, single, { k: K, similar: SIMILAR });
});

test.after(async () => {
  await closeEngine();
  rmSync(tmp, { recursive: true, force: true });
});

function fresh(name: string): string {
  const d = path.join(tmp, name);
  rmSync(d, { recursive: true, force: true });
  return d;
}

// ---------------------------------------------------------------------------------------------
// Redis URLs

test('redis URL: host, port, db; defaults; no credentials', () => {
  const t = parseRedisUrl('redis://127.0.0.1:6380/2');
  assert.equal(t.options, { host: '127.0.0.1', port: 6380, db: 2 });
  assert.is(t.display, 'redis://127.0.0.1:6380/2');
  assert.equal(t.secrets, []);
  const d = parseRedisUrl('redis://queue.internal');
  assert.equal(d.options, { host: 'queue.internal', port: 6379, db: 0 });
});

test('redis URL: a password (percent-encoded) is used and never displayed', () => {
  const t = parseRedisUrl('redis://:p%40ss%3Aword@h:1/0');
  assert.is(t.options.password, 'p@ss:word');
  assert.is(t.display, 'redis://***@h:1/0');
  assert.ok(t.secrets.includes('p@ss:word') && t.secrets.includes('p%40ss%3Aword'));
  assert.is(scrub('AUTH p@ss:word failed; url redis://:p%40ss%3Aword@h', t.secrets), 'AUTH *** failed; url redis://:***@h');
  const u = parseRedisUrl('redis://alice:pw@h/0');
  assert.is(u.options.username, 'alice');
  assert.is(u.display, 'redis://alice:***@h/0');
});

test('redis URL: the password may come from the environment instead', () => {
  const t = parseRedisUrl('redis://h:7000/1', { password: 'from-env' });
  assert.is(t.options.password, 'from-env');
  assert.is(t.display, 'redis://***@h:7000/1');
  assert.equal(t.secrets, ['from-env']);
  assert.is(parseRedisUrl('redis://:in-url@h/0', { password: 'from-env' }).options.password, 'in-url');
});

test('rediss:// turns TLS on, with the server name and an optional CA file', () => {
  const t = parseRedisUrl('rediss://user:pw@redis.example.com:6380/3');
  assert.equal(t.options.tls, { servername: 'redis.example.com' });
  assert.is(t.display, 'rediss://user:***@redis.example.com:6380/3');
  const ca = path.join(tmp, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const c = parseRedisUrl('rediss://10.0.0.5/0', { caFile: ca });
  assert.ok(Buffer.isBuffer(c.options.tls.ca));
  assert.is(c.options.tls.servername, undefined, 'no SNI name for an IP address');
  assert.throws(() => parseRedisUrl('rediss://h/0', { caFile: path.join(tmp, 'missing.pem') }), /AFFINITY_REDIS_CA/);
});

test('redis URL errors say what is wrong without repeating the URL', () => {
  const bad: Array<[string, RegExp]> = [
    ['hunter2 is not a url', /not a URL/],
    ['http://:hunter2@h/0', /redis:\/\/ or rediss:\/\//],
    ['redis://:hunter2@h/zero', /database number/],
    ['redis://:hunter2@h/0?password=hunter2', /parameters/],
  ];
  for (const [url, re] of bad) {
    let msg = '';
    try { parseRedisUrl(url); } catch (e) { msg = (e as Error).message; }
    assert.match(msg, re, url);
    assert.not.ok(msg.includes('hunter2'), `the error for ${url} repeats the password: ${msg}`);
  }
});

// ---------------------------------------------------------------------------------------------
// the dataset: shards, manifest, verification

async function runAllShards(dir: string, shards: number, o: { similar?: number } = {}): Promise<void> {
  for (let s = 0; s < shards; s++) {
    const r = await precomputeDatasetShard({ modelFile: model, dir, shards, shard: s, k: K, similarItems: o.similar, blockSize: 97 });
    assert.is(r.computed, true);
    assert.is(r.manifest !== null, s === shards - 1, 'the last shard writes the manifest');
  }
}

test('shards in any order make a dataset whose rows are the single-machine rows, with a manifest written last', async () => {
  const dir = fresh('all');
  const shards = 4;
  for (const s of [2, 0, 3]) await precomputeDatasetShard({ modelFile: model, dir, shards, shard: s, k: K, similarItems: SIMILAR, blockSize: 97 });
  assert.not.ok(existsSync(path.join(dir, '_manifest.json')), 'no manifest while a shard is missing');
  assert.not.ok(existsSync(path.join(dir, '_SUCCESS')));
  await rejects(() => verifyDataset(dir), /not complete \(3 shards finished\)/);
  const last = await precomputeDatasetShard({ modelFile: model, dir, shards, shard: 1, k: K, similarItems: SIMILAR, blockSize: 97 });
  assert.ok(last.manifest);
  assert.ok(existsSync(path.join(dir, '_SUCCESS')));
  assert.not.ok(existsSync(path.join(dir, '_staging')), 'staging removed');

  const { manifest, files } = await verifyDataset(dir);
  assert.is(files.length, 8);
  assert.is(manifest.shards, 4);
  assert.is(manifest.model.kind, 'als');
  assert.equal(manifest.parts.map((p) => p.shard), [0, 1, 2, 3]);
  assert.is(manifest.totals.users, 1500);
  // the rows, sorted, are exactly the single-machine output's
  assert.equal(sortedLines(partFiles(dir)), sortedLines([single]));
  assert.equal(sortedLines(partFiles(dir, true)), sortedLines([single.replace(/\.jsonl$/, '.similar.jsonl')]));
  const rows = readFileSync(single, 'utf8').trim().split('\n').reduce((a, l) => a + (JSON.parse(l) as { items: string[] }).items.length, 0);
  assert.is(manifest.totals.rows, rows);
  // shard i holds users i, i+N, … in index order
  const firstUsers = readFileSync(single, 'utf8').split('\n').slice(0, 4).map((l) => (JSON.parse(l) as { user: string }).user);
  for (let s = 0; s < 4; s++) {
    const first = JSON.parse(readFileSync(path.join(dir, partFileName(s, 4, 'jsonl')), 'utf8').split('\n')[0]) as { user: string };
    assert.is(first.user, firstUsers[s]);
  }
});

async function parquetRows(file: string): Promise<string[]> {
  const buf = readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  return ((await parquetReadObjects({ file: ab })) as Array<Record<string, unknown>>).map((r) => JSON.stringify(r));
}

test('csv and parquet parts hold exactly the rows of the single-machine file', async () => {
  for (const format of ['csv', 'parquet'] as const) {
    const one = path.join(tmp, `single.${format}`);
    await precomputeToFile({ modelFile: model, k: K, out: one, format, blockSize: 97 });
    const dir = fresh(`all-${format}`);
    for (let s = 0; s < 3; s++) await precomputeDatasetShard({ modelFile: model, dir, shards: 3, shard: s, k: K, blockSize: 97, format });
    const { files } = await verifyDataset(dir);
    assert.equal(files.map((f) => path.basename(f)), ['part-00000', 'part-00001', 'part-00002'].map((n) => `${n}.${format}`));
    if (format === 'csv') {
      // every part starts with the header; the rows below it, together, are the single file's
      const rows = (f: string): string[] => readFileSync(f, 'utf8').split('\n').slice(1).filter((l) => l.length > 0);
      for (const f of files) assert.is(readFileSync(f, 'utf8').split('\n')[0], 'user,rank,item,score');
      assert.equal(files.flatMap(rows).sort(), rows(one).sort());
    } else {
      const parts = (await Promise.all(files.map(parquetRows))).flat().sort();
      assert.equal(parts, (await parquetRows(one)).sort());
    }
  }
});

test('two attempts of one shard at once (a worker presumed dead that is still running): one publishes, the result is whole', async () => {
  const dir = fresh('two-attempts');
  mkdirSync(dir);
  const saved = await openSavedModel(model);
  const spec: DatasetSpec = {
    jobKey: datasetJobKey({ model: { sha256: saved.sha256 }, shards: 2, format: 'jsonl', k: K, filterSeen: true, blockSize: 7, dir }),
    shards: 2, format: 'jsonl', k: K, filterSeen: true, blockSize: 7, model: { file: saved.file, sha256: saved.sha256, kind: saved.kind },
  };
  const notes: string[] = [];
  const [a, b] = await Promise.all(['attempt-a', 'attempt-b'].map((attempt) =>
    runDatasetShard({ dir, spec, shard: 1, model: saved.model, attempt, onNote: (m) => notes.push(m) })));
  assert.ok(a.computed || b.computed, 'an attempt published the shard');
  assert.equal(a.receipt, b.receipt, 'both report the receipt on disk');
  assert.ok(notes.some((m) => /already published by another attempt|another attempt finished the shard meanwhile/.test(m)), notes.join('\n'));
  const part = path.join(dir, 'part-00001.jsonl');
  assert.is(statSync(part).size, a.receipt.recommendations.bytes);
  const singleShard1 = readFileSync(single, 'utf8').split('\n').filter((l, i) => l.length > 0 && i % 2 === 1);
  assert.equal(readFileSync(part, 'utf8').split('\n').filter((l) => l.length > 0), singleShard1);
  assert.equal(readdirSync(stagingDir(dir, spec.jobKey)), [], 'both attempts\' staged files are gone');
});

test('a finished shard is not computed again; another job in the same directory is refused', async () => {
  const dir = fresh('again');
  await runAllShards(dir, 2);
  const before = statSync(path.join(dir, 'part-00000.jsonl')).mtimeMs;
  const again = await precomputeDatasetShard({ modelFile: model, dir, shards: 2, shard: 0, k: K, blockSize: 97 });
  assert.is(again.computed, false);
  assert.is(statSync(path.join(dir, 'part-00000.jsonl')).mtimeMs, before);
  await rejects(() => precomputeDatasetShard({ modelFile: model, dir, shards: 2, shard: 0, k: K + 1, blockSize: 97 }),
    (e: unknown) => e instanceof DatasetInputError && /another job/.test((e as Error).message));
});

test('a model file that does not match the expected digest is refused, naming the file', async () => {
  const dir = fresh('digest');
  await rejects(() => precomputeDatasetShard({ modelFile: model, modelSha256: '0'.repeat(64), dir, shards: 2, shard: 0, k: K }),
    (e: unknown) => e instanceof DatasetInputError && (e as Error).message.includes(model) && /SHA-256/.test((e as Error).message));
  const corrupt = path.join(tmp, 'corrupt.affm');
  const bytes = readFileSync(model);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  writeFileSync(corrupt, bytes);
  await rejects(() => precomputeDatasetShard({ modelFile: corrupt, dir, shards: 2, shard: 0, k: K }),
    (e: unknown) => e instanceof DatasetInputError && /checksum/.test((e as Error).message));
  assert.not.ok(existsSync(path.join(dir, 'part-00000.jsonl')));
});

test('verifyDataset names the shard of a changed, truncated, missing or stray part', async () => {
  const dir = fresh('verify');
  await runAllShards(dir, 3);
  await verifyDataset(dir);
  const part1 = path.join(dir, 'part-00001.jsonl');
  const good = readFileSync(part1);
  const flipped = Buffer.from(good);
  flipped[10] ^= 0x01;
  writeFileSync(part1, flipped);
  await rejects(() => verifyDataset(dir), /shard 1\/3: .*SHA-256/);
  await verifyDataset(dir, { hash: false }); // same size: only the hash sees it
  writeFileSync(part1, good.subarray(0, good.length - 1));
  await rejects(() => verifyDataset(dir, { hash: false }), /shard 1\/3: .*bytes/);
  rmSync(part1);
  await rejects(() => verifyDataset(dir), /shard 1\/3: .*missing/);
  writeFileSync(part1, good);
  await verifyDataset(dir);
  writeFileSync(path.join(dir, 'part-00007.jsonl'), '');
  await rejects(() => verifyDataset(dir), /part-00007\.jsonl/);
  rmSync(path.join(dir, 'part-00007.jsonl'));
  rmSync(path.join(dir, '_SUCCESS'));
  await rejects(() => verifyDataset(dir), /_SUCCESS/);
});

test('readModelHeader: the header without the arrays; wrong, truncated or padded files refused', () => {
  const h = readModelHeader(model);
  const full = readModelFile(model);
  assert.is(h.kind, 'als');
  assert.equal(h.header, full.header);
  const bytes = readFileSync(model);
  const f = path.join(tmp, 'header-test.affm');
  writeFileSync(f, bytes.subarray(0, bytes.length - 4));
  assert.throws(() => readModelHeader(f), /file is truncated/);
  writeFileSync(f, Buffer.concat([bytes, Buffer.from([0])]));
  assert.throws(() => readModelHeader(f), /1 unexpected trailing bytes/);
  writeFileSync(f, 'user,item\n1,2\n');
  assert.throws(() => readModelHeader(f), /not an affinity model file/);
  assert.throws(() => readModelHeader(path.join(tmp, 'absent.affm')), /cannot load model .*ENOENT/);
});

test('publishOnce and writeOnce create a final name once and never overwrite it', () => {
  const d = fresh('once');
  mkdirSync(d);
  const a = path.join(d, 'a'), final = path.join(d, 'final');
  writeFileSync(a, 'first');
  assert.is(publishOnce(a, final), true);
  writeFileSync(path.join(d, 'b'), 'second');
  assert.is(publishOnce(path.join(d, 'b'), final), false);
  assert.is(readFileSync(final, 'utf8'), 'first');
  assert.is(writeOnce(path.join(d, 'w'), 'one'), true);
  assert.is(writeOnce(path.join(d, 'w'), 'two'), false);
  assert.is(readFileSync(path.join(d, 'w'), 'utf8'), 'one');
  assert.equal(readdirSync(d).filter((n) => n.endsWith('.tmp')), [], 'no temporary files left');
});

/** A link call that fails as on a file system without hard links (publishOnce's fallback). */
const noLinks = (): never => { throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' }); };

/** A pid that ran and is gone (a child that exited). */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

test('publishOnce without hard links: created once, never overwritten, all or nothing (claim file + rename), nothing left beside it', () => {
  const d = fresh('once-nolinks');
  mkdirSync(d);
  const a = path.join(d, 'a'), b = path.join(d, 'b'), final = path.join(d, 'final');
  writeFileSync(a, 'first');
  writeFileSync(b, 'second');
  assert.is(publishOnce(a, final, { link: noLinks }), true);
  assert.is(publishOnce(b, final, { link: noLinks }), false);
  assert.is(readFileSync(final, 'utf8'), 'first');
  assert.equal(readdirSync(d).sort(), ['a', 'b', 'final'], 'no claim or temporary left');
  // a copy that fails half-way (here: the staged file cannot be read) leaves no final name behind,
  // so the next attempt publishes it whole (before: an empty 'wx' file counted as published)
  const broken = path.join(d, 'staged-dir');
  mkdirSync(broken);
  const final2 = path.join(d, 'final2');
  assert.throws(() => publishOnce(broken, final2, { link: noLinks }));
  assert.not.ok(existsSync(final2), 'no half-written final after a failed copy');
  assert.is(publishOnce(a, final2, { link: noLinks }), true);
  assert.is(readFileSync(final2, 'utf8'), 'first');
});

test('publishOnce without hard links: a dead attempt\'s claim is taken over; a live one\'s unpublished final stays absent to readers', () => {
  const d = fresh('once-claims');
  mkdirSync(d);
  const a = path.join(d, 'a');
  writeFileSync(a, 'content');
  // an attempt killed mid-copy: its claim and half-written temporary
  const dead = deadPid(), final = path.join(d, '_manifest.json');
  writeFileSync(path.join(d, '._manifest.json.claim'), JSON.stringify({ pid: dead, host: os.hostname() }));
  writeFileSync(path.join(d, `._manifest.json.${dead}.0badcafe.tmp`), 'cont');
  assert.is(publishOnce(a, final, { link: noLinks }), true);
  assert.is(readFileSync(final, 'utf8'), 'content');
  assert.equal(readdirSync(d).sort(), ['_manifest.json', 'a'], 'the dead claim and its temporary are gone');
  // a live attempt's claim (this process): the final is absent to readers until it is renamed into place
  const d2 = fresh('once-claims-live');
  mkdirSync(d2);
  writeFileSync(path.join(d2, '._manifest.json.claim'), JSON.stringify({ pid: process.pid, host: os.hostname() }));
  assert.is(readManifest(d2), null, 'a claimed final that is not there yet is absent');
  assert.throws(() => publishOnce(a, path.join(d2, '_manifest.json'), { link: noLinks, claimWaitMs: 300 }), /_manifest\.json was claimed by pid \d+ on .* and has not been published within 0 s; delete .*\.claim if no attempt is running/);
  assert.not.ok(existsSync(path.join(d2, '_manifest.json')));
});

// ---------------------------------------------------------------------------------------------
// a shard killed mid-way (a pod that died) resumes; a broken checkpoint restarts it

/** Run shard 0 of 1 from the CLI with tiny blocks and SIGKILL it once its checkpoint has `blocks` blocks; returns the staging dir. */
async function killMidShard(dir: string, blocks: number): Promise<string> {
  const run = affinityAsync(['precompute', '--model-file', model, '--out', dir, '--k', String(K), '--block-size', '3'], { AFFINITY_SHARDS: '1', JOB_COMPLETION_INDEX: '0' });
  let staging = '';
  const cp = await waitFor('a checkpoint of the running shard', () => {
    const s = path.join(dir, '_staging');
    if (!existsSync(s)) return undefined;
    for (const key of readdirSync(s)) {
      for (const n of readdirSync(path.join(s, key))) {
        if (!n.endsWith('.checkpoint')) continue;
        try {
          const c = JSON.parse(readFileSync(path.join(s, key, n), 'utf8')) as { recommendations: { blocks: number } };
          if (c.recommendations.blocks >= blocks) { staging = path.join(s, key); return n; }
        } catch { /* being replaced */ }
      }
    }
    if (existsSync(path.join(dir, '_SUCCESS'))) throw new Error('the shard finished before it could be killed');
    return undefined;
  }, 60_000, 5);
  assert.match(cp, new RegExp(`-${run.pid}-`), 'the attempt name carries the pid');
  run.kill('SIGKILL');
  const r = await run.done;
  assert.is(r.code, null, 'killed by a signal');
  assert.not.ok(existsSync(path.join(dir, 'part-00000.jsonl')), 'nothing published by the killed attempt');
  return staging;
}

test('a shard killed with SIGKILL resumes from its checkpoint and writes the same rows', async () => {
  const dir = fresh('killed');
  await killMidShard(dir, 20);
  const r = affinity(['precompute', '--model-file', model, '--out', dir, '--k', String(K), '--block-size', '3'], { AFFINITY_SHARDS: '1', JOB_COMPLETION_INDEX: '0' });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /resumed at block \d+/);
  await verifyDataset(dir);
  assert.equal(sortedLines(partFiles(dir)), sortedLines([single]));
});

test('a shard whose previous attempt left a corrupt checkpoint starts over and writes the same rows', async () => {
  const dir = fresh('corrupt-checkpoint');
  const staging = await killMidShard(dir, 5);
  for (const n of readdirSync(staging)) if (n.endsWith('.checkpoint')) writeFileSync(path.join(staging, n), '{"version":1,"hash":');
  const r = affinity(['precompute', '--model-file', model, '--out', dir, '--k', String(K), '--block-size', '3'], { AFFINITY_SHARDS: '1', JOB_COMPLETION_INDEX: '0' });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /ignoring .*checkpoint.*not valid JSON/);
  assert.not.match(r.stderr, /resumed at/);
  assert.equal(sortedLines(partFiles(dir)), sortedLines([single]));
  assert.not.ok(existsSync(stagingDir(dir, readManifest(dir)!.jobKey)));
});

// ---------------------------------------------------------------------------------------------
// Kubernetes: the Indexed Job manifest, and the environment selecting the shard

interface K8sJob {
  apiVersion: string; kind: string;
  spec: {
    completionMode: string; completions: number; parallelism: number; backoffLimitPerIndex?: number;
    template: { spec: { restartPolicy: string; containers: Array<{ image: string; args: string[]; env: Array<{ name: string; value: string }>; resources: { requests: Record<string, string> }; volumeMounts: Array<{ name: string; mountPath: string }> }>; volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }> } };
  };
}

const jobYaml = path.join(root, 'deploy', 'k8s', 'precompute-job.yaml');

test('deploy/k8s/precompute-job.yaml is an Indexed Job whose shard count matches its completions', () => {
  const job = parseYaml(readFileSync(jobYaml, 'utf8')) as K8sJob;
  assert.is(job.apiVersion, 'batch/v1');
  assert.is(job.kind, 'Job');
  assert.is(job.spec.completionMode, 'Indexed');
  assert.ok(job.spec.completions >= 2);
  assert.is(job.spec.parallelism, job.spec.completions);
  assert.is(job.spec.template.spec.restartPolicy, 'Never');
  const [c] = job.spec.template.spec.containers;
  const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
  assert.is(Number(env.AFFINITY_SHARDS), job.spec.completions, 'AFFINITY_SHARDS = completions');
  assert.is(c.args[0], 'precompute');
  assert.not.ok(c.args.includes('--shard') || c.args.includes('--shards'), 'the shard comes from the environment');
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory, 'resource requests');
  // the model and the output are on the shared volume, which is a claim every pod mounts
  const mount = c.volumeMounts.find((m) => m.name === 'data')!;
  const arg = (name: string): string => c.args[c.args.indexOf(name) + 1];
  assert.ok(arg('--model-file').startsWith(mount.mountPath + '/'));
  assert.ok(arg('--out').startsWith(mount.mountPath + '/'));
  assert.ok(job.spec.template.spec.volumes.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName);
});

test("the Job's container args, run with each pod's JOB_COMPLETION_INDEX, write that shard and together the whole dataset", async () => {
  const job = parseYaml(readFileSync(jobYaml, 'utf8')) as K8sJob;
  const [c] = job.spec.template.spec.containers;
  const mount = c.volumeMounts.find((m) => m.name === 'data')!.mountPath;
  const volume = fresh('k8s-volume');
  mkdirSync(volume);
  copyFileSync(model, path.join(volume, 'model.affm'));
  // the pod's view of the volume → this test's directory; --k and --format as the manifest says
  const args = c.args.map((a) => (a.startsWith(mount + '/') ? path.join(volume, a.slice(mount.length + 1)) : a));
  const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
  const shards = Number(env.AFFINITY_SHARDS);
  const out = path.join(volume, path.relative(mount, c.args[c.args.indexOf('--out') + 1]));
  const format = c.args[c.args.indexOf('--format') + 1];
  // pod 3 alone first: it writes its own shard and nothing else
  const first = affinity(args, { ...env, AFFINITY_THREADS: '1', JOB_COMPLETION_INDEX: '3' });
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stderr, new RegExp(`shard 3/${shards}`));
  assert.equal(readdirSync(out).filter((n) => n.startsWith('part-')), [partFileName(3, shards, format as 'parquet')]);
  assert.equal(readdirSync(path.join(out, '_receipts')), ['part-00003.json']);
  // then the other pods at once, as Kubernetes runs them (the last ones race to write the manifest)
  const pods = [...Array(shards).keys()].filter((i) => i !== 3).map((i) => ({ i, run: affinityAsync(args, { ...env, AFFINITY_THREADS: '1', JOB_COMPLETION_INDEX: String(i) }) }));
  for (const { i, run } of pods) {
    const r = await run.done;
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`shard ${i}/${shards}`));
  }
  const { manifest } = await verifyDataset(out);
  assert.is(manifest.shards, shards);
  assert.is(manifest.format, format);
  assert.is(manifest.k, Number(c.args[c.args.indexOf('--k') + 1]));
  assert.is(manifest.totals.users, 1500);
});

test('the CLI explains a missing or bad shard count or index from the environment', () => {
  const dir = fresh('env-errors');
  const args = ['precompute', '--model-file', model, '--out', dir];
  let r = affinity(args, { JOB_COMPLETION_INDEX: '2', AFFINITY_SHARDS: undefined });
  assert.is(r.code, 1);
  assert.match(r.stderr, /JOB_COMPLETION_INDEX is set .* AFFINITY_SHARDS/);
  r = affinity(args, { JOB_COMPLETION_INDEX: '5', AFFINITY_SHARDS: '3' });
  assert.is(r.code, 1);
  assert.match(r.stderr, /JOB_COMPLETION_INDEX must be an integer in \[0, 3\), got '5'/);
  r = affinity(args, { AFFINITY_SHARDS: 'many', JOB_COMPLETION_INDEX: undefined });
  assert.is(r.code, 1);
  assert.match(r.stderr, /AFFINITY_SHARDS must be a positive integer/);
  r = affinity([...args, '--shards', '3'], { JOB_COMPLETION_INDEX: undefined, AFFINITY_SHARDS: undefined, AFFINITY_QUEUE: undefined });
  assert.is(r.code, 1);
  assert.match(r.stderr, /needs --queue URL .* or a shard index/);
  r = affinity([...args, '--shards', '3', '--shard', '1/4'], { JOB_COMPLETION_INDEX: undefined, AFFINITY_SHARDS: undefined });
  assert.is(r.code, 1);
  assert.match(r.stderr, /says 4 shards/);
  // --shard i/N without --shards keeps its single-file meaning
  r = affinity(['precompute', '--model-file', model, '--out', path.join(tmp, 'one-of-three.jsonl'), '--shard', '1/3'], { JOB_COMPLETION_INDEX: undefined, AFFINITY_SHARDS: undefined });
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(path.join(tmp, 'one-of-three.jsonl')));
  assert.not.ok(existsSync(dir));
});

test('Dockerfile: a slim Node image that builds the package with its native addon and runs the CLI', () => {
  const text = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  assert.ok(froms.length >= 2 && froms.every((f) => /^node:\d+.*-slim$/.test(f)), `slim Node base images: ${froms.join(', ')}`);
  assert.match(text, /npm ci/);
  assert.match(text, /test -f build\/Release\/affinity_native\.node/, 'the build fails without the native addon');
  assert.match(text, /ENTRYPOINT \["node", "\/app\/dist\/src\/cli\/main\.js"\]/);
  console.log('  (the image itself is not built here: no container engine in the test environment)');
});

test.run();
