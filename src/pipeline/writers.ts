/**
 * Block writers for precomputed top-k lists. Each block (a run of users, or of items for
 * similar items) is appended to a file as it is computed, so memory stays bounded by a block.
 *
 * Formats (ids are always written as strings, exactly as the input had them):
 *
 * - jsonl: one line per key (user or item), in index order:
 *     recommendations  {"user":"u1","items":["i9","i4"],"scores":[0.93,0.71]}
 *     similar items    {"item":"i9","items":["i4","i2"],"scores":[0.88,0.5]}
 *   a key with no recommendations still gets a line, with empty arrays. A score that is not a
 *   finite number (which no built-in model produces) is written as null.
 * - csv: a header, then one row per (key, rank, item, score), rank from 1:
 *     recommendations  user,rank,item,score
 *     similar items    item,rank,similar_item,score
 *   fields holding a comma, quote or line break are quoted (RFC 4180).
 * - parquet (hyparquet-writer): the same columns, typed user/item/similar_item: string (UTF8
 *   BYTE_ARRAY, required), rank: int32, score: float (float32); one row group per block,
 *   SNAPPY pages, no page indexes.
 *
 * Scores are written as the shortest decimal that reads back to the same float32.
 * Text writers start a file with the header only when starting fresh; on resume they truncate
 * the existing file to the checkpoint's length and append after it. Parquet resumes too: see
 * ParquetBlockWriter.
 */
import { closeSync, fdatasyncSync, ftruncateSync, fstatSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { csvField, float32Text } from '../data/csvLine.js';
import { namedFileError } from '../data/outputFile.js';

export type OutputFormat = 'jsonl' | 'csv' | 'parquet';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['jsonl', 'csv', 'parquet'];

/** Which list a file holds: per-user recommendations or per-item similar items. */
export type ListKind = 'recommendations' | 'similar';

/** One block of top-k lists: keys[r] has items[r] (best first) with scores[r]. */
export interface ListBlock {
  keys: readonly string[];
  items: readonly (readonly string[])[];
  scores: readonly (readonly number[])[];
}

export interface BlockWriter {
  /** bytes in the file so far (everything written is in the file: no user-space buffering between blocks) */
  readonly bytes: number;
  /** parquet: row groups written so far (their metadata is in the `.rowgroups` sidecar, for resume) */
  readonly rowGroups?: number;
  /** append a block; returns the rows it wrote (pairs of key and item) */
  write(block: ListBlock): number;
  /** flush the file's data to stable storage (before a checkpoint records its length) */
  sync(): void;
  /** finish the file (parquet footer) and close it */
  close(): void;
  /** close without finishing (error path) */
  abort(): void;
}

/** Column names of each list kind, as in the CSV header and the Parquet schema. */
function columnNames(kind: ListKind): [string, string, string, string] {
  return kind === 'recommendations' ? ['user', 'rank', 'item', 'score'] : ['item', 'rank', 'similar_item', 'score'];
}

/** The format a path's extension implies (.jsonl/.ndjson/.json, .csv, .parquet/.pq), or undefined. */
export function formatFromPath(out: string): OutputFormat | undefined {
  const ext = path.extname(out).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  return undefined;
}

/** Where similar items go: OUT with `.similar` before the extension (recs.jsonl → recs.similar.jsonl; recs → recs.similar). */
export function similarItemsPath(out: string): string {
  const ext = path.extname(out);
  const base = path.basename(out);
  if (ext === '' || ext === base) return `${out}.similar`;
  return `${out.slice(0, out.length - ext.length)}.similar${ext}`;
}

/** The temporary file an output is written to before the final rename (same directory, so the rename is atomic). */
export function temporaryPath(out: string): string {
  return `${out}.partial`;
}

function writeFully(fd: number, buf: Uint8Array, position: number): void {
  let off = 0;
  while (off < buf.length) {
    off += writeSync(fd, buf, off, buf.length - off, position + off);
  }
}

function jsonScore(s: number): string {
  return Number.isFinite(s) ? float32Text(s) : 'null';
}

class TextWriter implements BlockWriter {
  private fd: number;
  private pos: number;
  private readonly keyName: string;

  constructor(file: string, private readonly format: 'jsonl' | 'csv', kind: ListKind, resumeAt?: number) {
    this.keyName = kind === 'recommendations' ? 'user' : 'item';
    if (resumeAt !== undefined) {
      this.fd = openSync(file, 'r+');
      const size = fstatSync(this.fd).size;
      if (size < resumeAt) {
        closeSync(this.fd);
        throw new Error(`cannot resume: ${file} has ${size} bytes, the checkpoint records ${resumeAt}`);
      }
      ftruncateSync(this.fd, resumeAt);
      this.pos = resumeAt;
    } else {
      this.fd = openSync(file, 'w');
      this.pos = 0;
      if (format === 'csv') this.append(columnNames(kind).join(',') + '\n');
    }
  }

  get bytes(): number { return this.pos; }

  private append(text: string): void {
    const buf = Buffer.from(text, 'utf8');
    writeFully(this.fd, buf, this.pos);
    this.pos += buf.length;
  }

  write(block: ListBlock): number {
    const parts: string[] = [];
    let rows = 0;
    for (let r = 0; r < block.keys.length; r++) {
      const items = block.items[r], scores = block.scores[r];
      rows += items.length;
      if (this.format === 'jsonl') {
        let line = `{"${this.keyName}":${JSON.stringify(block.keys[r])},"items":[`;
        for (let j = 0; j < items.length; j++) line += (j ? ',' : '') + JSON.stringify(items[j]);
        line += '],"scores":[';
        for (let j = 0; j < scores.length; j++) line += (j ? ',' : '') + jsonScore(scores[j]);
        parts.push(line + ']}\n');
      } else {
        const key = csvField(block.keys[r]);
        for (let j = 0; j < items.length; j++) parts.push(`${key},${j + 1},${csvField(items[j])},${float32Text(scores[j])}\n`);
      }
    }
    if (parts.length) this.append(parts.join(''));
    return rows;
  }

  sync(): void { fdatasyncSync(this.fd); }

  close(): void {
    fdatasyncSync(this.fd);
    closeSync(this.fd);
  }

  abort(): void {
    try { closeSync(this.fd); } catch { /* already closed */ }
  }
}

/** hyparquet-writer's ByteWriter, flushed to a file descriptor after each row group. */
class FileByteWriter extends ByteWriter {
  constructor(private readonly fd: number) {
    super(1 << 16);
  }
  flush(): void {
    if (this.index > 0) {
      writeFully(this.fd, new Uint8Array(this.buffer, 0, this.index), this.offset - this.index);
      this.index = 0;
    }
  }
  override finish(): void {
    this.flush();
  }
}

/** The sidecar where a parquet writer keeps its row-group metadata (one JSON line per row group) until the footer is written. */
export function rowGroupsPath(file: string): string {
  return `${file}.rowgroups`;
}

/** JSON with bigint and Uint8Array values tagged, for the parquet row-group metadata. */
function encodeMeta(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return { $big: x.toString() };
    if (x instanceof Uint8Array) return { $u8: Buffer.from(x).toString('base64') };
    return x;
  });
}
function decodeMeta(text: string): unknown {
  return JSON.parse(text, (_k, x: unknown) => {
    if (x !== null && typeof x === 'object' && !Array.isArray(x)) {
      const o = x as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && typeof o.$big === 'string') return BigInt(o.$big);
      if (keys.length === 1 && typeof o.$u8 === 'string') return new Uint8Array(Buffer.from(o.$u8, 'base64'));
    }
    return x;
  });
}

type RowGroupMeta = ParquetWriter['row_groups'][number];

/**
 * Parquet, one row group per block. The footer (all row groups' metadata) is only written by
 * close(), so for resume every row group's metadata is also appended to a sidecar
 * (`FILE.rowgroups`); resuming truncates the file to the checkpoint's length, reloads the
 * first `rowGroups` entries and carries on as if the writer had never stopped.
 */
class ParquetBlockWriter implements BlockWriter {
  private readonly fd: number;
  private readonly metaFd: number;
  private readonly bytesOut: FileByteWriter;
  private readonly pq: ParquetWriter;
  private readonly names: [string, string, string, string];
  private readonly metaFile: string;
  private closed = false;

  constructor(file: string, kind: ListKind, resume?: { bytes: number; rowGroups: number }) {
    this.metaFile = rowGroupsPath(file);
    this.names = columnNames(kind);
    let restored: RowGroupMeta[] = [];
    if (resume) {
      this.fd = openSync(file, 'r+');
      const size = fstatSync(this.fd).size;
      let lines: string[] = [];
      try {
        lines = readFileSync(this.metaFile, 'utf8').split('\n').filter((l) => l.length > 0);
      } catch { /* missing: checked below */ }
      if (size < resume.bytes || lines.length < resume.rowGroups) {
        closeSync(this.fd);
        throw new Error(`cannot resume: ${file} has ${size} bytes and ${lines.length} row groups recorded, the checkpoint needs ${resume.bytes} and ${resume.rowGroups}`);
      }
      ftruncateSync(this.fd, resume.bytes);
      lines = lines.slice(0, resume.rowGroups);
      restored = lines.map((l) => decodeMeta(l) as RowGroupMeta);
      writeFileSync(this.metaFile, lines.map((l) => l + '\n').join(''));
    } else {
      this.fd = openSync(file, 'w');
      writeFileSync(this.metaFile, '');
    }
    this.metaFd = openSync(this.metaFile, 'a');
    this.bytesOut = new FileByteWriter(this.fd);
    const [k, r, i, s] = this.names;
    const schema: SchemaElement[] = [
      { name: 'root', num_children: 4 },
      { name: k, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: r, type: 'INT32', repetition_type: 'REQUIRED' },
      { name: i, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: s, type: 'FLOAT', repetition_type: 'REQUIRED' },
    ];
    this.pq = new ParquetWriter({ writer: this.bytesOut, schema, createdBy: 'affinity precompute' });
    if (resume) {
      // the constructor buffered the leading magic, which the file already has: drop it and
      // continue at the recorded end, with the recorded row groups
      this.bytesOut.index = 0;
      this.bytesOut.offset = resume.bytes;
      this.pq.row_groups = restored;
      this.pq.num_rows = restored.reduce((a, g) => a + g.num_rows, 0n);
    }
    this.bytesOut.flush();
  }

  get bytes(): number { return this.bytesOut.offset; }
  get rowGroups(): number { return this.pq.row_groups.length; }

  write(block: ListBlock): number {
    let n = 0;
    for (const items of block.items) n += items.length;
    if (n === 0) return 0;
    const keys: string[] = new Array(n), items: string[] = new Array(n);
    const rank = new Int32Array(n), score = new Float32Array(n);
    let w = 0;
    for (let r = 0; r < block.keys.length; r++) {
      const its = block.items[r], sc = block.scores[r];
      for (let j = 0; j < its.length; j++, w++) {
        keys[w] = block.keys[r]; items[w] = its[j]; rank[w] = j + 1; score[w] = sc[j];
      }
    }
    const [k, r, i, s] = this.names;
    const noIndex = { offsetIndex: false, columnIndex: false };
    const before = this.pq.row_groups.length;
    const done = this.pq.write({
      columnData: [
        { name: k, data: keys, ...noIndex },
        { name: r, data: rank, ...noIndex },
        { name: i, data: items, ...noIndex },
        { name: s, data: score, ...noIndex },
      ],
      rowGroupSize: n,
    });
    if (done instanceof Promise) throw new Error('parquet writer went asynchronous unexpectedly');
    this.pq.pendingIndexes.length = 0; // no page indexes or bloom filters are written: nothing to keep
    this.bytesOut.flush();
    const added = this.pq.row_groups.slice(before).map((g) => encodeMeta(g) + '\n').join('');
    writeFully(this.metaFd, Buffer.from(added, 'utf8'), fstatSync(this.metaFd).size);
    return n;
  }

  sync(): void {
    fdatasyncSync(this.fd);
    fdatasyncSync(this.metaFd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const done = this.pq.finish();
    if (done instanceof Promise) throw new Error('parquet writer went asynchronous unexpectedly');
    this.bytesOut.flush();
    fdatasyncSync(this.fd);
    closeSync(this.fd);
    closeSync(this.metaFd);
    rmSync(this.metaFile, { force: true });
  }

  abort(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [this.fd, this.metaFd]) {
      try { closeSync(fd); } catch { /* already closed */ }
    }
  }
}

/**
 * A writer of one list file. `resume`: truncate the existing file to `bytes` and append
 * (parquet: also reload the first `rowGroups` row groups' metadata from the sidecar). A
 * file-system error (a full disk, a directory in the way) names the file.
 */
export function openBlockWriter(file: string, format: OutputFormat, kind: ListKind, resume?: { bytes: number; rowGroups?: number }): BlockWriter {
  if (format !== 'parquet' && format !== 'jsonl' && format !== 'csv') throw new Error(`unknown output format '${String(format)}' (expected ${OUTPUT_FORMATS.join(', ')})`);
  const named = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw namedFileError(e, file);
    }
  };
  const w: BlockWriter = named(() => (format === 'parquet'
    ? new ParquetBlockWriter(file, kind, resume ? { bytes: resume.bytes, rowGroups: resume.rowGroups ?? 0 } : undefined)
    : new TextWriter(file, format, kind, resume?.bytes)));
  return {
    get bytes() { return w.bytes; },
    get rowGroups() { return w.rowGroups; },
    write: (block) => named(() => w.write(block)),
    sync: () => named(() => w.sync()),
    close: () => named(() => w.close()),
    abort: () => w.abort(),
  };
}
