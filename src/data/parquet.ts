/**
 * Interactions in Apache Parquet files, through hyparquet (reading) and hyparquet-writer (writing),
 * both already dependencies of the package.
 *
 * Reading takes one row group at a time (the file is never read whole) and only the columns it
 * needs, found as in a CSV header: by name, by position, or by the aliases of ./columnNames.ts.
 * Ids keep the reference reader's semantics: strings exactly as stored (UTF-8, strictly decoded),
 * numbers as their decimal text (an INT64 12345 is the id '12345'), indices in first-seen order.
 * Dictionary-encoded string columns — what Parquet writers produce for ids — are mapped per
 * dictionary entry, not per row: hyparquet's string parser is replaced by one that returns a small
 * integer token per distinct string, so each row costs an array lookup.
 *
 * Values: a rating must be a finite number within float32's range, a timestamp a number within
 * ±2^53 (TIMESTAMP and DATE columns become seconds since the epoch); string columns holding numbers
 * are read with the text reader's decimal rule. A null or invalid value is a DataFormatError naming
 * the file and the 1-based row (`data.parquet: row 17: …`), or a skipped row with skipInvalid.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, type FileMetaData, type SchemaElement } from 'hyparquet';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import { IdMap } from './idMap.js';
import type { Interactions } from './interactions.js';
import { DataFormatError } from './errors.js';
import { resolveNamedColumns, type ColumnOptions, type Field } from './columnNames.js';
import { nativeSnappy } from './fastReader.js';

export interface ParquetReadOptions extends ColumnOptions {
  skipInvalid?: boolean;
  limit?: number;
}

/** What a columnar reader hands the readers: the rows read (in file order) and their ids. */
export interface ColumnarRows {
  n: number;
  user: Int32Array;
  item: Int32Array;
  rating: Float32Array;
  timestamp: Float64Array | null;
  /** 1-based row number of each interaction (for duplicate messages) */
  line: Uint32Array;
  users: IdMap;
  items: IdMap;
  /** rows looked at, skipped included */
  rows: number;
  skipped: number;
}

const FLOAT32_MAX = 3.4028234663852886e38;
const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

function isBlank(s: string): boolean {
  return s.length === 0 || (s.charCodeAt(0) <= 32 && s.trim() === '');
}

function isStringColumn(e: SchemaElement): boolean {
  return e.type === 'BYTE_ARRAY' && e.converted_type !== 'JSON' && e.logical_type?.type !== 'JSON';
}

/**
 * Interned strings: a token (small integer) per distinct byte string the file's string columns
 * hold. Keyed by the bytes themselves (FNV-1a, open addressing, an arena of the stored bytes), so a
 * value seen before costs a hash and a compare, not a UTF-8 decode: columns whose pages are PLAIN
 * (writers fall back to it when a dictionary grows large) pass every row through here.
 */
class Tokens {
  readonly text: string[] = [];
  private slots = new Int32Array(1 << 12);  // token + 1, 0 empty
  private arena = new Uint8Array(1 << 16);
  private offsets = new Int32Array(1 << 10);  // token → start in arena; length from the next
  private used = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  of(bytes: Uint8Array): number {
    const n = bytes.length;
    let h = 0x811c9dc5 ^ n;
    for (let k = 0; k < n; k++) h = Math.imul(h ^ bytes[k], 16777619);
    const mask = this.slots.length - 1;
    const arena = this.arena, offsets = this.offsets;
    for (let at = h & mask; ; at = (at + 1) & mask) {
      const t = this.slots[at] - 1;
      if (t < 0) return this.add(bytes, at);
      const o = offsets[t];
      if (offsets[t + 1] - o !== n) continue;
      let k = 0;
      while (k < n && arena[o + k] === bytes[k]) k++;
      if (k === n) return t;
    }
  }

  private add(bytes: Uint8Array, at: number): number {
    let s: string;
    try {
      s = this.decoder.decode(bytes);
    } catch {
      throw new TypeError(`invalid UTF-8 in a string value (${Buffer.from(bytes).toString('hex').slice(0, 40)})`);
    }
    const t = this.text.length;
    this.text.push(s);
    if (this.used + bytes.length > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.used + bytes.length));
      a.set(this.arena.subarray(0, this.used));
      this.arena = a;
    }
    this.arena.set(bytes, this.used);
    if (t + 2 > this.offsets.length) {
      const o = new Int32Array(this.offsets.length * 2);
      o.set(this.offsets);
      this.offsets = o;
    }
    this.offsets[t] = this.used;
    this.used += bytes.length;
    this.offsets[t + 1] = this.used;
    this.slots[at] = t + 1;
    if ((t + 1) * 2 > this.slots.length) this.rehash();
    return t;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2), mask = slots.length - 1;
    for (let t = 0; t < this.text.length; t++) {
      const o = this.offsets[t], n = this.offsets[t + 1] - o;
      let h = 0x811c9dc5 ^ n;
      for (let k = 0; k < n; k++) h = Math.imul(h ^ this.arena[o + k], 16777619);
      let at = h & mask;
      while (slots[at] !== 0) at = (at + 1) & mask;
      slots[at] = t + 1;
    }
    this.slots = slots;
  }
}

const UNSEEN = -1;

/**
 * Dense ids for one id column, from tokens (string columns) or values (numeric columns), in
 * first-seen order. valid() looks without adding (a row is checked whole before any of its ids
 * is added, as the text reader does); index() adds.
 */
class IdColumn {
  readonly ids = new IdMap();
  private byToken = new Int32Array(1024).fill(UNSEEN);
  /** per token: 1 blank, 0 not (computed on first sight) */
  private blank = new Int8Array(1024).fill(-1);
  private readonly byValue = new Map<number | bigint, number>();

  constructor(private readonly tokens: Tokens, readonly strings: boolean) {}

  private room(v: number): void {
    if (v < this.byToken.length) return;
    const n = Math.max(v + 1, this.byToken.length * 2);
    const t = new Int32Array(n).fill(UNSEEN); t.set(this.byToken); this.byToken = t;
    const b = new Int8Array(n).fill(-1); b.set(this.blank); this.blank = b;
  }

  /** Not null, not blank, a finite number when numeric. */
  valid(v: unknown): boolean {
    if (this.strings) {
      if (typeof v !== 'number') return false; // null
      this.room(v);
      let b = this.blank[v];
      if (b < 0) b = this.blank[v] = isBlank(this.tokens.text[v]) ? 1 : 0;
      return b === 0;
    }
    return typeof v === 'bigint' || (typeof v === 'number' && Number.isFinite(v));
  }

  /** Whether every value in values[from, to) is valid(). */
  allValid(values: ArrayLike<unknown>, from: number, to: number): boolean {
    if (!this.strings) {
      for (let k = from; k < to; k++) if (!this.valid(values[k])) return false;
      return true;
    }
    for (let k = from; k < to; k++) {
      const t = values[k];
      // a token already seen and not blank is valid: one lookup
      if (typeof t === 'number' && t < this.blank.length && this.blank[t] === 0) continue;
      if (!this.valid(t)) return false;
    }
    return true;
  }

  /** The index of a valid id, adding it when new. */
  index(v: unknown): number {
    if (this.strings) {
      const t = v as number;
      this.room(t);
      const k = this.byToken[t];
      return k !== UNSEEN ? k : (this.byToken[t] = this.ids.add(this.tokens.text[t]));
    }
    const key = v as number | bigint;
    let k = this.byValue.get(key);
    if (k === undefined) { k = this.ids.add(String(key)); this.byValue.set(key, k); }
    return k;
  }

  /** index() of values[from, to) into out[at, …) — every value already valid(). */
  indexAll(values: ArrayLike<unknown>, from: number, to: number, out: Int32Array, at: number): void {
    if (!this.strings) {
      for (let k = from; k < to; k++) out[at++] = this.index(values[k]);
      return;
    }
    const vs = values as ArrayLike<number>;
    for (let k = from; k < to; k++) {
      const t = vs[k];
      const j = this.byToken[t];
      out[at++] = j !== UNSEEN ? j : this.index(t);
    }
  }
}

/** A numeric value of a rating or timestamp column, or NaN when it is null or not a number. */
function numberOf(v: unknown, strings: boolean, tokens: Tokens): number {
  if (typeof v === 'number') {
    if (!strings) return v;
    const s = tokens.text[v];
    return DECIMAL.test(s) ? Number(s) : NaN;
  }
  if (typeof v === 'bigint') return Number(v);
  return NaN;
}

/** out[at, at + len) = the numbers of values[from, from + len): typed arrays copied whole where they can be. */
function copyNumbers(values: ArrayLike<unknown>, from: number, len: number, out: Float32Array | Float64Array, at: number, strings: boolean, tokens: Tokens): void {
  if (!strings && (values instanceof Float32Array || values instanceof Float64Array || values instanceof Int32Array || values instanceof Uint32Array)) {
    out.set(values.subarray(from, from + len), at);
    return;
  }
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    for (let k = 0; k < len; k++) out[at + k] = Number(values[from + k]);
    return;
  }
  if (!strings && typeof values[from] === 'number') {
    // a plain array of numbers (a dictionary-encoded column), already checked: no conversion
    const vs = values as ArrayLike<number>;
    for (let k = 0; k < len; k++) out[at + k] = vs[from + k];
    return;
  }
  for (let k = 0; k < len; k++) out[at + k] = numberOf(values[from + k], strings, tokens);
}

/** Row group boundaries [start, end) in rows. */
function rowGroups(meta: FileMetaData): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let at = 0;
  for (const g of meta.row_groups) {
    const n = Number(g.num_rows);
    out.push([at, at + n]);
    at += n;
  }
  return out;
}

/** Reads the interactions of a Parquet file (see the file comment). `name` is the file as messages show it. */
export async function readParquetRows(path: string, name: string, o: ParquetReadOptions): Promise<ColumnarRows> {
  const file = await asyncBufferFromFile(path);
  const meta = await parquetMetadataAsync(file).catch((e: unknown) => {
    throw new Error(`${name}: not a readable Parquet file (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  });
  // the top-level columns, in schema order (nested groups are not interaction columns)
  const top: SchemaElement[] = [];
  for (let i = 1, left = meta.schema[0].num_children ?? 0; i < meta.schema.length && left > 0; left--) {
    const e = meta.schema[i];
    top.push(e);
    // skip the element's subtree
    let pending = e.num_children ?? 0;
    i++;
    while (pending > 0) { pending += (meta.schema[i].num_children ?? 0) - 1; i++; }
  }
  const names = top.map((e) => e.name);
  const pos = resolveNamedColumns(names, o, name);
  const implicit = o.implicit === true;
  const fields = (['user', 'item', 'rating', 'timestamp'] as const).filter((f) => pos[f] >= 0);
  for (const f of fields) {
    const e = top[pos[f]];
    if (e.num_children) throw new Error(`${name}: the ${f} column '${e.name}' is a nested group, not a value column`);
  }
  const column = (f: Field): string => names[pos[f]];
  const strings = (f: Field): boolean => isStringColumn(top[pos[f]]);
  const tokens = new Tokens();
  const users = new IdColumn(tokens, strings('user')), items = new IdColumn(tokens, strings('item'));
  const total = Number(meta.num_rows);
  const limit = o.limit ?? Infinity;
  if (!(limit >= 1)) throw new RangeError(`limit must be ≥ 1, got ${o.limit}`);
  const cap = Math.min(total, limit);
  const user = new Int32Array(cap), item = new Int32Array(cap), rating = new Float32Array(cap);
  const timestamp = pos.timestamp >= 0 ? new Float64Array(cap) : null;
  const line = new Uint32Array(cap);
  let n = 0, skipped = 0, rows = 0;
  const parsers = {
    stringFromBytes: (b: Uint8Array): number => tokens.of(b),
    timestampFromMilliseconds: (v: bigint | number): number => Number(v) / 1e3,
    timestampFromMicroseconds: (v: bigint | number): number => Number(v) / 1e6,
    timestampFromNanoseconds: (v: bigint | number): number => Number(v) / 1e9,
    dateFromDays: (d: number): number => d * 86400,
  };
  // the addon's Snappy decoder where it is built (pages are mostly Snappy-compressed)
  const snappy = nativeSnappy();
  const compressors = snappy ? { SNAPPY: snappy } : undefined;
  const fail = (row: number, what: string): DataFormatError => new DataFormatError(`${name}: row ${row}: ${what}`, name, row, what);

  for (const [g0, g1] of rowGroups(meta)) {
    if (n >= cap) break;
    // a column arrives in chunks of pages; the rows are taken segment by segment, where every column's chunk is one
    const chunks = new Map<string, Array<{ start: number; end: number; data: ArrayLike<unknown> }>>();
    try {
      await parquetRead({
        file, metadata: meta, rowStart: g0, rowEnd: g1, columns: fields.map(column),
        parsers: parsers as never, utf8: true, ...(compressors ? { compressors } : {}),
        onChunk: (c) => {
          const list = chunks.get(c.columnName) ?? [];
          list.push({ start: c.rowStart, end: c.rowEnd, data: c.columnData as ArrayLike<unknown> });
          chunks.set(c.columnName, list);
        },
      });
    } catch (e) {
      if (e instanceof DataFormatError) throw e;
      throw new Error(`${name}: cannot read rows ${g0 + 1}–${g1} (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    const listOf = (f: Field) => {
      const l = chunks.get(column(f));
      if (!l) throw new Error(`${name}: no data for column '${column(f)}' in rows ${g0 + 1}–${g1}`);
      return l.sort((a, b) => a.start - b.start);
    };
    const lists = fields.map(listOf);
    const at = fields.map(() => 0);
    const rStrings = !implicit && strings('rating'), tStrings = timestamp !== null && strings('timestamp');
    for (let r0 = g0; r0 < g1 && n < cap;) {
      // the chunk of each column holding row r0, and how far all of them reach
      let r1 = g1;
      const seg = lists.map((l, c) => {
        while (at[c] < l.length && l[at[c]].end <= r0) at[c]++;
        const ch = l[at[c]];
        if (!ch || ch.start > r0) throw new Error(`${name}: column '${column(fields[c])}' has no value for row ${r0 + 1}`);
        r1 = Math.min(r1, ch.end);
        return ch;
      });
      const [uc, ic] = seg;
      const rc = implicit ? null : seg[fields.indexOf('rating')];
      const tc = timestamp ? seg[fields.indexOf('timestamp')] : null;
      const us = uc.data, is = ic.data, rs = rc?.data, ts = tc?.data;
      const uo = uc.start, io = ic.start, ro = rc?.start ?? 0, to = tc?.start ?? 0;
      const r1n = Math.min(r1, r0 + (cap - n));
      // why row r is invalid, or null; nothing is added to the id maps here
      const invalid = (r: number): string | null => {
        if (!users.valid(us[r - uo])) return `missing or empty user id ${JSON.stringify(stringOf(us[r - uo], tokens))}`;
        if (!items.valid(is[r - io])) return `missing or empty item id ${JSON.stringify(stringOf(is[r - io], tokens))}`;
        if (rs && !(Math.abs(numberOf(rs[r - ro], rStrings, tokens)) <= FLOAT32_MAX)) return `rating ${valueText(rs[r - ro], rStrings, tokens)} is not a finite number within the float32 range`;
        if (ts && !(Math.abs(numberOf(ts[r - to], tStrings, tokens)) <= Number.MAX_SAFE_INTEGER)) return `timestamp ${valueText(ts[r - to], tStrings, tokens)} is not a number within ±2^53`;
        return null;
      };
      // most segments are clean: check each column in one loop, then take them whole
      const numbersOk = (vs: ArrayLike<unknown> | undefined, off: number, strs: boolean, max: number): boolean => {
        if (!vs) return true;
        if (!strs && (vs instanceof BigInt64Array || vs instanceof BigUint64Array)) {
          for (let r = r0; r < r1n; r++) if (!(Math.abs(Number(vs[r - off])) <= max)) return false;
          return true;
        }
        if (!strs && ((ArrayBuffer.isView(vs) && !(vs instanceof BigInt64Array) && !(vs instanceof BigUint64Array)) || typeof vs[r0 - off] === 'number')) {
          // numbers (a typed array, or a plain array of numbers): a null or a bigint fails the test and takes the slow path
          const a = vs as ArrayLike<number>;
          for (let r = r0; r < r1n; r++) { const v = a[r - off]; if (typeof v !== 'number' || !(Math.abs(v) <= max)) return false; }
          return true;
        }
        for (let r = r0; r < r1n; r++) if (!(Math.abs(numberOf(vs[r - off], strs, tokens)) <= max)) return false;
        return true;
      };
      const clean = users.allValid(us, r0 - uo, r1n - uo) && items.allValid(is, r0 - io, r1n - io) &&
        numbersOk(rs, ro, rStrings, FLOAT32_MAX) && numbersOk(ts, to, tStrings, Number.MAX_SAFE_INTEGER);
      if (clean) {
        // every row valid: each column in one pass (ids still in row order, per column)
        const len = r1n - r0;
        users.indexAll(us, r0 - uo, r1n - uo, user, n);
        items.indexAll(is, r0 - io, r1n - io, item, n);
        if (rs) copyNumbers(rs, r0 - ro, len, rating, n, rStrings, tokens);
        else rating.fill(1, n, n + len);
        if (ts && timestamp) copyNumbers(ts, r0 - to, len, timestamp, n, tStrings, tokens);
        for (let k = 0; k < len; k++) line[n + k] = r0 + k + 1;
        n += len;
        rows = r1n;
        r0 = r1n;
      } else {
        // row by row (skipping, or stopping at the first invalid row), up to the segment's end or the limit
        let r = r0;
        for (; r < r1 && n < cap; r++) {
          const row = r + 1;
          rows = row;
          const why = invalid(r);
          if (why !== null) {
            if (o.skipInvalid) { skipped++; continue; }
            throw fail(row, why);
          }
          user[n] = users.index(us[r - uo]); item[n] = items.index(is[r - io]);
          rating[n] = rs ? numberOf(rs[r - ro], rStrings, tokens) : 1;
          if (timestamp) timestamp[n] = numberOf(ts![r - to], tStrings, tokens);
          line[n] = row;
          n++;
        }
        r0 = r;
      }
    }
  }
  if (n === 0) {
    const why = total === 0 ? 'no rows' : skipped > 0 ? `all ${skipped} rows invalid` : 'no data rows';
    throw new DataFormatError(`${name}: ${why} (${total} rows in the file)`, name, 0, '');
  }
  const exact = <T extends Int32Array | Float32Array | Float64Array | Uint32Array>(a: T): T => (a.length === n ? a : (a.slice(0, n) as T));
  return {
    n, user: exact(user), item: exact(item), rating: exact(rating), timestamp: timestamp ? exact(timestamp) : null, line: exact(line),
    users: users.ids, items: items.ids, rows, skipped,
  };
}

function stringOf(v: unknown, tokens: Tokens): string | null {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < tokens.text.length) return tokens.text[v];
  return v === undefined || v === null ? null : String(v);
}

function valueText(v: unknown, strings: boolean, tokens: Tokens): string {
  if (strings && typeof v === 'number') return `'${tokens.text[v]}'`;
  return v === undefined || v === null ? 'null' : String(v);
}

/**
 * Writes interactions as a Parquet file: user and item as strings (dictionary-encoded), rating as
 * FLOAT, timestamp (when present) as DOUBLE; row groups of `rowGroupSize` rows, snappy-compressed.
 */
export async function writeInteractionsParquet(x: Interactions, path: string, rowGroupSize = 1 << 20): Promise<void> {
  const writer = fileWriter(path);
  const schema: SchemaElement[] = [
    { name: 'root', num_children: x.timestamp ? 4 : 3 },
    { name: 'user', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'item', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
    { name: 'rating', type: 'FLOAT', repetition_type: 'REQUIRED' },
  ];
  if (x.timestamp) schema.push({ name: 'timestamp', type: 'DOUBLE', repetition_type: 'REQUIRED' });
  const pw = new ParquetWriter({ writer, schema });
  const userText = x.users.ids().map(String), itemText = x.items.ids().map(String);
  const n = x.user.length;
  for (let at = 0; at < n; at += rowGroupSize) {
    const end = Math.min(n, at + rowGroupSize);
    const users: string[] = new Array(end - at), items: string[] = new Array(end - at);
    for (let p = at; p < end; p++) { users[p - at] = userText[x.user[p]]; items[p - at] = itemText[x.item[p]]; }
    const columnData = [
      // dictionary pages for the ids, whatever their count (readers then map each distinct id once)
      { name: 'user', data: users, encoding: 'RLE_DICTIONARY' as const },
      { name: 'item', data: items, encoding: 'RLE_DICTIONARY' as const },
      { name: 'rating', data: x.rating.subarray(at, end) },
      ...(x.timestamp ? [{ name: 'timestamp', data: x.timestamp.subarray(at, end) }] : []),
    ];
    await pw.write({ columnData, rowGroupSize: end - at });
  }
  pw.finish();
}
