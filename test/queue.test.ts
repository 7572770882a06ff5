/**
 * The precompute on BullMQ over a real redis-server (Debian's package, started on a free
 * loopback port in a temporary directory, with an fsync'd append-only file): `affinity
 * precompute --queue … --shards N` and three `affinity worker` processes, as separate processes.
 *
 * - a complete run equals the single-machine output (rows, sorted), each shard run once;
 * - a second enqueue of the same job (before, during or after the run) adds no work;
 * - a worker killed with SIGKILL mid-shard: its shard is taken over (stalled-job detection, with
 *   short lock and stalled intervals here) and resumed from its checkpoint; output identical;
 * - Redis restarted mid-job: everyone reconnects, the job completes, output identical;
 * - a model file corrupted after enqueueing: the job fails with the shard's error, each shard
 *   tried once (no retries), nothing published;
 * - passwords and TLS (rediss://): the password is in no log, no output file, no job in Redis.
 *
 * Without redis-server the file prints `SKIP queue: <reason>` (and .ci/run installs it).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { LocalRedis, redisServerUnavailable } from '../bench/localRedis.js';
import { verifyDataset } from '../src/pipeline/dataset.js';
import { writeSyntheticCsv } from '../src/data/synthetic.js';
import { closeEngine } from '../src/engine/processEngine.js';
import { affinity, affinityAsync, partFiles, savedAlsModel, singleMachine, sleep, sortedLines, waitFor, type CliResult } from './helpers/partitioned.js';

const unavailable = redisServerUnavailable();

if (unavailable) {
  console.log(`SKIP queue: ${unavailable}`);
  test('queue: skipped, and the reason says what is missing', () => {
    assert.match(unavailable, /redis-server/);
  });
} else {
  const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-queue-'));
  const model = path.join(tmp, 'model.affm');
  const single = path.join(tmp, 'single.jsonl');
  const similarSingle = path.join(tmp, 'single.similar.jsonl');
  const K = 10, SIMILAR = 5;
  const USERS = 4500;
  const redis = new LocalRedis({ persistence: true });
  // short intervals so that a dead worker's shard is taken over within a few seconds
  const WORKER = ['--lock-duration', '2000', '--stalled-interval', '1000'];
  const workerEnv = { AFFINITY_THREADS: '1' };

  type Proc = ReturnType<typeof affinityAsync>;
  let workers: Proc[] = [];

  function startWorkers(n: number, url = redis.url(), env: Record<string, string> = {}): Proc[] {
    const ws = [...Array(n)].map(() => affinityAsync(['worker', '--queue', url, ...WORKER], { ...workerEnv, ...env }));
    workers.push(...ws);
    return ws;
  }

  async function stopWorkers(): Promise<CliResult[]> {
    const ws = workers;
    workers = [];
    for (const w of ws) w.kill('SIGTERM');
    return Promise.all(ws.map((w) => w.done));
  }

  /** Shard starts in the workers' logs: `shard i/N of job KEY: started`. */
  function starts(logs: string[], jobKey?: string): string[] {
    const out: string[] = [];
    for (const l of logs) for (const m of l.matchAll(/shard (\d+)\/(\d+) of job ([0-9a-f]+): started/g)) if (!jobKey || m[3] === jobKey) out.push(`${m[1]}/${m[2]}`);
    return out.sort();
  }

  function enqueueArgs(out: string, shards: number, extra: string[] = [], url = redis.url()): string[] {
    return ['precompute', '--model-file', model, '--out', out, '--shards', String(shards), '--queue', url, '--k', String(K), ...extra];
  }

  function dir(name: string): string {
    return path.join(tmp, name);
  }

  /** The staged checkpoint (and the pid in its attempt name) of a running shard with at least `blocks` blocks done. */
  function runningCheckpoint(out: string, blocks: number): { pid: number; blocks: number; name: string } | undefined {
    const staging = path.join(out, '_staging');
    if (!existsSync(staging)) return undefined;
    for (const key of readdirSync(staging)) {
      let names: string[];
      try { names = readdirSync(path.join(staging, key)); } catch { continue; }
      for (const n of names) {
        const m = /^part-\d+\.[A-Za-z0-9-]*?-(\d+)-[0-9a-f]+\.jsonl\.checkpoint$/.exec(n);
        if (!m) continue;
        try {
          const c = JSON.parse(readFileSync(path.join(staging, key, n), 'utf8')) as { recommendations: { blocks: number } };
          if (c.recommendations.blocks >= blocks) return { pid: Number(m[1]), blocks: c.recommendations.blocks, name: n };
        } catch { /* replaced while read */ }
      }
    }
    return undefined;
  }

  function assertSameAsSingleMachine(out: string, similar = false): void {
    assert.equal(sortedLines(partFiles(out)), sortedLines([single]), 'recommendations = the single-machine rows');
    if (similar) assert.equal(sortedLines(partFiles(out, true)), sortedLines([similarSingle]), 'similar items = the single-machine rows');
  }

  async function bullQueue(url = redis.url(), password?: string): Promise<Queue> {
    const u = new URL(url);
    const q = new Queue('affinity-precompute', { connection: { host: u.hostname, port: Number(u.port), ...(password ? { password } : {}) } });
    await q.waitUntilReady();
    return q;
  }

  test.before(async () => {
    await savedAlsModel(model, { users: USERS, items: 900, interactions: 60_000 });
    await singleMachine(model, single, { k: K, similar: SIMILAR });
    await redis.start();
  });

  test.after(async () => {
    await stopWorkers();
    await redis.dispose();
    await closeEngine();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('3 workers: the dataset equals the single-machine output and each shard runs once', async () => {
    startWorkers(3);
    const out = dir('complete');
    const r = affinity([...enqueueArgs(out, 6, ['--similar-items', String(SIMILAR), '--block-size', '100']), '--json']);
    assert.is(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { added: number; jobKey: string; manifest: { shards: number; totals: { users: number } } };
    assert.is(res.added, 6);
    assert.is(res.manifest.shards, 6);
    assert.is(res.manifest.totals.users, USERS);
    const { files } = await verifyDataset(out);
    assert.is(files.length, 12);
    assertSameAsSingleMachine(out, true);
    await sleep(300);
    const logs = workers.map((w) => w.output());
    assert.equal(starts(logs, res.jobKey), ['0/6', '1/6', '2/6', '3/6', '4/6', '5/6'], 'each shard started once');
    assert.ok(logs.filter((l) => /started/.test(l)).length >= 2, 'the work was spread over more than one worker');
    await stopWorkers();
  });

  test('a second enqueue adds no work (before the workers start, and after the job is complete); the last worker writes the manifest', async () => {
    const out = dir('twice');
    const a = affinity([...enqueueArgs(out, 4), '--no-wait', '--json']);
    const b = affinity([...enqueueArgs(out, 4), '--no-wait', '--json']);
    assert.is(a.code, 0, a.stderr);
    assert.is(b.code, 0, b.stderr);
    const ra = JSON.parse(a.stdout) as { added: number; jobKey: string }, rb = JSON.parse(b.stdout) as { added: number; jobKey: string };
    assert.is(ra.added, 4);
    assert.is(rb.added, 0, 'the second enqueue added nothing');
    assert.is(rb.jobKey, ra.jobKey);
    assert.match(b.stderr, /was enqueued before/);
    const q = await bullQueue();
    try {
      const jobs = await q.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed']);
      assert.is(jobs.filter((j) => j.id?.startsWith(ra.jobKey)).length, 4, 'four shard jobs in Redis, not eight');
    } finally {
      await q.close();
    }
    startWorkers(3);
    // nobody waits on the job: the worker that finishes the last shard writes the manifest
    await waitFor('_SUCCESS', () => existsSync(path.join(out, '_SUCCESS')), 120_000, 100);
    await verifyDataset(out);
    assertSameAsSingleMachine(out);
    const mtimes = partFiles(out).map((f) => statSync(f).mtimeMs);
    const c = affinity(enqueueArgs(out, 4)); // a third, after completion
    assert.is(c.code, 0, c.stderr);
    assert.match(c.stderr, /already holds this precompute/);
    await sleep(1500);
    assert.equal(partFiles(out).map((f) => statSync(f).mtimeMs), mtimes, 'no part rewritten');
    const logs = (await stopWorkers()).map((x) => x.stdout + x.stderr);
    assert.equal(starts(logs, ra.jobKey), ['0/4', '1/4', '2/4', '3/4'], 'each shard ran once over three enqueues');
    assert.match(logs.join('\n'), /every shard is done; wrote .*_manifest\.json/);
  });

  test('--input --model: the enqueuer fits once and saves the model for the workers; running it again does not refit', async () => {
    const input = path.join(tmp, 'ratings.csv');
    await writeSyntheticCsv({ users: 800, items: 300, interactions: 8000, explicit: false, seed: 5, out: input });
    startWorkers(2);
    const out = dir('fit-once');
    const args = ['precompute', '--input', input, '--implicit', '--model', 'als', '--params', 'factors=8,iterations=2,seed=1',
      '--k', String(K), '--shards', '3', '--queue', redis.url(), '--out', out, '--json'];
    const r = affinity(args);
    assert.is(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { jobKey: string; spec: { model: { file: string; kind: string } } };
    assert.is(res.spec.model.file, path.join(out, '_model', `${res.jobKey}.affm`));
    assert.is(res.spec.model.kind, 'als');
    // the dataset is the single-machine precompute of the model the enqueuer saved
    const one = path.join(tmp, 'fit-once-single.jsonl');
    await singleMachine(res.spec.model.file, one, { k: K });
    assert.equal(sortedLines(partFiles(out)), sortedLines([one]));
    const before = statSync(res.spec.model.file).mtimeMs;
    const again = affinity(args);
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stderr, /already holds this precompute/);
    assert.is(statSync(res.spec.model.file).mtimeMs, before, 'not refitted');
    // a model that cannot be saved for the workers is refused before anything is fitted
    const knn = affinity(['precompute', '--input', input, '--implicit', '--model', 'item-knn', '--k', '5', '--shards', '2', '--queue', redis.url(), '--out', dir('fit-knn')]);
    assert.is(knn.code, 1);
    assert.match(knn.stderr, /model 'item-knn' cannot be saved for the workers to load/);
    await stopWorkers();
  });

  test('SIGKILL of a worker mid-shard: another worker takes the shard over and resumes it; the output is identical', async () => {
    const ws = startWorkers(3);
    const out = dir('sigkill');
    const run = affinityAsync(enqueueArgs(out, 3, ['--block-size', '4']));
    const cp = await waitFor('a shard 10 blocks in', () => runningCheckpoint(out, 10), 60_000, 5);
    const victim = ws.find((w) => w.pid === cp.pid);
    assert.ok(victim, `the checkpoint ${cp.name} belongs to one of the workers`);
    victim!.kill('SIGKILL');
    const r = await run.done;
    assert.is(r.code, 0, r.stderr);
    await verifyDataset(out);
    assertSameAsSingleMachine(out);
    const survivors = (await stopWorkers()).map((x, i) => ({ pid: ws[i].pid, log: x.stdout + x.stderr })).filter((x) => x.pid !== cp.pid);
    const all = survivors.map((s) => s.log).join('\n');
    const shard = /^part-(\d+)\./.exec(cp.name)![1];
    const resumed = new RegExp(`shard ${Number(shard)}/3 of job [0-9a-f]+: resumed at recommendations block (\\d+)`).exec(all);
    assert.ok(resumed, `a surviving worker resumed shard ${Number(shard)}:\n${all}`);
    assert.ok(Number(resumed![1]) >= cp.blocks, `resumed at block ${resumed![1]}, at or after the ${cp.blocks} blocks seen before the kill`);
    assert.match(all, /stalled/);
  });

  async function restartMidJob(server: LocalRedis, out: string): Promise<{ enqueue: CliResult; logs: string }> {
    startWorkers(3, server.url());
    // six shards for three workers: when Redis goes, three shard jobs are still waiting in it
    const run = affinityAsync(enqueueArgs(out, 6, ['--block-size', '4'], server.url()));
    await waitFor('a shard 5 blocks in', () => runningCheckpoint(out, 5), 60_000, 5);
    await server.stop();
    await sleep(2000);
    await server.start();
    const enqueue = await run.done;
    const logs = (await stopWorkers()).map((x) => x.stdout + x.stderr).join('\n');
    return { enqueue, logs };
  }

  test('Redis restarted mid-job (append-only file): workers and the enqueuer reconnect and the job completes, identical', async () => {
    const out = dir('redis-restart');
    const { enqueue, logs } = await restartMidJob(redis, out);
    assert.is(enqueue.code, 0, enqueue.stderr);
    await verifyDataset(out);
    assertSameAsSingleMachine(out);
    assert.match(logs + enqueue.stderr, /ECONNREFUSED|Connection is closed|not answering/, 'the outage was seen');
  });

  test('Redis restarted mid-job without persistence: the enqueuer puts the lost shard jobs back and the job completes, identical', async () => {
    const volatile = new LocalRedis({ persistence: false });
    await volatile.start();
    try {
      const out = dir('redis-restart-volatile');
      const { enqueue, logs } = await restartMidJob(volatile, out);
      assert.is(enqueue.code, 0, `${enqueue.stderr}\n${logs}`);
      assert.match(enqueue.stderr, /its job is not in Redis .* enqueueing it again/);
      await verifyDataset(out);
      assertSameAsSingleMachine(out);
    } finally {
      await stopWorkers();
      await volatile.dispose();
    }
  });

  test('a model file corrupted after enqueueing: the job fails naming the shard, no retries, nothing published', async () => {
    const out = dir('corrupt');
    const copy = path.join(tmp, 'model-copy.affm');
    copyFileSync(model, copy);
    const run = affinityAsync(['precompute', '--model-file', copy, '--out', out, '--shards', '3', '--queue', redis.url(), '--k', String(K)]);
    await waitFor('the shard jobs to be enqueued', () => /0\/3 shards done/.test(run.output()), 60_000);
    const bytes = readFileSync(copy);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(copy, bytes);
    startWorkers(3);
    const r = await run.done;
    assert.is(r.code, 1);
    assert.match(r.stderr, /affinity: shard \d\/3 failed: model file .*model-copy\.affm has SHA-256 [0-9a-f]{64}, the job was enqueued with [0-9a-f]{64}: it was replaced or is corrupt/);
    const q = await bullQueue();
    try {
      const mine = async (states: Parameters<Queue['getJobs']>[0]) => (await q.getJobs(states)).filter((j) => j.data?.spec?.model?.file === copy);
      await waitFor('all three shard jobs to fail', async () => (await mine(['failed'])).length === 3, 30_000, 100);
      await sleep(3000); // time for a retry or a stalled re-run, if there were one
      const failed = await mine(['failed']);
      assert.is(failed.length, 3);
      assert.equal(failed.map((j) => j.attemptsMade), [1, 1, 1], 'each shard tried once');
      assert.is((await mine(['waiting', 'active', 'delayed', 'prioritized'])).length, 0, 'nothing queued again');
      for (const j of failed) assert.match(j.failedReason, /^shard \d\/3 of job [0-9a-f]+: model file .* SHA-256/);
    } finally {
      await q.close();
    }
    assert.equal(readdirSync(out).filter((n) => n.startsWith('part-') || n.startsWith('_manifest') || n === '_SUCCESS'), [], 'nothing published');
    // and a truncated model file is refused before anything is enqueued (the enqueuer reads the header only)
    writeFileSync(copy, bytes.subarray(0, bytes.length - 100));
    const e = affinity(['precompute', '--model-file', copy, '--out', dir('corrupt-early'), '--shards', '3', '--queue', redis.url(), '--k', String(K)]);
    assert.is(e.code, 1);
    assert.match(e.stderr, /model-copy\.affm': file is truncated/);
    await stopWorkers();
  });

  // -------------------------------------------------------------------------------------------
  // credentials

  const PASSWORD = 'pw-Zq8#t4!vN2';

  /** Every file under `d`, as text. */
  function filesUnder(d: string): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) out.push(...filesUnder(p));
      else out.push([p, readFileSync(p).toString('latin1')]);
    }
    return out;
  }

  test('a password-protected Redis: the password works from the URL and from the environment, and appears in no log, file or job', async () => {
    const secured = new LocalRedis({ persistence: false, password: PASSWORD });
    await secured.start();
    try {
      const out = dir('password');
      startWorkers(2, secured.url(false), { AFFINITY_REDIS_PASSWORD: PASSWORD });
      const r = affinity(enqueueArgs(out, 2, ['--json'], secured.url(true)));
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stderr, /redis:\/\/\*\*\*@127\.0\.0\.1/);
      const logs = (await stopWorkers()).map((x) => x.stdout + x.stderr);
      assert.match(logs.join('\n'), /worker on redis:\/\/\*\*\*@127\.0\.0\.1/);
      assertSameAsSingleMachine(out);
      const encoded = encodeURIComponent(PASSWORD);
      for (const [where, text] of [['enqueue stdout', r.stdout], ['enqueue stderr', r.stderr], ...logs.map((l, i) => [`worker ${i} log`, l]), ...filesUnder(out)]) {
        assert.not.ok(text.includes(PASSWORD) || text.includes(encoded), `the password appears in ${where}`);
      }
      const q = await bullQueue(secured.url(false), PASSWORD);
      try {
        const jobs = await q.getJobs(['completed', 'failed', 'waiting', 'active']);
        assert.ok(jobs.length === 2);
        for (const j of jobs) assert.not.ok(JSON.stringify({ data: j.data, result: j.returnvalue }).includes(PASSWORD), 'the password is in a job');
      } finally {
        await q.close();
      }
      // a wrong password: a clear error at once, which does not repeat it
      const bad = affinity(enqueueArgs(dir('password-bad'), 2, [], secured.url(false).replace('redis://', 'redis://:not-the-password@')));
      assert.is(bad.code, 1);
      assert.match(bad.stderr, /refused the credentials: WRONGPASS/);
      assert.not.ok(bad.stderr.includes('not-the-password'));
      const noAuth = affinity(['worker', '--queue', secured.url(false)], { AFFINITY_REDIS_PASSWORD: undefined }, 30_000);
      assert.is(noAuth.code, 1);
      assert.match(noAuth.stderr, /refused the credentials: NOAUTH/);
    } finally {
      await stopWorkers();
      await secured.dispose();
    }
  });

  const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (openssl.status !== 0) {
    console.log('SKIP queue over TLS: openssl not found (needed to make a test certificate)');
  } else {
    test('rediss:// with a password: TLS to a redis-server with a test CA; the job completes', async () => {
      const certs = mkdtempSync(path.join(tmp, 'tls-'));
      const ssl = (...args: string[]): void => {
        const r = spawnSync('openssl', args, { cwd: certs, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
      };
      ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=affinity test CA');
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
      writeFileSync(path.join(certs, 'ext.cnf'), 'subjectAltName=DNS:localhost\n');
      ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'ext.cnf');
      const tls = new LocalRedis({ persistence: false, password: PASSWORD, tls: { cert: path.join(certs, 'server.pem'), key: path.join(certs, 'server.key'), ca: path.join(certs, 'ca.pem') } });
      await tls.start();
      try {
        const env = { AFFINITY_REDIS_CA: path.join(certs, 'ca.pem'), AFFINITY_REDIS_PASSWORD: PASSWORD };
        const url = tls.url(false);
        assert.match(url, /^rediss:\/\/localhost:\d+\/0$/);
        startWorkers(1, url, env);
        const out = dir('tls');
        const r = affinity(enqueueArgs(out, 2, [], url), env);
        assert.is(r.code, 0, r.stderr);
        assertSameAsSingleMachine(out);
        const logs = (await stopWorkers()).map((x) => x.stdout + x.stderr).join('\n');
        assert.not.ok((logs + r.stderr).includes(PASSWORD));
        // without the CA, the server's certificate is not trusted: a clear error, not a hang
        const untrusted = affinity([...enqueueArgs(dir('tls-untrusted'), 2, [], url)], { AFFINITY_REDIS_PASSWORD: PASSWORD, AFFINITY_REDIS_CA: undefined }, 90_000);
        assert.is(untrusted.code, 1);
        assert.match(untrusted.stderr, /certificate/);
      } finally {
        await stopWorkers();
        await tls.dispose();
      }
    });
  }
}

test.run();
