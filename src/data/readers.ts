/**
 * Streaming readers for interaction files: delimited text (CSV with RFC 4180 quoting, TSV,
 * MovieLens '::', any delimiter), JSON Lines, each optionally gzip-compressed (detected by
 * the magic bytes 1f 8b at the start of the stream). Input may be a file, a pipe or FIFO
 * (`<(zcat …)`, /dev/fd/N) or stdin ('-'): it is read once from the front, never re-opened or
 * seeked. Text is decoded chunk by chunk (strict UTF-8 unless `encoding` says otherwise, see
 * textDecoder.ts) and never held whole in memory; only the typed result arrays and the id maps grow.
 *
 * Every malformed row throws a DataFormatError naming file, 1-based line and offending value
 * (`data/x.csv:17: rating 'abc' is not a number`), unless skipInvalid is set, in which case it
 * is counted in stats.skipped. Invalid UTF-8 is an error of the file's encoding, not of a row:
 * it is never skipped. A read either returns complete Interactions or throws.
 *
 * Numbers (ratings, timestamps) are decimal literals only: no hex/octal/binary, no 'Infinity',
 * no empty field as 0. A rating must fit a float32 (it is stored as one) and a timestamp must be
 * within ±2^53 (stored as float64, larger integers would round onto their neighbours).
 */
import { createReadStream, createWriteStream, promises as fsp, type ReadStream } from 'node:fs';
import { createGunzip, createGzip } from 'node:zlib';
import { Readable, type Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import { IdMap } from './idMap.js';
import { FLOAT32_MAX, type Interactions } from './interactions.js';
import { csvField, float32Text, splitRecord } from './csvLine.js';
import { DataFormatError, fileError } from './errors.js';
import { jsonNumberId, jsonNumberTokens } from './jsonLine.js';
import { invalidUtf8Error, LineDecoder, type TextEncoding } from './textDecoder.js';
import { writeFileAtomically } from './outputFile.js';
import { isDecimal } from './decimal.js';
import { FastDelimitedReader, nativeReaderUnavailable, type FastReadError, type FastReadResult, type Handoff } from './fastReader.js';
import { ALIASES, type Column, type Field } from './columnNames.js';
import { readParquetRows } from './parquet.js';
import { readArrowRows } from './arrow.js';
import type { ColumnarRows } from './columnarRows.js';
import { hasRepeatedPair } from './repeatedPairs.js';

export type { Column } from './columnNames.js';

export { DataFormatError, fileError } from './errors.js';
export type { TextEncoding } from './textDecoder.js';

export type DuplicatePolicy = 'last' | 'sum' | 'max' | 'error';
/**
 * 'movielens' is '::'-delimited (ratings.dat); 'delimited' needs `delimiter`; 'parquet' is Apache Parquet
 * (./parquet.ts; auto from .parquet/.parq); 'arrow' is an Apache Arrow IPC file or stream (./arrow.ts; auto
 * from .arrow/.arrows/.feather/.ipc).
 */
export type InputFormat = 'auto' | 'csv' | 'tsv' | 'movielens' | 'jsonl' | 'delimited' | 'parquet' | 'arrow';

export interface ReadOptions {
  /** default 'auto': from the extension (.gz stripped first) and the first line */
  format?: InputFormat;
  /** field delimiter (any string); overrides what the format implies */
  delimiter?: string;
  /** default 'auto': a header when the rating column of the first line is not a number */
  header?: 'auto' | boolean;
  /** column name (with a header) or 0-based position */
  user?: Column;
  item?: Column;
  rating?: Column;
  /** false: ignore timestamps even when a column exists */
  timestamp?: Column | false;
  /** no rating column: every interaction has weight 1 */
  implicit?: boolean;
  /** what to do with a repeated (user, item) pair; default 'last' */
  duplicates?: DuplicatePolicy;
  /** skip malformed rows (counted in stats.skipped) instead of throwing */
  skipInvalid?: boolean;
  /** progress bar on stderr by bytes read; default: only on a TTY and for files ≥ 16 MiB */
  progress?: boolean;
  /** stop after this many data rows */
  limit?: number;
  /** recognise RFC 4180 quotes in delimited input; default true */
  quotes?: boolean;
  /** the name used in error messages for string input (its extension also guides format detection) */
  name?: string;
  /** text encoding of file input; default 'utf8' (strict: invalid UTF-8 is an error). See textDecoder.ts. */
  encoding?: TextEncoding;
  /** delimited input: a row with more (or fewer) fields than the header or first row is an error unless 'ignore'; default 'error' */
  extraColumns?: 'error' | 'ignore';
  /**
   * who parses delimited file input after its first record: 'auto' (default) the native addon's reader
   * where it is built (./fastReader.ts; same rows, ids and errors, ~10× faster), else this module's;
   * 'native' the addon's or an error saying why not; 'js' this module's (the reference)
   */
  parser?: 'auto' | 'native' | 'js';
}

export interface ReadStats {
  /** physical lines read, header and blank lines included */
  lines: number;
  /** malformed rows skipped (skipInvalid) */
  skipped: number;
  /** rows merged into an earlier (user, item) pair by the duplicates policy */
  duplicates: number;
  /** who parsed the rows: after the first record the native addon's reader or this module's (see ReadOptions.parser); 'parquet' for Parquet files, 'arrow' for Arrow IPC */
  parser: 'native' | 'js' | 'parquet' | 'arrow';
}

export type ReadResult = Interactions & { stats: ReadStats };


/** Value as it appears in messages: quoted, long ones cut. */
function show(v: string): string {
  const s = v.length > 80 ? v.slice(0, 77) + '...' : v;
  return `'${s}'`;
}

/** float32's largest finite value: a rating beyond it would be stored as ±Infinity. */


function isNumeric(s: string): boolean {
  if (s.trim() === '') return false;
  return !Number.isNaN(Number(s));
}

const PARQUET_EXTENSIONS = ['.parquet', '.parq'];
const ARROW_EXTENSIONS = ['.arrow', '.arrows', '.feather', '.ipc'];

function stripGz(name: string): string {
  return name.toLowerCase().endsWith('.gz') ? name.slice(0, -3) : name;
}

function extension(name: string): string {
  const base = stripGz(name).replace(/^.*[\\/]/, '');
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/**
 * Growable columns for the rows read so far, with the source line of each (for duplicate errors).
 */
class Columns {
  n = 0;
  user: Int32Array = new Int32Array(4096);
  item: Int32Array = new Int32Array(4096);
  rating: Float32Array = new Float32Array(4096);
  timestamp: Float64Array | null = null;
  line: Uint32Array = new Uint32Array(4096);

  /** Columns over arrays filled elsewhere (the native reader's), all of length n. */
  static of(r: Pick<FastReadResult, 'user' | 'item' | 'rating' | 'timestamp' | 'line'>): Columns {
    const c = new Columns();
    c.n = r.user.length;
    c.user = r.user; c.item = r.item; c.rating = r.rating; c.line = r.line; c.timestamp = r.timestamp;
    return c;
  }

  push(u: number, i: number, r: number, t: number, line: number): void {
    if (this.n === this.user.length) this.grow();
    const k = this.n++;
    this.user[k] = u; this.item[k] = i; this.rating[k] = r; this.line[k] = line;
    if (this.timestamp) this.timestamp[k] = t;
  }

  private grow(): void {
    const cap = this.user.length * 2;
    const g = <T extends Int32Array | Float32Array | Float64Array | Uint32Array>(a: T): T => {
      const b = new (a.constructor as { new (n: number): T })(cap);
      b.set(a as never);
      return b;
    };
    this.user = g(this.user); this.item = g(this.item); this.rating = g(this.rating); this.line = g(this.line);
    if (this.timestamp) this.timestamp = g(this.timestamp);
  }
}

interface Layout {
  kind: 'delimited' | 'jsonl';
  delimiter: string;
}

/**
 * The line-by-line parser shared by file and string input. Feed it physical lines (without
 * line terminators); `done` turns true once `limit` rows are in.
 */
class Parser {
  lines = 0;
  skipped = 0;
  done = false;
  users = new IdMap();
  items = new IdMap();
  cols = new Columns();
  /** who parsed the rows after the first record */
  private source: ReadStats['parser'] = 'js';

  private layout: Layout | null = null;
  private pending: string | null = null;
  private pendingLine = 0;
  private resolved = false;
  // delimited: positions; jsonl: keys
  private pos: Record<Field, number> = { user: -1, item: -1, rating: -1, timestamp: -1 };
  private keys: Record<Field, string | null> = { user: null, item: null, rating: null, timestamp: null };
  private need = 0;
  /** fields of the header (or first row), which every delimited row must have */
  private width = 0;
  private widthLine = 0;
  private readonly implicit: boolean;
  private readonly limit: number;

  constructor(private readonly file: string, private readonly o: ReadOptions) {
    this.implicit = o.implicit === true;
    this.limit = o.limit ?? Infinity;
    if (!(this.limit >= 1)) throw new RangeError(`limit must be ≥ 1, got ${o.limit}`);
    if (o.delimiter !== undefined && o.delimiter.length === 0) throw new RangeError('delimiter must not be empty');
    if (o.extraColumns !== undefined && o.extraColumns !== 'error' && o.extraColumns !== 'ignore') throw new RangeError(`extraColumns must be 'error' or 'ignore', got '${String(o.extraColumns)}'`);
  }

  get hasTimestamp(): boolean { return this.cols.timestamp !== null; }

  private error(line: number, value: string, detail: string): DataFormatError {
    return new DataFormatError(`${this.file}:${line}: ${detail}`, this.file, line, value);
  }

  line(raw: string): void {
    const lineNo = ++this.lines;
    if (this.pending !== null) {
      const text = this.pending + '\n' + raw;
      if (text.length > 1 << 20) throw this.error(this.pendingLine, text.slice(0, 80), `quoted field opened here is not closed within 1 MiB`);
      this.record(text, this.pendingLine);
      return;
    }
    if (raw.length === 0) return;
    if (this.layout === null) {
      if (lineNo === 1 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
      if (raw.trim() === '') return;
      this.layout = this.detect(raw);
    } else if (raw.charCodeAt(0) <= 32 && raw.trim() === '') return;
    this.record(raw, lineNo);
  }

  finish(): void {
    if (this.pending !== null) throw this.error(this.pendingLine, this.pending.slice(0, 80), `quoted field is not closed before the end of the input`);
  }

  private detect(first: string): Layout {
    const o = this.o;
    const ext = extension(this.file);
    let format = o.format ?? 'auto';
    if (format === 'auto') {
      const t = first.trimStart();
      if (ext === '.jsonl' || ext === '.json' || t.startsWith('{') || t.startsWith('[')) format = 'jsonl';
      else if (o.delimiter !== undefined) format = 'delimited';
      else if (ext === '.csv') format = 'csv';
      else if (ext === '.tsv') format = 'tsv';
      else if (first.includes('::')) format = 'movielens';
      else if (first.includes('\t')) format = 'tsv';
      else if (first.includes(',')) format = 'csv';
      else if (first.includes(';')) return { kind: 'delimited', delimiter: ';' };
      else if (first.includes('|')) return { kind: 'delimited', delimiter: '|' };
      else throw this.error(1, first, `cannot tell the format from the first line ${show(first)}; pass format or delimiter`);
    }
    switch (format) {
      case 'jsonl':
        if (first.trimStart().startsWith('[')) throw this.error(this.lines, first, `JSON arrays are not supported, expected JSON Lines (one object per line), got ${show(first)}`);
        return { kind: 'jsonl', delimiter: '' };
      case 'csv': return { kind: 'delimited', delimiter: o.delimiter ?? ',' };
      case 'tsv': return { kind: 'delimited', delimiter: o.delimiter ?? '\t' };
      case 'movielens': return { kind: 'delimited', delimiter: o.delimiter ?? '::' };
      case 'delimited':
        if (o.delimiter === undefined) throw new RangeError(`format 'delimited' needs a delimiter`);
        return { kind: 'delimited', delimiter: o.delimiter };
      default:
        throw new RangeError(`unknown format '${String(format)}'`);
    }
  }

  private record(text: string, lineNo: number): void {
    const layout = this.layout!;
    if (layout.kind === 'jsonl') {
      this.pending = null;
      this.jsonRow(text, lineNo);
      return;
    }
    const fields = splitRecord(text, layout.delimiter, this.o.quotes !== false);
    if (fields === null) {
      if (this.pending === null) this.pendingLine = lineNo;
      this.pending = text;
      return;
    }
    this.pending = null;
    if (!this.resolved) {
      this.resolved = true;
      if (this.resolveDelimited(fields, text, lineNo)) return; // it was the header
    }
    if (this.done) return;
    try {
      this.delimitedRow(fields, text, lineNo);
    } catch (e) {
      this.invalid(e);
      return;
    }
    if (this.cols.n >= this.limit) this.done = true;
  }

  /** A row failed: skip it (skipInvalid, data errors only) or rethrow. */
  private invalid(e: unknown): void {
    if (this.o.skipInvalid && e instanceof DataFormatError) this.skipped++;
    else throw e;
  }

  private guard(f: () => void): void {
    if (this.done) return;
    try {
      f();
    } catch (e) {
      this.invalid(e);
      return;
    }
    if (this.cols.n >= this.limit) this.done = true;
  }

  /** Sets column positions from the first record; true when that record is a header. */
  private resolveDelimited(first: string[], text: string, lineNo: number): boolean {
    const o = this.o;
    const named = (['user', 'item', 'rating', 'timestamp'] as const).filter((f) => typeof o[f] === 'string');
    let header: boolean;
    if (o.header === true || o.header === false) header = o.header;
    else if (named.length > 0) header = true;
    else if (!this.implicit) {
      const rp = typeof o.rating === 'number' ? o.rating : 2;
      header = rp < first.length ? !isNumeric(first[rp]) : first.some((f) => isAlias(f));
    } else header = first.some((f) => isAlias(f));
    if (!header && named.length > 0) throw this.error(lineNo, String(o[named[0]]), `column ${show(String(o[named[0]]))} is given by name but the input has no header`);

    const fields: Field[] = this.implicit ? ['user', 'item', 'timestamp'] : ['user', 'item', 'rating', 'timestamp'];
    if (header) {
      const names = first.map((f) => f.trim());
      for (const f of fields) {
        const opt = o[f];
        if (opt === false) continue;
        if (typeof opt === 'number') this.pos[f] = checkPos(opt, f);
        else if (typeof opt === 'string') {
          let k = names.indexOf(opt);
          if (k < 0) k = names.findIndex((n) => n.toLowerCase() === opt.toLowerCase());
          if (k < 0) throw this.error(lineNo, text, `${f} column ${show(opt)} not found in header ${show(text)}`);
          this.pos[f] = k;
        } else {
          const k = names.findIndex((n) => (ALIASES[f] as readonly string[]).includes(n.toLowerCase()));
          if (k >= 0) this.pos[f] = k;
          else if (f !== 'timestamp') {
            const hint = f === 'rating' ? `; pass rating: '<column>' or implicit: true` : `; pass ${f}: '<column>'`;
            throw this.error(lineNo, text, `no ${f} column in header ${show(text)} (looked for ${ALIASES[f].join(', ')})${hint}`);
          }
        }
      }
    } else {
      const def: Record<Field, number> = { user: 0, item: 1, rating: 2, timestamp: 3 };
      for (const f of fields) {
        const opt = o[f];
        if (opt === false) continue;
        if (typeof opt === 'number') this.pos[f] = checkPos(opt, f);
        else if (f === 'timestamp') this.pos[f] = first.length > def[f] ? def[f] : -1;
        else this.pos[f] = def[f];
      }
    }
    this.need = Math.max(this.pos.user, this.pos.item, this.pos.rating, this.pos.timestamp) + 1;
    this.width = first.length;
    this.widthLine = lineNo;
    if (this.pos.timestamp >= 0) this.cols.timestamp = new Float64Array(this.cols.user.length);
    return header;
  }

  private delimitedRow(f: string[], text: string, lineNo: number): void {
    const [u, i, r, t] = this.delimitedValues(f, text, lineNo);
    this.cols.push(this.userIndex(u), this.items.add(i), r, t, lineNo);
  }

  /** A row's user, item, rating and timestamp; throws the row's DataFormatError when it is invalid. */
  private delimitedValues(f: string[], text: string, lineNo: number): [string, string, number, number] {
    const p = this.pos;
    if (f.length < this.need) {
      const missing = (['user', 'item', 'rating', 'timestamp'] as const).find((k) => p[k] >= f.length)!;
      throw this.error(lineNo, text, `missing ${missing} field (column ${p[missing] + 1}) in ${show(text)}`);
    }
    // another field count than the header's usually means a stray delimiter or a shifted column: reading the first fields would be silently wrong
    if (f.length !== this.width && this.o.extraColumns !== 'ignore') {
      throw this.error(lineNo, text, `${f.length} fields in ${show(text)}, expected ${this.width} as on line ${this.widthLine}; pass extraColumns: 'ignore' (CLI: --extra-columns ignore) to read such rows`);
    }
    const u = f[p.user], i = f[p.item];
    if (isBlank(u)) throw this.error(lineNo, u, `empty user id in ${show(text)}`);
    if (isBlank(i)) throw this.error(lineNo, i, `empty item id in ${show(text)}`);
    const r = this.implicit ? 1 : this.number(f[p.rating], 'rating', lineNo);
    const t = p.timestamp >= 0 ? this.number(f[p.timestamp], 'timestamp', lineNo) : 0;
    return [u, i, r, t];
  }

  // ---- the native fast path (./fastReader.ts) takes over from here once the layout is known

  /** True when the native reader may take over: delimited input, layout resolved, no record open, limit not reached. */
  get handoffReady(): boolean {
    return this.layout?.kind === 'delimited' && this.resolved && this.pending === null && !this.done;
  }

  get delimiter(): string | null { return this.layout?.kind === 'delimited' ? this.layout.delimiter : null; }

  /** True once the format is known and the first record (header or data) has been read. */
  get resolvedLayout(): boolean { return this.resolved; }

  /** What the native reader needs to continue: the layout, and the ids and rows read so far. */
  handoff(encoding: TextEncoding): Handoff {
    const o = this.o, c = this.cols;
    return {
      delimiter: this.layout!.delimiter, quotes: o.quotes !== false,
      user: this.pos.user, item: this.pos.item, rating: this.implicit ? -1 : this.pos.rating, timestamp: this.pos.timestamp,
      width: this.width, extraColumns: o.extraColumns ?? 'error', skipInvalid: o.skipInvalid === true,
      limit: this.limit, encoding, linesBefore: this.lines,
      users: this.users.ids() as string[], items: this.items.ids() as string[],
      rows: { n: c.n, user: c.user, item: c.item, rating: c.rating, timestamp: c.timestamp, line: c.line },
    };
  }

  /** Takes the native reader's result: every row (those handed over included), the new ids, the counts. */
  adopt(r: FastReadResult): void {
    this.source = 'native';
    for (const id of r.newUsers) this.users.add(id);
    for (const id of r.newItems) this.items.add(id);
    this.cols = Columns.of(r);
    this.lines = r.lines;
    this.skipped += r.skipped;
  }

  /** Takes every row of a columnar file (Parquet, Arrow): rows, ids, counts; `lines` counts the file's rows. */
  adoptColumnar(r: ColumnarRows, source: 'parquet' | 'arrow'): void {
    this.source = source;
    this.repeatedPairs = r.repeatedPairs;
    this.users = r.users;
    this.items = r.items;
    this.cols = Columns.of(r);
    this.lines = r.rows;
    this.skipped = r.skipped;
  }

  /** The error the reference gives for what the native reader stopped at (an Error, not a DataFormatError, if the two disagree). */
  nativeError(e: FastReadError): Error {
    switch (e.kind) {
      case 'encoding':
        return invalidUtf8Error(this.file, e.line, e.bytes, this.o.encoding ?? 'utf8');
      case 'quoteTooLong':
        return this.error(e.line, e.text.slice(0, 80), `quoted field opened here is not closed within 1 MiB`);
      case 'quoteUnclosed':
        return this.error(e.line, e.text.slice(0, 80), `quoted field is not closed before the end of the input`);
      case 'row': {
        const f = splitRecord(e.text, this.layout!.delimiter, this.o.quotes !== false);
        try {
          if (f !== null) this.delimitedValues(f, e.text, e.line);
        } catch (err) {
          if (err instanceof DataFormatError) return err;
          throw err;
        }
        return new Error(`${this.file}:${e.line}: the native reader rejected a row the reference accepts (${show(e.text)}); read with parser: 'js' and report this`);
      }
    }
  }

  /** whether some (user, item) pair repeats, when the reader already checked (columnar input on two threads) */
  private repeatedPairs: boolean | undefined;

  private lastUser = '';
  private lastUserIndex = -1;
  /** Files are often grouped by user: skip the map lookup when the user repeats. */
  private userIndex(u: string): number {
    if (u === this.lastUser && this.lastUserIndex >= 0) return this.lastUserIndex;
    this.lastUser = u;
    return (this.lastUserIndex = this.users.add(u));
  }

  private number(s: string, what: 'rating' | 'timestamp', lineNo: number): number {
    if (!isDecimal(s)) {
      const why = /^\s*[+-]?Infinity\s*$/.test(s) ? 'is not finite' : isNumeric(s) ? 'is not a decimal number' : 'is not a number';
      throw this.error(lineNo, s, `${what} ${show(s)} ${why}`);
    }
    return this.inRange(Number(s), s, what, lineNo);
  }

  /** v, if its storage type holds it: ratings are float32, timestamps float64 integers (exact up to 2^53). */
  private inRange(v: number, s: string, what: 'rating' | 'timestamp', lineNo: number): number {
    if (what === 'rating' && !(Math.abs(v) <= FLOAT32_MAX)) throw this.error(lineNo, s, `rating ${show(s)} is outside the float32 range ±${FLOAT32_MAX}`);
    if (what === 'timestamp' && !(Math.abs(v) <= Number.MAX_SAFE_INTEGER)) throw this.error(lineNo, s, `timestamp ${show(s)} is beyond ±2^53 and would lose precision`);
    return v;
  }

  private jsonRow(text: string, lineNo: number): void {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      const err = this.error(lineNo, text, `invalid JSON ${show(text)}: ${(e as Error).message}`);
      this.guard(() => { throw err; });
      return;
    }
    if (!this.resolved) {
      this.resolved = true;
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw this.error(lineNo, text, `expected a JSON object, got ${show(text)}`);
      this.resolveJson(Object.keys(obj), text, lineNo);
    }
    this.guard(() => {
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw this.error(lineNo, text, `expected a JSON object, got ${show(text)}`);
      const rec = obj as Record<string, unknown>;
      const k = this.keys;
      // number tokens as written, scanned only when a field is a number
      let tokens: Map<string, string> | undefined;
      const token = (key: string): string => (tokens ??= jsonNumberTokens(text)).get(key) ?? String(rec[key]);
      const u = this.jsonId(rec, k.user!, 'user', text, lineNo, token);
      const i = this.jsonId(rec, k.item!, 'item', text, lineNo, token);
      const r = this.implicit ? 1 : this.jsonNumber(rec, k.rating!, 'rating', text, lineNo, token);
      const t = k.timestamp !== null ? this.jsonNumber(rec, k.timestamp, 'timestamp', text, lineNo, token) : 0;
      this.cols.push(this.userIndex(u), this.items.add(i), r, t, lineNo);
    });
  }

  private resolveJson(keys: string[], text: string, lineNo: number): void {
    const o = this.o;
    const fields: Field[] = this.implicit ? ['user', 'item', 'timestamp'] : ['user', 'item', 'rating', 'timestamp'];
    for (const f of fields) {
      const opt = o[f];
      if (opt === false) continue;
      if (typeof opt === 'number') throw new RangeError(`JSON Lines input takes column names, not positions (${f}: ${opt})`);
      if (typeof opt === 'string') { this.keys[f] = opt; continue; }
      const k = keys.find((n) => (ALIASES[f] as readonly string[]).includes(n.toLowerCase()));
      if (k !== undefined) this.keys[f] = k;
      else if (f !== 'timestamp') {
        const hint = f === 'rating' ? `; pass rating: '<key>' or implicit: true` : `; pass ${f}: '<key>'`;
        throw this.error(lineNo, text, `no ${f} key in first object ${show(text)} (looked for ${ALIASES[f].join(', ')})${hint}`);
      }
    }
    if (this.keys.timestamp !== null) this.cols.timestamp = new Float64Array(this.cols.user.length);
  }

  private jsonId(rec: Record<string, unknown>, key: string, what: string, text: string, lineNo: number, token: (key: string) => string): string {
    const v = rec[key];
    if (v === undefined || v === null) throw this.error(lineNo, text, `missing ${what} field '${key}' in ${show(text)}`);
    let s: string;
    if (typeof v === 'string') s = v;
    else if (typeof v === 'number' && Number.isFinite(v)) s = jsonNumberId(v, token(key));
    else throw this.error(lineNo, JSON.stringify(v), `${what} id ${show(JSON.stringify(v))} is not a string or number`);
    if (s.trim() === '') throw this.error(lineNo, s, `empty ${what} id in ${show(text)}`);
    return s;
  }

  private jsonNumber(rec: Record<string, unknown>, key: string, what: 'rating' | 'timestamp', text: string, lineNo: number, token: (key: string) => string): number {
    const v = rec[key];
    if (v === undefined || v === null) throw this.error(lineNo, text, `missing ${what} field '${key}' in ${show(text)}`);
    if (typeof v === 'number') return this.inRange(v, token(key), what, lineNo); // JSON.parse reads 1e400 as Infinity
    if (typeof v === 'string') return this.number(v, what, lineNo);
    throw this.error(lineNo, JSON.stringify(v), `${what} ${show(JSON.stringify(v))} is not a number`);
  }

  /** Apply the duplicates policy and build the result; throws on empty input. */
  result(): ReadResult {
    this.finish();
    const c = this.cols;
    if (c.n === 0) {
      const why = this.lines === 0 ? 'empty input' : this.skipped > 0 ? `all ${this.skipped} rows invalid` : 'no data rows';
      throw new DataFormatError(`${this.file}:${this.lines}: ${why} (${this.lines} lines read)`, this.file, this.lines, '');
    }
    const duplicates = resolveDuplicates(c, this.users, this.items, this.o.duplicates ?? 'last', this.file, this.repeatedPairs);
    const n = c.n;
    // arrays of exactly n rows (the native reader's) are taken as they are
    const exact = <T extends Int32Array | Float32Array | Float64Array>(a: T): T => (a.length === n ? a : a.slice(0, n) as T);
    const out: ReadResult = {
      users: this.users,
      items: this.items,
      user: exact(c.user),
      item: exact(c.item),
      rating: exact(c.rating),
      implicit: this.implicit,
      stats: { lines: this.lines, skipped: this.skipped, duplicates, parser: this.source },
    };
    if (c.timestamp) out.timestamp = exact(c.timestamp);
    return out;
  }
}

function isBlank(s: string): boolean {
  return s.length === 0 || (s.charCodeAt(0) <= 32 && s.trim() === '');
}

function isAlias(f: string): boolean {
  const s = f.trim().toLowerCase();
  return Object.values(ALIASES).some((a) => (a as readonly string[]).includes(s));
}

function checkPos(p: number, f: string): number {
  if (!Number.isInteger(p) || p < 0) throw new RangeError(`${f} column position must be an integer ≥ 0, got ${p}`);
  return p;
}

/**
 * Finds repeated (user, item) pairs by two stable counting sorts (by item, then by user) and
 * merges each group into one row kept at the position of its last occurrence:
 * 'last' keeps the last row; 'sum' sums ratings (timestamp: the latest); 'max' keeps the row
 * with the largest rating (ties: the later). Compacts the columns in place; returns rows merged.
 * `repeated`: whether a pair repeats, when the reader already checked (else checked here).
 */
function resolveDuplicates(c: Columns, users: IdMap, items: IdMap, policy: DuplicatePolicy, file: string, repeated?: boolean): number {
  if (policy !== 'last' && policy !== 'sum' && policy !== 'max' && policy !== 'error') throw new RangeError(`unknown duplicates policy '${String(policy)}'`);
  const n = c.n, U = users.size, I = items.size;
  const { user, item, rating, line } = c;
  const ts = c.timestamp;
  if (!(repeated ?? hasRepeatedPair(user, item, n, U, I))) return 0;
  const byItem = new Int32Array(n);
  {
    const start = new Int32Array(I + 1);
    for (let p = 0; p < n; p++) start[item[p] + 1]++;
    for (let k = 0; k < I; k++) start[k + 1] += start[k];
    for (let p = 0; p < n; p++) byItem[start[item[p]]++] = p;
  }
  const order = new Int32Array(n);
  {
    const start = new Int32Array(U + 1);
    for (let p = 0; p < n; p++) start[user[p] + 1]++;
    for (let k = 0; k < U; k++) start[k + 1] += start[k];
    for (let k = 0; k < n; k++) { const p = byItem[k]; order[start[user[p]]++] = p; }
  }
  let drop: Uint8Array | null = null;
  let merged = 0;
  let firstDup = -1, firstDupPrev = -1;
  for (let k = 1; k < n; ) {
    const a = order[k - 1];
    if (user[a] !== user[order[k]] || item[a] !== item[order[k]]) { k++; continue; }
    // group order[g0 .. g1), positions ascending
    const g0 = k - 1;
    let g1 = k + 1;
    while (g1 < n && user[order[g1]] === user[a] && item[order[g1]] === item[a]) g1++;
    k = g1 + 1;
    merged += g1 - g0 - 1;
    if (policy === 'error') {
      const second = order[g0 + 1];
      if (firstDup < 0 || line[second] < line[firstDup]) { firstDup = second; firstDupPrev = order[g0]; }
      continue;
    }
    drop ??= new Uint8Array(n);
    const last = order[g1 - 1];
    if (policy === 'sum') {
      let s = 0, t = -Infinity;
      for (let g = g0; g < g1; g++) { const p = order[g]; s += rating[p]; if (ts && ts[p] > t) t = ts[p]; }
      rating[last] = s;
      if (ts) ts[last] = t;
    } else if (policy === 'max') {
      let best = order[g0];
      for (let g = g0 + 1; g < g1; g++) { const p = order[g]; if (rating[p] >= rating[best]) best = p; }
      rating[last] = rating[best];
      if (ts) ts[last] = ts[best];
    }
    for (let g = g0; g < g1 - 1; g++) drop[order[g]] = 1;
  }
  if (policy === 'error' && firstDup >= 0) {
    const u = String(users.external(user[firstDup])), i = String(items.external(item[firstDup]));
    const ln = line[firstDup];
    throw new DataFormatError(`${file}:${ln}: duplicate interaction user ${show(u)} item ${show(i)} (first on line ${line[firstDupPrev]})`, file, ln, `${u},${i}`);
  }
  if (drop) {
    let w = 0;
    for (let p = 0; p < n; p++) {
      if (drop[p]) continue;
      user[w] = user[p]; item[w] = item[p]; rating[w] = rating[p]; line[w] = line[p];
      if (ts) ts[w] = ts[p];
      w++;
    }
    c.n = w;
  }
  return merged;
}

/** Feeds decoded text to a parser line by line (LF or CRLF). */
class LineSplitter {
  private rest = '';
  constructor(private readonly parser: Parser) {}
  push(text: string): void {
    const s = this.rest.length > 0 ? this.rest + text : text;
    const p = this.parser;
    let start = 0;
    for (;;) {
      const k = s.indexOf('\n', start);
      if (k < 0) break;
      const end = k > start && s.charCodeAt(k - 1) === 13 ? k - 1 : k;
      p.line(s.slice(start, end));
      start = k + 1;
      if (p.done) { this.rest = ''; return; }
    }
    this.rest = s.slice(start);
  }
  end(): void {
    let s = this.rest;
    this.rest = '';
    if (s.length === 0 || this.parser.done) return;
    if (s.charCodeAt(s.length - 1) === 13) s = s.slice(0, -1);
    this.parser.line(s);
  }
}

/** Parse interactions from text already in memory (tests, the CLI, small inputs). */
export function readInteractionsFromString(text: string, options: ReadOptions = {}): ReadResult {
  const parser = new Parser(options.name ?? '<string>', options);
  const split = new LineSplitter(parser);
  split.push(text);
  split.end();
  return parser.result();
}

/** True when the file starts with the gzip magic bytes 1f 8b (a regular file: this opens it a second time). */
export async function isGzipFile(path: string): Promise<boolean> {
  const fh = await fsp.open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** The rest of a byte stream after `head`, the bytes already taken from it. */
async function* resume(head: Buffer, it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  for (let r = await it.next(); r.done !== true; r = await it.next()) yield r.value;
}

/**
 * Stream an interaction file (optionally gzip-compressed) into Interactions. `path` may be a
 * pipe or FIFO, or '-' for stdin; gzip is recognised from the stream's first two bytes.
 */
export async function readInteractions(path: string, options: ReadOptions = {}): Promise<ReadResult> {
  const stdin = path === '-';
  const name = stdin ? '<stdin>' : path;
  const parser = new Parser(name, options);
  const decoder = new LineDecoder(options.encoding, name);
  let size = 0, regular = false;
  if (!stdin) {
    const st = await fsp.stat(path).catch((e: unknown) => { throw fileError(path, e); });
    if (st.isDirectory()) throw new Error(`${path}: is a directory, expected an interaction file`);
    regular = st.isFile();
    size = st.size;
  }
  if (options.format === 'parquet' || ((options.format ?? 'auto') === 'auto' && PARQUET_EXTENSIONS.includes(extension(name)))) {
    // columnar: read by row group from the file's footer, so only from a regular file
    if (!regular) throw new Error(`${name}: Parquet input must be a regular file (it is read from its footer, not as a stream)`);
    parser.adoptColumnar(await readParquetRows(path, name, options), 'parquet');
    return parser.result();
  }
  if (options.format === 'arrow' || ((options.format ?? 'auto') === 'auto' && ARROW_EXTENSIONS.includes(extension(name)))) {
    // read by record batch from an open file handle (the file format's footer gives each batch's offset)
    if (!regular) throw new Error(`${name}: Arrow IPC input must be a regular file`);
    parser.adoptColumnar(await readArrowRows(path, name, options), 'arrow');
    return parser.result();
  }
  const split = new LineSplitter(parser);
  const file: ReadStream | null = stdin ? null : createReadStream(path, { highWaterMark: 1 << 20 });
  const raw: Readable = file ?? process.stdin;
  let gunzip: ReturnType<typeof createGunzip> | null = null;
  let rest: Readable | null = null;
  // a progress bar needs the total size, which only a regular file has
  const show = regular && (options.progress ?? (process.stderr.isTTY === true && size >= 16 << 20));
  let bar: cliProgress.SingleBar | null = null;
  try {
    // the first bytes tell gzip from text; they are taken from the stream, not peeked by a second open (pipes cannot seek)
    const it = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let head = Buffer.alloc(0);
    while (head.length < 2) {
      const r = await it.next();
      if (r.done === true) break;
      head = Buffer.concat([head, r.value]);
    }
    let source: AsyncIterable<Buffer> = resume(head, it);
    if (head[0] === 0x1f && head[1] === 0x8b) {
      const g = gunzip = createGunzip({ chunkSize: 1 << 18 });
      rest = Readable.from(source);
      rest.on('error', (e) => g.destroy(e));
      rest.pipe(g);
      source = g;
    }
    if (show) {
      bar = new cliProgress.SingleBar({
        stream: process.stderr,
        format: `reading ${path} [{bar}] {percentage}% | {mb} MB | {rows} rows`,
        hideCursor: true,
        noTTYOutput: !process.stderr.isTTY,
        notTTYSchedule: 5000,
      }, cliProgress.Presets.shades_classic);
      bar.start(size, 0, { mb: '0.0', rows: 0 });
    }
    // The reference parser reads whole lines until it knows the layout (format, header, columns); then
    // delimited input goes to the native reader (./fastReader.ts) where there is one, else stays here.
    // an object: the feeders below change the mode, and a plain `let` would be narrowed as if they did not
    const st: { mode: 'prefix' | 'native' | 'js' } = { mode: 'js' };
    const want = options.parser ?? 'auto';
    if (want !== 'auto' && want !== 'native' && want !== 'js') throw new RangeError(`parser must be auto, native or js, got '${String(want)}'`);
    if (want !== 'js') {
      const why = nativeReaderUnavailable();
      if (why === null) st.mode = 'prefix';
      else if (want === 'native') throw new Error(`${name}: the native reader is unavailable: ${why}`);
    }
    let fast: FastDelimitedReader | null = null;
    let fed = 0, reserved = false;
    let lineTail: Buffer[] = [];
    const feedJs = (bytes: Buffer): boolean => {
      split.push(decoder.write(bytes));
      if (parser.done) return true;
      decoder.check();
      return false;
    };
    const feedNative = (bytes: Buffer, last = false): boolean => {
      const status = fast!.feed(bytes, last);
      if (status === 'error') throw parser.nativeError(fast!.error());
      fed += bytes.length;
      if (!reserved && fed >= 4 << 20 && regular) {
        // room for the rows the whole input holds at this rate (no doubling of 20M-row columns)
        reserved = true;
        const consumed = gunzip ? gunzip.bytesWritten : fed;
        if (consumed > 0) fast!.reserve(fast!.rows * (size / consumed) * 1.02);
      }
      return status === 'done';
    };
    const feedPrefix = (chunk: Buffer): boolean => {
      for (let start = 0; ;) {
        const lf = chunk.indexOf(10, start);
        if (lf < 0) {
          if (start < chunk.length) lineTail.push(chunk.subarray(start));
          return false;
        }
        const line = lineTail.length > 0 ? Buffer.concat([...lineTail, chunk.subarray(start, lf + 1)]) : chunk.subarray(start, lf + 1);
        lineTail = [];
        start = lf + 1;
        split.push(decoder.write(line));
        if (parser.done) return true;
        decoder.check();
        const rest = chunk.subarray(start);
        if (parser.handoffReady) {
          const why = nativeReaderUnavailable(parser.delimiter!);
          if (why === null) {
            fast = new FastDelimitedReader(parser.handoff(decoder.encoding));
            st.mode = 'native';
            return feedNative(rest);
          }
          if (want === 'native') throw new Error(`${name}: the native reader cannot read this input: ${why}`);
          st.mode = 'js';
          return feedJs(rest);
        }
        if (parser.delimiter === null && parser.resolvedLayout) {
          if (want === 'native') throw new Error(`${name}: the native reader reads delimited text only, not JSON Lines`);
          st.mode = 'js';
          return feedJs(rest);
        }
      }
    };
    let stopped = false;
    for await (const chunk of source) {
      stopped = st.mode === 'native' ? feedNative(chunk) : st.mode === 'prefix' ? feedPrefix(chunk) : feedJs(chunk);
      if (stopped) break;
      if (bar && file) bar.update(file.bytesRead, { mb: (file.bytesRead / 1048576).toFixed(1), rows: fast ? (fast as FastDelimitedReader).rows : parser.cols.n });
    }
    if (!stopped) {
      if (st.mode === 'native') {
        feedNative(Buffer.alloc(0), true);
      } else {
        if (lineTail.length > 0) split.push(decoder.write(Buffer.concat(lineTail))); // a last line without LF: kept by the decoder
        split.push(decoder.end());
        if (!parser.done) {
          decoder.check();
          split.end();
        }
      }
      if (bar) bar.update(size, { mb: (size / 1048576).toFixed(1), rows: fast ? (fast as FastDelimitedReader).rows : parser.cols.n });
    }
    if (fast) parser.adopt((fast as FastDelimitedReader).finish());
  } catch (e) {
    if (e instanceof DataFormatError || e instanceof RangeError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (gunzip && err.code?.startsWith('Z_')) throw new Error(`${name}: gzip data is corrupt (${err.message})`, { cause: e });
    if (err.syscall !== undefined) throw fileError(name, e);
    throw e;
  } finally {
    bar?.stop();
    gunzip?.destroy();
    rest?.destroy();
    raw.destroy();
  }
  return parser.result();
}

async function writeAll(out: Writable, chunks: Iterable<string>): Promise<void> {
  for (const chunk of chunks) {
    if (!out.write(chunk)) await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => { out.off('error', onError); resolve(); };
      const onError = (e: Error): void => { out.off('drain', onDrain); reject(e); };
      out.once('drain', onDrain);
      out.once('error', onError);
    });
  }
}

/**
 * Write text chunks to a file, gzip-compressed (level 6; node writes a zero mtime, so the
 * bytes depend only on the text) when the path ends with .gz. Atomic and locked
 * (outputFile.ts): the text goes to a temporary file renamed to `path` when complete, so a
 * killed or failed write leaves nothing at `path`.
 */
export async function writeTextFile(path: string, chunks: Iterable<string>): Promise<void> {
  const gzip = path.toLowerCase().endsWith('.gz');
  await writeFileAtomically(path, (tmp) => writeTextStream(tmp, chunks, gzip));
}

async function writeTextStream(path: string, chunks: Iterable<string>, gzipped: boolean): Promise<void> {
  const file = createWriteStream(path);
  const gzip = gzipped ? createGzip({ level: 6 }) : null;
  const done = new Promise<void>((resolve, reject) => {
    file.on('finish', resolve);
    file.on('error', reject);
    gzip?.on('error', reject);
  });
  done.catch(() => undefined);
  if (gzip) gzip.pipe(file);
  const sink: Writable = gzip ?? file;
  try {
    await Promise.race([writeAll(sink, chunks), done]);
  } catch (e) {
    file.destroy();
    throw e;
  }
  sink.end();
  await done;
}

/** CSV lines of interactions, ~1 MiB per chunk; the header is `user,item,rating,timestamp` (no timestamp column when x has none). */
export function* interactionsCsvChunks(x: Interactions): Generator<string> {
  const hasTs = x.timestamp !== undefined;
  yield hasTs ? 'user,item,rating,timestamp\n' : 'user,item,rating\n';
  const uText = x.users.ids().map((id) => csvField(String(id)));
  const iText = x.items.ids().map((id) => csvField(String(id)));
  const n = x.user.length;
  let buf = '';
  for (let p = 0; p < n; p++) {
    buf += uText[x.user[p]] + ',' + iText[x.item[p]] + ',' + float32Text(x.rating[p]) + (hasTs ? ',' + String(x.timestamp![p]) + '\n' : '\n');
    if (buf.length >= 1 << 20) { yield buf; buf = ''; }
  }
  if (buf.length > 0) yield buf;
}

/** Write interactions as CSV (gzip when path ends with .gz). */
export async function writeInteractionsCsv(x: Interactions, path: string): Promise<void> {
  await writeTextFile(path, interactionsCsvChunks(x));
}
