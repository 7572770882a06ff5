/**
 * The native fast path of the delimited-text reader: the addon's DelimitedReader
 * (native/core/src/delimited_reader.cpp, bound in native/addon/delimited_reader_args.h) parses the
 * rows after the reference parser of ./readers.ts has read the first record and decided the
 * layout. It follows the reference's rules byte for byte (see affinity/delimited_reader.h) and
 * never words an error itself: it reports the kind, line and text, and readers.ts has the
 * reference build the message, so both paths fail with the same DataFormatError.
 *
 * Measured on the synthetic 138k × 27k × 20M CSV (532 MB): see bench case `read:csv`.
 */
import { addonLoader, type NativeModule } from './nativeAddon.js';
import type { TextEncoding } from './textDecoder.js';

/** The layout the reference parser decided, as the native reader takes it (native/addon/delimited_reader_args.h). */
interface ReaderLayout {
  delimiter: string;
  quotes: boolean;
  user: number;
  item: number;
  /** −1: implicit */
  rating: number;
  /** −1: none */
  timestamp: number;
  width: number;
  extraColumns: 'error' | 'ignore';
  skipInvalid: boolean;
  limit: number;
  /** the encoding in force (an 'auto' decided on the first lines is passed as decided) */
  encoding: TextEncoding;
  linesBefore: number;
}

/** The reader's options. */
interface NativeReaderOptions extends ReaderLayout {
  expectedRows?: number;
}

interface NativeIds {
  bytes: Buffer;
  offsets: Float64Array;
}

interface NativeReadError {
  kind: 'row' | 'encoding' | 'quoteTooLong' | 'quoteUnclosed';
  line: number;
  text: Buffer;
  encoding: TextEncoding;
}

interface NativeReadResult {
  user: Int32Array;
  item: Int32Array;
  rating: Float32Array;
  timestamp: Float64Array | null;
  line: Uint32Array;
  users: NativeIds;
  items: NativeIds;
  lines: number;
  skipped: number;
  encoding: TextEncoding;
}

interface NativeDelimitedReader {
  seedUser(id: Uint8Array): number;
  seedItem(id: Uint8Array): number;
  seedRow(user: number, item: number, rating: number, timestamp: number, line: number): void;
  /** 0 more, 1 done (limit reached), 2 error */
  feed(chunk: Uint8Array, last: boolean): number;
  error(): NativeReadError | null;
  rows(): number;
  reserve(rows: number): void;
  finish(): NativeReadResult;
}

interface ReaderAddon extends NativeModule {
  DelimitedReader?: new (options: NativeReaderOptions) => NativeDelimitedReader;
  /** Snappy raw-format decompression into `output`; returns the bytes written (native/addon/snappy_args.h) */
  snappyUncompress?(input: Uint8Array, output: Uint8Array): number;
}

const loadAddon = addonLoader<ReaderAddon>('affinity_native.node');

/** The addon's reader class, or why it cannot be used (then the reference reads the whole input). */
function readerClass(): ReaderAddon['DelimitedReader'] | string {
  const r = loadAddon();
  if ('error' in r) return r.error;
  return r.addon.DelimitedReader ?? 'this affinity_native.node has no DelimitedReader (rebuild it with `npm run build:native`)';
}

/** Why the native reader cannot be used (for this delimiter, when given), or null when it can (the reference reads what it cannot). */
export function nativeReaderUnavailable(delimiter?: string): string | null {
  const c = readerClass();
  if (typeof c === 'string') return c;
  if (delimiter === undefined) return null;
  // ASCII only: a byte search then finds exactly what String.prototype.indexOf finds, in UTF-8 and Latin-1 alike
  if (!/^[\x20-\x7e\t]+$/.test(delimiter)) return `the delimiter ${JSON.stringify(delimiter)} is not printable ASCII`;
  return null;
}

/** What the reference parser has read when it hands over: the layout, and the ids and rows so far. */
export interface Handoff extends ReaderLayout {
  users: readonly string[];
  items: readonly string[];
  rows: { n: number; user: Int32Array; item: Int32Array; rating: Float32Array; timestamp: Float64Array | null; line: Uint32Array };
}

/** An error the native reader stopped at, its text decoded as the reference would have seen it. */
export interface FastReadError {
  kind: NativeReadError['kind'];
  line: number;
  /** the record (row and quote errors; lines joined by LF), or the line's raw bytes (encoding) */
  text: string;
  bytes: Buffer;
}

export interface FastReadResult {
  user: Int32Array;
  item: Int32Array;
  rating: Float32Array;
  timestamp: Float64Array | null;
  line: Uint32Array;
  /** ids first seen by the native reader, in order (after the handed-over ones) */
  newUsers: string[];
  newItems: string[];
  lines: number;
  skipped: number;
}

function decodeAs(encoding: TextEncoding): BufferEncoding {
  // 'auto' still undecided means every line so far was ASCII, which Latin-1 decodes fastest
  return encoding === 'utf8' ? 'utf8' : 'latin1';
}

/** The native reader, continuing where the reference parser stopped. */
export class FastDelimitedReader {
  private readonly reader: NativeDelimitedReader;
  private readonly seededUsers: number;
  private readonly seededItems: number;

  constructor(h: Handoff) {
    const Reader = readerClass();
    if (typeof Reader !== 'function') throw new Error(`native reader unavailable: ${Reader ?? 'no DelimitedReader'}`);
    this.reader = new Reader({
      delimiter: h.delimiter, quotes: h.quotes, user: h.user, item: h.item, rating: h.rating, timestamp: h.timestamp, width: h.width,
      extraColumns: h.extraColumns, skipInvalid: h.skipInvalid, limit: h.limit, encoding: h.encoding, linesBefore: h.linesBefore,
    });
    const enc = decodeAs(h.encoding);
    for (const id of h.users) this.reader.seedUser(Buffer.from(id, enc));
    for (const id of h.items) this.reader.seedItem(Buffer.from(id, enc));
    this.seededUsers = h.users.length;
    this.seededItems = h.items.length;
    const r = h.rows;
    for (let k = 0; k < r.n; k++) this.reader.seedRow(r.user[k], r.item[k], r.rating[k], r.timestamp ? r.timestamp[k] : 0, r.line[k]);
  }

  /** 'done' once the limit is reached (stop reading); 'error': see error(). */
  feed(chunk: Uint8Array, last = false): 'more' | 'done' | 'error' {
    const s = this.reader.feed(chunk, last);
    return s === 0 ? 'more' : s === 1 ? 'done' : 'error';
  }

  get rows(): number { return this.reader.rows(); }

  reserve(rows: number): void { this.reader.reserve(Math.max(0, Math.min(1e12, Math.round(rows)))); }

  error(): FastReadError {
    const e = this.reader.error();
    if (!e) throw new Error('native reader: no error to report');
    return { kind: e.kind, line: e.line, text: e.text.toString(decodeAs(e.encoding)), bytes: e.text };
  }

  finish(): FastReadResult {
    const r = this.reader.finish();
    const enc = decodeAs(r.encoding);
    const ids = (d: NativeIds, from: number): string[] => {
      const out: string[] = [];
      for (let k = from; k + 1 < d.offsets.length; k++) out.push(d.bytes.toString(enc, d.offsets[k], d.offsets[k + 1]));
      return out;
    };
    return {
      user: r.user, item: r.item, rating: r.rating, timestamp: r.timestamp, line: r.line,
      newUsers: ids(r.users, this.seededUsers), newItems: ids(r.items, this.seededItems),
      lines: r.lines, skipped: r.skipped,
    };
  }
}

/**
 * The addon's Snappy decoder writing into a given buffer: (input, out) → bytes written (the addon
 * checks that they fit), or null without the addon.
 */
export function nativeSnappyInto(): ((input: Uint8Array, out: Uint8Array) => number) | null {
  const r = loadAddon();
  if ('error' in r || typeof r.addon.snappyUncompress !== 'function') return null;
  const addon = r.addon;
  return (input, out) => addon.snappyUncompress!(input, out);
}

/**
 * The addon's Snappy decoder as a hyparquet decompressor (input, outputLength) → output, or null
 * without the addon (hyparquet then uses its own, in JavaScript, about 3× slower).
 */
export function nativeSnappy(): ((input: Uint8Array, outputLength: number) => Uint8Array) | null {
  const r = loadAddon();
  if ('error' in r || typeof r.addon.snappyUncompress !== 'function') return null;
  const addon = r.addon;
  return (input, outputLength) => {
    const out = new Uint8Array(outputLength);
    const n = addon.snappyUncompress!(input, out);
    if (n !== outputLength) throw new RangeError(`snappy: ${n} bytes decompressed, the page says ${outputLength}`);
    return out;
  };
}
