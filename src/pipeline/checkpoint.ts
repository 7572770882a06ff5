/**
 * The precompute checkpoint: a small JSON sidecar `OUT.checkpoint` rewritten (atomically,
 * through `OUT.checkpoint.tmp` + rename) after every block whose bytes are on disk.
 *
 * It records, for each output (recommendations, and similar items when asked for), how many
 * blocks are complete, how many bytes of the temporary file they fill and how many rows they
 * hold; and everything that decides the output's bytes, so that `--resume` continues only a run
 * that would have written the same bytes:
 *
 * - `job`: the options (input fingerprint, model, params, model file, k, similar items, seen
 *   filter, shard, block size, format), compared field by field before anything is read;
 * - `run`: the affinity version and the backend asked for (also compared up front), the content
 *   digest of the input as read (SHA-256 of the parsed interactions, so an input changed in a way
 *   its size, mtime and ends do not show is caught once it is read) and of the model file, and the
 *   backend each kernel actually ran on (a resumed run that puts a kernel on another backend,
 *   e.g. under auto dispatch after a recalibration, stops before writing anything).
 *
 * `phase` is 'recommendations', then 'similar' (when similar items are asked for), then
 * 'complete': every block is written and the files are finished, only their renames to the final
 * paths remain, so a run killed between the renames finishes them on resume.
 *
 * Input fingerprint: path, size, mtime and a SHA-256 of the first and last MiB of the file (a
 * full-content hash would cost a second pass over inputs of many GiB; the digest above is taken
 * from the parsed data instead); stdin ('-') is fingerprinted by name only. In-memory
 * Interactions are hashed whole.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Interactions } from '../data/interactions.js';
import { namedFileError } from '../data/outputFile.js';

const CHECKPOINT_VERSION = 2;

export interface OutputProgress {
  /** blocks complete (the next block to compute is this index) */
  blocks: number;
  /** bytes of the temporary file those blocks fill */
  bytes: number;
  /** rows (CSV/Parquet rows; for JSONL, (key, item) pairs) written by those blocks */
  rows: number;
  /** keys (users or items) those blocks cover */
  keys: number;
  /** parquet: row groups those blocks wrote (their metadata is in the `.rowgroups` sidecar) */
  rowGroups?: number;
}

/** What the run that wrote a checkpoint was, besides its options: see the file comment. */
export interface RunRecord {
  /** the affinity version */
  affinity: string;
  /** the backend asked for ('auto' or a name) */
  backend: string;
  /** kernel → the backends it ran on so far (normally one) */
  backends: Record<string, string[]>;
  /** SHA-256 of the input's parsed interactions (file inputs) */
  inputDigest?: string;
  /** SHA-256 of the model file's bytes (modelFile) */
  modelDigest?: string;
}

/** Written with phase 'complete': what the summary of a run that only finishes the renames reports. */
export interface CompleteRecord { model: string; users: number; items: number; interactions: number | null; blocks: number }

export interface Checkpoint {
  version: number;
  /** the options that decide the output (canonical JSON values, compared field by field) */
  job: Record<string, unknown>;
  run: RunRecord;
  /** 'recommendations' until every user block is done, then 'similar' (when similar items are asked for), then 'complete' (only the renames remain) */
  phase: 'recommendations' | 'similar' | 'complete';
  recommendations: OutputProgress;
  similar?: OutputProgress;
  /** present in phase 'complete' */
  complete?: CompleteRecord;
}

export function checkpointPath(out: string): string {
  return `${out}.checkpoint`;
}

function isProgress(x: unknown): x is OutputProgress {
  if (x === null || typeof x !== 'object') return false;
  const o = x as Record<string, unknown>;
  return ['blocks', 'bytes', 'rows', 'keys'].every((k) => Number.isSafeInteger(o[k]) && (o[k] as number) >= 0) &&
    (o.rowGroups === undefined || (Number.isSafeInteger(o.rowGroups) && (o.rowGroups as number) >= 0));
}

/** The checkpoint at `file`, or null when there is none; throws naming the file when it is unreadable or malformed. */
export function readCheckpoint(file: string): Checkpoint | null {
  if (!existsSync(file)) return null;
  let obj: unknown;
  try {
    obj = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`checkpoint ${file} is not valid JSON (${(e as Error).message}); delete it and rerun without --resume`, { cause: e });
  }
  const c = obj as Partial<Checkpoint> | null;
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  const run = c?.run as Partial<RunRecord> | undefined;
  if (c === null || typeof c !== 'object' || c.version !== CHECKPOINT_VERSION || !isObject(c.job) || !isObject(run) ||
    typeof run.affinity !== 'string' || typeof run.backend !== 'string' || !isObject(run.backends) ||
    !Object.values(run.backends).every((b) => Array.isArray(b) && b.every((x) => typeof x === 'string')) ||
    (c.phase !== 'recommendations' && c.phase !== 'similar' && c.phase !== 'complete') || !isProgress(c.recommendations) ||
    (c.similar !== undefined && !isProgress(c.similar)) || (c.phase === 'complete' && !isObject(c.complete))) {
    throw new Error(`checkpoint ${file} is malformed or from another version; delete it and rerun without --resume`);
  }
  return c as Checkpoint;
}

/** Write the checkpoint atomically: a reader (or a resumed run) sees the old one or the new one, never half of one. */
export function writeCheckpoint(file: string, c: Checkpoint): void {
  const tmp = `${file}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(c) + '\n');
    renameSync(tmp, file);
  } catch (e) {
    throw namedFileError(e, file);
  }
}

/**
 * The first difference between the options a checkpoint was written for and this run's, as
 * "NAME (checkpoint: A, now: B)", or null when they agree.
 */
export function jobDifference(recorded: Record<string, unknown>, now: Record<string, unknown>): string | null {
  const keys = [...new Set([...Object.keys(recorded), ...Object.keys(now)])].sort();
  for (const key of keys) {
    const a = canonicalJson(recorded[key]), b = canonicalJson(now[key]);
    if (a !== b) return `${key} (checkpoint: ${clip(a)}, now: ${clip(b)})`;
  }
  return null;
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** The options as the canonical JSON value a checkpoint stores (undefined fields dropped). */
export function canonicalValue(v: unknown): Record<string, unknown> {
  return JSON.parse(canonicalJson(v)) as Record<string, unknown>;
}

export function removeCheckpoint(file: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.tmp`, { force: true });
}

/** SHA-256 (hex) of a value's canonical JSON (object keys sorted): a partitioned dataset's job key (dataset.ts). */
export function jobHash(parts: unknown): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
  const o = v as Record<string, unknown>;
  return '{' + Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => JSON.stringify(k) + ':' + canonicalJson(o[k])).join(',') + '}';
}

export interface FileFingerprint {
  path: string;
  size: number;
  mtimeMs: number;
  /** SHA-256 of the first and the last MiB */
  ends: string;
}

/** A cheap identity of a file's content: size, mtime and a hash of its first and last MiB (stdin, '-': its name only). */
export function fileFingerprint(file: string): FileFingerprint | { path: '-' } {
  if (file === '-') return { path: '-' };
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    throw namedFileError(e, file, 'read');
  }
  if (st.isDirectory()) throw new Error(`cannot read ${file}: it is a directory, expected a file`);
  // a pipe or FIFO is read once, by the reader: nothing of it is read here (its content digest is checked after the read)
  if (!st.isFile()) return { path: path.resolve(file), size: 0, mtimeMs: 0, ends: '' };
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const span = 1 << 20;
    const buf = Buffer.alloc(Math.min(span, st.size));
    const readAt = (pos: number): void => {
      let off = 0;
      while (off < buf.length) {
        const n = readSync(fd, buf, off, buf.length - off, pos + off);
        if (n === 0) break;
        off += n;
      }
      h.update(buf.subarray(0, off));
    };
    readAt(0);
    if (st.size > span) readAt(st.size - span);
  } finally {
    closeSync(fd);
  }
  return { path: path.resolve(file), size: st.size, mtimeMs: st.mtimeMs, ends: h.digest('hex') };
}

/** SHA-256 of a file's bytes. */
export function fileDigest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** SHA-256 of in-memory interactions (ids, indices, ratings). */
export function interactionsHash(x: Interactions): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(x.users.ids())).update(JSON.stringify(x.items.ids()));
  for (const a of [x.user, x.item, x.rating]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}
