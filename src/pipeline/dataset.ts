/**
 * A precompute written as a partitioned dataset: one part file per shard, a receipt per part,
 * and a manifest written last.
 *
 *   DIR/part-00000.jsonl … part-0000{N-1}.jsonl   shard i's recommendations (users ≡ i mod N)
 *   DIR/part-00000.similar.jsonl …                 shard i's similar items, when asked for
 *   DIR/_receipts/part-00000.json                  rows, bytes, sha256 of shard i's part(s)
 *   DIR/_manifest.json                             every receipt, the model digest, the params
 *   DIR/_SUCCESS                                   empty; written after the manifest
 *   DIR/_staging/<job key>/…                       attempts in progress (removed at the end)
 *
 * Every final name is created at most once: a part, a receipt, the manifest and _SUCCESS are
 * written under a temporary name and then hard-linked to their final name, which fails if the
 * name exists (an attempt that lost a race to another attempt of the same shard keeps the
 * winner's file); on a file system without hard links, an exclusive claim file and a rename
 * keep the same promises (publishOnce). A reader that sees `_SUCCESS` sees a complete dataset; `verifyDataset`
 * checks every part against the manifest.
 *
 * Concatenating the parts gives exactly the lines (rows) of the single-machine precompute,
 * in another order: shard i holds the users whose index ≡ i (mod N), each in index order.
 *
 * The job key is a hash of everything that decides the dataset's bytes (the model's digest,
 * or the input and the model's name and params when the model is still to be fitted; k,
 * similar items, seen filtering, block size, shard count, format, the output directory). The
 * queue uses it to name its shard jobs, so enqueueing the same job twice adds nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, copyFileSync, createReadStream, existsSync, fdatasyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jobHash } from './checkpoint.js';
import { similarItemsPath, type OutputFormat } from './writers.js';

const MANIFEST_KIND = 'affinity-precompute-dataset';
const MANIFEST_VERSION = 1;

/** Everything the workers need to compute a shard, and everything that decides the output's bytes. */
export interface DatasetSpec {
  /** hash of the rest (see datasetJobKey) */
  jobKey: string;
  shards: number;
  format: OutputFormat;
  k: number;
  similarItems?: number;
  filterSeen: boolean;
  blockSize: number;
  /** the saved model every shard scores with: its path (readable by every worker), digest and kind */
  model: { file: string; sha256: string; kind: string };
}

/** One list file of a part (recommendations, or similar items). */
export interface PartFile {
  /** file name inside the dataset directory */
  file: string;
  bytes: number;
  sha256: string;
  /** rows: (key, item) pairs */
  rows: number;
  /** keys (users, or items for similar items) */
  keys: number;
}

/** What a finished shard wrote, recorded in DIR/_receipts/ and copied into the manifest. */
export interface PartReceipt {
  version: 1;
  jobKey: string;
  shard: number;
  shards: number;
  modelSha256: string;
  recommendations: PartFile;
  similar?: PartFile;
}

export interface DatasetManifest {
  kind: typeof MANIFEST_KIND;
  version: typeof MANIFEST_VERSION;
  jobKey: string;
  shards: number;
  format: OutputFormat;
  k: number;
  similarItems: number | null;
  filterSeen: boolean;
  blockSize: number;
  model: { file: string; sha256: string; kind: string; params: Record<string, unknown> };
  parts: Array<{ shard: number; recommendations: PartFile; similar?: PartFile }>;
  totals: { users: number; rows: number; bytes: number; similarItems?: number; similarRows?: number };
}

/** An error a retry cannot fix (a corrupt or replaced model file, a directory holding another job's output). */
export class DatasetInputError extends Error {}

// ---------------------------------------------------------------------------------------------
// names

function digits(shards: number): number {
  return Math.max(5, String(shards - 1).length);
}

/** `part-00003` for shard 3 (five digits, more when the shard count needs them). */
export function partStem(shard: number, shards: number): string {
  return `part-${String(shard).padStart(digits(shards), '0')}`;
}

/** File name (inside DIR) of shard `shard`'s recommendations. */
export function partFileName(shard: number, shards: number, format: OutputFormat): string {
  return `${partStem(shard, shards)}.${format}`;
}

/** File name (inside DIR) of shard `shard`'s similar items. */
export function similarPartFileName(shard: number, shards: number, format: OutputFormat): string {
  return similarItemsPath(partFileName(shard, shards, format));
}

function receiptPath(dir: string, shard: number, shards: number): string {
  return path.join(dir, '_receipts', `${partStem(shard, shards)}.json`);
}

function manifestPath(dir: string): string {
  return path.join(dir, '_manifest.json');
}

function successPath(dir: string): string {
  return path.join(dir, '_SUCCESS');
}

/** Where the attempts of a job stage their files before publishing them. */
export function stagingDir(dir: string, jobKey: string): string {
  return path.join(dir, '_staging', jobKey);
}

/**
 * The job key: SHA-256 (first 24 hex digits) of what decides the dataset's bytes. `model` is
 * the saved model's digest, or a description of the fit (input fingerprint, name, params).
 */
export function datasetJobKey(parts: { model: unknown; shards: number; format: OutputFormat; k: number; similarItems?: number; filterSeen: boolean; blockSize: number; dir: string }): string {
  return jobHash({ v: 1, ...parts, similarItems: parts.similarItems ?? null, dir: path.resolve(parts.dir) }).slice(0, 24);
}

// ---------------------------------------------------------------------------------------------
// writing each final name once

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** Link errors of file systems without hard links (some FUSE object-store mounts). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** How publishOnce links, and how long it waits for another attempt's claim (tests inject both). */
export interface PublishOptions {
  /** the hard-link call (default fs.linkSync) */
  link?: (existing: string, created: string) => void;
  /** how long to wait for a live attempt that claimed `final` to publish it (default 10 minutes) */
  claimWaitMs?: number;
}

/**
 * Give the complete file `staged` the name `final` unless `final` exists: true when this call
 * created it. A hard link is atomic (readers see all of the file or no file). Where the file
 * system has no hard links, publishByClaim keeps both promises: one creator, and all or nothing.
 */
export function publishOnce(staged: string, final: string, o: PublishOptions = {}): boolean {
  try {
    (o.link ?? linkSync)(staged, final);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'EEXIST') return false;
    if (!NO_LINKS.has(errnoOf(e) ?? '')) throw e;
  }
  return publishByClaim(staged, final, o.claimWaitMs ?? 10 * 60_000);
}

/** A hidden name beside `final` (dot-prefixed, so listings of parts and receipts skip it). */
function besideFinal(final: string, suffix: string): string {
  return path.join(path.dirname(final), `.${path.basename(final)}.${suffix}`);
}

interface ClaimOwner { pid: number; host: string }

function readClaim(claim: string): ClaimOwner | null {
  try {
    const o = JSON.parse(readFileSync(claim, 'utf8')) as Partial<ClaimOwner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? { pid: o.pid, host: o.host } : null;
  } catch {
    return null;
  }
}

/** Whether the claim's owner is known to be gone: a process of this host that no longer runs. */
function claimOwnerGone(owner: ClaimOwner | null): boolean {
  if (owner === null || owner.host !== os.hostname()) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (e) {
    return errnoOf(e) !== 'EPERM';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * publishOnce without hard links. The right to create `final` is claimed by creating the marker
 * `.FINAL.claim` exclusively ('wx'; it names the claiming process); the claimant copies `staged`
 * to a temporary `.FINAL.PID.RANDOM.tmp`, flushes it and renames it to `final` — so a reader sees
 * no `final` or all of it, never a half-written one (a claimed `final` that is not there yet is
 * simply absent) — then removes the claim. Another attempt that finds the claim waits for `final`
 * to appear; a claim whose process is gone (killed mid-copy, on this host) is taken over, and its
 * temporary is removed; a claim from another host that stays unpublished for `waitMs` is an error
 * naming the claim file.
 */
function publishByClaim(staged: string, final: string, waitMs: number): boolean {
  const claim = besideFinal(final, 'claim');
  const me: ClaimOwner = { pid: process.pid, host: os.hostname() };
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (existsSync(final)) return false;
    let fd: number | null = null;
    try {
      fd = openSync(claim, 'wx');
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') throw e;
    }
    if (fd !== null) {
      try { writeSync(fd, JSON.stringify(me)); } finally { closeSync(fd); }
      break;
    }
    const owner = readClaim(claim);
    if (claimOwnerGone(owner)) {
      // moved aside first, so that of two attempts taking over only one removes it
      const aside = besideFinal(final, `claim.${process.pid}.stale`);
      try { renameSync(claim, aside); } catch { continue; }
      rmSync(aside, { force: true });
      for (const name of readdirSync(path.dirname(final))) {
        if (name.startsWith(`.${path.basename(final)}.${owner!.pid}.`) && name.endsWith('.tmp')) rmSync(path.join(path.dirname(final), name), { force: true });
      }
      continue;
    }
    if (Date.now() >= deadline) {
      const who = owner ? `pid ${owner.pid} on ${owner.host}` : 'another attempt';
      throw new Error(`${final} was claimed by ${who} (${claim}) and has not been published within ${Math.round(waitMs / 1000)} s; delete ${claim} if no attempt is running`);
    }
    sleepSync(100);
  }
  try {
    if (existsSync(final)) return false; // published by the claimant just before ours
    const tmp = besideFinal(final, `${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      copyFileSync(staged, tmp);
      const fd = openSync(tmp, 'r+');
      try { fdatasyncSync(fd); } finally { closeSync(fd); }
      renameSync(tmp, final);
    } finally {
      rmSync(tmp, { force: true });
    }
    return true;
  } finally {
    rmSync(claim, { force: true });
  }
}

/** Write `text` to `final` unless it exists (through a temporary file next to it): true when this call created it. */
export function writeOnce(final: string, text: string): boolean {
  const tmp = `${final}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text);
  try {
    return publishOnce(tmp, final);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** SHA-256 (hex) of a file's bytes, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// receipts

function isPartFile(x: unknown): x is PartFile {
  if (x === null || typeof x !== 'object') return false;
  const o = x as Record<string, unknown>;
  return typeof o.file === 'string' && !o.file.includes('/') && typeof o.sha256 === 'string' && /^[0-9a-f]{64}$/.test(o.sha256) &&
    ['bytes', 'rows', 'keys'].every((k) => Number.isSafeInteger(o[k]) && (o[k] as number) >= 0);
}

function parseReceipt(text: string, file: string): PartReceipt {
  let r: Partial<PartReceipt>;
  try {
    r = JSON.parse(text) as Partial<PartReceipt>;
  } catch (e) {
    throw new DatasetInputError(`receipt ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (r === null || typeof r !== 'object' || r.version !== 1 || typeof r.jobKey !== 'string' || !Number.isSafeInteger(r.shard) ||
    !Number.isSafeInteger(r.shards) || typeof r.modelSha256 !== 'string' || !isPartFile(r.recommendations) ||
    (r.similar !== undefined && !isPartFile(r.similar))) {
    throw new DatasetInputError(`receipt ${file} is malformed`);
  }
  return r as PartReceipt;
}

/** Shard `shard`'s receipt, or null when the shard has not finished. */
export function readReceipt(dir: string, shard: number, shards: number): PartReceipt | null {
  const file = receiptPath(dir, shard, shards);
  if (!existsSync(file)) return null;
  return parseReceipt(readFileSync(file, 'utf8'), file);
}

/** Record a finished shard; returns the receipt on disk (another attempt's, when it got there first). */
export function writeReceipt(dir: string, r: PartReceipt): PartReceipt {
  const file = receiptPath(dir, r.shard, r.shards);
  mkdirSync(path.dirname(file), { recursive: true });
  if (writeOnce(file, JSON.stringify(r, null, 1) + '\n')) return r;
  return parseReceipt(readFileSync(file, 'utf8'), file);
}

// ---------------------------------------------------------------------------------------------
// the manifest

function checkManifest(m: unknown, file: string): DatasetManifest {
  const o = m as Partial<DatasetManifest> | null;
  if (o === null || typeof o !== 'object' || o.kind !== MANIFEST_KIND) throw new Error(`${file} is not an affinity precompute manifest`);
  if (o.version !== MANIFEST_VERSION) throw new Error(`${file} has manifest version ${String(o.version)}; this affinity reads version ${MANIFEST_VERSION}`);
  if (typeof o.jobKey !== 'string' || !Number.isSafeInteger(o.shards) || (o.shards as number) < 1 || !Array.isArray(o.parts) ||
    o.parts.some((p) => p === null || typeof p !== 'object' || !Number.isSafeInteger(p.shard) || !isPartFile(p.recommendations) || (p.similar !== undefined && !isPartFile(p.similar)))) {
    throw new Error(`${file} is malformed`);
  }
  return o as DatasetManifest;
}

/** The manifest of a dataset directory, or null when there is none yet. */
export function readManifest(dir: string): DatasetManifest | null {
  const file = manifestPath(dir);
  if (!existsSync(file)) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return checkManifest(obj, file);
}

/** The receipts present (by shard) and the shards still missing. */
function receiptsOf(dir: string, spec: DatasetSpec): { receipts: PartReceipt[]; missing: number[] } {
  const receipts: PartReceipt[] = [], missing: number[] = [];
  for (let s = 0; s < spec.shards; s++) {
    const r = readReceipt(dir, s, spec.shards);
    if (r === null) { missing.push(s); continue; }
    if (r.jobKey !== spec.jobKey) throw new DatasetInputError(`${receiptPath(dir, s, spec.shards)} belongs to another precompute job (${r.jobKey}, not ${spec.jobKey}); write to an empty directory`);
    receipts.push(r);
  }
  return { receipts, missing };
}

/** Throws when DIR holds the output of another job (a manifest or receipts with another key). */
export function checkDatasetDir(dir: string, spec: DatasetSpec): void {
  const m = readManifest(dir);
  if (m && m.jobKey !== spec.jobKey) throw new DatasetInputError(`${dir} already holds a complete precompute of another job (${m.jobKey}); write to an empty directory`);
  const receipts = path.join(dir, '_receipts');
  if (!existsSync(receipts)) return;
  for (const name of readdirSync(receipts)) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(receipts, name);
    const r = parseReceipt(readFileSync(file, 'utf8'), file);
    if (r.jobKey !== spec.jobKey) throw new DatasetInputError(`${file} belongs to another precompute job (${r.jobKey}, not ${spec.jobKey}); write to an empty directory`);
  }
}

/**
 * Write the manifest and `_SUCCESS` once every shard has its receipt (the part files' sizes
 * checked against them); returns the manifest, or null while shards are missing. Safe to call
 * from many processes at once (the last shards of a Kubernetes Job): one writes each file.
 */
export function finalizeDataset(dir: string, spec: DatasetSpec, modelParams: Record<string, unknown>): DatasetManifest | null {
  let manifest = readManifest(dir);
  if (manifest && manifest.jobKey !== spec.jobKey) throw new DatasetInputError(`${dir} already holds a complete precompute of another job (${manifest.jobKey}); write to an empty directory`);
  if (!manifest) {
    const { receipts, missing } = receiptsOf(dir, spec);
    if (missing.length > 0) return null;
    for (const r of receipts) {
      if (r.modelSha256 !== spec.model.sha256) throw new DatasetInputError(`shard ${r.shard}/${spec.shards} was computed with model ${r.modelSha256}, not ${spec.model.sha256}`);
      for (const f of r.similar ? [r.recommendations, r.similar] : [r.recommendations]) {
        const p = path.join(dir, f.file);
        const size = existsSync(p) ? statSync(p).size : -1;
        if (size !== f.bytes) throw new DatasetInputError(`shard ${r.shard}/${spec.shards}: ${p} ${size < 0 ? 'is missing' : `has ${size} bytes, its receipt says ${f.bytes}`}`);
      }
    }
    const sum = (f: (r: PartReceipt) => number): number => receipts.reduce((a, r) => a + f(r), 0);
    const similar = spec.similarItems !== undefined;
    const m: DatasetManifest = {
      kind: MANIFEST_KIND,
      version: MANIFEST_VERSION,
      jobKey: spec.jobKey,
      shards: spec.shards,
      format: spec.format,
      k: spec.k,
      similarItems: spec.similarItems ?? null,
      filterSeen: spec.filterSeen,
      blockSize: spec.blockSize,
      model: { ...spec.model, params: modelParams },
      parts: receipts.map((r) => (r.similar ? { shard: r.shard, recommendations: r.recommendations, similar: r.similar } : { shard: r.shard, recommendations: r.recommendations })),
      totals: {
        users: sum((r) => r.recommendations.keys),
        rows: sum((r) => r.recommendations.rows),
        bytes: sum((r) => r.recommendations.bytes + (r.similar?.bytes ?? 0)),
        ...(similar ? { similarItems: sum((r) => r.similar?.keys ?? 0), similarRows: sum((r) => r.similar?.rows ?? 0) } : {}),
      },
    };
    writeOnce(manifestPath(dir), JSON.stringify(m, null, 1) + '\n');
    manifest = readManifest(dir)!;
    if (manifest.jobKey !== spec.jobKey) throw new DatasetInputError(`${dir} already holds a complete precompute of another job (${manifest.jobKey}); write to an empty directory`);
  }
  writeOnce(successPath(dir), '');
  rmSync(stagingDir(dir, spec.jobKey), { recursive: true, force: true });
  const staging = path.join(dir, '_staging');
  try { if (readdirSync(staging).length === 0) rmSync(staging, { recursive: true, force: true }); } catch { /* absent */ }
  return manifest;
}

/** finalizeDataset, when every shard's receipt is there (one directory listing when it is not). */
export function finalizeIfComplete(dir: string, spec: DatasetSpec, modelParams: Record<string, unknown>): DatasetManifest | null {
  const receipts = path.join(dir, '_receipts');
  const count = existsSync(receipts) ? readdirSync(receipts).filter((n) => n.endsWith('.json')).length : 0;
  if (count < spec.shards) return null;
  return finalizeDataset(dir, spec, modelParams);
}

// ---------------------------------------------------------------------------------------------
// reading a dataset back

export interface DatasetCheck {
  manifest: DatasetManifest;
  /** paths of the parts, by shard: recommendations, then similar items */
  files: string[];
}

/**
 * Check that DIR holds a complete dataset: `_SUCCESS` and the manifest present, every shard
 * 0 … N−1 listed once, every listed file present with the manifest's size and SHA-256 (skip
 * the hashes with `hash: false`), and no part file the manifest does not list. Throws an
 * Error naming the first problem.
 */
export async function verifyDataset(dir: string, o: { hash?: boolean } = {}): Promise<DatasetCheck> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
  const manifest = readManifest(dir);
  if (!manifest) {
    const receipts = existsSync(path.join(dir, '_receipts')) ? readdirSync(path.join(dir, '_receipts')).filter((n) => n.endsWith('.json')).length : 0;
    throw new Error(`${dir} has no _manifest.json: the precompute is not complete (${receipts} shard${receipts === 1 ? '' : 's'} finished)`);
  }
  if (!existsSync(successPath(dir))) throw new Error(`${dir} has a manifest but no _SUCCESS: the precompute did not finish writing it`);
  const seen = new Set<number>();
  for (const p of manifest.parts) {
    if (!(p.shard >= 0 && p.shard < manifest.shards) || seen.has(p.shard)) throw new Error(`${manifestPath(dir)} lists shard ${p.shard} ${seen.has(p.shard) ? 'twice' : `outside 0 … ${manifest.shards - 1}`}`);
    seen.add(p.shard);
  }
  if (seen.size !== manifest.shards) {
    const missing = [...Array(manifest.shards).keys()].filter((s) => !seen.has(s));
    throw new Error(`${manifestPath(dir)} lacks shard${missing.length === 1 ? '' : 's'} ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`);
  }
  const files: string[] = [];
  const listed = new Set<string>();
  for (const p of [...manifest.parts].sort((a, b) => a.shard - b.shard)) {
    for (const f of p.similar ? [p.recommendations, p.similar] : [p.recommendations]) {
      const file = path.join(dir, f.file);
      listed.add(f.file);
      if (!existsSync(file)) throw new Error(`shard ${p.shard}/${manifest.shards}: ${file} is missing`);
      const size = statSync(file).size;
      if (size !== f.bytes) throw new Error(`shard ${p.shard}/${manifest.shards}: ${file} has ${size} bytes, the manifest says ${f.bytes}`);
      if (o.hash !== false) {
        const h = await sha256File(file);
        if (h !== f.sha256) throw new Error(`shard ${p.shard}/${manifest.shards}: ${file} has SHA-256 ${h}, the manifest says ${f.sha256}: the file changed or is corrupt`);
      }
      files.push(file);
    }
  }
  const stray = readdirSync(dir).filter((n) => n.startsWith('part-') && !listed.has(n));
  if (stray.length > 0) throw new Error(`${dir} holds part files the manifest does not list: ${stray.slice(0, 5).join(', ')}`);
  return { manifest, files };
}
