/**
 * Rows of a columnar file (Parquet, Arrow IPC) into the readers' columns, with the text reader's id
 * and value rules: ids in first-seen order (strings exactly as stored, strictly UTF-8; numbers as
 * their decimal text, so an INT64 12345 is the id '12345'), a rating a finite number within
 * float32's range, a timestamp a number within ±2^53, string columns holding numbers read with the
 * text reader's decimal rule. A null or invalid value is a DataFormatError naming the file and the
 * 1-based row (`data.parquet: row 17: …`), or a skipped row with skipInvalid.
 *
 * The file readers hand over segments of rows in which every column's values are at hand
 * (ColumnarRowsBuilder.take); string columns arrive as tokens of Tokens (an integer per distinct
 * byte string), so a row costs an array lookup, not a string decode.
 */
import { IdMap } from './idMap.js';
import { DataFormatError } from './errors.js';
import { sharedInt32 } from './matrix.js';

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
  /** whether some (user, item) pair occurs twice, when the reader already checked (./repeatedPairs.ts); else absent */
  repeatedPairs?: boolean;
}

const FLOAT32_MAX = 3.4028234663852886e38;
const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

function isBlank(s: string): boolean {
  return s.length === 0 || (s.charCodeAt(0) <= 32 && s.trim() === '');
}

/**
 * Interned strings: a token (small integer) per distinct byte string the file's string columns
 * hold. Keyed by the bytes themselves (FNV-1a, open addressing, an arena of the stored bytes), so a
 * value seen before costs a hash and a compare, not a UTF-8 decode: columns whose pages are PLAIN
 * (writers fall back to it when a dictionary grows large) pass every row through here.
 */
export class Tokens {
  readonly text: string[] = [];
  private slots = new Int32Array(1 << 12);  // token + 1, 0 empty
  private arena = new Uint8Array(1 << 16);
  private offsets = new Int32Array(1 << 10);  // token → start in arena; length from the next
  private used = 0;
  /** per token: 1 when its text is blank (not an id) */
  private blanks = new Uint8Array(1 << 10);
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  /** Token t's bytes (a view of the arena: valid until the next new token). */
  bytes(t: number): Uint8Array { return this.arena.subarray(this.offsets[t], this.offsets[t + 1]); }

  /** Whether token t's text is blank (empty or whitespace only). */
  blank(t: number): boolean { return this.blanks[t] === 1; }

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
    if (t >= this.blanks.length) {
      const b = new Uint8Array(this.blanks.length * 2);
      b.set(this.blanks);
      this.blanks = b;
    }
    this.blanks[t] = isBlank(s) ? 1 : 0;
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
  /** string columns: the token of each id, in id order */
  private readonly tokenOfId: number[] = [];
  private byToken = new Int32Array(1024).fill(UNSEEN);
  /** per token: 1 blank, 0 not (computed on first sight) */
  private blank = new Int8Array(1024).fill(-1);
  private readonly byValue = new Map<number | bigint, number>();

  constructor(private readonly tokens: Tokens, readonly strings: boolean) {}

  /** Room for tokens 0..v in the per-token tables. */
  room(v: number): void {
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
      if (k !== UNSEEN) return k;
      this.tokenOfId.push(t);
      return (this.byToken[t] = this.ids.add(this.tokens.text[t]));
    }
    const key = v as number | bigint;
    let k = this.byValue.get(key);
    if (k === undefined) { k = this.ids.add(String(key)); this.byValue.set(key, k); }
    return k;
  }

  /** A string column's ids as UTF-8, in id order: id k is bytes[ends[k − 1], ends[k]) (ends[−1] = 0). */
  idBytes(): IdBytes {
    const ts = this.tokenOfId;
    const ends = new Int32Array(ts.length);
    let size = 0;
    for (let k = 0; k < ts.length; k++) ends[k] = size += this.tokens.bytes(ts[k]).length;
    const bytes = new Uint8Array(size);
    for (let k = 0, at = 0; k < ts.length; k++) { const b = this.tokens.bytes(ts[k]); bytes.set(b, at); at += b.length; }
    return { bytes, ends };
  }

  /** The index of each id of `b` (another reader's idBytes()), adding the new ones in their order. */
  indexBytes(b: IdBytes): Int32Array {
    const to = new Int32Array(b.ends.length);
    for (let k = 0, at = 0; k < b.ends.length; k++) {
      const end = b.ends[k];
      to[k] = this.index(this.tokens.of(b.bytes.subarray(at, end)));
      at = end;
    }
    return to;
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


function stringOf(v: unknown, tokens: Tokens): string | null {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < tokens.text.length) return tokens.text[v];
  return v === undefined || v === null ? null : String(v);
}

function valueText(v: unknown, strings: boolean, tokens: Tokens): string {
  if (strings && typeof v === 'number') return `'${tokens.text[v]}'`;
  return v === undefined || v === null ? 'null' : String(v);
}

/** One column's values for a segment of rows: the value of file row r is data[r − start]. */
export interface ColumnSegment {
  start: number;
  data: ArrayLike<unknown>;
}

/**
 * The rows a reader took from part of a file (a worker's row groups), with ids of its own: user[k]
 * indexes userIds (first-seen order within the part). ColumnarRowsBuilder.append() takes it.
 */
export interface ColumnarPart {
  n: number;
  user: Int32Array;
  item: Int32Array;
  rating: Float32Array;
  timestamp: Float64Array | null;
  line: Uint32Array;
  /** the ids of a numeric id column as text (string columns: empty, their ids are in userBytes / itemBytes) */
  userIds: string[];
  itemIds: string[];
  userBytes: IdBytes | null;
  itemBytes: IdBytes | null;
  /** rows looked at: the 1-based file row reached (0 when none) */
  rows: number;
  skipped: number;
}

/** Ids as UTF-8 bytes, one after the other (see IdColumn.idBytes): a part's string ids cross threads as two typed arrays, and are mapped by their bytes. */
export interface IdBytes {
  bytes: Uint8Array;
  ends: Int32Array;
}

/** Which columns a file has and whether each holds strings (tokens) or numbers. */
export interface ColumnKinds {
  user: boolean;
  item: boolean;
  /** null: no rating column (implicit) */
  rating: boolean | null;
  /** null: no timestamp column */
  timestamp: boolean | null;
}

/**
 * The rows of one file, segment by segment (see the file comment). `sizeHint` sizes the arrays
 * (the file's row count when known); they grow when it is short.
 */
export class ColumnarRowsBuilder {
  readonly tokens = new Tokens();
  private readonly users: IdColumn;
  private readonly items: IdColumn;
  private readonly cap: number;
  private size: number;
  private user: Int32Array;
  private item: Int32Array;
  private rating: Float32Array;
  private timestamp: Float64Array | null;
  private line: Uint32Array;
  private n = 0;
  private rows = 0;
  private skipped = 0;

  /**
   * `shared`: the user and item columns on SharedArrayBuffers, so that another thread can read them
   * without a copy (the two-thread duplicate check of ./parquet.ts)
   */
  constructor(private readonly name: string, private readonly kinds: ColumnKinds, private readonly o: { skipInvalid?: boolean; limit?: number }, sizeHint: number, private readonly shared = false) {
    const limit = o.limit ?? Infinity;
    if (!(limit >= 1)) throw new RangeError(`limit must be ≥ 1, got ${o.limit}`);
    this.cap = limit;
    this.users = new IdColumn(this.tokens, kinds.user);
    this.items = new IdColumn(this.tokens, kinds.item);
    this.size = Math.max(1, Math.min(sizeHint, limit));
    this.user = this.ids(this.size); this.item = this.ids(this.size); this.rating = new Float32Array(this.size);
    this.timestamp = kinds.timestamp !== null ? new Float64Array(this.size) : null;
    this.line = new Uint32Array(this.size);
  }

  private ids(size: number): Int32Array { return this.shared ? sharedInt32(size) : new Int32Array(size); }

  /** The user and item columns of the rows taken so far (views), and the id counts. */
  idColumns(): { user: Int32Array; item: Int32Array; n: number; users: number; items: number } {
    return { user: this.user.subarray(0, this.n), item: this.item.subarray(0, this.n), n: this.n, users: this.users.ids.size, items: this.items.ids.size };
  }

  /** Whether the limit is reached (later rows are not wanted). */
  get full(): boolean { return this.n >= this.cap; }

  /** Room for `rows` rows in all (an estimate: more rows still grow the arrays). */
  reserve(rows: number): void {
    if (rows > this.size) this.resize(Math.min(this.cap, rows));
  }

  private room(len: number): void {
    if (this.n + len <= this.size) return;
    this.resize(Math.min(this.cap, Math.max(this.n + len, this.size * 2)));
  }

  private resize(size: number): void {
    const grow = <T extends Int32Array | Float32Array | Float64Array | Uint32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size); b.set(a.subarray(0, this.n)); return b;
    };
    const growIds = (a: Int32Array): Int32Array => { const b = this.ids(size); b.set(a.subarray(0, this.n)); return b; };
    this.user = growIds(this.user); this.item = growIds(this.item); this.rating = grow(this.rating);
    if (this.timestamp) this.timestamp = grow(this.timestamp);
    this.line = grow(this.line);
    this.size = size;
  }

  /**
   * File rows [r0, r1) (0-based), every column's values at hand: `rating` absent when implicit,
   * `timestamp` when the file has none. Returns the row reached: r1, or less when the limit is.
   */
  take(r0: number, r1: number, u: ColumnSegment, i: ColumnSegment, r: ColumnSegment | null, t: ColumnSegment | null): number {
    const { users, items, tokens, name, o } = this;
    const rStrings = r !== null && this.kinds.rating === true, tStrings = t !== null && this.kinds.timestamp === true;
    const us = u.data, is = i.data, rs = r?.data, ts = t?.data;
    const uo = u.start, io = i.start, ro = r?.start ?? 0, to = t?.start ?? 0;
    const r1n = Math.min(r1, r0 + (this.cap - this.n));
    if (r1n <= r0) return r0;
    this.room(r1n - r0);
    // why row k is invalid, or null; nothing is added to the id maps here
    const invalid = (k: number): string | null => {
      if (!users.valid(us[k - uo])) return `missing or empty user id ${JSON.stringify(stringOf(us[k - uo], tokens))}`;
      if (!items.valid(is[k - io])) return `missing or empty item id ${JSON.stringify(stringOf(is[k - io], tokens))}`;
      if (rs && !(Math.abs(numberOf(rs[k - ro], rStrings, tokens)) <= FLOAT32_MAX)) return `rating ${valueText(rs[k - ro], rStrings, tokens)} is not a finite number within the float32 range`;
      if (ts && !(Math.abs(numberOf(ts[k - to], tStrings, tokens)) <= Number.MAX_SAFE_INTEGER)) return `timestamp ${valueText(ts[k - to], tStrings, tokens)} is not a number within ±2^53`;
      return null;
    };
    // most segments are clean: check each column in one loop, then take them whole
    const numbersOk = (vs: ArrayLike<unknown> | undefined, off: number, strs: boolean, max: number): boolean => {
      if (!vs) return true;
      if (!strs && (vs instanceof BigInt64Array || vs instanceof BigUint64Array)) {
        for (let k = r0; k < r1n; k++) if (!(Math.abs(Number(vs[k - off])) <= max)) return false;
        return true;
      }
      if (!strs && ((ArrayBuffer.isView(vs) && !(vs instanceof BigInt64Array) && !(vs instanceof BigUint64Array)) || typeof vs[r0 - off] === 'number')) {
        // numbers (a typed array, or a plain array of numbers): a null or a bigint fails the test and takes the slow path
        const a = vs as ArrayLike<number>;
        for (let k = r0; k < r1n; k++) { const v = a[k - off]; if (typeof v !== 'number' || !(Math.abs(v) <= max)) return false; }
        return true;
      }
      for (let k = r0; k < r1n; k++) if (!(Math.abs(numberOf(vs[k - off], strs, tokens)) <= max)) return false;
      return true;
    };
    const clean = users.allValid(us, r0 - uo, r1n - uo) && items.allValid(is, r0 - io, r1n - io) &&
      numbersOk(rs, ro, rStrings, FLOAT32_MAX) && numbersOk(ts, to, tStrings, Number.MAX_SAFE_INTEGER);
    const n = this.n;
    if (clean) {
      // every row valid: each column in one pass (ids still in row order, per column)
      const len = r1n - r0;
      users.indexAll(us, r0 - uo, r1n - uo, this.user, n);
      items.indexAll(is, r0 - io, r1n - io, this.item, n);
      if (rs) copyNumbers(rs, r0 - ro, len, this.rating, n, rStrings, tokens);
      else this.rating.fill(1, n, n + len);
      if (ts && this.timestamp) copyNumbers(ts, r0 - to, len, this.timestamp, n, tStrings, tokens);
      for (let k = 0; k < len; k++) this.line[n + k] = r0 + k + 1;
      this.n += len;
      this.rows = r1n;
      return r1n;
    }
    // row by row (skipping, or stopping at the first invalid row), up to the segment's end or the limit
    let k = r0;
    for (; k < r1 && this.n < this.cap; k++) {
      const row = k + 1;
      this.rows = row;
      const why = invalid(k);
      if (why !== null) {
        if (o.skipInvalid) { this.skipped++; continue; }
        throw new DataFormatError(`${name}: row ${row}: ${why}`, name, row, why);
      }
      this.room(1);
      const m = this.n;
      this.user[m] = users.index(us[k - uo]); this.item[m] = items.index(is[k - io]);
      this.rating[m] = rs ? numberOf(rs[k - ro], rStrings, tokens) : 1;
      if (this.timestamp) this.timestamp[m] = numberOf(ts![k - to], tStrings, tokens);
      this.line[m] = row;
      this.n++;
    }
    return k;
  }

  /**
   * File rows [r0, r1) (0-based) already decoded and checked (./parquetPages.ts): id tokens, numbers
   * valid under the rules of take(). Returns the row reached: r1, or less when the limit is.
   */
  takeDecoded(r0: number, r1: number, user: Int32Array, item: Int32Array, rating: Float64Array | null, timestamp: Float64Array | null): number {
    const r1n = Math.min(r1, r0 + (this.cap - this.n));
    if (r1n <= r0) return r0;
    const len = r1n - r0;
    this.room(len);
    const n = this.n;
    const top = this.tokens.text.length - 1;
    this.users.room(top); this.items.room(top);
    this.users.indexAll(user, 0, len, this.user, n);
    this.items.indexAll(item, 0, len, this.item, n);
    if (rating) this.rating.set(len === rating.length ? rating : rating.subarray(0, len), n);
    else this.rating.fill(1, n, n + len);
    if (timestamp && this.timestamp) this.timestamp.set(len === timestamp.length ? timestamp : timestamp.subarray(0, len), n);
    const line = this.line;
    for (let k = 0; k < len; k++) line[n + k] = r0 + k + 1;
    this.n += len;
    this.rows = r1n;
    return r1n;
  }

  /** The rows taken so far as a part of a file (none is not an error here: see result()). */
  part(): ColumnarPart {
    const n = this.n;
    return {
      n, user: this.user.subarray(0, n), item: this.item.subarray(0, n), rating: this.rating.subarray(0, n),
      timestamp: this.timestamp ? this.timestamp.subarray(0, n) : null, line: this.line.subarray(0, n),
      userIds: this.users.strings ? [] : this.users.ids.ids().map(String), itemIds: this.items.strings ? [] : this.items.ids.ids().map(String),
      userBytes: this.users.strings ? this.users.idBytes() : null, itemBytes: this.items.strings ? this.items.idBytes() : null,
      rows: this.rows, skipped: this.skipped,
    };
  }

  /**
   * Appends a part read after every row taken here (the next row groups): its ids are added in
   * their first-seen order, so the ids stay in the file's first-seen order. Nothing may be taken after.
   */
  append(p: ColumnarPart): void {
    const len = Math.min(p.n, this.cap - this.n);
    this.room(len);
    const n = this.n;
    const mapIds = (ids: string[], map: IdMap): Int32Array => {
      const to = new Int32Array(ids.length);
      for (let k = 0; k < ids.length; k++) to[k] = map.add(ids[k]);
      return to;
    };
    // string ids by their bytes (a token lookup each), numeric ones by their text
    const users = p.userBytes ? this.users.indexBytes(p.userBytes) : mapIds(p.userIds, this.users.ids);
    const items = p.itemBytes ? this.items.indexBytes(p.itemBytes) : mapIds(p.itemIds, this.items.ids);
    for (let k = 0; k < len; k++) { this.user[n + k] = users[p.user[k]]; this.item[n + k] = items[p.item[k]]; }
    this.rating.set(p.rating.subarray(0, len), n);
    if (this.timestamp && p.timestamp) this.timestamp.set(p.timestamp.subarray(0, len), n);
    this.line.set(p.line.subarray(0, len), n);
    this.n += len;
    this.rows = Math.max(this.rows, p.rows);
    this.skipped += p.skipped;
  }

  /**
   * The rows taken; `total` is the file's row count (for the message when none was valid);
   * `repeatedPairs` the answer of a duplicate check already made on them, if any.
   */
  result(total: number, repeatedPairs?: boolean): ColumnarRows {
    const { n, skipped, name } = this;
    if (n === 0) {
      const why = total === 0 ? 'no rows' : skipped > 0 ? `all ${skipped} rows invalid` : 'no data rows';
      throw new DataFormatError(`${name}: ${why} (${total} rows in the file)`, name, 0, '');
    }
    // a view when the arrays are at most 1/8 too long (a reserve() that overshot by part of a batch): no copy of
    // every column at the end; else a copy, so that a short read does not keep a long buffer
    const exact = <T extends Int32Array | Float32Array | Float64Array | Uint32Array>(a: T): T =>
      (a.length === n ? a : a.length - n <= a.length / 8 ? (a.subarray(0, n) as T) : (a.slice(0, n) as T));
    return {
      n, user: exact(this.user), item: exact(this.item), rating: exact(this.rating), timestamp: this.timestamp ? exact(this.timestamp) : null,
      line: exact(this.line), users: this.users.ids, items: this.items.ids, rows: this.rows, skipped,
      ...(repeatedPairs !== undefined ? { repeatedPairs } : {}),
    };
  }
}
