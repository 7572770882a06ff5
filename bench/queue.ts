/**
 * Benchmark of the precompute past one machine (BullMQ over Redis, `affinity worker` processes
 * on this machine). Not part of `affinity bench` (it needs redis-server and starts processes):
 *
 *   npm run build:ts && node dist/bench/queue.js [--users 138000 --items 27000 --interactions 20000000]
 *       [--factors 64] [--k 10] [--shards 12] [--workers 1,2,3] [--model FILE | --save-model FILE] [--out bench/results]
 *
 * It fits ALS once on the seeded synthetic data of `affinity generate --users U --items I
 * --interactions N --zipf 1.0 --implicit --seed 3` (one iteration: the scoring cost does not
 * depend on how well the model fits) and saves it (to --save-model, to reuse it with --model:
 * the size options must then describe the data it was fitted on), then measures:
 *
 * 1. the single-process precompute of that model (`affinity precompute --model-file`), wall time;
 * 2. the queued precompute with W = 1, 2, 3 workers (each with cores / W engine threads),
 *    `--shards S`: wall time of `affinity precompute --queue` from start to manifest, users/s, and
 *    per shard (from the jobs in Redis and the workers' results): the compute time (scoring and
 *    writing), the model check and load, the publish step, and the rest (the coordination);
 * 3. the coordination overhead alone: 40 shards of a tiny model on one worker;
 *
 * checks that every queued dataset verifies and equals the single-process rows, and prints a
 * paper estimate for 100 M users × 1 M items on 50 workers from the measured per-user cost.
 * Writes bench/results/queue-<date>.json and prints a Markdown summary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { generateInteractions } from '../src/data/synthetic.js';
import { ALS } from '../src/models/factorization/index.js';
import { verifyDataset } from '../src/pipeline/dataset.js';
import type { ShardJobData, ShardJobResult } from '../src/pipeline/queue.js';
import { closeEngine } from '../src/engine/processEngine.js';
import { LocalRedis, redisServerUnavailable } from './localRedis.js';
import { summarize } from './harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');

interface Args { users: number; items: number; interactions: number; factors: number; k: number; shards: number; workers: number[]; model?: string; saveModel?: string; out: string }

function parseArgs(argv: string[]): Args {
  const a: Args = { users: 138_000, items: 27_000, interactions: 20_000_000, factors: 64, k: 10, shards: 12, workers: [1, 2, 3], out: path.join(root, 'bench', 'results') };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${name} needs a value`);
    const int = (): number => { const n = Number(v); if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`); return n; };
    switch (name) {
      case '--users': a.users = int(); break;
      case '--items': a.items = int(); break;
      case '--interactions': a.interactions = int(); break;
      case '--factors': a.factors = int(); break;
      case '--k': a.k = int(); break;
      case '--shards': a.shards = int(); break;
      case '--workers': a.workers = v.split(',').map((x) => { const n = Number(x); if (!Number.isInteger(n) || n <= 0) throw new Error('--workers: a list like 1,2,3'); return n; }); break;
      case '--model': a.model = v; break;
      case '--save-model': a.saveModel = v; break;
      case '--out': a.out = v; break;
      default: throw new Error(`unknown option ${name}`);
    }
  }
  return a;
}

function sortedRows(files: string[]): string[] {
  const rows: string[] = [];
  for (const f of files) for (const l of readFileSync(f, 'utf8').split('\n')) if (l) rows.push(l);
  return rows.sort();
}

interface Proc { child: ChildProcess; out: string; done: Promise<number | null> }

function run(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, out: '', done: Promise.resolve(null) };
  child.stdout!.on('data', (b: Buffer) => { p.out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { p.out += b.toString(); });
  p.done = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  return p;
}

async function timed(args: string[], env: Record<string, string> = {}): Promise<{ seconds: number; out: string }> {
  const t0 = performance.now();
  const p = run(args, env);
  const code = await p.done;
  if (code !== 0) throw new Error(`affinity ${args.join(' ')} failed (${code}):\n${p.out}`);
  return { seconds: (performance.now() - t0) / 1000, out: p.out };
}

async function startWorkers(n: number, url: string, queueName: string, threads: number): Promise<Proc[]> {
  const ws = [...Array(n)].map(() => run(['worker', '--queue', url, '--queue-name', queueName], { AFFINITY_THREADS: String(threads) }));
  const end = Date.now() + 120_000;
  while (!ws.every((w) => /worker on /.test(w.out))) {
    if (Date.now() > end) throw new Error(`workers did not start:\n${ws.map((w) => w.out).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return ws;
}

async function stopWorkers(ws: Proc[]): Promise<void> {
  for (const w of ws) w.child.kill('SIGTERM');
  await Promise.all(ws.map((w) => w.done));
}

interface ShardTiming { shard: number; wait: number; run: number; compute: number; model: number; publish: number; overhead: number; attempts: number }

async function shardTimings(url: string, queueName: string, jobKey: string, shards: number): Promise<ShardTiming[]> {
  const u = new URL(url);
  const q = new Queue<ShardJobData, ShardJobResult>(queueName, { connection: { host: u.hostname, port: Number(u.port) } });
  try {
    const out: ShardTiming[] = [];
    for (let s = 0; s < shards; s++) {
      const j = await q.getJob(`${jobKey}-${s}`);
      if (!j || !j.returnvalue || !j.processedOn || !j.finishedOn) throw new Error(`shard job ${jobKey}-${s} has no result`);
      const r = j.returnvalue;
      const runS = (j.finishedOn - j.processedOn) / 1000;
      out.push({
        shard: s, wait: (j.processedOn - j.timestamp) / 1000, run: runS,
        compute: r.seconds.compute, model: r.modelSeconds, publish: r.seconds.publish,
        // what is left of the job's time in the worker: BullMQ bookkeeping, progress, finalize checks
        overhead: runS - r.seconds.compute - r.modelSeconds - r.seconds.publish,
        // > 1 when the shard was taken over (a stalled lock) or retried
        attempts: Math.max(j.attemptsStarted ?? 1, j.attemptsMade ?? 1),
      });
    }
    return out;
  } finally {
    await q.close();
  }
}

const med = (xs: number[]): number => summarize(xs).medianSeconds;
const fmt = (x: number, d = 2): string => x.toFixed(d);
const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`;
const us = (s: number): string => `${(s * 1e6).toFixed(1)} µs`;

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const why = redisServerUnavailable();
  if (why) { console.log(`SKIP queue bench: ${why}`); return; }
  const cores = os.availableParallelism();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'affinity-queue-bench-'));
  const redis = new LocalRedis({ persistence: false });
  const size = `${a.users}x${a.items}x${a.interactions}`;
  const load0 = os.loadavg()[0];
  try {
    // the model, fitted once
    let model = a.model;
    let fitSeconds = 0;
    if (!model) {
      console.error(`bench queue: generating ${size} (zipf 1.0, implicit, seed 3) and fitting ALS (${a.factors} factors, 1 iteration)…`);
      const t0 = performance.now();
      const data = generateInteractions({ users: a.users, items: a.items, interactions: a.interactions, zipf: 1.0, explicit: false, seed: 3 });
      const m = new ALS({ factors: a.factors, iterations: 1, seed: 1 });
      await m.fit(data);
      model = a.saveModel ?? path.join(tmp, 'model.affm');
      m.save(model);
      fitSeconds = (performance.now() - t0) / 1000;
      await closeEngine();
    }
    const modelBytes = statSync(model).size;
    await redis.start();
    const url = redis.url();

    // 1. one process, no queue
    console.error('bench queue: single process…');
    const single = path.join(tmp, 'single.jsonl');
    const base = await timed(['precompute', '--model-file', model, '--out', single, '--k', String(a.k), '--quiet', '--json'], { AFFINITY_THREADS: String(cores) });
    const baseSummary = JSON.parse(base.out.trim().split('\n').pop()!) as { users: number; timings: { read: number; fit: number; score: number; write: number } };
    const users = baseSummary.users;
    // in-process time (the CLI's start-up is not the precompute's): loading the model, scoring, writing
    const baseSeconds = baseSummary.timings.read + baseSummary.timings.fit + baseSummary.timings.score + baseSummary.timings.write;
    const baseRows = sortedRows([single]);

    // 2. the queue, W workers
    const runs: Array<{ workers: number; threads: number; seconds: number; wall: number; usersPerSecond: number; shards: ShardTiming[] }> = [];
    for (const w of a.workers) {
      console.error(`bench queue: ${w} worker(s), ${a.shards} shards…`);
      const queueName = `bench-${w}-${process.pid}`;
      const threads = Math.max(1, Math.floor(cores / w));
      const ws = await startWorkers(w, url, queueName, threads);
      const out = path.join(tmp, `queued-${w}`);
      let r;
      try {
        r = await timed(['precompute', '--model-file', model, '--out', out, '--shards', String(a.shards), '--queue', url, '--queue-name', queueName, '--k', String(a.k), '--json', '--quiet']);
      } finally {
        await stopWorkers(ws);
      }
      // seconds: from the enqueuer's start (model digest, enqueueing) to the manifest written
      const res = JSON.parse(r.out.trim().split('\n').pop()!) as { jobKey: string; seconds: number };
      const { files } = await verifyDataset(out);
      const rows = sortedRows(files);
      if (rows.length !== baseRows.length || rows.some((l, i) => l !== baseRows[i])) throw new Error(`the ${w}-worker dataset differs from the single-process output`);
      runs.push({ workers: w, threads, seconds: res.seconds, wall: r.seconds, usersPerSecond: users / res.seconds, shards: await shardTimings(url, queueName, res.jobKey, a.shards) });
      rmSync(out, { recursive: true, force: true });
    }

    // 3. coordination alone: many shards of a tiny model on one worker
    console.error('bench queue: coordination overhead (40 shards of a tiny model, 1 worker)…');
    const tinyData = generateInteractions({ users: 400, items: 100, interactions: 4000, zipf: 1.0, explicit: false, seed: 3 });
    const tiny = new ALS({ factors: 8, iterations: 1, seed: 1 });
    await tiny.fit(tinyData, { backend: 'js' });
    const tinyModel = path.join(tmp, 'tiny.affm');
    tiny.save(tinyModel);
    const tinyQueue = `bench-tiny-${process.pid}`;
    const tws = await startWorkers(1, url, tinyQueue, 1);
    let tinyRun;
    try {
      tinyRun = await timed(['precompute', '--model-file', tinyModel, '--out', path.join(tmp, 'tiny'), '--shards', '40', '--queue', url, '--queue-name', tinyQueue, '--k', '5', '--json', '--quiet']);
    } finally {
      await stopWorkers(tws);
    }
    const tinyKey = (JSON.parse(tinyRun.out.trim().split('\n').pop()!) as { jobKey: string }).jobKey;
    const tinyShards = await shardTimings(url, tinyQueue, tinyKey, 40);
    const tinyPerShard = tinyRun.seconds / 40;

    // the paper estimate. One core's time per user, measured with one worker using every core
    // (so the threads' scaling is counted as perfect), scales with the items scored: dense
    // scoring is I × F multiply-adds per user and the top-k scan reads I scores.
    const best = runs.reduce((x, y) => (y.usersPerSecond > x.usersPerSecond ? y : x));
    const one = runs[0];
    const perUserCore = med(one.shards.map((s) => s.compute)) * one.threads / (users / a.shards);
    const U = 100e6, I = 1e6, W = 50, coresPerWorker = 16, shardsBig = 2000;
    const perUserCoreBig = perUserCore * (I / a.items);
    const nnzPerUser = a.interactions / a.users;
    // the AFFM file: user and item factors (f32), the training matrix (i32 index + f32 value per
    // interaction, i32 row pointers), the ids as JSON (~10 bytes each)
    const modelBytesBig = (U + I) * a.factors * 4 + nnzPerUser * U * 8 + U * 4 + (U + I) * 10;
    const loadSecondsPerByte = med(one.shards.map((s) => s.model).filter((x) => x > 0.001)) / modelBytes;
    const outputBytesPerUser = statSync(single).size / users;
    const estimate = {
      users: U, items: I, workers: W, coresPerWorker, shards: shardsBig,
      measuredCoreSecondsPerUser: perUserCore,
      coreSecondsPerUser: perUserCoreBig,
      scoringHoursPerWorker: (U / W) * perUserCoreBig / coresPerWorker / 3600,
      coordinationSecondsPerWorker: (shardsBig / W) * tinyPerShard,
      modelFileGiB: modelBytesBig / 2 ** 30,
      modelLoadMinutesPerWorker: Number.isFinite(loadSecondsPerByte) ? modelBytesBig * loadSecondsPerByte / 60 : null,
      outputGiB: U * outputBytesPerUser / 2 ** 30,
    };

    const record = {
      date: new Date().toISOString(), size, factors: a.factors, k: a.k, shards: a.shards, cores, loadAverageAtStart: load0, loadAverageAtEnd: os.loadavg()[0],
      modelBytes, fitSeconds, users,
      single: { seconds: baseSeconds, wall: base.seconds, usersPerSecond: users / baseSeconds, timings: baseSummary.timings },
      queued: runs.map((r) => ({
        workers: r.workers, threadsPerWorker: r.threads, seconds: r.seconds, wall: r.wall, usersPerSecond: r.usersPerSecond,
        shard: {
          compute: summarize(r.shards.map((s) => s.compute)), model: summarize(r.shards.map((s) => s.model)), publish: summarize(r.shards.map((s) => s.publish)),
          overhead: summarize(r.shards.map((s) => s.overhead)), wait: summarize(r.shards.map((s) => s.wait)),
        },
        shardsRunMoreThanOnce: r.shards.filter((s) => s.attempts > 1).length,
      })),
      coordination: { shards: 40, seconds: tinyRun.seconds, perShardSeconds: tinyPerShard, jobOverhead: summarize(tinyShards.map((s) => s.overhead + s.publish)) },
      estimate,
      best: { workers: best.workers, usersPerSecond: best.usersPerSecond },
    };
    mkdirSync(a.out, { recursive: true });
    const file = path.join(a.out, `queue-${record.date.slice(0, 10)}-${size}.json`);
    writeFileSync(file, JSON.stringify(record, null, 2) + '\n');

    const lines = [
      `### Precompute on the queue: ${size} synthetic (ALS ${a.factors} factors, k = ${a.k}), ${a.shards} shards, ${cores} cores`,
      '',
      `Load average ${fmt(load0)} at the start, ${fmt(record.loadAverageAtEnd)} at the end (other jobs share this machine: times are noisy). ` +
        'Time: in the process, from the start of the precompute (single) or of the enqueue (queued: model digest, enqueueing, waiting, manifest) to the end; ' +
        'the CLI\'s start-up is not counted. Per shard: compute = scoring and writing the part; other = the rest of the job\'s time in the worker (BullMQ, progress, the finalize check); ' +
        'queue wait = how long a shard job waited for a free worker.',
      '',
      '| run | time | users/s | shard compute (median, min–max) | model check + load (first per worker) | publish | other per shard | queue wait | shards run twice |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      `| 1 process, no queue (${cores} threads) | ${fmt(baseSeconds)} s | ${fmt(users / baseSeconds, 0)} | — | ${ms(baseSummary.timings.fit)} | — | — | — | — |`,
      ...record.queued.map((q) => `| ${q.workers} worker${q.workers > 1 ? 's' : ''} × ${q.threadsPerWorker} thread${q.threadsPerWorker > 1 ? 's' : ''} | ${fmt(q.seconds)} s | ${fmt(q.usersPerSecond, 0)} | ` +
        `${fmt(q.shard.compute.medianSeconds)} s (${fmt(q.shard.compute.minSeconds)}–${fmt(q.shard.compute.maxSeconds)}) | ${ms(q.shard.model.maxSeconds)} | ` +
        `${ms(q.shard.publish.medianSeconds)} | ${ms(q.shard.overhead.medianSeconds)} | ${fmt(q.shard.wait.medianSeconds)} s | ${q.shardsRunMoreThanOnce} |`),
      '',
      `Coordination alone: 40 shards of a 400-user model on one worker took ${fmt(tinyRun.seconds)} s, ${ms(tinyPerShard)} per shard end to end ` +
        `(in the worker: ${ms(record.coordination.jobOverhead.medianSeconds)} median besides scoring).`,
      '',
      `Paper estimate, ${U / 1e6} M users × ${I / 1e6} M items, ${W} workers × ${coresPerWorker} cores, ${shardsBig} shards: ` +
        `one core scores a user in ${us(perUserCore)} at ${a.items} items here, so ~${fmt(perUserCoreBig, 2)} s at ${I / 1e6} M items → ` +
        `${fmt(estimate.scoringHoursPerWorker, 1)} h of scoring per worker (if its ${coresPerWorker} cores scale perfectly), ` +
        `${fmt(estimate.coordinationSecondsPerWorker, 1)} s of per-shard coordination per worker (${shardsBig / W} shards × ${ms(tinyPerShard)}); each worker loads the whole saved model, ` +
        `~${fmt(estimate.modelFileGiB, 0)} GiB at ${fmt(nnzPerUser, 0)} interactions per user` +
        `${estimate.modelLoadMinutesPerWorker !== null ? ` (~${fmt(estimate.modelLoadMinutesPerWorker, 1)} min at the load rate measured here)` : ''}; ` +
        `the output is ~${fmt(estimate.outputGiB, 0)} GiB of JSONL.`,
      '',
      `(results: ${path.relative(root, file)})`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await redis.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
