/**
 * Interactions in Apache Arrow IPC files — the file format (Feather v2, `.arrow`/`.feather`) and the
 * stream format (`.arrows`) — through apache-arrow, the Arrow project's own JavaScript library.
 *
 * Reading goes record batch by record batch from an open file handle (the library reads the
 * file's footer, then each batch at its offset; a stream is read front to back), so the file is
 * never held whole. The columns are found as in a CSV header (./columnNames.ts) and take the
 * text reader's id and value rules (./columnarRows.ts): string ids exactly as stored, numeric ids
 * as their decimal text, first-seen order; a null is a missing value naming its row.
 *
 * Column types: Utf8 and LargeUtf8 (each row's bytes are interned: a hash and a compare per row),
 * dictionary-encoded strings (what Arrow writers produce for categorical ids: the dictionary is
 * interned once, then each row is an array lookup), integers (Int64 as bigint), floats, and for
 * the timestamp Timestamp (any unit) and Date columns, as seconds since the epoch. Other types are
 * an error naming the column and its type.
 */
import { open } from 'node:fs/promises';
import {
  RecordBatchFileWriter, RecordBatchReader, RecordBatch, Dictionary, Float32, Float64, Int32, Utf8, Vector,
  makeData, vectorFromArray, Type, TimeUnit, DateUnit, type Data, type DataType,
} from 'apache-arrow';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Interactions } from './interactions.js';
import { DataFormatError } from './errors.js';
import { ColumnarRowsBuilder, type ColumnarRows, type ColumnSegment, type Tokens } from './columnarRows.js';
import { resolveNamedColumns, type ColumnOptions, type Field } from './columnNames.js';

export interface ArrowReadOptions extends ColumnOptions {
  skipInvalid?: boolean;
  limit?: number;
}

/** Whether values of this type are strings (tokens) rather than numbers; throws for types that are neither. */
function stringsOf(type: DataType, what: string): boolean {
  switch (type.typeId) {
    case Type.Utf8: case Type.LargeUtf8: return true;
    case Type.Int: case Type.Float: case Type.Timestamp: case Type.Date: return false;
    case Type.Dictionary: return stringsOf((type as Dictionary).dictionary, what);
    default: throw new Error(`${what} has Arrow type ${String(type)}, not a string, integer, float, timestamp or date column`);
  }
}

/** Seconds per unit of a Timestamp or Date column's values (1: not a time type). */
function secondsPerUnit(type: DataType): number {
  if (type.typeId === Type.Timestamp) {
    const unit = (type as unknown as { unit: TimeUnit }).unit;
    return unit === TimeUnit.SECOND ? 1 : unit === TimeUnit.MILLISECOND ? 1e-3 : unit === TimeUnit.MICROSECOND ? 1e-6 : 1e-9;
  }
  if (type.typeId === Type.Date) return (type as unknown as { unit: DateUnit }).unit === DateUnit.DAY ? 86400 : 1e-3;
  return 1;
}

/** Tokens of the strings of a Utf8/LargeUtf8 data chunk (offset 0, no nulls). */
function tokensOfStrings(d: Data, tokens: Tokens): Int32Array {
  const offsets = d.valueOffsets as Int32Array | BigInt64Array, bytes = d.values as Uint8Array;
  const out = new Int32Array(d.length);
  if (offsets instanceof Int32Array) {
    for (let k = 0; k < d.length; k++) out[k] = tokens.of(bytes.subarray(offsets[k], offsets[k + 1]));
  } else {
    for (let k = 0; k < d.length; k++) out[k] = tokens.of(bytes.subarray(Number(offsets[k]), Number(offsets[k + 1])));
  }
  return out;
}

const encoder = new TextEncoder();

/**
 * The values of one column of one record batch as the builder takes them: tokens for strings,
 * numbers (a typed array where the buffer is one) or bigints, null where the row has none.
 */
class ColumnValues {
  /** the tokens of the last dictionary seen (a file's dictionary usually serves every batch) */
  private dictionary: Vector | null = null;
  private dictionaryValues: ArrayLike<unknown> = [];

  constructor(private readonly tokens: Tokens) {}

  of(v: Vector): ArrayLike<unknown> {
    const d = v.data.length === 1 ? v.data[0] : null;
    if (d && d.offset === 0 && d.nullCount === 0) {
      const fast = this.direct(d);
      if (fast) return fast;
    }
    // general case (nulls, sliced or chunked data): value by value
    const out = new Array<unknown>(v.length);
    const scale = secondsPerUnit(v.type);
    const dict = v.type.typeId === Type.Dictionary;
    for (let k = 0; k < v.length; k++) {
      if (!v.isValid(k)) { out[k] = null; continue; }
      const x: unknown = v.get(k);
      if (typeof x === 'string') out[k] = this.tokens.of(encoder.encode(x));
      else if (scale !== 1) out[k] = Number(x) * scale;
      else if (dict && typeof x !== 'number' && typeof x !== 'bigint') out[k] = null;
      else out[k] = x;
    }
    return out;
  }

  /** A batch column without nulls at offset 0, from its buffers; null when its type needs the general case. */
  private direct(d: Data): ArrayLike<unknown> | null {
    const n = d.length;
    switch (d.type.typeId) {
      case Type.Utf8: case Type.LargeUtf8:
        return tokensOfStrings(d, this.tokens);
      case Type.Int: case Type.Float: {
        const values = d.values as ArrayLike<unknown> & { subarray(a: number, b: number): ArrayLike<unknown> };
        // Float16 (Uint16 bits) and 64-bit integers stored as Int32 pairs need the library's decoding
        if (d.type.typeId === Type.Float && (d.type as Float32).precision === 0) return null;
        if (values.length !== n && !(values instanceof BigInt64Array || values instanceof BigUint64Array)) return null;
        return values.subarray(0, n);
      }
      case Type.Timestamp: case Type.Date: {
        const values = d.values as ArrayLike<number | bigint>, scale = secondsPerUnit(d.type);
        if (values.length !== n) return null;
        const out = new Float64Array(n);
        for (let k = 0; k < n; k++) out[k] = Number(values[k]) * scale;
        return out;
      }
      case Type.Dictionary: {
        const dict = d.dictionary;
        if (!dict) return null;
        if (dict !== this.dictionary) {
          this.dictionaryValues = this.of(dict);
          this.dictionary = dict;
        }
        // the dictionary's values (tokens or numbers) row by row, in an array of the dictionary's kind
        const keys = d.values as ArrayLike<number | bigint>, values = this.dictionaryValues;
        const m = values.length;
        if (values instanceof Int32Array && keys instanceof Int32Array) {
          // string ids without nulls (the usual case): one tight loop
          const out = new Int32Array(n);
          for (let k = 0; k < n; k++) {
            const key = keys[k];
            if (!(key >= 0 && key < m)) return null; // a corrupt key: the general case gives the library's error
            out[k] = values[key];
          }
          return out;
        }
        const out: { [k: number]: unknown; length: number } = ArrayBuffer.isView(values)
          ? new (values.constructor as new (n: number) => { [k: number]: unknown; length: number })(n)
          : new Array<unknown>(n);
        for (let k = 0; k < n; k++) {
          const key = Number(keys[k]);
          if (!(key >= 0 && key < m)) return null;
          out[k] = values[key];
        }
        return out;
      }
      default:
        return null;
    }
  }
}

/** Reads the interactions of an Arrow IPC file or stream (see the file comment). `name` is the file as messages show it. */
export async function readArrowRows(path: string, name: string, o: ArrowReadOptions): Promise<ColumnarRows> {
  const fh = await open(path, 'r');
  try {
    let reader: Awaited<ReturnType<typeof RecordBatchReader.from>>;
    try {
      reader = await RecordBatchReader.from(fh);
      await reader.open();
    } catch (e) {
      throw new Error(`${name}: not a readable Arrow IPC file (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    const fieldsOfSchema = reader.schema?.fields ?? [];
    if (fieldsOfSchema.length === 0) throw new Error(`${name}: not a readable Arrow IPC file (no schema)`);
    const names = fieldsOfSchema.map((f) => f.name);
    const pos = resolveNamedColumns(names, o, name);
    const implicit = o.implicit === true;
    const strings = (f: Field): boolean => stringsOf(fieldsOfSchema[pos[f]].type, `${name}: the ${f} column '${names[pos[f]]}'`);
    const b = new ColumnarRowsBuilder(name, {
      user: strings('user'), item: strings('item'),
      rating: implicit ? null : strings('rating'), timestamp: pos.timestamp >= 0 ? strings('timestamp') : null,
    }, o, 1 << 16);
    const columns = { user: new ColumnValues(b.tokens), item: new ColumnValues(b.tokens), rating: new ColumnValues(b.tokens), timestamp: new ColumnValues(b.tokens) };
    let row = 0;
    // the file format's footer lists its record batches (a stream's count is unknown)
    const batches = reader.isFile() ? reader.numRecordBatches : 0;
    try {
      for await (const batch of reader as AsyncIterable<RecordBatch>) {
        if (b.full) break;
        const n = batch.numRows;
        // a file's batches are usually of one size: room for that many rows in each, so the arrays are not regrown
        if (row === 0 && batches > 1) b.reserve(n * batches);
        const segment = (f: Field): ColumnSegment => ({ start: row, data: columns[f].of(batch.getChildAt(pos[f])!) });
        b.take(row, row + n, segment('user'), segment('item'), implicit ? null : segment('rating'), pos.timestamp >= 0 ? segment('timestamp') : null);
        row += n;
      }
    } catch (e) {
      if (e instanceof DataFormatError) throw e;
      throw new Error(`${name}: cannot read the record batch after row ${row} (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    return b.result(row);
  } finally {
    await fh.close();
  }
}

/**
 * Writes interactions as an Arrow IPC file: user and item as dictionary-encoded strings (the ids),
 * rating as Float32, timestamp (when present) as Float64; record batches of `batchSize` rows.
 */
export async function writeInteractionsArrow(x: Interactions, path: string, batchSize = 1 << 20): Promise<void> {
  const ids = (m: Interactions['users']): Vector => vectorFromArray(m.ids().map(String), new Utf8());
  const userIds = ids(x.users), itemIds = ids(x.items);
  const userType = new Dictionary(new Utf8(), new Int32(), 0), itemType = new Dictionary(new Utf8(), new Int32(), 1);
  const writer = new RecordBatchFileWriter();
  const sink = createWriteStream(path);
  const done = pipeline(writer.toNodeStream(), sink);
  try {
    const n = x.user.length;
    for (let at = 0; at < n || at === 0; at += batchSize) {
      const end = Math.min(n, at + batchSize), length = end - at;
      const columns: Record<string, Data> = {
        user: makeData({ type: userType, length, nullCount: 0, data: x.user.subarray(at, end), dictionary: userIds }),
        item: makeData({ type: itemType, length, nullCount: 0, data: x.item.subarray(at, end), dictionary: itemIds }),
        rating: makeData({ type: new Float32(), length, nullCount: 0, data: x.rating.subarray(at, end) }),
      };
      if (x.timestamp) columns.timestamp = makeData({ type: new Float64(), length, nullCount: 0, data: x.timestamp.subarray(at, end) });
      writer.write(new RecordBatch(columns));
      if (n === 0) break;
    }
    writer.finish();
  } catch (e) {
    // a batch that fails synchronously: close the file stream and settle the pipeline before
    // rethrowing, so no stream stays open and no rejection goes unhandled
    const closed = sink.closed ? Promise.resolve() : new Promise<void>((resolve) => sink.once('close', () => resolve()));
    writer.close(); // ends the writer's own queue: destroying the pipeline alone leaves it an unhandled rejection
    sink.destroy(e instanceof Error ? e : new Error(String(e)));
    await Promise.all([done.catch(() => undefined), closed]);
    throw e;
  }
  await done;
}
