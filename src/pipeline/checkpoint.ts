/**
 * The precompute checkpoint: a small JSON sidecar `OUT.checkpoint` rewritten (atomically,
 * through `OUT.checkpoint.tmp` + rename) after every block whose bytes are on disk.
 *
 * It records, for each output (recommendations, and similar items when asked for), how many
 * blocks are complete, how many bytes of the temporary file they fill and how many rows they
 * hold, plus a hash of everything that decides the output's bytes (input fingerprint, model,
 * params, k, shard, block size, format). `--resume` checks the hash, truncates each temporary
 * file to its recorded length and carries on with the next block.
 *
 * Input fingerprint: path, size, mtime and a SHA-256 of the first and last MiB of the file (a
 * full-content hash would cost a second pass over inputs of many GiB); in-memory Interactions
 * are hashed whole.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Interactions } from '../data/interactions.js';

const CHECKPOINT_VERSION = 1;

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

export interface Checkpoint {
  version: number;
  /** hash of the inputs and parameters (see jobHash) */
  hash: string;
  /** 'recommendations' until every user block is done, then 'similar' (when similar items are asked for) */
  phase: 'recommendations' | 'similar';
  recommendations: OutputProgress;
  similar?: OutputProgress;
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
  if (c === null || typeof c !== 'object' || c.version !== CHECKPOINT_VERSION || typeof c.hash !== 'string' ||
    (c.phase !== 'recommendations' && c.phase !== 'similar') || !isProgress(c.recommendations) ||
    (c.similar !== undefined && !isProgress(c.similar))) {
    throw new Error(`checkpoint ${file} is malformed or from another version; delete it and rerun without --resume`);
  }
  return c as Checkpoint;
}

/** Write the checkpoint atomically: a reader (or a resumed run) sees the old one or the new one, never half of one. */
export function writeCheckpoint(file: string, c: Checkpoint): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(c) + '\n');
  renameSync(tmp, file);
}

export function removeCheckpoint(file: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.tmp`, { force: true });
}

/** SHA-256 (hex) of a value's canonical JSON (object keys sorted). */
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

/** A cheap identity of a file's content: size, mtime and a hash of its first and last MiB. */
export function fileFingerprint(file: string): FileFingerprint {
  const st = statSync(file);
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

/** SHA-256 of in-memory interactions (ids, indices, ratings). */
export function interactionsHash(x: Interactions): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(x.users.ids())).update(JSON.stringify(x.items.ids()));
  for (const a of [x.user, x.item, x.rating]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}
