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
import type { Interactions } from './interactions.js';
import { DataFormatError } from './errors.js';
import { ColumnarRowsBuilder, type ColumnarRows } from './columnarRows.js';
import { resolveNamedColumns, type ColumnOptions, type Field } from './columnNames.js';
import { nativeSnappy } from './fastReader.js';

export interface ParquetReadOptions extends ColumnOptions {
  skipInvalid?: boolean;
  limit?: number;
}

function isStringColumn(e: SchemaElement): boolean {
  return e.type === 'BYTE_ARRAY' && e.converted_type !== 'JSON' && e.logical_type?.type !== 'JSON';
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
  const total = Number(meta.num_rows);
  const b = new ColumnarRowsBuilder(name, {
    user: strings('user'), item: strings('item'),
    rating: implicit ? null : strings('rating'), timestamp: pos.timestamp >= 0 ? strings('timestamp') : null,
  }, o, total);
  const tokens = b.tokens;
  const parsers = {
    stringFromBytes: (bytes: Uint8Array): number => tokens.of(bytes),
    timestampFromMilliseconds: (v: bigint | number): number => Number(v) / 1e3,
    timestampFromMicroseconds: (v: bigint | number): number => Number(v) / 1e6,
    timestampFromNanoseconds: (v: bigint | number): number => Number(v) / 1e9,
    dateFromDays: (d: number): number => d * 86400,
  };
  // the addon's Snappy decoder where it is built (pages are mostly Snappy-compressed)
  const snappy = nativeSnappy();
  const compressors = snappy ? { SNAPPY: snappy } : undefined;

  for (const [g0, g1] of rowGroups(meta)) {
    if (b.full) break;
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
    for (let r0 = g0; r0 < g1 && !b.full;) {
      // the chunk of each column holding row r0, and how far all of them reach
      let r1 = g1;
      const seg = lists.map((l, c) => {
        while (at[c] < l.length && l[at[c]].end <= r0) at[c]++;
        const ch = l[at[c]];
        if (!ch || ch.start > r0) throw new Error(`${name}: column '${column(fields[c])}' has no value for row ${r0 + 1}`);
        r1 = Math.min(r1, ch.end);
        return ch;
      });
      r0 = b.take(r0, r1, seg[0], seg[1], implicit ? null : seg[fields.indexOf('rating')], pos.timestamp >= 0 ? seg[fields.indexOf('timestamp')] : null);
    }
  }
  return b.result(total);
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
