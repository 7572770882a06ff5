/**
 * The precompute on a queue: BullMQ over Redis carries one job per shard of a partitioned
 * dataset (dataset.ts); workers on any number of machines take shard jobs and run them
 * (datasetShard.ts). BullMQ gives the failure handling:
 *
 * - a worker that dies (SIGKILL, OOM, a lost machine) stops renewing its job's lock; another
 *   worker's stalled-job check puts the job back in the queue and a worker takes it, resuming
 *   from the dead attempt's checkpoint (at most `maxStalledCount` times, then the job fails);
 * - a shard that throws is retried (`attempts`, exponential backoff), except for bad input
 *   (a model file that does not match its digest or does not load, a directory holding another
 *   job's output), which fails at once (UnrecoverableError) with the shard's message;
 * - Redis restarting: the clients reconnect (BullMQ's retry strategy); the enqueuer keeps
 *   polling, re-adds a shard job that Redis lost (no persistence) unless the shard is done.
 *
 * Enqueueing is idempotent: job ids are `<job key>-<shard>` and BullMQ ignores an add whose
 * id exists; shards with a receipt in DIR are not enqueued; a dataset whose manifest exists is
 * returned as it is. The fitted model travels as a file every worker can read: the enqueuer
 * fits once (or takes --model-file), saves it to DIR/_model/<job key>.affm, and every job
 * carries its SHA-256, which every worker checks before loading it.
 *
 * Nothing here prints: messages go to `onNote` / `log`, with the Redis password scrubbed.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import { readInteractions, type ReadOptions } from '../data/readers.js';
import type { RunContext } from '../engine/context.js';
import { resolveContext } from '../engine/context.js';
import { allModels } from '../models/registry.js';
import { readModelHeader } from '../models/factorization/index.js';
import { savedModelKinds } from '../models/savedModel.js';
import type { Model, ModelParams } from '../models/types.js';
import { fileFingerprint } from './checkpoint.js';
import {
  checkDatasetDir, datasetJobKey, DatasetInputError, finalizeDataset, finalizeIfComplete, publishOnce, readManifest, readReceipt, sha256File,
  type DatasetManifest, type DatasetSpec,
} from './dataset.js';
import { isModelLoaded, openSavedModel, runDatasetShard, type DatasetShardResult } from './datasetShard.js';
import { OUTPUT_FORMATS, type OutputFormat } from './writers.js';
import { parseRedisUrl, scrub, type RedisEnv, type RedisTarget } from './redisUrl.js';

const DEFAULT_QUEUE_NAME = 'affinity-precompute';

/** What a shard job carries (JSON in Redis; no credentials). */
export interface ShardJobData {
  v: 1;
  dir: string;
  shard: number;
  spec: DatasetSpec;
  /** the model's hyper-parameters, for the manifest */
  modelParams: Record<string, unknown>;
}

/** What a finished shard job returns (kept in Redis with the job). */
export interface ShardJobResult extends Omit<DatasetShardResult, 'summary'> {
  attempt: string;
  users: number;
  /** seconds to check the model's digest and load it (0 when this worker had it loaded) */
  modelSeconds: number;
}

const SHARD_JOB = 'shard';
type ShardQueue = Queue<ShardJobData, ShardJobResult, typeof SHARD_JOB>;

function jobId(jobKey: string, shard: number): string {
  return `${jobKey}-${shard}`;
}

/** Redis refused the credentials, or its TLS certificate is not trusted: retrying cannot help. */
const CREDENTIALS = /WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username-password/i;
const UNTRUSTED = /certificate|self[- ]signed|unable to verify|ERR_TLS|altnames/i;

/**
 * Resolves once `client` has reached Redis. Rejects at once when Redis refuses the credentials
 * or its certificate is not trusted, and after `timeoutMs` (when given) with the last connection error; BullMQ's clients would
 * otherwise retry forever.
 */
function whenReady(client: { waitUntilReady(): Promise<unknown>; on(event: 'error', f: (e: Error) => void): unknown; off(event: 'error', f: (e: Error) => void): unknown },
  target: RedisTarget, timeoutMs?: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let last = '';
    const done = (e?: Error): void => {
      clearTimeout(timer);
      client.off('error', onError);
      if (e) reject(e); else resolve();
    };
    const onError = (e: Error): void => {
      last = scrub(e.message, target.secrets);
      if (CREDENTIALS.test(e.message)) done(new Error(`Redis at ${target.display} refused the credentials: ${last}`));
      else if (UNTRUSTED.test(e.message)) done(new Error(`the TLS certificate of Redis at ${target.display} is not trusted (${last}); give its CA in AFFINITY_REDIS_CA`));
    };
    const timer = timeoutMs === undefined ? undefined
      : setTimeout(() => done(new Error(`cannot reach Redis at ${target.display} within ${timeoutMs / 1000} s${last ? ` (${last})` : ''}`)), timeoutMs);
    client.on('error', onError);
    client.waitUntilReady().then(() => done(), (e: Error) => done(new Error(`cannot reach Redis at ${target.display}: ${scrub(e.message, target.secrets)}`)));
  });
}

// ---------------------------------------------------------------------------------------------
// enqueueing

export interface EnqueueOptions extends RunContext {
  /** redis:// or rediss:// URL (see redisUrl.ts) */
  queue: string;
  /** password / CA from the environment */
  redis?: RedisEnv;
  queueName?: string;
  /** the dataset directory, on a volume every worker mounts at the same path */
  out: string;
  shards: number;
  /** a saved model (AFFM file) … */
  modelFile?: string;
  /** … or an input to fit `model` on, once, here */
  input?: string;
  read?: ReadOptions;
  model?: string;
  params?: ModelParams;
  k: number;
  similarItems?: number;
  filterSeen?: boolean;
  blockSize?: number;
  format?: OutputFormat;
  /** wait for the shards and write the manifest (default true) */
  wait?: boolean;
  /** put shard jobs that failed earlier back in the queue */
  retryFailed?: boolean;
  /** how often to poll the shards' state, ms (default 500) */
  pollMs?: number;
  /** give up when Redis cannot be reached for this long at the start, ms (default 30000) */
  connectTimeoutMs?: number;
  onNote?: (message: string) => void;
  onStage?: (stage: 'read' | 'fit', info: { total?: number; model?: string }) => void;
  onEpoch?: (epoch: number, loss: number) => void;
  /** while waiting, after each poll */
  onProgress?: (p: QueueProgress) => void;
}

export interface QueueProgress {
  shards: number;
  shardsDone: number;
  /** users in the model, and users scored so far (finished shards plus the running shards' progress) */
  users: number;
  usersDone: number;
}

export interface EnqueueResult {
  jobKey: string;
  queue: string;
  /** shard jobs this call added (0 when the job was enqueued before) */
  added: number;
  /** shards that were already done when this call started */
  alreadyDone: number;
  spec: DatasetSpec;
  /** the manifest, once complete (always when wait is not false) */
  manifest: DatasetManifest | null;
  seconds: number;
}

function positiveInteger(v: unknown, what: string): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw new RangeError(`${what} must be a positive integer, got ${String(v)}`);
  return v;
}

/** A model kind the workers can load from a file. */
function checkLoadable(kind: string, file: string): void {
  if (!savedModelKinds().includes(kind)) {
    throw new DatasetInputError(`model file ${file} holds a '${kind}' model, which workers cannot load; queue jobs need a saved model of a kind they load (${savedModelKinds().join(', ')})`);
  }
}

interface ModelInfo { file: string; sha256: string; kind: string; params: Record<string, unknown>; users: number }

async function describeModelFile(file: string): Promise<ModelInfo> {
  if (!existsSync(file)) throw new Error(`model file ${file} does not exist`);
  const sha256 = await sha256File(file);
  // the header only (kind, params, sizes): the enqueuer never holds the model; workers check the checksum when they load it
  const m = readModelHeader(file);
  checkLoadable(m.kind, file);
  return { file: path.resolve(file), sha256, kind: m.kind, params: m.header.params, users: m.header.dims.users };
}

/** A new, unfitted `o.model` with `o.params`, refused unless the workers can load it from a file. */
function modelToFit(o: EnqueueOptions): Model {
  const factory = allModels[o.model!];
  if (!factory) throw new Error(`unknown model '${o.model}' (known: ${Object.keys(allModels).sort().join(', ')})`);
  const model: Model = factory(o.params);
  if (!savedModelKinds().includes(model.name) || typeof (model as { save?: unknown }).save !== 'function') {
    throw new Error(`model '${o.model}' cannot be saved for the workers to load; queue jobs need a model with a saved form (${savedModelKinds().join(', ')}) or --model-file`);
  }
  return model;
}

/** Fit `o.model` on `o.input` and save it to `file` (once: a concurrent enqueuer that saved first wins). */
async function fitAndSave(o: EnqueueOptions, file: string): Promise<void> {
  const model = modelToFit(o);
  o.onStage?.('read', {});
  const data = await readInteractions(o.input!, o.read);
  o.onStage?.('fit', { model: model.name });
  await model.fit(data, { ...resolveContext(o), onEpoch: o.onEpoch });
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    (model as unknown as { save(p: string): void }).save(tmp);
    if (!publishOnce(tmp, file)) o.onNote?.(`${file} was saved by another enqueuer meanwhile; using it`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Enqueue the shard jobs of a precompute and (unless `wait: false`) wait for them and write
 * the manifest; see the file comment. Rejects with the failing shard's error when a shard
 * job fails (bad input, or a retryable error that used its attempts).
 */
export async function enqueuePrecompute(o: EnqueueOptions): Promise<EnqueueResult> {
  const t0 = performance.now();
  const shards = positiveInteger(o.shards, 'shards');
  const k = positiveInteger(o.k, 'k');
  if (o.similarItems !== undefined) positiveInteger(o.similarItems, 'similarItems');
  const blockSize = o.blockSize === undefined ? 1024 : positiveInteger(o.blockSize, 'blockSize');
  const format = o.format ?? 'jsonl';
  if (!OUTPUT_FORMATS.includes(format)) throw new RangeError(`format must be one of ${OUTPUT_FORMATS.join(', ')}, got '${String(format)}'`);
  if ((o.modelFile === undefined) === (o.input === undefined)) throw new Error('give either modelFile (a saved model) or input and model (fitted once, here)');
  if (o.input !== undefined && o.model === undefined) throw new Error('input needs model (the name of the model to fit)');
  if (o.modelFile !== undefined && o.params !== undefined && Object.keys(o.params).length > 0) throw new Error('params do not apply to a saved model');
  const target = parseRedisUrl(o.queue, o.redis);
  const dir = path.resolve(o.out);
  const filterSeen = o.filterSeen ?? true;
  const common = { shards, format, k, similarItems: o.similarItems, filterSeen, blockSize, dir };
  if (o.input !== undefined && !existsSync(o.input)) throw new Error(`input ${o.input} does not exist`);
  if (o.input !== undefined) modelToFit(o); // an unknown or unsaveable model is refused before anything else
  // the job key: from the saved model's digest, or from what the fit would be given
  const saved = o.modelFile !== undefined ? await describeModelFile(o.modelFile) : null;
  const jobKey = saved
    ? datasetJobKey({ model: { sha256: saved.sha256 }, ...common })
    : datasetJobKey({ model: { input: fileFingerprint(o.input!), read: o.read ?? null, name: o.model, params: o.params ?? {} }, ...common });
  const fittedFile = path.join(dir, '_model', `${jobKey}.affm`);
  const specOf = (model: ModelInfo): DatasetSpec => ({
    jobKey, shards, format, k, filterSeen, blockSize,
    ...(o.similarItems !== undefined ? { similarItems: o.similarItems } : {}),
    model: { file: model.file, sha256: model.sha256, kind: model.kind },
  });
  const result = (spec: DatasetSpec, manifest: DatasetManifest | null, added: number, alreadyDone: number): EnqueueResult =>
    ({ jobKey, queue: target.display, added, alreadyDone, spec, manifest, seconds: (performance.now() - t0) / 1000 });

  // done before? (no Redis needed)
  const done = existsSync(dir) ? readManifest(dir) : null;
  if (done && done.jobKey === jobKey && (saved || existsSync(fittedFile))) {
    const model = saved ?? await describeModelFile(fittedFile);
    o.onNote?.(`${dir} already holds this precompute (job ${jobKey}); nothing to do`);
    return result(specOf(model), finalizeDataset(dir, specOf(model), model.params), 0, shards);
  }

  // Redis first: nothing is fitted or written when the queue cannot be reached
  const queue: ShardQueue = new Queue(o.queueName ?? DEFAULT_QUEUE_NAME, { connection: target.options });
  let lastError = '';
  queue.on('error', (e) => {
    // connection errors repeat every retry: note each distinct one once
    const m = scrub(e.message, target.secrets);
    if (m !== lastError) o.onNote?.(`redis: ${m}`);
    lastError = m;
  });
  try {
    await whenReady(queue, target, o.connectTimeoutMs ?? 30_000);
    mkdirSync(dir, { recursive: true });
    // the model: the saved file, or fitted once into DIR/_model/<key>.affm
    let model: ModelInfo;
    if (saved) model = saved;
    else {
      if (existsSync(fittedFile)) o.onNote?.(`using the model fitted by an earlier enqueue of this job (${fittedFile})`);
      else await fitAndSave(o, fittedFile);
      model = await describeModelFile(fittedFile);
    }
    const spec = specOf(model);
    checkDatasetDir(dir, spec);
    const data = (shard: number): ShardJobData => ({ v: 1, dir, shard, spec, modelParams: model.params });
    let added = 0, alreadyDone = 0;
    for (let s = 0; s < shards; s++) {
      if (readReceipt(dir, s, shards)) { alreadyDone++; continue; }
      const id = jobId(jobKey, s);
      const state = await queue.getJobState(id);
      if (state === 'unknown') {
        await queue.add(SHARD_JOB, data(s), shardJobOptions(id));
        added++;
      } else if (state === 'failed' && o.retryFailed) {
        const job = await queue.getJob(id);
        await job?.retry('failed');
        o.onNote?.(`shard ${s}/${shards}: failed earlier (${job?.failedReason ?? 'no reason recorded'}); back in the queue`);
      }
    }
    if (added === 0 && alreadyDone < shards) o.onNote?.(`job ${jobKey} was enqueued before: waiting for its ${shards - alreadyDone} remaining shard jobs`);
    if (o.wait === false) return result(spec, null, added, alreadyDone);
    const manifest = await waitForShards(queue, o, dir, spec, model, data, target.secrets);
    return result(spec, manifest, added, alreadyDone);
  } finally {
    await queue.close();
  }
}

function shardJobOptions(id: string): JobsOptions {
  const week = 7 * 24 * 3600;
  return {
    jobId: id,
    // a thrown error (not bad input) is retried twice, 2 s then 4 s later
    attempts: 3,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: { age: week },
    removeOnFail: { age: week },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with `p`, or with undefined after `ms` (p keeps running). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); })]).finally(() => clearTimeout(timer));
}

function progressDone(p: unknown): number {
  const d = (p as { done?: unknown } | null)?.done;
  return typeof d === 'number' && d >= 0 ? d : 0;
}

async function waitForShards(queue: ShardQueue, o: EnqueueOptions, dir: string, spec: DatasetSpec, model: ModelInfo,
  data: (shard: number) => ShardJobData, secrets: readonly string[]): Promise<DatasetManifest> {
  const pollMs = o.pollMs ?? 500;
  const pending = new Set<number>([...Array(spec.shards).keys()]);
  const usersDone = new Map<number, number>();
  let redisDown = false;
  for (;;) {
    // completion is read from the receipts on the shared volume: it holds even while Redis is away
    for (const s of [...pending]) {
      const r = readReceipt(dir, s, spec.shards);
      if (r) { pending.delete(s); usersDone.set(s, r.recommendations.keys); }
    }
    if (pending.size === 0) break;
    // failures, lost jobs and progress come from Redis
    const polled = await within(Promise.all([...pending].map(async (s) => {
      const id = jobId(spec.jobKey, s);
      const state = await queue.getJobState(id);
      if (state === 'unknown') {
        if (readReceipt(dir, s, spec.shards)) return;
        o.onNote?.(`shard ${s}/${spec.shards}: its job is not in Redis (was Redis restarted without persistence?); enqueueing it again`);
        await queue.add(SHARD_JOB, data(s), shardJobOptions(id));
        return;
      }
      const job = state === 'active' || state === 'failed' ? await queue.getJob(id) : undefined;
      if (state === 'failed') {
        if (readReceipt(dir, s, spec.shards)) return; // it failed after publishing (e.g. a lost lock): the shard is done
        const attempts = job?.attemptsMade ?? 0;
        const reason = (job?.failedReason ?? 'no reason recorded').replace(/^shard \d+\/\d+ of job [0-9a-f]+: /, '');
        throw new Error(`shard ${s}/${spec.shards} failed${attempts > 1 ? ` after ${attempts} attempts` : ''}: ${reason}`);
      }
      if (job) usersDone.set(s, progressDone(job.progress));
    })).then((): true => true, (e: unknown) => {
      if (e instanceof Error && /^shard \d+\/\d+ failed/.test(e.message)) throw e;
      return e as Error;
    }), Math.max(5000, 5 * pollMs));
    if (polled === true) {
      if (redisDown) o.onNote?.('redis is reachable again');
      redisDown = false;
    } else if (!redisDown) {
      redisDown = true;
      o.onNote?.(`redis is not answering (${polled === undefined ? 'timed out' : scrub(polled.message, secrets)}); still waiting for the shards`);
    }
    o.onProgress?.({ shards: spec.shards, shardsDone: spec.shards - pending.size, users: model.users, usersDone: [...usersDone.values()].reduce((a, b) => a + b, 0) });
    await sleep(pollMs);
  }
  o.onProgress?.({ shards: spec.shards, shardsDone: spec.shards, users: model.users, usersDone: model.users });
  const manifest = finalizeDataset(dir, spec, model.params);
  if (!manifest) throw new Error(`every shard has a receipt but ${dir} could not be finalized`);
  return manifest;
}

// ---------------------------------------------------------------------------------------------
// the worker

export interface ShardWorkerOptions extends RunContext {
  queue: string;
  redis?: RedisEnv;
  queueName?: string;
  /** ms a job's lock lasts without renewal (BullMQ's lockDuration; default 30000) */
  lockDurationMs?: number;
  /** ms between stalled-job checks (default 30000) */
  stalledIntervalMs?: number;
  /** times a job may stall (its worker died) before it fails (default 2) */
  maxStalledCount?: number;
  /** progress, notes and errors, one line each, credentials scrubbed */
  log?: (line: string) => void;
  /** aborting it stops the worker (after the shard in hand finishes) */
  stop?: AbortSignal;
}

/**
 * How long a shard job's lock is extended for before its worker loads a model: reading, checking
 * and indexing a model file runs on the main thread, where BullMQ cannot renew the lock, and a
 * load longer than the lock would let another worker take the shard over. 2 min plus 1 s per
 * 5 MB of model file (a 200 MB model: 2 min 40 s); a worker that dies while loading is taken
 * over after this instead of the lock duration.
 */
function modelLoadLockMs(file: string): number {
  let bytes = 0;
  try { bytes = statSync(file).size; } catch { /* reported by the load */ }
  return 120_000 + Math.ceil(bytes / 5_000);
}

function checkJobData(d: unknown): ShardJobData {
  const o = d as Partial<ShardJobData> | null;
  const s = o?.spec as Partial<DatasetSpec> | undefined;
  const ok = o !== null && typeof o === 'object' && o.v === 1 && typeof o.dir === 'string' && Number.isInteger(o.shard) &&
    s !== undefined && typeof s.jobKey === 'string' && /^[0-9a-f]+$/.test(s.jobKey) && Number.isInteger(s.shards) && (s.shards as number) > 0 &&
    (o.shard as number) >= 0 && (o.shard as number) < (s.shards as number) &&
    OUTPUT_FORMATS.includes(s.format as OutputFormat) && Number.isInteger(s.k) && Number.isInteger(s.blockSize) && typeof s.filterSeen === 'boolean' &&
    s.model !== undefined && typeof s.model.file === 'string' && typeof s.model.sha256 === 'string' && typeof o.modelParams === 'object';
  if (!ok) throw new UnrecoverableError('the shard job\'s data is malformed (enqueued by another version of affinity?)');
  return o as ShardJobData;
}

/**
 * Take shard jobs from the queue and run them until `stop` is aborted; resolves with the
 * number of shard jobs finished and failed. One shard at a time (the engine uses every core).
 */
export async function runShardWorker(o: ShardWorkerOptions): Promise<{ finished: number; failed: number }> {
  const target: RedisTarget = parseRedisUrl(o.queue, o.redis);
  const log = (line: string): void => o.log?.(scrub(line, target.secrets));
  const ctx = resolveContext(o);
  let finished = 0, failed = 0;
  const processor = async (job: Job<ShardJobData, ShardJobResult>, token?: string, signal?: AbortSignal): Promise<ShardJobResult> => {
    const d = checkJobData(job.data);
    const label = `shard ${d.shard}/${d.spec.shards} of job ${d.spec.jobKey}`;
    const attempt = `${job.attemptsStarted ?? job.attemptsMade + 1}`;
    log(`${label}: started (attempt ${attempt})`);
    let lastProgress = 0;
    try {
      const tm = performance.now();
      const lockMs = o.lockDurationMs ?? 30_000;
      if (token !== undefined && !isModelLoaded(d.spec.model.file, d.spec.model.sha256)) {
        // best effort: with Redis away, the load goes ahead (and the lock may expire meanwhile)
        await within(job.extendLock(token, Math.max(lockMs, modelLoadLockMs(d.spec.model.file))).catch(() => undefined), 5000);
      }
      const saved = await openSavedModel(d.spec.model.file, d.spec.model.sha256);
      const modelSeconds = (performance.now() - tm) / 1000;
      const r = await runDatasetShard({
        engine: ctx.engine, backend: ctx.backend, signal,
        dir: d.dir, spec: d.spec, shard: d.shard, model: saved.model,
        onNote: (m) => log(m),
        onBlock: (e) => {
          const now = performance.now();
          if (e.phase !== 'recommendations' || now - lastProgress < 500) return;
          lastProgress = now;
          // not awaited: while Redis is away the shard keeps going
          job.updateProgress({ done: e.done, total: e.total }).catch(() => undefined);
        },
      });
      // the last shard writes the manifest (the enqueuer may not be waiting)
      if (finalizeIfComplete(d.dir, d.spec, d.modelParams)) log(`job ${d.spec.jobKey}: every shard is done; wrote ${path.join(d.dir, '_manifest.json')}`);
      const res: ShardJobResult = {
        receipt: r.receipt, computed: r.computed, seconds: r.seconds, attempt, modelSeconds,
        users: r.receipt.recommendations.keys,
        ...(r.resumedFromBlock ? { resumedFromBlock: r.resumedFromBlock } : {}),
      };
      const how = !r.computed ? 'already done' : r.resumedFromBlock ? `resumed at ${r.resumedFromBlock.phase} block ${r.resumedFromBlock.block}` : 'computed';
      log(`${label}: ${how}; ${r.receipt.recommendations.rows} rows for ${r.receipt.recommendations.keys} users (compute ${r.seconds.compute.toFixed(2)} s, publish ${r.seconds.publish.toFixed(2)} s)`);
      return res;
    } catch (e) {
      const msg = `${label}: ${(e as Error).message}`;
      if (e instanceof DatasetInputError || e instanceof UnrecoverableError) throw new UnrecoverableError(msg);
      throw new Error(msg, { cause: e });
    }
  };
  const worker = new Worker<ShardJobData, ShardJobResult>(o.queueName ?? DEFAULT_QUEUE_NAME, processor, {
    connection: target.options,
    concurrency: 1,
    lockDuration: o.lockDurationMs ?? 30_000,
    stalledInterval: o.stalledIntervalMs ?? 30_000,
    maxStalledCount: o.maxStalledCount ?? 2,
    autorun: false,
  });
  let lastError = '', lastErrorAt = 0;
  worker.on('error', (e) => {
    // connection errors repeat every retry: print each distinct one at most every 10 s
    const now = Date.now();
    if (e.message === lastError && now - lastErrorAt < 10_000) return;
    lastError = e.message; lastErrorAt = now;
    log(`redis: ${e.message}`);
  });
  worker.on('stalled', (id) => log(`job ${id} stalled (its worker stopped renewing the lock); it is back in the queue`));
  worker.on('failed', (job, e) => {
    failed++;
    log(`job ${job?.id ?? '?'} failed${job && job.attemptsMade < (job.opts.attempts ?? 1) && !(e instanceof UnrecoverableError) ? ' (will be retried)' : ''}: ${e.message}`);
  });
  worker.on('completed', () => { finished++; });
  log(`worker on ${target.display}, queue '${o.queueName ?? DEFAULT_QUEUE_NAME}' (lock ${o.lockDurationMs ?? 30_000} ms, stalled check every ${o.stalledIntervalMs ?? 30_000} ms)`);
  // a worker may start before Redis does (it keeps trying), but not with credentials Redis refuses
  const fatal = whenReady(worker, target).then(() => null, (e: Error) => e);
  const running = worker.run();
  const stopped = new Promise<null>((resolve) => {
    if (o.stop?.aborted) resolve(null);
    o.stop?.addEventListener('abort', () => resolve(null), { once: true });
  });
  const error = await Promise.race([stopped, fatal.then((e) => e ?? stopped)]);
  if (error) {
    // close() waits for a connection that will not come: give it a moment, no more
    await within(worker.close(true), 2000);
    throw error;
  }
  log('stopping: finishing the shard in hand');
  await worker.close();
  await running.catch(() => undefined);
  return { finished, failed };
}
