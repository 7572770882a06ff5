// Arrow IPC input (src/data/arrow.ts): the same interactions as the CSV of the same table (ids, first-seen
// order, ratings, timestamps, duplicates), in the file and the stream format, across record batches;
// dictionary-encoded and plain string ids, Int64/Int32 ids (huge ones exactly), float ratings, Timestamp and
// Date columns, named or positional columns; nulls, blank ids and bad values name the row (or are skipped);
// a file that is not Arrow or a column of another type is a clear error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { testOrSkip } from './helpers/skip.js';
import {
  Bool, DateDay, Float64, Int32, Int64, LargeUtf8, RecordBatch, Table, TimestampMicrosecond, Utf8, makeData, tableFromArrays, tableToIPC,
  vectorFromArray, type Data,
} from 'apache-arrow';
import { readInteractions, readInteractionsFromString, writeInteractionsCsv, type ReadOptions } from '../src/data/readers.js';
import { writeInteractionsArrow } from '../src/data/arrow.js';
import { generateInteractions } from '../src/data/synthetic.js';
import { mulberry32 } from './helpers/random.js';
import { outcome, readColumns as rows, tempFiles } from './helpers/readResults.js';

const { tmp, file } = tempFiles('affinity-arrow-');

/** A table of these columns split into record batches of `batch` rows, written in the given IPC format. */
function writeArrow(name: string, columns: Record<string, unknown>, format: 'file' | 'stream', batch?: number): string {
  const whole = tableFromArrays(columns as Parameters<typeof tableFromArrays>[0]);
  let t: Table = whole;
  if (batch) {
    const batches: RecordBatch[] = [];
    for (let at = 0; at < whole.numRows; at += batch) batches.push(...whole.slice(at, at + batch).batches);
    t = new Table(batches);
  }
  const f = file(name);
  writeFileSync(f, tableToIPC(t, format));
  return f;
}

test('a table written as Arrow IPC reads back as its CSV does (record batches, ids, first-seen order, values)', async () => {
  const x = generateInteractions({ users: 300, items: 120, interactions: 6000, explicit: true, seed: 5 });
  const csv = file('t.csv'), arrow = file('t.arrow');
  await writeInteractionsCsv(x, csv);
  await writeInteractionsArrow(x, arrow, 1000); // 6 record batches, dictionary-encoded ids
  const a = await readInteractions(csv), b = await readInteractions(arrow);
  assert.is(b.stats.parser, 'arrow');
  assert.equal(rows(b), rows(a));
  assert.is(b.stats.lines, 6000);
  // the options apply as for text: limit (across a batch boundary), implicit, no timestamps
  assert.equal(rows(await readInteractions(arrow, { limit: 2500 })), rows(await readInteractions(csv, { limit: 2500 })));
  assert.equal(rows(await readInteractions(arrow, { implicit: true, timestamp: false })), rows(await readInteractions(csv, { implicit: true, timestamp: false })));
  // the stream format, plain (not dictionary) string ids, format named explicitly on another extension
  const users = Array.from(x.user, (u) => String(x.users.ids()[u])), items = Array.from(x.item, (i) => String(x.items.ids()[i]));
  const s = writeArrow('t.bin', { user: vectorFromArray(users, new Utf8()), item: vectorFromArray(items, new Utf8()), rating: x.rating, timestamp: x.timestamp! }, 'stream', 777);
  assert.equal(rows(await readInteractions(s, { format: 'arrow' })), rows(a));
});

test('duplicates follow the policy as in text', async () => {
  const text = 'user,item,rating\nu1,i1,1\nu2,i1,2\nu1,i1,4\n';
  const f = writeArrow('dup.arrow', { user: ['u1', 'u2', 'u1'], item: ['i1', 'i1', 'i1'], rating: Float64Array.from([1, 2, 4]) }, 'file');
  for (const duplicates of ['last', 'sum', 'max'] as const) {
    assert.equal(rows(await readInteractions(f, { duplicates })), rows(readInteractionsFromString(text, { duplicates })), duplicates);
  }
  const e = await outcome(() => readInteractions(f, { duplicates: 'error' }));
  assert.ok(e instanceof Error && /dup\.arrow:3: duplicate interaction user 'u1' item 'i1' \(first on line 1\)/.test(e.message), String(e));
});

test('other schemas: Int64/Int32 ids (huge ones exactly), Float64 ratings, Timestamp and Date columns, LargeUtf8, names and positions', async () => {
  const n = 3000, rnd = mulberry32(3);
  const users = BigInt64Array.from({ length: n }, () => 9007199254740993n + BigInt(Math.floor(rnd() * 200)));
  const items = Int32Array.from({ length: n }, () => 1 + Math.floor(rnd() * 90));
  const ratings = Float64Array.from({ length: n }, () => 1 + Math.floor(rnd() * 9) / 2);
  const micros = BigInt64Array.from({ length: n }, (_, k) => BigInt(Date.UTC(2020, 0, 1)) * 1000n + BigInt(k) * 1_500_000n);
  const ts = makeData({ type: new TimestampMicrosecond(), length: n, nullCount: 0, data: micros });
  const f = writeArrow('typed.arrow', { userId: users, movieId: items, score: ratings, ts: new Table({ ts }).getChild('ts')! }, 'file', 700);
  const x = await readInteractions(f);
  const text = 'user,item,rating,timestamp\n' + Array.from(users, (u, k) => `${u},${items[k]},${ratings[k]},${Number(micros[k]) / 1e6}`).join('\n');
  assert.equal(rows(x), rows(readInteractionsFromString(text)));
  assert.ok(x.users.ids().includes('9007199254740993'), 'an Int64 id above 2^53 keeps its digits');
  // LargeUtf8 ids and a Date column, chosen by position and by name
  const days = Int32Array.from({ length: n }, (_, k) => 18000 + (k % 50));
  const g = writeArrow('large.arrows', {
    a: vectorFromArray(Array.from(users, String), new LargeUtf8()), b: vectorFromArray(Array.from(items, String), new Utf8()),
    c: ratings, d: new Table({ d: makeData({ type: new DateDay(), length: n, nullCount: 0, data: days }) }).getChild('d')!,
  }, 'stream', 1000);
  const o: ReadOptions = { user: 0, item: 'B', rating: 'c', timestamp: 'd' };
  const y = await readInteractions(g, o);
  assert.equal(rows(y), rows(readInteractionsFromString('user,item,rating,timestamp\n' + Array.from(users, (u, k) => `${u},${items[k]},${ratings[k]},${days[k] * 86400}`).join('\n'))));
  const missing = await outcome(() => readInteractions(g));
  assert.ok(missing instanceof Error && /no user column .*'a', 'b', 'c', 'd'/.test(missing.message), String(missing));
});

test('nulls, blank ids and bad values name the row; skipInvalid skips them; no id of a skipped row is kept', async () => {
  const f = writeArrow('bad.arrow', {
    user: vectorFromArray(['u1', 'u2', null, 'u4', ' ', 'u6', 'u7', 'u8'], new Utf8()),
    item: ['i1', 'i2', 'i3', 'i4', 'i5', 'iX', 'i7', null],
    rating: vectorFromArray([1, 2, 3, NaN, 5, 6, 1e39, 1], new Float64()),
  }, 'file', 3);
  const e = await outcome(() => readInteractions(f));
  assert.ok(e instanceof Error && e.name === 'DataFormatError', String(e));
  assert.match((e as Error).message, /bad\.arrow: row 3: missing or empty user id null/);
  const x = await readInteractions(f, { skipInvalid: true });
  assert.equal(x.users.ids(), ['u1', 'u2', 'u6']);
  assert.equal(x.items.ids(), ['i1', 'i2', 'iX'], 'i3, i4, i5, i7 belong to skipped rows');
  assert.is(x.stats.skipped, 5);
  // a null in a numeric column and in a dictionary column
  const nullRating = writeArrow('nullrating.arrow', { user: ['u1', 'u2'], item: ['i1', 'i2'], rating: vectorFromArray([1, null], new Float64()) }, 'file');
  const e2 = await outcome(() => readInteractions(nullRating));
  assert.ok(e2 instanceof Error && /nullrating\.arrow: row 2: rating null is not a finite number/.test(e2.message), String(e2));
  const nullItem = writeArrow('nullitem.arrows', { user: Int32Array.from([1, 2]), item: ['i1', null], rating: Float64Array.from([1, 2]) }, 'stream');
  const e3 = await outcome(() => readInteractions(nullItem));
  assert.ok(e3 instanceof Error && /nullitem\.arrows: row 2: missing or empty item id null/.test(e3.message), String(e3));
  // not Arrow, and a column of a type that is not an id or a number
  const notArrow = file('x.arrow');
  writeFileSync(notArrow, 'user,item\n1,2\n');
  const e4 = await outcome(() => readInteractions(notArrow));
  assert.ok(e4 instanceof Error && /x\.arrow: not a readable Arrow IPC file/.test(e4.message), String(e4));
  const bool = writeArrow('bool.arrow', { user: ['u1'], item: ['i1'], rating: vectorFromArray([true], new Bool()) }, 'file');
  const e5 = await outcome(() => readInteractions(bool));
  assert.ok(e5 instanceof Error && /bool\.arrow: the rating column 'rating' has Arrow type Bool/.test(e5.message), String(e5));
  const empty = file('empty.arrow');
  writeFileSync(empty, tableToIPC(new Table({ user: makeData({ type: new Int64(), length: 0, nullCount: 0, data: new BigInt64Array(0) }) as Data, item: makeData({ type: new Int32(), length: 0, nullCount: 0, data: new Int32Array(0) }) as Data }), 'file'));
  const e6 = await outcome(() => readInteractions(empty, { implicit: true }));
  assert.ok(e6 instanceof Error && /empty\.arrow: no rows/.test(e6.message), String(e6));
});

/** The paths this process has open (Linux /proc/self/fd). */
function openFiles(): string[] {
  return readdirSync('/proc/self/fd').map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`); } catch { return ''; } });
}

testOrSkip(test, existsSync('/proc/self/fd') ? null : 'no /proc/self/fd to list open files on this system')('writeInteractionsArrow: a batch that throws rejects with the error and leaves no stream open on the file', async () => {
  const x = generateInteractions({ users: 20, items: 10, interactions: 100, seed: 1 });
  const rating = x.rating;
  let calls = 0;
  // the second record batch's ratings throw while the batch is built
  const bad = { ...x, rating: Object.assign(Object.create(rating) as Float32Array, { subarray: (a: number, b: number) => { if (++calls === 2) throw new Error('batch 2 broke'); return rating.subarray(a, b); } }) };
  const out = file('broken.arrow');
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const e = await writeInteractionsArrow(bad, out, 40).then(() => null, (err: unknown) => err);
    assert.ok(e instanceof Error && e.message === 'batch 2 broke', `rejected with the batch's error: ${String(e)}`);
    // the stream opens its file asynchronously: look again once it would have
    await new Promise((r) => setTimeout(r, 200));
    assert.not.ok(openFiles().includes(out), 'the file stream is closed');
    assert.equal(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
