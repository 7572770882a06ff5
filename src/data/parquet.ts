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
 * integer token per distinct string, so each row costs an array lookup. Row groups whose columns
 * are plain (flat string ids, plain number values, dictionary or PLAIN pages) and whose rows are all
 * valid are decoded straight from their pages into typed arrays by ./parquetPages.ts; every other
 * group goes through hyparquet's parquetRead, which is also the reference the fast path is tested against.
 *
 * Values: a rating must be a finite number within float32's range, a timestamp a number within
 * ±2^53 (TIMESTAMP and DATE columns become seconds since the epoch); string columns holding numbers
 * are read with the text reader's decimal rule. A null or invalid value is a DataFormatError naming
 * the file and the 1-based row (`data.parquet: row 17: …`), or a skipped row with skipInvalid.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, type AsyncBuffer, type FileMetaData, type SchemaElement } from 'hyparquet';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import type { Interactions } from './interactions.js';
import { DataFormatError } from './errors.js';
import { ColumnarRowsBuilder, type ColumnarPart, type ColumnarRows, type ColumnKinds } from './columnarRows.js';
import { resolveNamedColumns, type ColumnOptions, type Field } from './columnNames.js';
import { nativeSnappy } from './fastReader.js';
import { PAIR_CHECK_TIMEOUT_MS, repeatedPairPart, sharedPairCheck, type SharedPairCheck } from './repeatedPairs.js';
import { GroupDecoder, decodable, RATING_MAX, TIMESTAMP_MAX, type PageColumn } from './parquetPages.js';

export interface ParquetReadOptions extends ColumnOptions {
  skipInvalid?: boolean;
  limit?: number;
  /** read the second half of the row groups in a worker thread (default: files of ≥ 2^20 rows on a machine with 2 cores or more) */
  parallel?: boolean;
  /**
   * decode clean row groups straight from their pages (./parquetPages.ts; default true); false reads every
   * group through hyparquet's general reader, the reference the fast path is tested against
   */
  pages?: boolean;
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

/** An opened file: its metadata, the columns read and what they hold. */
interface OpenedParquet {
  file: AsyncBuffer;
  meta: FileMetaData;
  fields: Field[];
  column: (f: Field) => string;
  kinds: ColumnKinds;
  implicit: boolean;
  hasTimestamp: boolean;
  total: number;
  groups: Array<[number, number]>;
  /** the columns as the fast page decoder (./parquetPages.ts) reads them; null when one of them needs the general reader */
  pages: { user: PageColumn; item: PageColumn; rating: PageColumn | null; timestamp: PageColumn | null } | null;
}

/** The fast decoder's view of a top-level column: its leaf index in the row groups, or null when it cannot take the fast path. */
function pageColumn(meta: FileMetaData, e: SchemaElement, kind: 'id' | 'number', max = 0): PageColumn | null {
  if (!decodable(e, kind)) return null;
  const index = meta.row_groups[0]?.columns.findIndex((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === e.name) ?? -1;
  if (index < 0) return null;
  return kind === 'id' ? { kind, element: e, index } : { kind, element: e, index, max };
}

async function openParquet(path: string, name: string, o: ParquetReadOptions): Promise<OpenedParquet> {
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
  const strings = (f: Field): boolean => isStringColumn(top[pos[f]]);
  const user = pageColumn(meta, top[pos.user], 'id'), item = pageColumn(meta, top[pos.item], 'id');
  const rating = implicit ? null : pageColumn(meta, top[pos.rating], 'number', RATING_MAX);
  const timestamp = pos.timestamp >= 0 ? pageColumn(meta, top[pos.timestamp], 'number', TIMESTAMP_MAX) : null;
  const pages = user && item && (implicit || rating) && (pos.timestamp < 0 || timestamp) ? { user, item, rating, timestamp } : null;
  return {
    pages,
    file, meta, fields, column: (f) => names[pos[f]], implicit, hasTimestamp: pos.timestamp >= 0,
    kinds: { user: strings('user'), item: strings('item'), rating: implicit ? null : strings('rating'), timestamp: pos.timestamp >= 0 ? strings('timestamp') : null },
    total: Number(meta.num_rows), groups: rowGroups(meta),
  };
}

/** Reads the row groups `groups` of `p` into `b`, in order. */
async function readGroupsInto(p: OpenedParquet, b: ColumnarRowsBuilder, groups: Array<[number, number]>, name: string, o: ParquetReadOptions): Promise<void> {
  const { file, meta, fields, column, implicit } = p;
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
  const pages = o.pages === false ? null : p.pages;
  const decoder = pages ? new GroupDecoder(file, meta, tokens, compressors) : null;

  for (const [g0, g1] of groups) {
    if (b.full) break;
    if (pages && decoder) {
      // the fast path: the group's pages straight into typed arrays, when every row is valid (else null: read below)
      const g = p.groups.findIndex((r) => r[0] === g0 && r[1] === g1);
      const d = await decoder.group(g, g1 - g0, pages.user, pages.item, pages.rating, pages.timestamp);
      if (d) {
        b.takeDecoded(g0, g1, d.user, d.item, d.rating, d.timestamp);
        continue;
      }
    }
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
      r0 = b.take(r0, r1, seg[0], seg[1], implicit ? null : seg[fields.indexOf('rating')], p.hasTimestamp ? seg[fields.indexOf('timestamp')] : null);
    }
  }
}

/** Files of at least this many rows (and two row groups) are read on two threads (see readParquetRows). */
const PARALLEL_MIN_ROWS = 1 << 20;

/** Where the row groups are split between this thread and the worker: about half of the rows each; null to read them all here. */
function parallelSplit(p: OpenedParquet, o: ParquetReadOptions): number | null {
  const wanted = o.parallel ?? (p.total >= PARALLEL_MIN_ROWS && availableParallelism() > 1);
  // a limit reads a prefix: sequentially
  if (!wanted || o.limit !== undefined || p.groups.length < 2) return null;
  let h = 1;
  while (h < p.groups.length - 1 && p.groups[h][1] <= p.total / 2) h++;
  return h;
}

/**
 * Reads the interactions of a Parquet file (see the file comment). `name` is the file as messages show it.
 *
 * A large file (≥ 2^20 rows, two row groups or more, no limit; `parallel` forces either way) is read
 * on two threads: the second half of the row groups in a worker (./parquetWorker.ts, the same
 * reader with ids of its own), the first half here; then the worker's rows are appended, its ids
 * mapped in their first-seen order after this half's, which is the file's first-seen order. An
 * error of the first half is the file's first; one of the second half is reported when the first
 * half has none, so the message names the same row as a sequential read. Both threads then check
 * together for a repeated (user, item) pair (the readers' check before the duplicates policy,
 * ./repeatedPairs.ts) on the id columns, which are on shared memory for it.
 */
export async function readParquetRows(path: string, name: string, o: ParquetReadOptions): Promise<ColumnarRows> {
  const p = await openParquet(path, name, o);
  const h = parallelSplit(p, o);
  if (h === null) {
    const b = new ColumnarRowsBuilder(name, p.kinds, o, p.total);
    await readGroupsInto(p, b, p.groups, name, o);
    return b.result(p.total);
  }
  // the ids on shared memory: the worker checks half of the users for repeated pairs without a copy
  const b = new ColumnarRowsBuilder(name, p.kinds, o, p.total, true);
  const second = readPartInWorker(path, name, o, h, p.groups.length);
  try {
    await readGroupsInto(p, b, p.groups.slice(0, h), name, o);
    b.append(await second.part);
    return b.result(p.total, await repeatedPairsOnTwoThreads(b, second.check));
  } finally {
    second.close();
  }
}

/**
 * Whether a (user, item) pair repeats (./repeatedPairs.ts), checked by this thread and the worker
 * together (repeatedPairPart); undefined (the readers then check alone) when the worker cannot answer.
 */
async function repeatedPairsOnTwoThreads(b: ColumnarRowsBuilder, check: (c: SharedPairCheck) => Promise<boolean | undefined>): Promise<boolean | undefined> {
  const c = b.idColumns();
  const shared = sharedPairCheck(c.user, c.item, c.n, c.users, c.items);
  if (!shared) return undefined;
  const theirs = check(shared);
  theirs.catch(() => undefined);
  const mine = repeatedPairPart(shared, 0, PAIR_CHECK_TIMEOUT_MS);
  const other = await theirs.catch(() => undefined);
  return mine === undefined || other === undefined ? undefined : mine || other;
}

/** The options a worker needs (the others do not cross threads: functions, the progress bar). */
export interface ParquetPartRequest {
  path: string;
  name: string;
  options: ParquetReadOptions;
  /** row groups [from, to) */
  from: number;
  to: number;
}

/** The rows of row groups [from, to) with ids of their own (the worker's side of readParquetRows). */
export async function readParquetPart(r: ParquetPartRequest): Promise<ColumnarPart> {
  const p = await openParquet(r.path, r.name, r.options);
  const groups = p.groups.slice(r.from, r.to);
  const rows = groups.reduce((s, [g0, g1]) => s + g1 - g0, 0);
  const b = new ColumnarRowsBuilder(r.name, p.kinds, r.options, rows);
  await readGroupsInto(p, b, groups, r.name, r.options);
  return b.part();
}

/** The worker reading row groups [from, to): its part, then (asked once) a repeated-pair check; close() ends it. */
function readPartInWorker(path: string, name: string, o: ParquetReadOptions, from: number, to: number): { part: Promise<ColumnarPart>; check: (c: SharedPairCheck) => Promise<boolean | undefined>; close: () => void } {
  const options: ParquetReadOptions = {
    user: o.user, item: o.item, rating: o.rating, timestamp: o.timestamp, implicit: o.implicit, skipInvalid: o.skipInvalid, pages: o.pages,
  };
  const request: ParquetPartRequest = { path, name, options, from, to };
  const worker = new Worker(new URL('./parquetWorker.js', import.meta.url), { workerData: request });
  let checked: { resolve: (v: boolean | undefined) => void; reject: (e: Error) => void } | null = null;
  const part = new Promise<ColumnarPart>((resolve, reject) => {
    const fail = (e: Error): void => { reject(e); checked?.reject(e); };
    worker.on('message', (m: { part?: ColumnarPart; repeated?: boolean | null; error?: { message: string; dataFormat?: { file: string; line: number; value: string } } }) => {
      if (m.part) resolve(m.part);
      else if ('repeated' in m) checked?.resolve(m.repeated ?? undefined);
      else if (m.error?.dataFormat) fail(new DataFormatError(m.error.message, m.error.dataFormat.file, m.error.dataFormat.line, m.error.dataFormat.value));
      else fail(new Error(m.error?.message ?? `${name}: the Parquet reader's worker sent nothing`));
    });
    worker.once('error', (e) => fail(new Error(`${name}: the Parquet reader's worker failed (${e.message})`, { cause: e })));
    worker.once('exit', (code) => fail(new Error(`${name}: the Parquet reader's worker exited (code ${code}) before it answered`)));
  });
  part.catch(() => undefined); // awaited only when the first half succeeds
  return {
    part,
    check: (c) => new Promise<boolean | undefined>((resolve, reject) => { checked = { resolve, reject }; worker.postMessage({ check: c }); }),
    close: () => void worker.terminate(),
  };
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
