/**
 * The offline precompute job: read interactions → fit a model (or take a fitted / saved one)
 * → top-k recommendations for every user (seen items filtered) and, optionally, the k most
 * similar items of every item → stream them out block by block.
 *
 * Two entry points:
 *
 * - `precompute(options)` → `{ blocks, similarBlocks, summary }`: `blocks` is an async
 *   iterable of user blocks `{ users, items, scores }` (external ids as strings, items[r]
 *   best first); `similarBlocks` (only when `similarItems` is set) one of item blocks
 *   `{ items, similar, scores }`. Reading and fitting happen once, on the first iteration of
 *   either. `summary` resolves when every requested iterable has been drained (and rejects if
 *   one throws or is abandoned early).
 * - `precomputeToFile(options)` → Promise<Summary>: writes the blocks to `out` (and the similar
 *   items to `similarItemsPath(out)`: `.similar` before the extension) through a temporary file
 *   (`OUT.partial`) in the same directory renamed at the end, with a checkpoint after every
 *   block so that `resume: true` continues a killed job where it stopped and yields the same
 *   bytes (jsonl, csv and parquet; a parquet run also keeps `OUT.partial.rowgroups` meanwhile).
 *
 * Users are scored in index order (first-seen order in the input); `shard: {index: i, count: N}`
 * keeps users (and items, for similar items) whose index ≡ i (mod N), so the N shard outputs
 * together hold exactly the unsharded output's lines.
 *
 * Models: a name from the model registry (src/models/registry.ts, `allModels`), fitted on the
 * input, or a Model instance. An instance is used as it is (no refit) unless it reports
 * `isFitted === false` or `fit: true` is passed. Its user/item indices must be those of the
 * input's id maps (true for a model fitted on that input); without an input, the model must
 * expose `userIds`/`itemIds` IdMaps (factorization models do). `modelFile` loads a model saved
 * with `save(path)` (the AFFM format), which carries its own ids, so no input is needed.
 */
import { existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { IdMap, type ExternalId } from '../data/idMap.js';
import type { Interactions } from '../data/interactions.js';
import { readInteractions, type ReadOptions } from '../data/readers.js';
import { embeddedDataset } from '../data/synthetic.js';
import { contextOf, resolveContext, type Context, type RunContext } from '../engine/context.js';
import { allModels } from '../models/registry.js';
import { readModelFile } from '../models/factorization/index.js';
import { loadSavedModel as loadAnyModel } from '../models/savedModel.js';
import type { Model, ModelParams, Recommendations } from '../models/types.js';
import { checkpointPath, fileFingerprint, interactionsHash, jobHash, readCheckpoint, removeCheckpoint, writeCheckpoint, type Checkpoint, type OutputProgress } from './checkpoint.js';
import { formatFromPath, openBlockWriter, rowGroupsPath, similarItemsPath, temporaryPath, type BlockWriter, type ListKind, type OutputFormat } from './writers.js';

export { similarItemsPath, formatFromPath, type OutputFormat } from './writers.js';

export interface Shard {
  /** 0-based shard index, < count */
  index: number;
  count: number;
}

export interface BlockEvent {
  phase: ListKind;
  /** 0-based block index within the phase */
  block: number;
  blocks: number;
  /** keys (users or items) done in this phase so far, this block included */
  done: number;
  /** keys in this phase (in this shard) */
  total: number;
  /** rows (key, item pairs) in this block */
  rows: number;
}

/** The job's options; the context (engine, backend, signal) runs the fit and the scoring, and its engine is the one observed. */
export interface PrecomputeOptions extends RunContext {
  /** interactions file (any format readInteractions takes) or Interactions in memory */
  input?: string | Interactions;
  /** options for reading `input` when it is a path */
  read?: ReadOptions;
  /** a registry name ('als', 'item-knn', 'popularity', …) or a Model instance; optional only with modelFile (then its kind) */
  model?: string | Model;
  /** hyper-parameters for a model given by name */
  params?: ModelParams;
  /** load a saved model (AFFM file) instead of fitting; `model`, when a name, must match its kind */
  modelFile?: string;
  /** fit a Model instance even when it looks fitted (default: fit only names and instances with isFitted === false) */
  fit?: boolean;
  /** recommendations per user */
  k: number;
  /** also the k most similar items of every item (k = this value) */
  similarItems?: number;
  /** drop items the user interacted with in training (default true) */
  filterSeen?: boolean;
  /** `{index, count}` or 'i/N' */
  shard?: Shard | string;
  /** users (items) per block; default 1024 */
  blockSize?: number;
  /** backend to pin for the heavy kernels of the fit and the scoring (default: the engine's default backend) */
  backend?: string;
  /** after each block is computed (precompute) or written and checkpointed (precomputeToFile) */
  onBlock?: (e: BlockEvent) => void;
  /** after each fit epoch, with its loss */
  onEpoch?: (epoch: number, loss: number) => void;
  /** when a stage starts: 'read', 'fit' (with the epoch count when the params say), 'score' (with the number of users, and those already done on resume), 'similar' (items) */
  onStage?: (stage: 'read' | 'fit' | 'score' | 'similar', info: { total?: number; done?: number; model?: string }) => void;
  /** notes for the user (e.g. a stale checkpoint ignored) */
  onNote?: (message: string) => void;
}

export interface FileOptions {
  /** output path; similar items go to similarItemsPath(out) */
  out: string;
  /** default: from out's extension, else jsonl */
  format?: OutputFormat;
  /** continue from OUT.checkpoint if there is one */
  resume?: boolean;
}

export interface UserBlock {
  users: string[];
  items: string[][];
  scores: number[][];
}

export interface SimilarBlock {
  items: string[];
  similar: string[][];
  scores: number[][];
}

export interface Summary {
  model: string;
  /** users scored (in this shard) */
  users: number;
  /** items in the catalogue */
  items: number;
  /** training interactions (null when the model was loaded from a file) */
  interactions: number | null;
  /** (user, item) recommendation pairs produced */
  recommendations: number;
  /** (item, similar item) pairs produced, when asked for */
  similarItems?: number;
  k: number;
  shard: Shard;
  blocks: number;
  /** the block the run started from when it resumed a checkpoint */
  resumedFromBlock?: { phase: ListKind; block: number };
  /** seconds per stage (score: model calls; write: encoding and file I/O) */
  timings: { read: number; fit: number; score: number; write: number };
  /** the backend asked for ('auto' or a name) */
  backend: string;
  /** kernel → backend, for engine calls seen during this job */
  backends: Record<string, string>;
  peakRssMiB: number;
  out?: string;
  similarOut?: string;
  format?: OutputFormat;
}

// ---------------------------------------------------------------------------------------------
// model resolution

function modelFactory(name: string) {
  const f = allModels[name];
  if (!f) throw new Error(`unknown model '${name}' (known: ${Object.keys(allModels).sort().join(', ')})`);
  return f;
}

/** Load a saved model (AFFM file, written by a factorization or neural model's save()). */
function loadSavedModel(file: string, name: string | undefined): Model {
  if (!existsSync(file)) throw new Error(`model file ${file} does not exist`);
  if (name !== undefined) {
    const kind = readModelFile(file).kind;
    if (kind !== name) throw new Error(`cannot load model '${file}': it holds a '${kind}' model, not '${name}'`);
  }
  return loadAnyModel(file);
}

function epochsOf(params: ModelParams | undefined): number | undefined {
  if (!params) return undefined;
  for (const key of ['epochs', 'iterations', 'n_epochs', 'n_iter', 'iters', 'maxIter']) {
    const v = params[key];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// options

export function parseShard(s: Shard | string | undefined): Shard {
  if (s === undefined) return { index: 0, count: 1 };
  let index: number, count: number;
  if (typeof s === 'string') {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(s);
    if (!m) throw new RangeError(`shard must look like i/N (e.g. 0/4), got '${s}'`);
    index = Number(m[1]); count = Number(m[2]);
  } else ({ index, count } = s);
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`shard count must be a positive integer, got ${count}`);
  if (!(Number.isInteger(index) && index >= 0 && index < count)) throw new RangeError(`shard index must be an integer in [0, ${count}), got ${index}`);
  return { index, count };
}

function positiveInteger(v: unknown, what: string): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw new RangeError(`${what} must be a positive integer, got ${String(v)}`);
  return v;
}

function validate(o: PrecomputeOptions): { shard: Shard; blockSize: number } {
  positiveInteger(o.k, 'k');
  if (o.similarItems !== undefined) positiveInteger(o.similarItems, 'similarItems');
  const blockSize = o.blockSize === undefined ? 1024 : positiveInteger(o.blockSize, 'blockSize');
  const shard = parseShard(o.shard);
  if (o.modelFile !== undefined && o.input !== undefined) throw new Error('input and modelFile are exclusive: a saved model carries its own users, items and training data');
  if (typeof o.model === 'string' && o.modelFile === undefined && o.input === undefined) throw new Error(`model '${o.model}' needs an input to fit on`);
  if (o.model === undefined && o.modelFile === undefined) throw new Error('model is required (or modelFile)');
  if (o.model !== undefined && typeof o.model !== 'string' && o.modelFile !== undefined) throw new Error('modelFile needs model to be a name (or omitted), not a Model instance');
  return { shard, blockSize };
}

// ---------------------------------------------------------------------------------------------
// the job

interface Timings { read: number; fit: number; score: number; write: number }

/** Reads, fits and scores; shared by precompute() and precomputeToFile(). */
class Job {
  readonly shard: Shard;
  readonly blockSize: number;
  readonly timings: Timings = { read: 0, fit: 0, score: 0, write: 0 };
  readonly backends: Record<string, string> = {};
  readonly ctx: Context;
  model!: Model;
  users!: IdMap;
  items!: IdMap;
  interactions: number | null = null;
  /** this shard's user indices / item indices */
  userIdx!: Int32Array;
  itemIdx!: Int32Array;
  private itemText: string[] | null = null;
  private ready: Promise<void> | null = null;
  private stopObserving: (() => void) | null = null;

  constructor(readonly o: PrecomputeOptions) {
    const v = validate(o);
    this.ctx = resolveContext(o);
    this.shard = v.shard;
    this.blockSize = v.blockSize;
  }

  get modelName(): string {
    if (this.model) return this.model.name;
    return typeof this.o.model === 'string' ? this.o.model : this.o.model?.name ?? 'saved';
  }

  prepare(): Promise<void> {
    this.ready ??= this.doPrepare();
    return this.ready;
  }

  private async doPrepare(): Promise<void> {
    const o = this.o;
    this.observeBackends();
    let data: Interactions | null = null;
    if (o.input !== undefined) {
      const t0 = performance.now();
      if (typeof o.input === 'string') {
        o.onStage?.('read', {});
        data = await readInteractions(o.input, o.read);
      } else data = o.input;
      this.timings.read = (performance.now() - t0) / 1000;
      this.interactions = data.user.length;
    }
    o.signal?.throwIfAborted();

    if (o.modelFile !== undefined) {
      const t0 = performance.now();
      this.model = loadSavedModel(o.modelFile, typeof o.model === 'string' ? o.model : undefined);
      this.timings.fit = (performance.now() - t0) / 1000;
    } else {
      let model: Model;
      let fit: boolean;
      if (o.model === undefined) throw new Error('model is required (or modelFile)');
      if (typeof o.model === 'string') {
        model = modelFactory(o.model)(o.params);
        fit = true;
      } else {
        model = o.model;
        const flag = (model as { isFitted?: unknown }).isFitted;
        fit = o.fit === true || flag === false;
      }
      if (fit) {
        if (!data) throw new Error(`model '${model.name}' is not fitted and there is no input to fit it on`);
        o.onStage?.('fit', { total: epochsOf(o.params ?? (model as { params?: ModelParams }).params), model: model.name });
        const t0 = performance.now();
        await model.fit(data, { ...this.ctx, onEpoch: o.onEpoch });
        this.timings.fit = (performance.now() - t0) / 1000;
      }
      this.model = model;
    }

    const ids = this.model as { userIds?: unknown; itemIds?: unknown };
    if (data && o.modelFile === undefined) {
      this.users = data.users; this.items = data.items;
    } else if (ids.userIds instanceof IdMap && ids.itemIds instanceof IdMap) {
      this.users = ids.userIds; this.items = ids.itemIds;
    } else {
      throw new Error(`model '${this.model.name}' does not expose its user and item ids; pass the input it was fitted on`);
    }
    if (o.similarItems !== undefined && typeof this.model.similarItems !== 'function') {
      throw new Error(`model '${this.model.name}' has no similar items; drop similarItems (--similar-items)`);
    }
    this.userIdx = shardIndices(this.users.size, this.shard);
    this.itemIdx = shardIndices(this.items.size, this.shard);
  }

  /** Records which backend the context's engine used per kernel while this job runs. */
  private observeBackends(): void {
    const seen = this.backends;
    this.stopObserving = this.ctx.engine.observe((r) => { seen[r.kernel] = r.backend; });
  }

  finish(): void {
    this.stopObserving?.();
    this.stopObserving = null;
  }

  blocksOf(kind: ListKind): number {
    const n = kind === 'recommendations' ? this.userIdx.length : this.itemIdx.length;
    return Math.ceil(n / this.blockSize);
  }

  private itemId(i: number): string {
    this.itemText ??= this.items.ids().map((id: ExternalId) => String(id));
    return this.itemText[i];
  }

  /** Computes block b of a phase: keys (external ids), their lists and scores. */
  async computeBlock(kind: ListKind, b: number): Promise<{ keys: string[]; items: string[][]; scores: number[][]; rows: number }> {
    const idx = kind === 'recommendations' ? this.userIdx : this.itemIdx;
    const start = b * this.blockSize, end = Math.min(idx.length, start + this.blockSize);
    const keys: string[] = [], items: string[][] = [], scores: number[][] = [];
    const k = kind === 'recommendations' ? this.o.k : this.o.similarItems!;
    const filterSeen = this.o.filterSeen ?? true;
    const t0 = performance.now();
    let results: Recommendations[];
    const batch = kind === 'recommendations' ? this.model.recommendBatch : this.model.similarItemsBatch;
    if (batch) {
      // one engine call for the whole block (e.g. denseScoreTopK on the native backend)
      const rows = idx.subarray(start, end);
      results = kind === 'recommendations'
        ? await this.model.recommendBatch!(rows, k, { ...this.ctx, filterSeen })
        : await this.model.similarItemsBatch!(rows, k, this.ctx);
    } else {
      results = [];
      for (let t = start; t < end; t++) {
        results.push(kind === 'recommendations' ? this.model.recommend(idx[t], k, { ...this.ctx, filterSeen }) : this.model.similarItems!(idx[t], k));
      }
    }
    const t1 = performance.now();
    this.timings.score += (t1 - t0) / 1000;
    let rows = 0;
    const keyMap = kind === 'recommendations' ? this.users : this.items;
    for (let t = start; t < end; t++) {
      const r = results[t - start];
      const n = Math.min(k, r.ids.length);
      const its: string[] = new Array(n), sc: number[] = new Array(n);
      for (let j = 0; j < n; j++) { its[j] = this.itemId(r.ids[j]); sc[j] = r.scores[j]; }
      keys.push(String(keyMap.external(idx[t])));
      items.push(its); scores.push(sc);
      rows += n;
    }
    this.timings.write += (performance.now() - t1) / 1000;
    return { keys, items, scores, rows };
  }

  summary(extra: Partial<Summary> & { recommendations: number; similarItems?: number }): Summary {
    return {
      model: this.modelName,
      users: this.userIdx.length,
      items: this.items.size,
      interactions: this.interactions,
      k: this.o.k,
      shard: this.shard,
      blocks: this.blocksOf('recommendations') + (this.o.similarItems !== undefined ? this.blocksOf('similar') : 0),
      timings: { ...this.timings },
      backend: this.ctx.backend,
      backends: { ...this.backends },
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024 * 10) / 10,
      ...extra,
    };
  }
}

function shardIndices(n: number, s: Shard): Int32Array {
  const out = new Int32Array(Math.max(0, Math.ceil((n - s.index) / s.count)));
  for (let t = 0, i = s.index; i < n; i += s.count, t++) out[t] = i;
  return out;
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

// ---------------------------------------------------------------------------------------------
// library API: blocks in memory

export interface PrecomputeRun {
  blocks: AsyncIterable<UserBlock>;
  /** present when similarItems is set */
  similarBlocks?: AsyncIterable<SimilarBlock>;
  /** resolves once every iterable above is drained */
  summary: Promise<Summary>;
}

/**
 * Top-k recommendations (and similar items) as async iterables of blocks; see the file comment.
 * Validation errors throw here; read/fit/model errors surface on the first iteration (and reject summary).
 */
export function precompute(options: PrecomputeOptions): PrecomputeRun {
  const job = new Job(options);
  let resolveSummary!: (s: Summary) => void, rejectSummary!: (e: unknown) => void;
  const summary = new Promise<Summary>((res, rej) => { resolveSummary = res; rejectSummary = rej; });
  summary.catch(() => undefined); // the error also surfaces through the iterable
  const counts = { recommendations: 0, similarItems: 0 };
  let pending = options.similarItems !== undefined ? 2 : 1;
  let failed = false;

  async function* run(kind: ListKind): AsyncGenerator<{ keys: string[]; items: string[][]; scores: number[][] }> {
    let complete = false;
    try {
      await job.prepare();
      const blocks = job.blocksOf(kind);
      const total = kind === 'recommendations' ? job.userIdx.length : job.itemIdx.length;
      options.onStage?.(kind === 'recommendations' ? 'score' : 'similar', { total });
      let done = 0;
      for (let b = 0; b < blocks; b++) {
        options.signal?.throwIfAborted();
        const blk = await job.computeBlock(kind, b);
        done += blk.keys.length;
        if (kind === 'recommendations') counts.recommendations += blk.rows; else counts.similarItems += blk.rows;
        options.onBlock?.({ phase: kind, block: b, blocks, done, total, rows: blk.rows });
        yield blk;
        await yieldToLoop();
      }
      complete = true;
    } catch (e) {
      failed = true;
      job.finish();
      rejectSummary(e);
      throw e;
    } finally {
      if (!complete && !failed) {
        failed = true;
        job.finish();
        rejectSummary(new Error(`precompute: the ${kind} iteration stopped before its end`));
      }
    }
    if (--pending === 0 && !failed) {
      job.finish();
      resolveSummary(job.summary(options.similarItems !== undefined ? counts : { recommendations: counts.recommendations }));
    }
  }

  const blocks: AsyncIterable<UserBlock> = {
    async *[Symbol.asyncIterator]() {
      for await (const b of run('recommendations')) yield { users: b.keys, items: b.items, scores: b.scores };
    },
  };
  const similarBlocks: AsyncIterable<SimilarBlock> | undefined = options.similarItems === undefined ? undefined : {
    async *[Symbol.asyncIterator]() {
      for await (const b of run('similar')) yield { items: b.keys, similar: b.items, scores: b.scores };
    },
  };
  return similarBlocks ? { blocks, similarBlocks, summary } : { blocks, summary };
}

// ---------------------------------------------------------------------------------------------
// library API: to files, atomically, with checkpoints

function fingerprintOf(o: PrecomputeOptions): unknown {
  const input = o.input === undefined ? null : typeof o.input === 'string' ? fileFingerprint(o.input) : { interactions: interactionsHash(o.input) };
  const model = o.model === undefined || typeof o.model === 'string' ? o.model ?? null : { instance: o.model.name, params: (o.model as { params?: unknown }).params ?? null };
  return {
    v: 1, input, read: o.read ?? null, model, params: o.params ?? null,
    modelFile: o.modelFile === undefined ? null : fileFingerprint(o.modelFile),
    fit: o.fit ?? null, k: o.k, similarItems: o.similarItems ?? null, filterSeen: o.filterSeen ?? true,
  };
}

/**
 * Run the job and write the files; see the file comment. Nothing appears at `out` (or at the
 * similar-items path) until every block is written: the data goes to `OUT.partial` and is
 * renamed at the end. On an error the partial files and the checkpoint are removed; a killed
 * process leaves them for `resume`.
 */
export async function precomputeToFile(options: PrecomputeOptions & FileOptions): Promise<Summary> {
  const out = options.out;
  if (!out) throw new Error('out is required');
  const format: OutputFormat = options.format ?? formatFromPath(out) ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv' && format !== 'parquet') throw new Error(`format must be jsonl, csv or parquet, got '${String(format)}'`);
  const dir = path.dirname(path.resolve(out));
  if (!existsSync(dir)) throw new Error(`output directory ${dir} does not exist`);
  if (existsSync(out) && statSync(out).isDirectory()) throw new Error(`output ${out} is a directory; give a file path`);
  const job = new Job(options); // validates
  const similar = options.similarItems !== undefined;
  const similarOut = similar ? similarItemsPath(out) : undefined;
  const cpFile = checkpointPath(out);
  const tmp = { recommendations: temporaryPath(out), similar: similarOut ? temporaryPath(similarOut) : undefined };
  if (options.input !== undefined && typeof options.input === 'string' && !existsSync(options.input)) throw new Error(`input ${options.input} does not exist`);
  const hash = jobHash({ ...(fingerprintOf(options) as object), shard: job.shard, blockSize: job.blockSize, format });

  // a checkpoint to continue from?
  let cp: Checkpoint | null = null;
  const existing = readCheckpointQuietly(cpFile, options.resume === true);
  if (options.resume) {
    if (existing) {
      if (existing.hash !== hash) throw new Error(`checkpoint ${cpFile} was written for other inputs or parameters; rerun without --resume to start over`);
      if (!existsSync(tmp.recommendations) || (existing.phase === 'similar' && tmp.similar && !existsSync(tmp.similar))) {
        throw new Error(`checkpoint ${cpFile} has no partial output next to it (${tmp.recommendations}); rerun without --resume`);
      }
      cp = existing;
    } else options.onNote?.(`no checkpoint at ${cpFile}; starting from the beginning`);
  } else if (existing) {
    options.onNote?.(`ignoring the checkpoint at ${cpFile} and starting over (pass --resume to continue it)`);
  }

  const writers: Partial<Record<ListKind, BlockWriter>> = {};
  let started = false;
  try {
    await job.prepare();
    const fresh = (): OutputProgress => ({ blocks: 0, bytes: 0, rows: 0, keys: 0 });
    const state: Checkpoint = cp
      ? { ...cp, recommendations: { ...cp.recommendations }, similar: cp.similar ? { ...cp.similar } : undefined }
      : { version: 1, hash, phase: 'recommendations', recommendations: fresh(), similar: similar ? fresh() : undefined };
    if (!cp) {
      removeCheckpoint(cpFile);
      // nothing of an older run survives: stale partial files are overwritten below
    }
    started = true;
    const resumedFrom = cp ? { phase: cp.phase, block: cp.phase === 'recommendations' ? cp.recommendations.blocks : cp.similar?.blocks ?? 0 } : undefined;

    const t0 = performance.now();
    writers.recommendations = openBlockWriter(tmp.recommendations, format, 'recommendations', cp ? cp.recommendations : undefined);
    if (similar) writers.similar = openBlockWriter(tmp.similar!, format, 'similar', cp && cp.phase === 'similar' ? cp.similar : undefined);
    job.timings.write += (performance.now() - t0) / 1000;

    for (const kind of (similar ? ['recommendations', 'similar'] : ['recommendations']) as ListKind[]) {
      const prog = kind === 'recommendations' ? state.recommendations : state.similar!;
      if (kind === 'similar') state.phase = 'similar';
      const blocks = job.blocksOf(kind);
      const total = kind === 'recommendations' ? job.userIdx.length : job.itemIdx.length;
      options.onStage?.(kind === 'recommendations' ? 'score' : 'similar', { total, done: prog.keys });
      const w = writers[kind]!;
      for (let b = prog.blocks; b < blocks; b++) {
        options.signal?.throwIfAborted();
        const blk = await job.computeBlock(kind, b);
        const tw = performance.now();
        w.write(blk);
        w.sync();
        prog.blocks = b + 1; prog.bytes = w.bytes; prog.rows += blk.rows; prog.keys += blk.keys.length;
        if (w.rowGroups !== undefined) prog.rowGroups = w.rowGroups;
        writeCheckpoint(cpFile, state);
        job.timings.write += (performance.now() - tw) / 1000;
        options.onBlock?.({ phase: kind, block: b, blocks, done: prog.keys, total, rows: blk.rows });
        await yieldToLoop();
      }
    }

    const tc = performance.now();
    writers.recommendations.close();
    writers.similar?.close();
    renameSync(tmp.recommendations, out);
    if (similarOut) renameSync(tmp.similar!, similarOut);
    removeCheckpoint(cpFile);
    job.timings.write += (performance.now() - tc) / 1000;
    job.finish();
    return job.summary({
      recommendations: state.recommendations.rows,
      ...(similar ? { similarItems: state.similar!.rows } : {}),
      ...(resumedFrom ? { resumedFromBlock: resumedFrom } : {}),
      out: path.resolve(out),
      ...(similarOut ? { similarOut: path.resolve(similarOut) } : {}),
      format,
    });
  } catch (e) {
    job.finish();
    for (const w of Object.values(writers)) w?.abort();
    // only what this run started is removed: a failure before the first write leaves an older
    // run's checkpoint and partial files alone (a resume that failed early can be retried)
    if (started) {
      for (const t of [tmp.recommendations, tmp.similar]) {
        if (t === undefined) continue;
        rmSync(t, { force: true });
        rmSync(rowGroupsPath(t), { force: true });
      }
      removeCheckpoint(cpFile);
    }
    throw e;
  }
}

function readCheckpointQuietly(file: string, strict: boolean): Checkpoint | null {
  try {
    return readCheckpoint(file);
  } catch (e) {
    if (strict) throw e;
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// demo

/**
 * The precompute demo (`npm start` may call it): fit 'als' (32 factors × 10 iterations unless
 * `params` says otherwise) on the embedded synthetic dataset, on the given context, and write
 * top-10 recommendations per user as JSONL to `out` (default: a fresh temp directory). Prints
 * a short report through `log` and returns the summary.
 */
export async function precomputeDemo(opts: RunContext & { out?: string; k?: number; params?: ModelParams; log?: (line: string) => void } = {}): Promise<Summary> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const data = embeddedDataset();
  const out = opts.out ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'affinity-demo-')), 'recs.jsonl');
  // a demo-sized ALS (the defaults, 100 factors × 15 iterations, take several seconds on 2 cores)
  const params = opts.params ?? { factors: 32, iterations: 10, seed: 42 };
  const s = await precomputeToFile({ ...contextOf(opts), input: data, model: 'als', params, k: opts.k ?? 10, out, format: 'jsonl' });
  log(`precompute demo: model '${s.model}' on the embedded dataset (${s.users} users × ${s.items} items, ${s.interactions} ratings)`);
  log(`  fit ${s.timings.fit.toFixed(2)} s, score ${s.timings.score.toFixed(2)} s, write ${s.timings.write.toFixed(2)} s; ${s.recommendations} recommendations → ${s.out}`);
  log(`  peak RSS ${s.peakRssMiB} MiB${Object.keys(s.backends).length ? `, backends ${Object.entries(s.backends).map(([k, b]) => `${k}: ${b}`).join(', ')}` : ''}`);
  return s;
}
