// Property-based tests of the interaction readers (fast-check). The seed is fixed so that runs
// repeat; FC_SEED=<n> tries another. On failure fast-check prints the seed, path and the
// shrunk counterexample.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataFormatError, readInteractions, readInteractionsFromString, type ReadOptions, type ReadResult } from '../src/data/index.js';
import { readItemFeatures, readUserFeatures, type SideInfo } from '../src/data/sideInfo.js';
import { outcome } from './helpers/readResults.js';

const seed = Number(process.env.FC_SEED ?? 20251202);
const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-fuzz-'));
let files = 0;

function file(ext: string, bytes: Buffer): string {
  const f = path.join(tmp, `f${files++}${ext}`);
  writeFileSync(f, bytes);
  return f;
}


/** A result is complete when its columns agree and every index is in its map. */
function assertComplete(x: ReadResult): void {
  const n = x.user.length;
  assert.ok(n > 0);
  assert.is(x.item.length, n);
  assert.is(x.rating.length, n);
  if (x.timestamp) assert.is(x.timestamp.length, n);
  for (let p = 0; p < n; p++) {
    assert.ok(x.user[p] >= 0 && x.user[p] < x.users.size);
    assert.ok(x.item[p] >= 0 && x.item[p] < x.items.size);
    assert.ok(Number.isFinite(x.rating[p]));
  }
}

/** Rows with external ids, comparable across reads. */
function rowsOf(x: ReadResult): unknown {
  const out: unknown[] = [];
  for (let p = 0; p < x.user.length; p++) out.push([x.users.external(x.user[p]), x.items.external(x.item[p]), x.rating[p], x.timestamp?.[p]]);
  return { rows: out, stats: { ...x.stats, parser: undefined }, implicit: x.implicit }; // the parser (native or js) may differ between file and string input
}

// bytes that often form near-valid input: delimiters, quotes, line breaks, JSON, numbers, non-ASCII
const TOKENS = [',', '\t', '::', '|', '\n', '\r\n', '"', '{', '}', ':', '[', 'user', 'item', 'rating', 'u1', 'i2', '3', '4.5', '-', 'e', '0x1', '1e39', ' ', '\xe9', 'é', '\ufeff', '\0'];
const noise = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((t) => Buffer.from(t.join(''), 'utf8')),
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((t) => Buffer.from(t.join(''), 'latin1')),
);

test('random bytes: a complete result or a DataFormatError (or a gzip error for 1f 8b input), never a crash', async () => {
  const options = fc.record({
    encoding: fc.constantFrom<ReadOptions['encoding']>('utf8', 'latin1', 'auto'),
    skipInvalid: fc.boolean(),
    extraColumns: fc.constantFrom<ReadOptions['extraColumns']>('error', 'ignore'),
  });
  const ext = fc.constantFrom('.csv', '.tsv', '.jsonl', '.dat', '.bin');
  await fc.assert(fc.asyncProperty(noise, options, ext, fc.boolean(), async (bytes, o, e, gz) => {
    const input = gz ? Buffer.concat([Buffer.from([0x1f, 0x8b]), bytes]) : bytes;
    const f = file(e, input);
    for (const r of [await outcome(() => readInteractions(f, o)), await outcome(() => readInteractionsFromString(input.toString('latin1'), { ...o, name: f }))]) {
      if (r instanceof DataFormatError) {
        assert.is(r.file, f);
        assert.ok(r.line >= 0 && r.line <= input.length + 1, r.message);
        assert.ok(r.message.startsWith(`${f}:${r.line}`), r.message);
      } else if (r instanceof Error) {
        assert.ok(gz && r.message.startsWith(`${f}: gzip data is corrupt`), r.stack);
      } else assertComplete(r);
    }
  }), { seed, numRuns: 150 });
});

// valid rows, some of them corrupted in one field

type Layout = 'csv' | 'tsv' | 'jsonl';
interface Row { user: string; rating: number; ts: number }
const CORRUPTIONS = {
  delimited: ['rating-text', 'rating-hex', 'rating-infinity', 'rating-big', 'extra-field', 'missing-field', 'empty-user', 'ts-big', 'latin1'],
  jsonl: ['rating-text', 'rating-hex', 'rating-big', 'null-user', 'bad-json', 'ts-big', 'latin1'],
} as const;
type Corruption = (typeof CORRUPTIONS)['delimited'][number] | (typeof CORRUPTIONS)['jsonl'][number];

/** One row as bytes (item ids are unique per row, so no row merges with another). */
function rowBytes(layout: Layout, k: number, r: Row, c: Corruption | null): Buffer {
  const item = `i${k}`;
  if (c === 'latin1') return Buffer.from(layout === 'jsonl' ? `{"user":"${r.user}","item":"\xe9${item}","rating":${r.rating},"ts":${r.ts}}\n` : `${r.user},\xe9${item},${r.rating},${r.ts}\n`.replace(/,/g, layout === 'tsv' ? '\t' : ','), 'latin1');
  if (layout === 'jsonl') {
    const o: Record<string, unknown> = { user: r.user, item, rating: r.rating, ts: r.ts };
    if (c === 'rating-text') o.rating = 'abc';
    if (c === 'rating-hex') o.rating = '0x10';
    if (c === 'null-user') o.user = null;
    let s = JSON.stringify(o);
    if (c === 'rating-big') s = s.replace(/"rating":[^,]*/, '"rating":1e39');
    if (c === 'ts-big') s = s.replace(/"ts":\d+/, '"ts":1e300');
    if (c === 'bad-json') s = s.slice(0, -1);
    return Buffer.from(s + '\n');
  }
  const f = [r.user, item, String(r.rating), String(r.ts)];
  if (c === 'rating-text') f[2] = 'abc';
  if (c === 'rating-hex') f[2] = '0x10';
  if (c === 'rating-infinity') f[2] = 'Infinity';
  if (c === 'rating-big') f[2] = '-1e39';
  if (c === 'extra-field') f.push('5');
  if (c === 'missing-field') f.pop();
  if (c === 'empty-user') f[0] = '';
  if (c === 'ts-big') f[3] = '9007199254740993';
  return Buffer.from(f.join(layout === 'tsv' ? '\t' : ',') + '\n');
}

const row = fc.record({
  user: fc.constantFrom('alice', 'bob', '7', 'é', '9007199254740993', 'u 1'),
  rating: fc.integer({ min: 1, max: 10 }).map((v) => v / 2),
  ts: fc.integer({ min: 0, max: 2_000_000_000 }),
});

const corruptFile = fc.constantFrom<Layout>('csv', 'tsv', 'jsonl').chain((layout) => fc.record({
  layout: fc.constant(layout),
  rows: fc.array(row, { minLength: 1, maxLength: 25 }),
  // row index → corruption (a headerless file's first row defines its layout, so it is never corrupted)
  bad: fc.dictionary(fc.integer({ min: layout === 'tsv' ? 1 : 0, max: 24 }).map(String), fc.constantFrom<Corruption>(...CORRUPTIONS[layout === 'jsonl' ? 'jsonl' : 'delimited']), { maxKeys: 4 }),
  skipInvalid: fc.boolean(),
}));

test('side information (item and user features, every format): random bytes give features or a DataFormatError naming file:line, never a crash', async () => {
  const itemFormats = ['auto', 'movielens-100k-item', 'movielens-dat', 'movies-csv', 'csv'] as const;
  const userFormats = ['auto', 'movielens-100k-user', 'movielens-dat-user', 'csv'] as const;
  const sideTokens = fc.array(fc.constantFrom(...TOKENS, '|', '1|Toy Story (1995)|01-Jan-1995||http://x|0|0|1', '1::Toy Story (1995)::Animation|Comedy', '24|M|technician|85711', '1::F::1::10::48067', 'movieId,title,genres'), { maxLength: 40 })
    .map((t) => Buffer.from(t.join(''), 'latin1'));
  const input = fc.oneof(noise, sideTokens);
  await fc.assert(fc.asyncProperty(input, fc.boolean(), fc.nat(), fc.constantFrom<'utf8' | 'latin1' | 'auto'>('utf8', 'latin1', 'auto'), async (bytes, item, fmt, encoding) => {
    const format = item ? itemFormats[fmt % itemFormats.length] : userFormats[fmt % userFormats.length];
    const f = file(item ? '.item' : '.user', bytes);
    // 'csv' names its columns (without them it is a usage RangeError, not a data error)
    const o = { format: format as never, encoding, ...(format === 'csv' ? { textColumns: [1], categoricalColumns: [2] } : {}) };
    const r = await outcome(async () => (item ? readItemFeatures(f, o) : readUserFeatures(f, o)) as unknown as ReadResult);
    if (r instanceof DataFormatError) {
      assert.is(r.file, f);
      // line 0: about the whole file (no rows at all)
      assert.ok(r.message.startsWith(r.line > 0 ? `${f}:${r.line}:` : `${f}:`), r.message);
    } else if (r instanceof Error) {
      assert.unreachable(`${item ? 'item' : 'user'} features (${format}): ${r.stack ?? r.message}`);
    } else {
      const info = r as unknown as SideInfo;
      assert.is(new Set(info.ids).size, info.ids.length, 'ids are distinct');
      for (const id of info.ids) assert.type(id, 'string');
    }
  }), { seed, numRuns: 200 });
});

test('valid rows with corrupted ones: the error names the first bad line, or skipInvalid skips exactly those rows; never a changed row count', async () => {
  await fc.assert(fc.asyncProperty(corruptFile, async ({ layout, rows, bad, skipInvalid }) => {
    const header = layout === 'csv' ? 1 : 0;
    const corrupt = (k: number): Corruption | null => (bad[String(k)] as Corruption | undefined) ?? null;
    const parts = rows.map((r, k) => rowBytes(layout, k, r, corrupt(k)));
    if (header) parts.unshift(Buffer.from('user,item,rating,timestamp\n'));
    const bytes = Buffer.concat(parts);
    const f = file(`.${layout}`, bytes);
    const badRows = rows.map((_, k) => k).filter((k) => corrupt(k) !== null);
    const lineOf = (k: number): number => k + 1 + header;
    const got = await outcome(() => readInteractions(f, { skipInvalid }));
    // invalid UTF-8 is never skipped; with skipInvalid the other corruptions are
    const fatal = skipInvalid ? badRows.filter((k) => corrupt(k) === 'latin1') : badRows;
    if (fatal.length > 0) {
      assert.ok(got instanceof DataFormatError, `expected an error on line ${lineOf(fatal[0])}, got ${got instanceof Error ? got.message : 'a result'}`);
      assert.is((got as DataFormatError).line, lineOf(fatal[0]), (got as Error).message);
      return;
    }
    if (badRows.length === rows.length) {
      assert.ok(got instanceof DataFormatError && /all \d+ rows invalid/.test(got.message), String(got));
      return;
    }
    if (got instanceof Error) throw got;
    assert.is(got.stats.skipped, badRows.length);
    const kept = rows.map((r, k) => ({ r, k })).filter(({ k }) => corrupt(k) === null);
    assert.is(got.user.length, kept.length);
    kept.forEach(({ r, k }, p) => {
      assert.is(String(got.users.external(got.user[p])), r.user);
      assert.is(String(got.items.external(got.item[p])), `i${k}`);
      assert.is(got.rating[p], r.rating);
      assert.is(got.timestamp![p], r.ts);
    });
  }), { seed, numRuns: 200 });
});

test('gzip and plain input read alike (results and errors), and like the same text in memory', async () => {
  const input = fc.oneof(
    corruptFile.map(({ layout, rows, bad, skipInvalid }) => {
      const corrupt = (k: number): Corruption | null => (bad[String(k)] as Corruption | undefined) ?? null;
      const parts = rows.map((r, k) => rowBytes(layout, k, r, corrupt(k)));
      if (layout === 'csv') parts.unshift(Buffer.from('user,item,rating,timestamp\n'));
      return { ext: `.${layout}`, bytes: Buffer.concat(parts), skipInvalid };
    }),
    fc.record({ ext: fc.constant('.csv'), bytes: noise, skipInvalid: fc.boolean() }),
  );
  await fc.assert(fc.asyncProperty(input, async ({ ext, bytes, skipInvalid }) => {
    const plain = file(ext, bytes);
    const gz = file(ext + '.gz', gzipSync(bytes));
    const a = await outcome(() => readInteractions(plain, { skipInvalid }));
    const b = await outcome(() => readInteractions(gz, { skipInvalid }));
    const norm = (r: ReadResult | Error, f: string): unknown => r instanceof Error ? r.message.replace(f, '<file>') : rowsOf(r);
    assert.equal(norm(b, gz), norm(a, plain));
    // valid UTF-8 text in memory reads the same as the file
    if (!(a instanceof Error) || !/invalid UTF-8/.test(a.message)) {
      const c = await outcome(() => readInteractionsFromString(bytes.toString('utf8'), { skipInvalid, name: plain }));
      assert.equal(norm(c, plain), norm(a, plain));
    }
  }), { seed, numRuns: 100 });
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
