// The readers on small hand-written fixtures (test/fixtures/data): synthetic rows in the file
// formats of MovieLens and others — no MovieLens data is kept in this repository.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  DataFormatError, IdMap, readInteractions, readInteractionsFromString, writeInteractionsCsv, fromTriplets, type ReadResult,
} from '../src/data/index.js';

// compiled to dist/test/: the repo root is two levels up
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fx = (name: string): string => path.join(root, 'test', 'fixtures', 'data', name);
const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-data-'));

/** (user, item, rating[, timestamp]) rows with external ids, in result order. */
function rows(x: ReadResult): Array<[string, string, number, number?]> {
  const out: Array<[string, string, number, number?]> = [];
  for (let p = 0; p < x.user.length; p++) {
    const r: [string, string, number, number?] = [String(x.users.external(x.user[p])), String(x.items.external(x.item[p])), x.rating[p]];
    if (x.timestamp) r.push(x.timestamp[p]);
    out.push(r);
  }
  return out;
}

/** Runs f, expects a DataFormatError, returns it. */
async function expectError(f: () => unknown): Promise<DataFormatError> {
  try {
    await f();
  } catch (e) {
    if (e instanceof DataFormatError) return e;
    throw new assert.Assertion({ message: `expected DataFormatError, got ${String(e)}`, generated: false, operator: 'throws', expects: 'DataFormatError', actual: String(e) });
  }
  assert.unreachable('expected a DataFormatError');
  throw new Error('unreachable');
}

test('CSV with header and RFC 4180 quoting (commas, doubled quotes, line breaks)', async () => {
  const x = await readInteractions(fx('quoted.csv'));
  assert.equal(rows(x), [
    ['alice', 'Heat, 1995', 4.5, 1000],
    ['bob', 'The "Best" One', 3, 1001],
    ['carol\nsmith', 'plain', 2, 1002],
    ['alice', 'plain', 5, 1003],
  ]);
  assert.is(x.users.size, 3);
  assert.is(x.items.size, 3);
  assert.is(x.stats.lines, 6);
  assert.ok(x.user instanceof Int32Array && x.item instanceof Int32Array);
  assert.ok(x.rating instanceof Float32Array && x.timestamp instanceof Float64Array);
  assert.is(x.implicit, false);
});

test('TSV with header, aliases score/ts', async () => {
  const x = await readInteractions(fx('header.tsv'));
  assert.equal(rows(x), [['u1', 'i1', 4, 10], ['u2', 'i1', 3, 11], ['u1', 'i2', 5, 12]]);
});

test('MovieLens-style :: (as in ratings.dat), no header, timestamp at position 3', async () => {
  const x = await readInteractions(fx('double-colon.dat'));
  assert.equal(rows(x), [['1', '10', 5, 900000010], ['1', '20', 3, 900000020], ['2', '10', 4, 900000030]]);
  assert.is(x.stats.lines, 3);
});

test('u.data style (synthetic rows): tab-separated, no header, unknown extension', async () => {
  const x = await readInteractions(fx('tab-separated.data'));
  assert.is(x.user.length, 4);
  assert.equal(rows(x)[0], ['7', '101', 3, 900000001]);
  assert.equal(x.users.ids(), ['7', '8', '9']);
  assert.equal(x.items.ids(), ['101', '102', '103']);
});

test('CRLF line endings', async () => {
  const x = await readInteractions(fx('crlf.csv'));
  assert.equal(rows(x), [['u1', 'i1', 1], ['u2', 'i2', 2], ['u3', 'i1', 3]]);
  assert.is(x.timestamp, undefined);
  // CRLF inside a quoted record that spans lines, from a string
  const y = readInteractionsFromString('user,item,rating\r\n"a\r\nb",i,2\r\n');
  assert.equal(rows(y), [['a\nb', 'i', 2]]);
});

test('JSON Lines: string/number ids, numeric string rating, blank line', async () => {
  const x = await readInteractions(fx('events.jsonl'));
  assert.equal(rows(x), [['u1', 'i1', 4, 5], ['2', 'i1', 3.5, 6], ['u1', '7', 1, 7]]);
  assert.is(x.stats.lines, 4);
});

test('gzip: by extension and by magic bytes alone', async () => {
  const text = readFileSync(fx('quoted.csv'));
  const a = path.join(tmp, 'quoted.csv.gz');
  writeFileSync(a, gzipSync(text));
  const x = await readInteractions(a);
  assert.is(x.user.length, 4);
  assert.equal(rows(x)[1], ['bob', 'The "Best" One', 3, 1001]);
  // compressed tab-separated data with no .gz extension: detected from 1f 8b, then as TSV without header
  const b = path.join(tmp, 'tab-separated.bin');
  writeFileSync(b, gzipSync(readFileSync(fx('tab-separated.data'))));
  const y = await readInteractions(b);
  assert.equal(rows(y), rows(await readInteractions(fx('tab-separated.data'))));
  // corrupt gzip names the file
  const c = path.join(tmp, 'bad.csv.gz');
  writeFileSync(c, Buffer.concat([gzipSync(text).subarray(0, 20), Buffer.from('garbage')]));
  try {
    await readInteractions(c);
    assert.unreachable('corrupt gzip must throw');
  } catch (e) {
    assert.match((e as Error).message, 'bad.csv.gz');
  }
});

test('large input crosses chunk boundaries (streaming), limit stops early', async () => {
  const n = 200000;
  let s = 'user,item,rating\n';
  for (let k = 0; k < n; k++) s += `user${k % 997},item${k % 1009},${(k % 5) + 1}\r\n`;
  const f = path.join(tmp, 'big.csv.gz');
  writeFileSync(f, gzipSync(s));
  const x = await readInteractions(f, { duplicates: 'error' });
  assert.is(x.user.length, n);
  assert.is(x.stats.lines, n + 1);
  assert.is(x.users.size, 997);
  for (const p of [0, 1, 65535, 131071, n - 1]) {
    assert.is(x.users.external(x.user[p]), `user${p % 997}`);
    assert.is(x.items.external(x.item[p]), `item${p % 1009}`);
    assert.is(x.rating[p], (p % 5) + 1);
  }
  const y = await readInteractions(f, { limit: 1000 });
  assert.is(y.user.length, 1000);
});

test('implicit: no rating column, weight 1', async () => {
  const x = await readInteractions(fx('implicit.csv'), { implicit: true });
  assert.equal(rows(x), [['u1', 'i1', 1], ['u1', 'i2', 1], ['u2', 'i1', 1]]);
  assert.is(x.implicit, true);
  // with a header, implicit ignores the rating column
  const y = readInteractionsFromString('user,item,rating\na,b,5\n', { implicit: true });
  assert.equal(rows(y), [['a', 'b', 1]]);
});

test('columns by name and by position', async () => {
  const x = await readInteractions(fx('named.txt'), { user: 'who', item: 'item', rating: 'stars' });
  assert.equal(rows(x), [['u1', 'i1', 2], ['u1', 'i2', 4], ['u2', 'i1', 5]]);
  const y = await readInteractions(fx('named.txt'), { header: true, user: 1, item: 0, rating: 2 });
  assert.equal(rows(y), rows(x));
  const z = readInteractionsFromString('5|9|x1|2\n6|8|x2|3\n', { delimiter: '|', user: 2, item: 0, rating: 3, timestamp: 1 });
  assert.equal(rows(z), [['x1', '5', 2, 9], ['x2', '6', 3, 8]]);
  // a multi-character delimiter
  const w = readInteractionsFromString('a<>b<>1\nc<>d<>2\n', { delimiter: '<>' });
  assert.equal(rows(w), [['a', 'b', 1], ['c', 'd', 2]]);
  // timestamp: false ignores the column
  assert.is(readInteractionsFromString('u,i,1,5\n', { timestamp: false }).timestamp, undefined);
});

test('header auto-detection: numeric rating means no header; header: false forces data', () => {
  assert.is(readInteractionsFromString('1,2,3\n4,5,1\n').user.length, 2);
  assert.is(readInteractionsFromString('user,item,rating\n4,5,1\n').user.length, 1);
  const e = readInteractionsFromString.bind(null, 'user,item,rating\n4,5,1\n', { header: false, name: 'h.csv' });
  assert.throws(e, /h\.csv:1: rating 'rating' is not a number/);
});

test('unknown header columns are named in the error', () => {
  assert.throws(() => readInteractionsFromString('a,b,c\nx,y,z\n', { header: true }), /no user column in header 'a,b,c'/);
  assert.throws(() => readInteractionsFromString('user,item,c\nx,y,1\n'), /no rating column.*implicit: true/);
  assert.throws(() => readInteractionsFromString('user,item,rating\nx,y,1\n', { rating: 'stars' }), /rating column 'stars' not found/);
});

test('bad rows name file, line and value', async () => {
  // [file name, text, bad line, offending value, message, valid rows]
  const cases: Array<[string, string, number, string, RegExp, number]> = [
    ['missing.csv', 'user,item,rating\nu1,i1,3\nu2,i2\n', 3, 'u2,i2', /missing\.csv:3: missing rating field \(column 3\) in 'u2,i2'/, 1],
    ['abc.csv', 'user,item,rating\nu1,i1,3\nu1,i2,3\nu2,i1,abc\n', 4, 'abc', /abc\.csv:4: rating 'abc' is not a number/, 2],
    ['nan.csv', 'user,item,rating\nu1,i1,NaN\nu1,i2,1\n', 2, 'NaN', /nan\.csv:2: rating 'NaN' is not a number/, 1],
    ['inf.csv', 'user,item,rating\nu1,i1,3\nu1,i2,Infinity\n', 3, 'Infinity', /inf\.csv:3: rating 'Infinity' is not finite/, 1],
    ['ts.tsv', 'u1\ti1\t3\t100\nu1\ti2\t3\t-Infinity\n', 2, '-Infinity', /ts\.tsv:2: timestamp '-Infinity' is not finite/, 1],
    ['tsnan.dat', 'u1::i1::3::100\nu1::i2::3::soon\n', 2, 'soon', /tsnan\.dat:2: timestamp 'soon' is not a number/, 1],
    ['emptyrating.csv', 'user,item,rating\nu1,i1,\nu1,i2,2\n', 2, '', /emptyrating\.csv:2: rating '' is not a number/, 1],
    ['emptyuser.csv', 'user,item,rating\nu1,i1,3\n,i2,4\n', 3, '', /emptyuser\.csv:3: empty user id/, 1],
    ['emptyitem.csv', 'user,item,rating\nu1,"",3\nu1,i2,2\n', 2, '', /emptyitem\.csv:2: empty item id/, 1],
    ['bad.jsonl', '{"user":"a","item":"b","rating":1}\n{"user":"a","item":"c","rating":1\n', 2, '{"user":"a","item":"c","rating":1', /bad\.jsonl:2: invalid JSON '\{"user":"a","item":"c","rating":1'/, 1],
    ['nouser.jsonl', '{"user":"a","item":"b","rating":1}\n{"item":"c","rating":1}\n', 2, '{"item":"c","rating":1}', /nouser\.jsonl:2: missing user field 'user'/, 1],
    ['badrating.jsonl', '{"user":"a","item":"b","rating":1}\n{"user":"a","item":"c","rating":"x"}\n', 2, 'x', /badrating\.jsonl:2: rating 'x' is not a number/, 1],
  ];
  for (const [name, text, line, value, re, valid] of cases) {
    const e = await expectError(() => readInteractionsFromString(text, { name }));
    assert.match(e.message, re, name);
    assert.is(e.file, name, name);
    assert.is(e.line, line, name);
    assert.is(e.value, value, name);
    // the same through a file, with the path in the message
    const f = path.join(tmp, name);
    writeFileSync(f, text);
    const g = await expectError(() => readInteractions(f));
    assert.ok(g.message.startsWith(`${f}:${line}: `), g.message);
    // and skipInvalid skips exactly that row
    const ok = readInteractionsFromString(text, { name, skipInvalid: true });
    assert.is(ok.stats.skipped, 1, name);
    assert.is(ok.user.length, valid, name);
  }
});

test('skipInvalid counts several bad rows; a bad row mid-file is on the right line after a multi-line record', () => {
  const text = 'user,item,rating\n"a\nb",i1,3\nu1,i1,x\nu2,i2,4\nu3,,5\nu4,i4,NaN\n';
  const e = (() => { try { readInteractionsFromString(text); } catch (err) { return err as DataFormatError; } return null; })();
  assert.ok(e instanceof DataFormatError);
  assert.is(e!.line, 4);
  const x = readInteractionsFromString(text, { skipInvalid: true });
  assert.is(x.stats.skipped, 3);
  assert.equal(rows(x), [['a\nb', 'i1', 3], ['u2', 'i2', 4]]);
  assert.is(x.stats.lines, 7);
});

test('unterminated quote is an error at its opening line', () => {
  assert.throws(() => readInteractionsFromString('user,item,rating\nu1,i1,3\n"u2,i2,3\nu3,i3,4\n', { name: 'q.csv' }), /q\.csv:3: quoted field is not closed/);
});

test('empty input is an error (empty file, blank lines, header only, all rows invalid)', async () => {
  const f = path.join(tmp, 'empty.csv');
  writeFileSync(f, '');
  assert.match((await expectError(() => readInteractions(f))).message, /empty\.csv:0: empty input/);
  assert.match((await expectError(() => readInteractionsFromString('\n\n  \n'))).message, /no data rows/);
  assert.match((await expectError(() => readInteractionsFromString('user,item,rating\n'))).message, /no data rows/);
  const g = path.join(tmp, 'empty.csv.gz');
  writeFileSync(g, gzipSync(''));
  await expectError(() => readInteractions(g));
  assert.match((await expectError(() => readInteractionsFromString('user,item,rating\na,b,x\n', { skipInvalid: true }))).message, /all 1 rows invalid/);
});

const DUPS = 'user,item,rating,timestamp\nu1,i1,2,10\nu2,i1,5,11\nu1,i1,4,12\nu1,i2,1,13\nu1,i1,3,14\n';

test('duplicates: last (default) keeps the last row at its position', () => {
  const x = readInteractionsFromString(DUPS);
  assert.equal(rows(x), [['u2', 'i1', 5, 11], ['u1', 'i2', 1, 13], ['u1', 'i1', 3, 14]]);
  assert.is(x.stats.duplicates, 2);
});

test('duplicates: sum adds ratings, keeps the latest timestamp', () => {
  const x = readInteractionsFromString(DUPS, { duplicates: 'sum' });
  assert.equal(rows(x), [['u2', 'i1', 5, 11], ['u1', 'i2', 1, 13], ['u1', 'i1', 9, 14]]);
  assert.is(x.stats.duplicates, 2);
  // implicit + sum = counts
  const y = readInteractionsFromString('a,x\na,x\nb,x\na,x\n', { implicit: true, duplicates: 'sum' });
  assert.equal(rows(y), [['b', 'x', 1], ['a', 'x', 3]]);
});

test('duplicates: max keeps the largest rating and its timestamp', () => {
  const x = readInteractionsFromString(DUPS, { duplicates: 'max' });
  assert.equal(rows(x), [['u2', 'i1', 5, 11], ['u1', 'i2', 1, 13], ['u1', 'i1', 4, 12]]);
});

test('duplicates: error names both lines', async () => {
  const e = await expectError(() => readInteractionsFromString(DUPS, { duplicates: 'error', name: 'd.csv' }));
  assert.match(e.message, /^d\.csv:4: duplicate interaction user 'u1' item 'i1' \(first on line 2\)/);
  assert.is(e.line, 4);
  // no duplicates: no error, nothing merged
  const ok = readInteractionsFromString('u,i,1\nu,j,2\nv,i,3\n', { duplicates: 'error' });
  assert.is(ok.stats.duplicates, 0);
  assert.is(ok.user.length, 3);
});

test('writeInteractionsCsv round trip (quoting, float ratings, gzip)', async () => {
  const x = fromTriplets([['a,1', 'x"y', 3.5, 100], ['b', 'line\nbreak', 0.1, 101], ['a,1', 'z', 5, 102]]);
  for (const name of ['out.csv', 'out.csv.gz']) {
    const f = path.join(tmp, name);
    await writeInteractionsCsv(x, f);
    const y = await readInteractions(f);
    assert.equal(rows(y), [['a,1', 'x"y', 3.5, 100], ['b', 'line\nbreak', Math.fround(0.1), 101], ['a,1', 'z', 5, 102]]);
  }
  assert.is(readFileSync(path.join(tmp, 'out.csv'), 'utf8').split('\n')[0], 'user,item,rating,timestamp');
  const noTs = fromTriplets([['a', 'b', 2]]);
  await writeInteractionsCsv(noTs, path.join(tmp, 'nots.csv'));
  assert.is(readFileSync(path.join(tmp, 'nots.csv'), 'utf8'), 'user,item,rating\na,b,2\n');
});

test('IdMap round trips', () => {
  const m = new IdMap();
  assert.is(m.add('b'), 0);
  assert.is(m.add('a'), 1);
  assert.is(m.add('b'), 0);
  assert.is(m.size, 2);
  assert.is(m.external(1), 'a');
  assert.is(m.index('a'), 1);
  assert.is(m.index('zz'), undefined);
  assert.throws(() => m.require('zz', 'user'), /unknown user 'zz'/);
  assert.throws(() => m.external(2), RangeError);
  const c = IdMap.from(JSON.parse(JSON.stringify(m)) as string[]);
  assert.equal(c.ids(), ['b', 'a']);
  // reader ids map back to exactly the input strings
  const x = readInteractionsFromString('user,item,rating\n 007,A b,1\n7,a b,2\n');
  assert.equal(x.users.ids(), [' 007', '7']);
  assert.equal(x.items.ids(), ['A b', 'a b']);
  for (let k = 0; k < x.users.size; k++) assert.is(x.users.index(x.users.external(k)), k);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
