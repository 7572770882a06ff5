// Parquet input (src/data/parquet.ts): the same interactions as the CSV of the same table (ids,
// first-seen order, ratings, timestamps, duplicates), across row groups and pages, dictionary and
// PLAIN string pages, numeric and timestamp columns, named or positional columns; nulls, blank ids and
// bad values name the row (or are skipped); the addon's Snappy decoder against hyparquet's own.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { skip } from './helpers/skip.js';
import { rmSync, writeFileSync } from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { snappyCompress } from 'hyparquet-writer/src/snappy.js';
import { asyncBufferFromFile, parquetMetadataAsync, snappyUncompress } from 'hyparquet';
import { GroupDecoder, decodable, RATING_MAX, TIMESTAMP_MAX, type PageColumn } from '../src/data/parquetPages.js';
import { ColumnarRowsBuilder } from '../src/data/columnarRows.js';
import { rewriteAsDataPageV1 } from './helpers/parquetV1.js';
import { hasRepeatedPair } from '../src/data/repeatedPairs.js';
import { readInteractions, readInteractionsFromString, writeInteractionsCsv, type ReadOptions } from '../src/data/readers.js';
import { readParquetRows, writeInteractionsParquet } from '../src/data/parquet.js';
import { nativeSnappy } from '../src/data/fastReader.js';
import { generateInteractions } from '../src/data/synthetic.js';
import { mulberry32 } from './helpers/random.js';
import { outcome, readColumns as rows, tempFiles } from './helpers/readResults.js';

const { tmp, file } = tempFiles('affinity-parquet-');

function writeParquet(name: string, columnData: Parameters<typeof parquetWriteBuffer>[0]['columnData'], rowGroupSize?: number): string {
  const f = file(name);
  writeFileSync(f, new Uint8Array(parquetWriteBuffer({ columnData, ...(rowGroupSize ? { rowGroupSize } : {}) })));
  return f;
}

test('a table written as Parquet reads back as its CSV does (row groups, ids, first-seen order, values)', async () => {
  const x = generateInteractions({ users: 300, items: 120, interactions: 6000, explicit: true, seed: 5 });
  const csv = file('t.csv'), pq = file('t.parquet');
  await writeInteractionsCsv(x, csv);
  await writeInteractionsParquet(x, pq, 1000); // 6 row groups
  const a = await readInteractions(csv), b = await readInteractions(pq);
  assert.is(b.stats.parser, 'parquet');
  assert.equal(rows(b), rows(a));
  assert.is(b.stats.lines, 6000);
  // the options apply as for text: limit, implicit, no timestamps, duplicates
  assert.equal(rows(await readInteractions(pq, { limit: 2500 })), rows(await readInteractions(csv, { limit: 2500 })));
  assert.equal(rows(await readInteractions(pq, { implicit: true, timestamp: false })), rows(await readInteractions(csv, { implicit: true, timestamp: false })));
});

test('other schemas: INT64/INT32 ids, DOUBLE and string ratings, TIMESTAMP columns, PLAIN string pages, names and positions', async () => {
  const n = 3000, rnd = mulberry32(3);
  const users = Array.from({ length: n }, () => BigInt(1 + Math.floor(rnd() * 200)));
  const items = Array.from({ length: n }, () => 1 + Math.floor(rnd() * 90));
  const ratings = Array.from({ length: n }, () => 1 + Math.floor(rnd() * 9) / 2);
  const times = Array.from({ length: n }, (_, k) => new Date(Date.UTC(2020, 0, 1) + k * 1000));
  const f = writeParquet('typed.parquet', [
    { name: 'userId', data: users, type: 'INT64' }, { name: 'movieId', data: items, type: 'INT32' },
    { name: 'score', data: ratings, type: 'DOUBLE' }, { name: 'ts', data: times, type: 'TIMESTAMP' },
  ], 700);
  const x = await readInteractions(f);
  const text = 'user,item,rating,timestamp\n' + users.map((u, k) => `${u},${items[k]},${ratings[k]},${times[k].getTime() / 1000}`).join('\n');
  assert.equal(rows(x), rows(readInteractionsFromString(text)));
  // the same ids as PLAIN strings, and a string rating column, by position and by name
  const g = writeParquet('plain.parquet', [
    { name: 'a', data: users.map(String), type: 'STRING', encoding: 'PLAIN' }, { name: 'b', data: items.map(String), type: 'STRING', encoding: 'PLAIN' },
    { name: 'c', data: ratings.map(String), type: 'STRING' },
  ], 1000);
  const o: ReadOptions = { user: 0, item: 'B', rating: 'c' };
  const y = await readInteractions(g, o);
  assert.equal(rows(y), rows(readInteractionsFromString('user,item,rating\n' + users.map((u, k) => `${u},${items[k]},${ratings[k]}`).join('\n'))));
  const missing = await outcome(() => readInteractions(g));
  assert.ok(missing instanceof Error && /no user column .*'a', 'b', 'c'/.test(missing.message), String(missing));
});

test('nulls, blank ids and bad values name the row; skipInvalid skips them; no id of a skipped row is kept', async () => {
  const f = writeParquet('bad.parquet', [
    { name: 'user', data: ['u1', 'u2', null, 'u4', ' ', 'u6', 'u7'], type: 'STRING', nullable: true },
    { name: 'item', data: ['i1', 'i2', 'i3', 'i4', 'i5', 'iX', 'i7'], type: 'STRING' },
    { name: 'rating', data: [1, 2, 3, NaN, 5, 6, 1e39], type: 'DOUBLE' },
  ]);
  const e = await outcome(() => readInteractions(f));
  assert.ok(e instanceof Error && e.name === 'DataFormatError', String(e));
  assert.match((e as Error).message, /bad\.parquet: row 3: missing or empty user id null/);
  const x = await readInteractions(f, { skipInvalid: true });
  assert.equal(x.users.ids(), ['u1', 'u2', 'u6']);
  assert.equal(x.items.ids(), ['i1', 'i2', 'iX'], 'i3, i4, i5, i7 belong to skipped rows');
  assert.is(x.stats.skipped, 4);
  const nan = writeParquet('nan.parquet', [{ name: 'user', data: ['u1', 'u2'], type: 'STRING' }, { name: 'item', data: ['i1', 'i2'], type: 'STRING' }, { name: 'rating', data: [1, NaN], type: 'DOUBLE' }]);
  const e2 = await outcome(() => readInteractions(nan));
  assert.ok(e2 instanceof Error && /row 2: rating NaN is not a finite number/.test(e2.message), String(e2));
  const notParquet = file('x.parquet');
  writeFileSync(notParquet, 'user,item\n');
  const e3 = await outcome(() => readInteractions(notParquet));
  assert.ok(e3 instanceof Error && /not a readable Parquet file/.test(e3.message), String(e3));
});

/** readParquetRows on two threads and on one: the same rows, ids, counts, or the same error. */
async function bothWays(f: string, o: Parameters<typeof readParquetRows>[2] = {}): Promise<unknown> {
  const settle = (parallel: boolean) => readParquetRows(f, 'p.parquet', { ...o, parallel }).then(
    (r) => ({ n: r.n, rows: r.rows, skipped: r.skipped, users: r.users.ids(), items: r.items.ids(), user: Array.from(r.user), item: Array.from(r.item), rating: Array.from(r.rating), timestamp: r.timestamp ? Array.from(r.timestamp) : null, line: Array.from(r.line) }),
    (e: Error) => ({ error: e.name, message: e.message, line: (e as { line?: number }).line }));
  const one = await settle(false), two = await settle(true);
  assert.equal(two, one);
  return one;
}

test('two threads (the second half of the row groups in a worker) read what one reads: ids in first-seen order, values, row numbers', async () => {
  const x = generateInteractions({ users: 500, items: 150, interactions: 9000, explicit: true, seed: 9 });
  const pq = file('par.parquet');
  await writeInteractionsParquet(x, pq, 1000); // 9 row groups
  const r = await bothWays(pq) as { n: number; users: string[] };
  assert.is(r.n, 9000);
  assert.is(r.users.length, x.users.size);
  await bothWays(pq, { implicit: true, timestamp: false });
  // numeric ids (INT64, INT32), PLAIN string pages, a DOUBLE rating; ids new in the second half and ids seen in both
  const n = 4000, rnd = mulberry32(5);
  const users = Array.from({ length: n }, (_, k) => BigInt(1 + Math.floor(rnd() * (k < n / 2 ? 100 : 300))));
  const items = Array.from({ length: n }, () => 1 + Math.floor(rnd() * 90));
  const f = writeParquet('par-typed.parquet', [
    { name: 'user', data: users, type: 'INT64' }, { name: 'item', data: items, type: 'INT32' },
    { name: 'rating', data: items.map((i) => i / 7), type: 'DOUBLE' },
  ], 500);
  await bothWays(f);
  const g = writeParquet('par-plain.parquet', [
    { name: 'user', data: users.map((u) => `u${u}`), type: 'STRING', encoding: 'PLAIN' }, { name: 'item', data: items.map(String), type: 'STRING' },
  ], 700);
  await bothWays(g, { implicit: true });
});

test('two threads: a bad row in either half is the error a sequential read gives; skipInvalid skips the same rows', async () => {
  const n = 3000;
  const users: Array<string | null> = Array.from({ length: n }, (_, k) => `u${k % 97}`);
  const ratings = Array.from({ length: n }, (_, k) => 1 + (k % 5));
  users[2600] = null; // second half
  ratings[2900] = NaN;
  const f = writeParquet('par-bad.parquet', [
    { name: 'user', data: users, type: 'STRING', nullable: true }, { name: 'item', data: users.map((_, k) => `i${k % 13}`), type: 'STRING' },
    { name: 'rating', data: ratings, type: 'DOUBLE' },
  ], 500);
  const second = await bothWays(f) as { message: string; line: number };
  assert.match(second.message, /p\.parquet: row 2601: missing or empty user id null/);
  assert.is(second.line, 2601);
  const skipped = await bothWays(f, { skipInvalid: true }) as { n: number; skipped: number };
  assert.equal([skipped.n, skipped.skipped], [n - 2, 2]);
  users[10] = ' '; // and one in the first half: that one is the file's first
  const g = writeParquet('par-bad2.parquet', [
    { name: 'user', data: users, type: 'STRING', nullable: true }, { name: 'item', data: users.map((_, k) => `i${k % 13}`), type: 'STRING' },
  ], 500);
  const first = await bothWays(g, { implicit: true }) as { message: string };
  assert.match(first.message, /p\.parquet: row 11: missing or empty user id " "/);
});

/** readParquetRows with the page decoder and through the general reader only: the same rows, ids, counts, or the same error. */
async function bothDecoders(f: string, o: Parameters<typeof readParquetRows>[2] = {}): Promise<unknown> {
  const settle = (pages: boolean) => readParquetRows(f, 'p.parquet', { ...o, pages }).then(
    (r) => ({ n: r.n, rows: r.rows, skipped: r.skipped, users: r.users.ids(), items: r.items.ids(), user: Array.from(r.user), item: Array.from(r.item), rating: Array.from(r.rating), timestamp: r.timestamp ? Array.from(r.timestamp) : null, line: Array.from(r.line) }),
    (e: Error) => ({ error: e.name, message: e.message, line: (e as { line?: number }).line }));
  const general = await settle(false), pages = await settle(true);
  assert.equal(pages, general);
  return general;
}

/** How many of the file's row groups the page decoder takes (the others go to the general reader). */
async function decodedGroups(f: string, columns: { user: string; item: string; rating?: string; timestamp?: string }): Promise<number> {
  const file = await asyncBufferFromFile(f);
  const meta = await parquetMetadataAsync(file);
  const col = (name: string, kind: 'id' | 'number', max = 0): PageColumn => {
    const element = meta.schema.find((e) => e.name === name)!;
    const index = meta.row_groups[0].columns.findIndex((c) => c.meta_data!.path_in_schema[0] === name);
    assert.ok(decodable(element, kind), `${name} decodable`);
    return kind === 'id' ? { kind, element, index } : { kind, element, index, max };
  };
  const d = new GroupDecoder(file, meta, new ColumnarRowsBuilder('p', { user: true, item: true, rating: false, timestamp: false }, {}, 1).tokens, undefined);
  let taken = 0;
  for (let g = 0; g < meta.row_groups.length; g++) {
    const r = await d.group(g, Number(meta.row_groups[g].num_rows), col(columns.user, 'id'), col(columns.item, 'id'),
      columns.rating ? col(columns.rating, 'number', RATING_MAX) : null, columns.timestamp ? col(columns.timestamp, 'number', TIMESTAMP_MAX) : null);
    if (r) taken++;
  }
  return taken;
}

test('the page decoder reads what the general reader reads: dictionary and PLAIN pages, FLOAT/DOUBLE/INT32/INT64 values, wide dictionaries, nullable columns', async () => {
  const x = generateInteractions({ users: 3000, items: 700, interactions: 20000, explicit: true, seed: 7 });
  const pq = file('dec.parquet');
  await writeInteractionsParquet(x, pq, 6000); // 4 row groups, the last one short
  assert.is(await decodedGroups(pq, { user: 'user', item: 'item', rating: 'rating', timestamp: 'timestamp' }), 4);
  for (const o of [{}, { limit: 7777 }, { implicit: true, timestamp: false as const }, { parallel: true }]) await bothDecoders(pq, o);
  // one row group; ids over 2^16 distinct (17-bit dictionary indices); PLAIN ids; nullable columns without nulls; every number type
  const n = 90000, rnd = mulberry32(13);
  const users = Array.from({ length: n }, (_, k) => `user-${k < 70000 ? k : Math.floor(rnd() * 70000)}`);
  const items = Array.from({ length: n }, () => `é${Math.floor(rnd() * 300)}`);
  const ratings = Array.from({ length: n }, () => Math.floor(rnd() * 10) / 2);
  const times = Array.from({ length: n }, (_, k) => 1.6e9 + k * 7);
  const one = writeParquet('one.parquet', [
    { name: 'u', data: users, type: 'STRING' }, { name: 'i', data: items, type: 'STRING', nullable: true },
    { name: 'r', data: ratings, type: 'FLOAT', nullable: true }, { name: 't', data: times.map(BigInt), type: 'INT64' },
  ], n);
  assert.is(await decodedGroups(one, { user: 'u', item: 'i', rating: 'r', timestamp: 't' }), 1);
  await bothDecoders(one, { user: 'u', item: 'i', rating: 'r', timestamp: 't' });
  const plain = writeParquet('plain-dec.parquet', [
    { name: 'u', data: users, type: 'STRING', encoding: 'PLAIN' }, { name: 'i', data: items, type: 'STRING', encoding: 'PLAIN' },
    { name: 'r', data: ratings.map((v) => v * 2), type: 'INT32' }, { name: 't', data: times, type: 'DOUBLE', encoding: 'PLAIN' },
  ], 25000);
  assert.is(await decodedGroups(plain, { user: 'u', item: 'i', rating: 'r', timestamp: 't' }), 4);
  await bothDecoders(plain, { user: 'u', item: 'i', rating: 'r', timestamp: 't' });
  await bothDecoders(plain, { user: 'u', item: 'i', rating: 'r', timestamp: 't', parallel: true });
  // the same files with data pages v1 (pyarrow's default): levels and values compressed together, a length before the levels
  for (const [f, cols] of [[pq, { user: 'user', item: 'item', rating: 'rating', timestamp: 'timestamp' }], [one, { user: 'u', item: 'i', rating: 'r', timestamp: 't' }], [plain, { user: 'u', item: 'i', rating: 'r', timestamp: 't' }]] as const) {
    const v1 = f.replace(/\.parquet$/, '-v1.parquet');
    rewriteAsDataPageV1(f, v1);
    assert.is(await decodedGroups(v1, cols), await decodedGroups(f, cols), `${v1}: every group decoded`);
    const a = await bothDecoders(v1, cols), b = await bothDecoders(f, cols);
    assert.equal(a, b, `${v1} reads as ${f}`);
  }
});

test('the page decoder leaves groups with nulls, blank ids and bad numbers to the general reader: the same errors and skips', async () => {
  const n = 4000;
  const users: Array<string | null> = Array.from({ length: n }, (_, k) => `u${k % 97}`);
  const items = Array.from({ length: n }, (_, k) => `i${k % 31}`);
  const ratings = Array.from({ length: n }, (_, k) => 1 + (k % 5));
  users[1200] = null; users[2100] = ' '; ratings[3300] = NaN;
  const columns = [
    { name: 'user', data: users, type: 'STRING' as const, nullable: true }, { name: 'item', data: items, type: 'STRING' as const },
    { name: 'rating', data: ratings, type: 'DOUBLE' as const },
  ];
  const f = writeParquet('dec-bad.parquet', columns, 1000);
  assert.is(await decodedGroups(f, { user: 'user', item: 'item', rating: 'rating' }), 1, 'groups 2, 3 and 4 each hold a bad row');
  const e = await bothDecoders(f) as { message: string };
  assert.match(e.message, /row 1201: missing or empty user id null/);
  const s = await bothDecoders(f, { skipInvalid: true }) as { skipped: number };
  assert.is(s.skipped, 3);
  const v1 = file('dec-bad-v1.parquet');
  rewriteAsDataPageV1(f, v1);
  assert.is(await decodedGroups(v1, { user: 'user', item: 'item', rating: 'rating' }), 1, 'v1 pages: groups with a null, a blank id or a NaN are left to the general reader');
  assert.equal(await bothDecoders(v1, { skipInvalid: true }), s);
  await bothDecoders(f, { skipInvalid: true, parallel: true });
  // a repeated (user, item) pair across the two threads' row groups: the duplicates policy sees it
  const dup = writeParquet('dec-dup.parquet', [
    { name: 'user', data: ['a', 'b', 'c', 'd', 'b', 'e'], type: 'STRING' }, { name: 'item', data: ['x', 'y', 'z', 'x', 'y', 'z'], type: 'STRING' },
  ], 3);
  await bothDecoders(dup, { implicit: true, parallel: true });
  const err = await outcome(() => readInteractions(dup, { implicit: true, duplicates: 'error' }));
  assert.ok(err instanceof Error && /dec-dup\.parquet:5: duplicate interaction user 'b' item 'y' \(first on line 2\)/.test(err.message), String(err));
  const last = await readInteractions(dup, { implicit: true });
  assert.is(last.stats.duplicates, 1);
  assert.is(last.user.length, 5);
});

test('two threads check for repeated (user, item) pairs, half of the users each: a repeat in either half of the users, or across the halves of the file, is found', async () => {
  // users a..f: the first three of the first-seen order are checked here, the last three in the worker
  const cases: Array<[string[], string[], boolean]> = [
    [['a', 'b', 'c', 'd', 'e', 'f', 'a'], ['x', 'x', 'x', 'x', 'x', 'x', 'x'], true], // user a: this thread's half; rows in both halves of the file
    [['a', 'b', 'c', 'd', 'e', 'f', 'f'], ['x', 'x', 'x', 'x', 'x', 'y', 'y'], true], // user f: the worker's half, both rows in the second half of the file
    [['a', 'b', 'c', 'd', 'e', 'f', 'e'], ['x', 'x', 'x', 'x', 'x', 'x', 'y'], false],
  ];
  for (const [users, items, repeated] of cases) {
    const f = writeParquet('pairs.parquet', [{ name: 'user', data: users, type: 'STRING' }, { name: 'item', data: items, type: 'STRING' }], 3);
    const two = await readParquetRows(f, 'pairs.parquet', { implicit: true, parallel: true });
    assert.is(two.repeatedPairs, repeated, users.join(''));
    const one = await readParquetRows(f, 'pairs.parquet', { implicit: true, parallel: false });
    assert.is(one.repeatedPairs, undefined, 'a sequential read leaves the check to the readers');
    for (const duplicates of ['last', 'sum', 'max', 'error'] as const) {
      const settle = (parallel: boolean) => readInteractions(f, { implicit: true, duplicates, parallel } as ReadOptions).then(
        (x) => ({ rows: rows(x), duplicates: x.stats.duplicates }), (e: Error) => e.message);
      assert.equal(await settle(true), await settle(false), `${users.join('')} ${duplicates}`);
    }
  }
  // random tables, a repeat or none, anywhere: the two threads' answer is the one-thread check's
  const rnd = mulberry32(17);
  for (let round = 0; round < 12; round++) {
    const n = 50 + Math.floor(rnd() * 400), U = 2 + Math.floor(rnd() * 40), I = 2 + Math.floor(rnd() * 60);
    const seen = new Set<string>();
    const us: string[] = [], is: string[] = [];
    for (let k = 0; k < n; k++) {
      let u = Math.floor(rnd() * U), i = Math.floor(rnd() * I);
      // most rounds without a repeat: redraw a seen pair unless this round keeps them
      for (let tries = 0; round % 3 !== 0 && seen.has(`${u},${i}`) && tries < 50; tries++) { u = Math.floor(rnd() * U); i = Math.floor(rnd() * I); }
      if (round % 3 !== 0 && seen.has(`${u},${i}`)) continue;
      seen.add(`${u},${i}`);
      us.push(`u${u}`); is.push(`i${i}`);
    }
    const f = writeParquet('pairs-random.parquet', [{ name: 'user', data: us, type: 'STRING' }, { name: 'item', data: is, type: 'STRING' }], 1 + Math.floor(us.length / 3));
    const two = await readParquetRows(f, 'pairs-random.parquet', { implicit: true, parallel: true });
    assert.is(two.repeatedPairs, hasRepeatedPair(two.user, two.item, two.n, two.users.size, two.items.size), `round ${round}`);
  }
});

const snappy = nativeSnappy();
if (!snappy) skip(test, 'native snappy', 'the addon is not built');
else test('the addon\'s Snappy decoder gives what hyparquet\'s gives', () => {
  const rnd = mulberry32(11);
  for (let round = 0; round < 50; round++) {
    const n = Math.floor(rnd() * 200_000);
    const data = new Uint8Array(n);
    // runs and repeats (what compresses) mixed with noise
    for (let k = 0; k < n; k++) data[k] = rnd() < 0.7 && k > 16 ? data[k - 1 - Math.floor(rnd() * 16)] : Math.floor(rnd() * 256);
    const packed = snappyCompress(data);
    const mine = snappy!(packed, n);
    const theirs = new Uint8Array(n);
    snappyUncompress(packed, theirs);
    assert.ok(Buffer.from(mine).equals(Buffer.from(theirs)) && Buffer.from(mine).equals(Buffer.from(data)), `round ${round}`);
  }
  assert.throws(() => snappy!(Uint8Array.from([5, 0x04, 0x61]), 5), /corrupt Snappy data/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
