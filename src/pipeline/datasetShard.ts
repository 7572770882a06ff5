/**
 * One shard of a partitioned precompute (see dataset.ts): score the users ≡ shard (mod N)
 * with a saved model and publish `DIR/part-…` and its receipt. Used by the queue worker
 * (shardQueue.ts) and by a Kubernetes Indexed Job pod (the CLI, shard = JOB_COMPLETION_INDEX).
 *
 * An attempt works under its own names in `DIR/_staging/<job key>/part-00003.<attempt>.jsonl`
 * (with precomputeToFile's `.partial` and `.checkpoint` files next to them), so two attempts
 * of one shard (a worker presumed dead that is still running, and its replacement) never
 * write the same file. A new attempt resumes from the most advanced checkpoint another
 * attempt left: it copies that attempt's checkpointed bytes (which an attempt never rewrites,
 * it only appends after them) under its own names and continues with `resume`. A checkpoint
 * that cannot be used (malformed, or its partial file gone) is noted and the shard starts over.
 *
 * Publishing: the part file (and the similar-items part) is hard-linked to its final name
 * unless that exists (publishOnce), then the receipt is written once; an attempt that finds a
 * receipt returns it without computing. Rows and keys of a part do not depend on which attempt
 * wrote it (they are the number of candidates per user, fixed by the model), so an attempt that
 * lost the race for a part file still records true counts, with the winner's bytes and digest.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { RunContext } from '../engine/context.js';
import { loadSavedModel } from '../models/savedModel.js';
import type { Model } from '../models/types.js';
import { checkpointPath, readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { precomputeToFile, type BlockEvent, type Summary } from './precompute.js';
import { rowGroupsPath, similarItemsPath, temporaryPath, type OutputFormat } from './writers.js';
import {
  checkDatasetDir, datasetJobKey, DatasetInputError, finalizeIfComplete, partFileName, partStem, publishOnce, readReceipt, sha256File,
  similarPartFileName, stagingDir, writeReceipt, type DatasetManifest, type DatasetSpec, type PartFile, type PartReceipt,
} from './dataset.js';

// ---------------------------------------------------------------------------------------------
// the saved model, checked against its digest

export interface SavedModel {
  file: string;
  sha256: string;
  kind: string;
  /** hyper-parameters, as the model reports them (recorded in the manifest) */
  params: Record<string, unknown>;
  model: Model;
}

/** file identity → SHA-256, so a worker hashes a model file once per version of it */
const digests = new Map<string, string>();
/** the model this process loaded last (a worker keeps scoring shards of the same model) */
let lastLoaded: SavedModel | null = null;

/** Whether openSavedModel(file, sha256) would return the model this process has loaded (no hashing, no loading). */
export function isModelLoaded(file: string, sha256: string): boolean {
  if (lastLoaded === null || lastLoaded.sha256 !== sha256 || lastLoaded.file !== path.resolve(file)) return false;
  try {
    return digests.get(identity(file)) === sha256;
  } catch {
    return false;
  }
}

function identity(file: string): string {
  const st = statSync(file);
  return `${path.resolve(file)}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
}

/**
 * Hash and load a saved model, once per process and file version. With `expectedSha256`, a
 * file whose digest differs (replaced after the job was enqueued, or corrupt) is refused with
 * a DatasetInputError; so is a file that does not load (bad format, checksum). A missing or
 * unreadable file is a plain Error (another worker, with the volume mounted, may succeed).
 */
export async function openSavedModel(file: string, expectedSha256?: string): Promise<SavedModel> {
  let id: string;
  try {
    id = identity(file);
  } catch (e) {
    throw new Error(`model file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); is the shared volume mounted on this worker?`, { cause: e });
  }
  let sha = digests.get(id);
  if (sha === undefined) {
    sha = await sha256File(file);
    digests.set(id, sha);
  }
  if (expectedSha256 !== undefined && sha !== expectedSha256) {
    digests.delete(id);
    throw new DatasetInputError(`model file ${file} has SHA-256 ${sha}, the job was enqueued with ${expectedSha256}: it was replaced or is corrupt`);
  }
  if (lastLoaded && lastLoaded.sha256 === sha && lastLoaded.file === path.resolve(file)) return lastLoaded;
  lastLoaded = null;
  let model: Model;
  try {
    // any kind with a save() (docs/model-format.md): factorization models, ease, multvae, two-tower
    model = loadSavedModel(file);
  } catch (e) {
    throw new DatasetInputError((e as Error).message.replace(/^affinity: /, ''), { cause: e });
  }
  if (identity(file) !== id) throw new Error(`model file ${file} changed while it was being loaded; retry`);
  const params = ((model as { params?: Record<string, unknown> }).params) ?? {};
  lastLoaded = { file: path.resolve(file), sha256: sha, kind: model.name, params, model };
  return lastLoaded;
}

// ---------------------------------------------------------------------------------------------
// one shard

export interface DatasetShardOptions extends RunContext {
  /** the dataset directory (shared by every worker) */
  dir: string;
  spec: DatasetSpec;
  /** 0-based shard index, < spec.shards */
  shard: number;
  /** the loaded model (openSavedModel(spec.model.file, spec.model.sha256).model) */
  model: Model;
  /** this attempt's name in the staging directory (default: host, pid and a random suffix) */
  attempt?: string;
  onBlock?: (e: BlockEvent) => void;
  onNote?: (message: string) => void;
}

export interface DatasetShardResult {
  receipt: PartReceipt;
  /** false when another attempt did the shard (before this one started, or while it ran) */
  computed: boolean;
  /** the block this attempt resumed at, from another attempt's checkpoint */
  resumedFromBlock?: { phase: 'recommendations' | 'similar'; block: number };
  /** the precompute's summary (when computed) */
  summary?: Summary;
  /** seconds: computing the part (read, score, write) and publishing it (hash, link, receipt, clean-up) */
  seconds: { compute: number; publish: number };
}

/** A name for this attempt: host, pid, random; only [A-Za-z0-9-] (it sits between dots in file names). */
function attemptName(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 40);
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

interface StagedCheckpoint { staged: string; checkpoint: Checkpoint }

function progressOf(c: Checkpoint): number {
  return (c.phase === 'similar' ? 1e12 : 0) + c.recommendations.blocks + (c.similar?.blocks ?? 0);
}

/** The other attempts' checkpoints of this shard, most advanced first (malformed ones noted and skipped). */
function otherCheckpoints(staging: string, stem: string, ext: string, ours: string, note?: (m: string) => void): StagedCheckpoint[] {
  if (!existsSync(staging)) return [];
  const re = new RegExp(`^${stem}\\.([A-Za-z0-9-]+)\\.${ext}\\.checkpoint$`);
  const found: StagedCheckpoint[] = [];
  for (const name of readdirSync(staging)) {
    if (!re.test(name)) continue;
    const staged = path.join(staging, name.slice(0, -'.checkpoint'.length));
    if (staged === ours) continue;
    try {
      const c = readCheckpoint(path.join(staging, name));
      if (c) found.push({ staged, checkpoint: c });
    } catch (e) {
      note?.(`ignoring ${name}: ${(e as Error).message}`);
    }
  }
  return found.sort((a, b) => progressOf(b.checkpoint) - progressOf(a.checkpoint));
}

/** Copy the first `bytes` of a partial file (and the first `rowGroups` lines of its parquet sidecar). */
function copyPrefix(from: string, to: string, bytes: number, rowGroups: number | undefined): void {
  copyFileSync(from, to);
  if (statSync(to).size < bytes) throw new Error(`${from} is shorter than its checkpoint says`);
  truncateSync(to, bytes);
  if (rowGroups !== undefined) {
    const lines = readFileSync(rowGroupsPath(from), 'utf8').split('\n').filter((l) => l.length > 0);
    if (lines.length < rowGroups) throw new Error(`${rowGroupsPath(from)} has fewer row groups than its checkpoint says`);
    writeFileSync(rowGroupsPath(to), lines.slice(0, rowGroups).map((l) => l + '\n').join(''));
  }
}

/** Take over another attempt's checkpointed progress under our names (throws when its files do not hold what it says). */
function adoptCheckpoint(from: StagedCheckpoint, ours: string, similar: boolean): void {
  const c = from.checkpoint;
  copyPrefix(temporaryPath(from.staged), temporaryPath(ours), c.recommendations.bytes, c.recommendations.rowGroups);
  if (similar && c.phase === 'similar' && c.similar) {
    copyPrefix(temporaryPath(similarItemsPath(from.staged)), temporaryPath(similarItemsPath(ours)), c.similar.bytes, c.similar.rowGroups);
  }
  writeCheckpoint(checkpointPath(ours), c);
}

function removeStaged(staged: string): void {
  for (const f of [staged, similarItemsPath(staged)]) {
    for (const g of [f, temporaryPath(f), rowGroupsPath(temporaryPath(f)), checkpointPath(f), `${checkpointPath(f)}.tmp`]) rmSync(g, { force: true });
  }
}

/** A resume that failed because of the checkpoint or the partial files it points at (not because of the model or the data). */
function isResumeFailure(e: unknown): boolean {
  return e instanceof Error && /^(checkpoint |cannot resume)/.test(e.message);
}

/** Keys of shard `shard` of N among n (indices ≡ shard mod N). */
function shardSize(n: number, shard: number, shards: number): number {
  return n > shard ? Math.ceil((n - shard) / shards) : 0;
}

async function partFile(dir: string, name: string, ours: { staged: string; sha256: string; bytes: number } | null, rows: number, keys: number): Promise<PartFile> {
  if (ours) return { file: name, bytes: ours.bytes, sha256: ours.sha256, rows, keys };
  const file = path.join(dir, name);
  return { file: name, bytes: statSync(file).size, sha256: await sha256File(file), rows, keys };
}

/**
 * Compute shard `shard` of the dataset into DIR (or return its receipt if it is done); see the
 * file comment. Throws DatasetInputError when DIR holds another job's receipt for the shard.
 */
export async function runDatasetShard(o: DatasetShardOptions): Promise<DatasetShardResult> {
  const { dir, spec, shard } = o;
  if (!(Number.isInteger(shard) && shard >= 0 && shard < spec.shards)) throw new DatasetInputError(`shard ${shard} is outside 0 … ${spec.shards - 1}`);
  const label = `shard ${shard}/${spec.shards}`;
  const done = readReceipt(dir, shard, spec.shards);
  if (done) {
    if (done.jobKey !== spec.jobKey) throw new DatasetInputError(`${label}: ${dir} holds this shard of another precompute job (${done.jobKey}); write to an empty directory`);
    return { receipt: done, computed: false, seconds: { compute: 0, publish: 0 } };
  }

  const staging = stagingDir(dir, spec.jobKey);
  mkdirSync(staging, { recursive: true });
  const stem = partStem(shard, spec.shards);
  const attempt = o.attempt ?? attemptName();
  if (!/^[A-Za-z0-9-]+$/.test(attempt)) throw new RangeError(`attempt name must be letters, digits and '-', got '${attempt}'`);
  const staged = path.join(staging, `${stem}.${attempt}.${spec.format}`);
  const similar = spec.similarItems !== undefined;

  let resumedFrom: StagedCheckpoint | null = null;
  for (const c of otherCheckpoints(staging, stem, spec.format, staged, o.onNote)) {
    try {
      adoptCheckpoint(c, staged, similar);
      resumedFrom = c;
      break;
    } catch (e) {
      removeStaged(staged);
      o.onNote?.(`${label}: cannot resume from ${path.basename(c.staged)} (${(e as Error).message})`);
    }
  }

  const t0 = performance.now();
  const attemptShard = async (): Promise<DatasetShardResult> => {
    const run = (resume: boolean): Promise<Summary> => precomputeToFile({
      engine: o.engine, backend: o.backend, signal: o.signal,
      model: o.model, fit: false, k: spec.k, similarItems: spec.similarItems, filterSeen: spec.filterSeen,
      shard: { index: shard, count: spec.shards }, blockSize: spec.blockSize,
      out: staged, format: spec.format, resume, onBlock: o.onBlock, onNote: o.onNote,
    });
    let summary: Summary;
    try {
      summary = await run(resumedFrom !== null);
    } catch (e) {
      if (!resumedFrom || !isResumeFailure(e)) { removeStaged(staged); throw e; }
      o.onNote?.(`${label}: cannot resume (${(e as Error).message}); starting the shard over`);
      removeStaged(staged);
      try {
        summary = await run(false);
      } catch (e2) {
        removeStaged(staged);
        throw e2;
      }
    }
    const t1 = performance.now();

    // publish: the similar-items part, the recommendations part, then the receipt
    const publish = async (from: string, name: string, rows: number, keys: number): Promise<PartFile> => {
      const ours = { staged: from, sha256: await sha256File(from), bytes: statSync(from).size };
      const won = publishOnce(from, path.join(dir, name));
      if (!won) o.onNote?.(`${label}: ${name} was already published by another attempt; keeping it`);
      return partFile(dir, name, won ? ours : null, rows, keys);
    };
    const sim = similar ? await publish(similarItemsPath(staged), similarPartFileName(shard, spec.shards, spec.format), summary.similarItems ?? 0, shardSize(summary.items, shard, spec.shards)) : undefined;
    const rec = await publish(staged, partFileName(shard, spec.shards, spec.format), summary.recommendations, summary.users);
    const receipt = writeReceipt(dir, {
      version: 1, jobKey: spec.jobKey, shard, shards: spec.shards, modelSha256: spec.model.sha256,
      recommendations: rec, ...(sim ? { similar: sim } : {}),
    });
    // every attempt's staged files of this shard go: the part is published
    for (const name of readdirSync(staging)) if (name.startsWith(`${stem}.`)) rmSync(path.join(staging, name), { force: true });
    const t2 = performance.now();

    return {
      receipt,
      computed: true,
      ...(summary.resumedFromBlock ? { resumedFromBlock: summary.resumedFromBlock } : {}),
      summary,
      seconds: { compute: (t1 - t0) / 1000, publish: (t2 - t1) / 1000 },
    };
  };
  try {
    return await attemptShard();
  } catch (e) {
    // another attempt may have finished the shard meanwhile (and removed this attempt's staged
    // files with its own): then the shard is done, and this attempt's error does not matter
    const finished = readReceipt(dir, shard, spec.shards);
    if (finished === null || finished.jobKey !== spec.jobKey) throw e;
    removeStaged(staged);
    o.onNote?.(`${label}: another attempt finished the shard meanwhile; keeping its part (this attempt stopped on: ${(e as Error).message})`);
    return { receipt: finished, computed: false, seconds: { compute: (performance.now() - t0) / 1000, publish: 0 } };
  }
}

// ---------------------------------------------------------------------------------------------
// one shard without a queue (a Kubernetes Indexed Job's pod)

export interface DatasetShardJobOptions extends RunContext {
  /** the saved model (AFFM file) every shard scores with */
  modelFile: string;
  /** refuse the model file unless its SHA-256 is this */
  modelSha256?: string;
  /** the dataset directory (created if missing) */
  dir: string;
  shards: number;
  shard: number;
  k: number;
  similarItems?: number;
  filterSeen?: boolean;
  blockSize?: number;
  format?: OutputFormat;
  onBlock?: (e: BlockEvent) => void;
  onNote?: (message: string) => void;
}

/**
 * Run shard `shard` of N into DIR and, when it is the last to finish, write the manifest and
 * `_SUCCESS`. Every pod of an Indexed Job runs this with its own index; the job key (from the
 * model's digest and the parameters) is the same in every pod, and the same as the queue's
 * for the same model and parameters.
 */
export async function precomputeDatasetShard(o: DatasetShardJobOptions): Promise<DatasetShardResult & { spec: DatasetSpec; manifest: DatasetManifest | null }> {
  const shards = o.shards;
  if (!(Number.isInteger(shards) && shards >= 1)) throw new RangeError(`shard count must be a positive integer, got ${shards}`);
  if (!(Number.isInteger(o.shard) && o.shard >= 0 && o.shard < shards)) throw new RangeError(`shard index must be an integer in [0, ${shards}), got ${o.shard}`);
  const format = o.format ?? 'jsonl';
  const blockSize = o.blockSize ?? 1024;
  const filterSeen = o.filterSeen ?? true;
  const saved = await openSavedModel(o.modelFile, o.modelSha256);
  const dir = path.resolve(o.dir);
  mkdirSync(dir, { recursive: true });
  const jobKey = datasetJobKey({ model: { sha256: saved.sha256 }, shards, format, k: o.k, similarItems: o.similarItems, filterSeen, blockSize, dir });
  const spec: DatasetSpec = {
    jobKey, shards, format, k: o.k, filterSeen, blockSize,
    ...(o.similarItems !== undefined ? { similarItems: o.similarItems } : {}),
    model: { file: saved.file, sha256: saved.sha256, kind: saved.kind },
  };
  checkDatasetDir(dir, spec);
  const r = await runDatasetShard({ engine: o.engine, backend: o.backend, signal: o.signal, dir, spec, shard: o.shard, model: saved.model, onBlock: o.onBlock, onNote: o.onNote });
  return { ...r, spec, manifest: finalizeIfComplete(dir, spec, saved.params) };
}
