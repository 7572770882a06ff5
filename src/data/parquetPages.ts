/**
 * The fast path of the Parquet reader (./parquet.ts): one row group's interaction columns decoded
 * straight from their pages into typed arrays, for the shapes writers produce for interactions —
 * flat columns, no nulls, dictionary (RLE_DICTIONARY / PLAIN_DICTIONARY) or PLAIN pages, data
 * pages v1 or v2. Ids become tokens (./columnarRows.ts Tokens: one per distinct byte string,
 * looked up once per dictionary entry), numbers float64 values.
 *
 * It only ever returns rows that are all valid under the reference rules (ids not blank, a rating
 * a finite number within float32's range, a timestamp a number within ±2^53). Anything else — a
 * null, an invalid value, an encoding or type it does not decode, a dictionary index out of range,
 * a malformed page — returns null, and the caller reads that row group through hyparquet's general
 * reader (parquetRead), which gives the reference's rows, skips and errors. So this path changes
 * speed, never results.
 *
 * Page layout (parquet-format, Encodings.md and the PageHeader thrift): a column chunk is an
 * optional dictionary page then data pages. A v1 data page holds (for an OPTIONAL column) the
 * definition levels as a 4-byte length + RLE/bit-packed hybrid run, then the values, all of it
 * compressed; a v2 page holds the levels uncompressed in front and compresses only the values.
 * Dictionary-encoded values are one byte of bit width followed by RLE/bit-packed hybrid indices.
 */
import type { AsyncBuffer, ColumnMetaData, Compressors, FileMetaData, SchemaElement } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { decompressPage } from 'hyparquet/src/datapage.js';
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
import type { Tokens } from './columnarRows.js';
import { nativeSnappyInto } from './fastReader.js';

const FLOAT32_MAX = 3.4028234663852886e38;

/** How a column is decoded: ids as tokens, numbers as float64 checked against a bound. */
export type PageColumn =
  | { kind: 'id'; element: SchemaElement; index: number }
  | { kind: 'number'; element: SchemaElement; index: number; max: number };

/** One row group's columns, every row valid: ids as tokens, numbers as float64. */
export interface DecodedGroup {
  user: Int32Array;
  item: Int32Array;
  rating: Float64Array | null;
  timestamp: Float64Array | null;
}

/** Whether a top-level column can take the fast path at all (the rest go through hyparquet). */
export function decodable(e: SchemaElement, kind: 'id' | 'number'): boolean {
  if (e.num_children || e.repetition_type === 'REPEATED') return false;
  if (kind === 'id') {
    // strings only: numeric ids keep the general path's number → decimal text rule
    return e.type === 'BYTE_ARRAY' && (e.converted_type === undefined || e.converted_type === 'UTF8') &&
      (e.logical_type === undefined || e.logical_type.type === 'STRING');
  }
  // plain numbers: no converted or logical type (timestamps, dates, decimals, unsigned keep the general path)
  return (e.type === 'FLOAT' || e.type === 'DOUBLE' || e.type === 'INT32' || e.type === 'INT64') &&
    e.converted_type === undefined && e.logical_type === undefined;
}

export const RATING_MAX = FLOAT32_MAX;
export const TIMESTAMP_MAX = Number.MAX_SAFE_INTEGER;

/** A reason the fast path declines a chunk (caught inside this module; never seen by callers). */
class Decline extends Error {}

/** Scratch arrays reused from group to group (one decoder per thread). */
export class GroupDecoder {
  private levels = new Int32Array(0);
  /** decompressed pages, one at a time (each is consumed before the next is decompressed) */
  private page = new Uint8Array(0);
  private readonly snappyInto = nativeSnappyInto();
  private readonly out = { user: new Int32Array(0), item: new Int32Array(0), rating: new Float64Array(0), timestamp: new Float64Array(0) };

  constructor(
    private readonly file: AsyncBuffer,
    private readonly meta: FileMetaData,
    private readonly tokens: Tokens,
    private readonly compressors: Compressors | undefined,
  ) {}

  /**
   * Row group `g` (rows `len`): the columns, or null when the general reader must read it. The
   * arrays are views of scratch space, valid until the next call.
   */
  async group(g: number, len: number, user: PageColumn, item: PageColumn, rating: PageColumn | null, timestamp: PageColumn | null): Promise<DecodedGroup | null> {
    const rg = this.meta.row_groups[g];
    const cols = [user, item, rating, timestamp];
    // a read error too is left to the general reader, which reports it
    const bytes = await Promise.all(cols.map((c) => (c ? this.chunkBytes(rg.columns[c.index]?.meta_data) : null))).catch(() => null);
    if (!bytes) return null;
    if (this.out.user.length < len) {
      this.out.user = new Int32Array(len); this.out.item = new Int32Array(len);
      this.out.rating = new Float64Array(len); this.out.timestamp = new Float64Array(len);
    }
    const o = this.out;
    const targets = [o.user.subarray(0, len), o.item.subarray(0, len), o.rating.subarray(0, len), o.timestamp.subarray(0, len)];
    try {
      for (let c = 0; c < 4; c++) {
        const col = cols[c];
        if (!col) continue;
        const m = rg.columns[col.index]?.meta_data;
        // the column's leaf index is taken from the first row group: each group must agree
        if (!m || bytes[c] === null || m.path_in_schema.length !== 1 || m.path_in_schema[0] !== col.element.name) return null;
        this.chunk(bytes[c]!, m, col, targets[c], len);
      }
    } catch {
      // a Decline, or anything the page decoding threw (a malformed page, invalid UTF-8): the general
      // reader reads this group and reports what it finds
      return null;
    }
    return {
      user: targets[0] as Int32Array, item: targets[1] as Int32Array,
      rating: rating ? (targets[2] as Float64Array) : null, timestamp: timestamp ? (targets[3] as Float64Array) : null,
    };
  }

  private async chunkBytes(m: ColumnMetaData | undefined): Promise<Uint8Array | null> {
    if (!m) return null;
    const dict = m.dictionary_page_offset !== undefined && m.dictionary_page_offset > 0n ? Number(m.dictionary_page_offset) : Infinity;
    const start = Math.min(dict, Number(m.data_page_offset));
    const end = start + Number(m.total_compressed_size);
    if (!(end <= this.file.byteLength)) return null;
    return new Uint8Array(await this.file.slice(start, end));
  }

  /** Decodes one column chunk's `len` values into `out` (Int32Array of tokens, or Float64Array). */
  private chunk(bytes: Uint8Array, m: ColumnMetaData, col: PageColumn, out: Int32Array | Float64Array, len: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const reader = { view, offset: 0 };
    // definition levels unless REQUIRED (as hyparquet's getMaxDefinitionLevel: a missing repetition type counts as optional)
    const optional = col.element.repetition_type !== 'REQUIRED';
    let dictIds: Int32Array | null = null;
    let dictNumbers: Float64Array | null = null;
    let at = 0;
    while (at < len) {
      if (reader.offset >= bytes.length) throw new Decline('column chunk ends early');
      const header = parquetHeader(reader);
      const body = bytes.subarray(reader.offset, reader.offset + header.compressed_page_size);
      if (body.length !== header.compressed_page_size) throw new Decline('page runs past the chunk');
      reader.offset += header.compressed_page_size;
      if (header.type === 'DICTIONARY_PAGE') {
        const d = header.dictionary_page_header;
        if (!d || (d.encoding !== 'PLAIN' && d.encoding !== 'PLAIN_DICTIONARY')) throw new Decline('dictionary encoding');
        const page = this.decompress(body, Number(header.uncompressed_page_size), m.codec);
        if (col.kind === 'id') dictIds = this.plainIds(page, d.num_values);
        else dictNumbers = plainNumbers(page, d.num_values, col.element.type!, col.max, new Float64Array(d.num_values));
        continue;
      }
      let n: number, encoding: string, values: Uint8Array;
      if (header.type === 'DATA_PAGE') {
        const d = header.data_page_header;
        if (!d) throw new Decline('no data page header');
        n = d.num_values;
        encoding = d.encoding;
        values = this.decompress(body, Number(header.uncompressed_page_size), m.codec);
        if (optional) {
          if (d.definition_level_encoding !== 'RLE') throw new Decline('definition level encoding');
          const r = { view: new DataView(values.buffer, values.byteOffset, values.byteLength), offset: 0 };
          this.noNulls(r, n, undefined);
          values = values.subarray(r.offset);
        }
      } else if (header.type === 'DATA_PAGE_V2') {
        const d = header.data_page_header_v2;
        if (!d || d.num_nulls !== 0 || d.repetition_levels_byte_length !== 0 || d.num_rows !== d.num_values) throw new Decline('v2 page with nulls or repetition');
        n = d.num_values;
        encoding = d.encoding;
        const levels = d.definition_levels_byte_length;
        const rest = body.subarray(levels);
        values = d.is_compressed === false ? rest : this.decompress(rest, Number(header.uncompressed_page_size) - levels, m.codec);
      } else {
        throw new Decline(`page type ${header.type}`);
      }
      if (at + n > len) throw new Decline('more values than rows');
      if (encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY') {
        const dict = col.kind === 'id' ? dictIds : dictNumbers;
        if (!dict) throw new Decline('dictionary-encoded page without a dictionary');
        dictionaryValues(values, 0, n, dict, out, at);
      } else if (encoding === 'PLAIN') {
        if (col.kind === 'id') out.set(this.plainIds(values, n), at);
        else plainNumbers(values, n, col.element.type!, col.max, (out as Float64Array).subarray(at, at + n));
      } else {
        throw new Decline(`encoding ${encoding}`);
      }
      at += n;
    }
  }

  /** A page's bytes decompressed: Snappy by the addon into a reused buffer where it is built, else by hyparquet (a new array). */
  private decompress(body: Uint8Array, size: number, codec: ColumnMetaData['codec']): Uint8Array {
    if (codec !== 'SNAPPY' || !this.snappyInto) return decompressPage(body, size, codec, this.compressors);
    if (this.page.length < size) this.page = new Uint8Array(Math.max(size, this.page.length * 2));
    const out = this.page.subarray(0, size);
    if (this.snappyInto(body, out) !== size) throw new Decline('Snappy page of another size than its header says');
    return out;
  }

  /** Reads `n` definition levels (bit width 1: a flat OPTIONAL column) and declines when any is a null. */
  private noNulls(r: { view: DataView; offset: number }, n: number, length: number | undefined): void {
    if (this.levels.length < n) this.levels = new Int32Array(Math.max(n, 1 << 16));
    const lv = this.levels.subarray(0, n);
    readRleBitPackedHybrid(r, 1, lv, length);
    for (let k = 0; k < n; k++) if (lv[k] !== 1) throw new Decline('null value');
  }

  /** `n` PLAIN byte arrays (4-byte length, bytes) as tokens; a blank id declines. */
  private plainIds(page: Uint8Array, n: number): Int32Array {
    const ids = new Int32Array(n);
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const tokens = this.tokens;
    let p = 0;
    for (let k = 0; k < n; k++) {
      if (p + 4 > page.length) throw new Decline('byte array runs past the page');
      const l = view.getUint32(p, true);
      p += 4;
      if (p + l > page.length) throw new Decline('byte array runs past the page');
      const t = tokens.of(page.subarray(p, p + l));
      if (tokens.blank(t)) throw new Decline('blank id');
      ids[k] = t;
      p += l;
    }
    return ids;
  }
}

/**
 * out[at, at + n) = dict[index] for the `n` dictionary indices of a data page's values section
 * `page` from `from`: a byte of bit width, then RLE/bit-packed hybrid runs (Encodings.md: a ULEB128
 * header; low bit 0: a run of header >>> 1 copies of one value in ceil(width / 8) bytes; 1: header
 * >>> 1 groups of 8 values, each `width` bits, packed least significant bit first). An index out of
 * the dictionary, a width over 24 or a run past the page declines.
 */
function dictionaryValues(page: Uint8Array, from: number, n: number, dict: Int32Array | Float64Array, out: Int32Array | Float64Array, at: number): void {
  const end = page.length;
  let p = from;
  if (p >= end) throw new Decline('no bit width');
  const width = page[p++];
  if (width > 24) throw new Decline('bit width over 24');
  const mask = width === 0 ? 0 : (1 << width) - 1;
  const size = dict.length;
  let seen = 0;
  while (seen < n) {
    // the run header, a ULEB128 varint
    let header = 0;
    for (let shift = 0; ; shift += 7) {
      if (p >= end || shift > 28) throw new Decline('run header past the page');
      const byte = page[p++];
      header |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    header >>>= 0;
    if ((header & 1) === 0) {
      const count = Math.min(header >>> 1, n - seen);
      let v = 0;
      const bytes = (width + 7) >> 3;
      if (p + bytes > end) throw new Decline('run value past the page');
      for (let k = 0; k < bytes; k++) v |= page[p + k] << (8 * k);
      p += bytes;
      if (v >= size) throw new Decline('dictionary index out of range');
      const x = dict[v];
      out.fill(x, at + seen, at + seen + count);
      seen += count;
      if (count === 0 && header >>> 1 === 0) throw new Decline('empty run');
    } else {
      const groups = header >>> 1;
      const runBytes = groups * width;
      if (groups === 0 || p + runBytes > end) throw new Decline('bit-packed run past the page');
      const count = Math.min(groups * 8, n - seen);
      const o = at + seen;
      // value k: bits [k·width, (k+1)·width) of the run; four bytes from its first byte hold them (width ≤ 24, shift ≤ 7)
      const fast = Math.max(0, Math.min(count, Math.floor(((runBytes - 4) * 8) / width)));
      let k = 0;
      for (let bit = 0; k < fast; k++, bit += width) {
        const q = p + (bit >>> 3);
        const v = ((page[q] | (page[q + 1] << 8) | (page[q + 2] << 16) | (page[q + 3] << 24)) >>> (bit & 7)) & mask;
        if (v >= size) throw new Decline('dictionary index out of range');
        out[o + k] = dict[v];
      }
      for (let bit = k * width; k < count; k++, bit += width) {
        const q = p + (bit >>> 3);
        let w = 0;
        for (let b = 0; b < 4 && q + b < p + runBytes; b++) w |= page[q + b] << (8 * b);
        const v = (w >>> (bit & 7)) & mask;
        if (v >= size) throw new Decline('dictionary index out of range');
        out[o + k] = dict[v];
      }
      p += runBytes;
      seen += count;
    }
  }
}

/** `n` PLAIN numbers of a physical type into `out` (float64); a value beyond ±max (or NaN) declines. */
function plainNumbers(page: Uint8Array, n: number, type: string, max: number, out: Float64Array): Float64Array {
  const width = type === 'FLOAT' || type === 'INT32' ? 4 : 8;
  if (n * width > page.length) throw new Decline('values run past the page');
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const aligned = page.byteOffset % width === 0;
  switch (aligned ? type : `${type} unaligned`) {
    case 'FLOAT': out.set(new Float32Array(page.buffer, page.byteOffset, n)); break;
    case 'DOUBLE': out.set(new Float64Array(page.buffer, page.byteOffset, n)); break;
    case 'INT32': out.set(new Int32Array(page.buffer, page.byteOffset, n)); break;
    case 'FLOAT unaligned': for (let k = 0; k < n; k++) out[k] = view.getFloat32(4 * k, true); break;
    case 'DOUBLE unaligned': for (let k = 0; k < n; k++) out[k] = view.getFloat64(8 * k, true); break;
    case 'INT32 unaligned': for (let k = 0; k < n; k++) out[k] = view.getInt32(4 * k, true); break;
    case 'INT64':
    case 'INT64 unaligned': for (let k = 0; k < n; k++) out[k] = Number(view.getBigInt64(8 * k, true)); break;
    default: throw new Decline(`type ${type}`);
  }
  for (let k = 0; k < n; k++) if (!(Math.abs(out[k]) <= max)) throw new Decline('value out of range');
  return out;
}
