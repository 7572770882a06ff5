// The readers on bad input: encodings, JSON numbers beyond 2^53, values beyond their storage
// type, rows wider than the header, non-decimal numbers, pipes/stdin, missing files and directories.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DataFormatError, fromTriplets, readInteractions, readInteractionsFromString, type ReadResult } from '../src/data/index.js';
import { parseItemFeatures, readItemFeatures } from '../src/data/sideInfo.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
const readersJs = path.join(root, 'dist', 'src', 'data', 'readers.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-bad-'));

function file(name: string, bytes: string | Buffer): string {
  const f = path.join(tmp, name);
  writeFileSync(f, bytes);
  return f;
}

async function rejects(f: () => Promise<unknown>): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  assert.unreachable('expected an error');
  throw new Error('unreachable');
}

async function formatError(f: () => unknown): Promise<DataFormatError> {
  const e = await rejects(async () => f());
  if (!(e instanceof DataFormatError)) assert.unreachable(`expected DataFormatError, got ${String(e)}`);
  return e as DataFormatError;
}

function ids(x: ReadResult, side: 'users' | 'items'): string[] {
  return x[side].ids().map(String);
}

const latin1 = Buffer.from('user,item,rating\nu1,caf\xe9,4\nu1,caf\xe8,3\n', 'latin1');

test('encoding: invalid UTF-8 is an error with file:line and a hint, never two ids merged into U+FFFD', async () => {
  const f = file('latin1.csv', latin1);
  const e = await formatError(() => readInteractions(f));
  assert.match(e.message, `${f}:2: invalid UTF-8 in 'u1,caf\\xe9,4'; pass encoding: 'latin1'`);
  assert.is(e.line, 2);
  // declared Latin-1, or detected: two distinct items
  for (const encoding of ['latin1', 'auto'] as const) {
    const x = await readInteractions(f, { encoding });
    assert.equal(ids(x, 'items'), ['café', 'cafè'], encoding);
  }
  // valid UTF-8: read as UTF-8 by default and by 'auto'
  const u = file('utf8.csv', 'user,item,rating\nu1,café,4\nu1,cafè,3\n');
  assert.equal(ids(await readInteractions(u), 'items'), ['café', 'cafè']);
  assert.equal(ids(await readInteractions(u, { encoding: 'auto' }), 'items'), ['café', 'cafè']);
  // 'auto' decides on the first non-ASCII line: a Latin-1 line after a UTF-8 one is an error
  const mixed = file('mixed.csv', Buffer.concat([Buffer.from('user,item,rating\nu1,café,4\n'), Buffer.from('u1,caf\xe8,3\n', 'latin1')]));
  assert.match((await formatError(() => readInteractions(mixed, { encoding: 'auto' }))).message, /mixed\.csv:3: invalid UTF-8 .*mixes encodings/);
  // not skipped by skipInvalid: the encoding is the file's, not a row's
  await formatError(() => readInteractions(f, { skipInvalid: true }));
  await rejects(() => readInteractions(f, { encoding: 'utf-16' as never }));
});

test('encoding: multi-byte characters and invalid bytes across stream chunk boundaries (plain 1 MiB, gzip 256 KiB chunks)', async () => {
  const CHUNK = 1 << 20;
  // rows of fixed width so that a chosen byte lands on a chunk boundary
  const row = (k: number): string => `u${String(k).padStart(6, '0')},i${k % 100},3\n`; // 15 bytes
  const rowsBefore = Math.floor((CHUNK - 3) / 15);
  let s = '';
  for (let k = 0; k < rowsBefore; k++) s += row(k);
  const pad = CHUNK - 2 - s.length; // the 'é' (2 bytes) of the next row starts at CHUNK - 1
  const prefix = Buffer.from(s + 'x'.repeat(pad) + ',');
  const tail = Buffer.from(',3\n' + row(rowsBefore + 1));
  assert.is(prefix.length, CHUNK - 1);
  const good = Buffer.concat([prefix, Buffer.from('é'), tail]);
  for (const f of [file('straddle.csv', good), file('straddle.csv.gz', gzipSync(good))]) {
    const x = await readInteractions(f, { header: false });
    assert.is(x.user.length, rowsBefore + 2, f);
    assert.ok(x.items.has('é'), f);
  }
  const bad = Buffer.concat([prefix, Buffer.from([0xc3, 0x28]), tail]); // 0xc3 then no continuation byte
  for (const f of [file('straddle-bad.csv', bad), file('straddle-bad.csv.gz', gzipSync(bad))]) {
    const e = await formatError(() => readInteractions(f, { header: false }));
    assert.is(e.line, rowsBefore + 1, f);
  }
  // a read that stops at its limit before the bad line never sees it
  assert.is((await readInteractions(file('straddle-bad.csv', bad), { header: false, limit: 10 })).user.length, 10);
});

test('encoding: MovieLens-style side info (u.item, Latin-1) keeps its accents; a UTF-8 csv with Latin-1 bytes is an error', async () => {
  const flags = Array(19).fill('0').join('|');
  const item = file('u.item', Buffer.from(`1|Caf\xe9 Society (1995)|01-Jan-1995||http://x|${flags}\n2|Cafe Society (1995)|01-Jan-1995||http://x|${flags}\n`, 'latin1'));
  const info = await readItemFeatures(item);
  assert.equal(info.text.get('1'), 'Café Society');
  assert.equal(info.text.get('2'), 'Cafe Society');
  const csv = file('items.csv', Buffer.from('id,title\n1,ok\n2,caf\xe9\n', 'latin1'));
  const e = await formatError(() => readItemFeatures(csv, { format: 'csv', textColumns: ['title'] }));
  assert.is(e.line, 3);
  assert.equal(parseItemFeatures('id,title\n1,café\n', { format: 'csv', textColumns: ['title'] }).text.get('1'), 'café');
});

test('JSON Lines: numeric ids beyond 2^53 stay distinct (their source text); small ones read as before', () => {
  const x = readInteractionsFromString('{"user":9007199254740993,"item":"a","rating":1}\n{"user":9007199254740992,"item":"a","rating":2}\n{"user":12345678901234567890,"item":1e2,"rating":3}\n');
  assert.equal(ids(x, 'users'), ['9007199254740993', '9007199254740992', '12345678901234567890']);
  assert.equal(ids(x, 'items'), ['a', '100']);
  // today's semantics for numbers a double holds: 1.0 is 1, 1.50 is 1.5, -0 is 0
  const y = readInteractionsFromString('{"user":1,"item":1.50,"rating":1}\n{"user":1.0,"item":1.5,"rating":2}\n{"user":-0,"item":"b","rating":3}\n', { duplicates: 'sum' });
  assert.equal(ids(y, 'users'), ['1', '0']);
  assert.equal(ids(y, 'items'), ['1.5', 'b']);
  // nested values and keys inside strings do not confuse the token scan
  const z = readInteractionsFromString('{"meta":{"user":1},"note":"\\"user\\":2","user":90071992547409931,"item":"i","rating":1,"x":[1,{"a":"}"}]}\n');
  assert.equal(ids(z, 'users'), ['90071992547409931']);
});

test('values beyond their storage type: rating outside float32, timestamp beyond 2^53 (delimited and JSON)', async () => {
  const cases: Array<[string, string, number, string, RegExp]> = [
    ['big.csv', 'user,item,rating\nu1,i1,3\nu1,i2,1e39\n', 3, '1e39', /big\.csv:3: rating '1e39' is outside the float32 range/],
    ['neg.csv', 'user,item,rating\nu1,i2,-3.5e38\n', 2, '-3.5e38', /neg\.csv:2: rating '-3\.5e38' is outside the float32 range/],
    ['big.jsonl', '{"user":"a","item":"b","rating":1}\n{"user":"a","item":"c","rating":1e39}\n', 2, '1e39', /big\.jsonl:2: rating '1e39' is outside the float32 range/],
    ['inf.jsonl', '{"user":"a","item":"c","rating":-1e400}\n', 1, '-1e400', /inf\.jsonl:1: rating '-1e400' is outside the float32 range/],
    ['ts.csv', 'user,item,rating,timestamp\nu1,i1,3,9007199254740993\n', 2, '9007199254740993', /ts\.csv:2: timestamp '9007199254740993' is beyond ±2\^53/],
    ['ts.jsonl', '{"user":"a","item":"c","rating":1,"ts":1e300}\n', 1, '1e300', /ts\.jsonl:1: timestamp '1e300' is beyond ±2\^53/],
  ];
  for (const [name, text, line, value, re] of cases) {
    const e = await formatError(() => readInteractionsFromString(text, { name }));
    assert.match(e.message, re, name);
    assert.is(e.line, line, name);
    assert.is(e.value, value, name);
  }
  // the largest float32 itself is a rating; 2^53 - 1 a timestamp
  const x = readInteractionsFromString('u,i,3.4028234663852886e38,9007199254740991\n');
  assert.is(x.rating[0], 3.4028234663852886e38);
  assert.is(x.timestamp![0], 9007199254740991);
});

test('fromTriplets (in-memory input): a rating outside float32 or not a number, or a non-finite timestamp, is a RangeError naming the row', () => {
  const cases: Array<[Array<[string | number, string | number, number?, number?]>, RegExp]> = [
    [[['u1', 'i1', 3], ['u1', 'i2', 1e39]], /^fromTriplets: row 1 \(u1, i2\): rating 1e\+39 is not a number within the float32 range/],
    [[['u1', 'i1', -Infinity]], /row 0 \(u1, i1\): rating -Infinity is not a number/],
    [[['u1', 'i1', NaN]], /row 0 \(u1, i1\): rating NaN is not a number/],
    [[['u1', 'i1', '4' as unknown as number]], /row 0 \(u1, i1\): rating 4 is not a number/],
    [[['u1', 'i1', 3, 1], ['u2', 'i1', 3, NaN]], /^fromTriplets: row 1 \(u2, i1\): timestamp NaN is not a finite number/],
  ];
  for (const [rows, re] of cases) assert.throws(() => fromTriplets(rows), (e: Error) => e instanceof RangeError && re.test(e.message), String(re));
  const x = fromTriplets([['u', 'i', 3.4028234663852886e38, 9007199254740991], ['u', 'j', undefined, 1]]);
  assert.equal([...x.rating], [3.4028234663852886e38, 1]);
});

test('rows must have as many fields as the header (or first row) unless extraColumns: ignore', async () => {
  const text = 'user,item,rating\nu1,i1,3\nu1,i2,4,5\n';
  const e = await formatError(() => readInteractionsFromString(text, { name: 'wide.csv' }));
  assert.match(e.message, /^wide\.csv:3: 4 fields in 'u1,i2,4,5', expected 3 as on line 1; pass extraColumns: 'ignore'/);
  assert.is(e.value, 'u1,i2,4,5');
  const x = readInteractionsFromString(text, { extraColumns: 'ignore' });
  assert.equal(Array.from(x.rating), [3, 4]);
  assert.is(readInteractionsFromString(text, { skipInvalid: true }).stats.skipped, 1);
  // no header: the first row sets the width (u.data style)
  assert.is((await formatError(() => readInteractionsFromString('u1\ti1\t3\t10\nu1\ti2\t4\t11\t12\n'))).line, 2);
  // a header wider than the columns read: rows still need all its fields
  assert.is((await formatError(() => readInteractionsFromString('user,item,rating,comment\nu,i,3,ok\nu,j,4\n'))).line, 3);
  assert.is(readInteractionsFromString('user,item,rating,comment\nu,i,3,ok\nu,j,4\n', { extraColumns: 'ignore' }).user.length, 2);
  assert.throws(() => readInteractionsFromString(text, { extraColumns: 'drop' as never }), RangeError);
});

test('numbers are decimal literals only: no hex, octal, binary, separators, Infinity or blank', async () => {
  for (const v of ['0x10', '0o7', '0b1', '0X1F']) {
    const e = await formatError(() => readInteractionsFromString(`user,item,rating\nu,i,${v}\n`, { name: 'n.csv' }));
    assert.match(e.message, `n.csv:2: rating '${v}' is not a decimal number`);
  }
  for (const v of ['1_000', ' ', '0x', '--1', '1e', 'e5']) {
    const e = await formatError(() => readInteractionsFromString(`user,item,rating\nu,i,${v}\n`, { name: 'n.csv' }));
    assert.match(e.message, `n.csv:2: rating '${v}' is not a number`, v);
  }
  assert.match((await formatError(() => readInteractionsFromString('u,i,1,0x10\n'))).message, /timestamp '0x10' is not a decimal number/);
  assert.match((await formatError(() => readInteractionsFromString('{"user":"u","item":"i","rating":"0x10"}\n'))).message, /rating '0x10' is not a decimal number/);
  assert.match((await formatError(() => readInteractionsFromString('u,i,+Infinity\n'))).message, /rating '\+Infinity' is not finite/);
  const x = readInteractionsFromString('u,a,+4\nu,b,.5\nu,c,5.\nu,d,1e0\nu,e, 3 \nu,f,-2.5E-1\n');
  assert.equal(Array.from(x.rating), [4, 0.5, 5, 1, 3, -0.25]);
});

const CSV = 'user,item,rating\nu1,i1,4\nu2,i1,3\nu1,i2,5\n';

/** Runs `node -e` reading readInteractions('-') from the given stdin, printing the rows. */
function readStdin(input: Buffer): { code: number | null; stdout: string; stderr: string } {
  const script = `import(${JSON.stringify(readersJs)}).then(async (m) => { const x = await m.readInteractions('-'); process.stdout.write(JSON.stringify([x.users.ids(), x.items.ids(), Array.from(x.rating)])); })`;
  const r = spawnSync(process.execPath, ['-e', script], { input: input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("stdin ('-'): plain and gzip, detected from the stream's first bytes", () => {
  const want = JSON.stringify([['u1', 'u2'], ['i1', 'i2'], [4, 3, 5]]);
  for (const input of [Buffer.from(CSV), gzipSync(CSV)]) {
    const r = readStdin(input);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.trim(), want);
  }
  const bad = readStdin(Buffer.from('user,item,rating\nu1,i1,x\n'));
  assert.match(bad.stderr, /<stdin>:2: rating 'x' is not a number/);
});

test('a FIFO (mkfifo) and a /dev/fd/N pipe, plain and gzip', async () => {
  const want = [['u1', 'u2'], ['i1', 'i2']];
  for (const bytes of [Buffer.from(CSV), gzipSync(CSV)]) {
    const fifo = path.join(tmp, `fifo-${bytes[0]}`);
    execFileSync('mkfifo', [fifo]);
    const w = createWriteStream(fifo);
    w.end(bytes);
    const x = await readInteractions(fifo);
    assert.equal([ids(x, 'users'), ids(x, 'items')], want);
  }
  // what `--input <(zcat f.gz)` passes: /dev/fd/N of a pipe, from bash process substitution
  const gz = file('pipe.csv.gz', gzipSync(CSV));
  const script = `import(${JSON.stringify(readersJs)}).then(async (m) => { const x = await m.readInteractions(process.argv[1]); process.stdout.write(String(x.user.length)); })`;
  const r = spawnSync('bash', ['-c', 'exec "$0" -e "$1" <(cat "$2")', process.execPath, script, gz], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), '3');
});

test('a missing file or a directory: one error naming the path', async () => {
  const missing = path.join(tmp, 'nope.csv');
  assert.is((await rejects(() => readInteractions(missing))).message, `${missing}: no such file`);
  const dir = path.join(tmp, 'adir');
  mkdirSync(dir);
  assert.is((await rejects(() => readInteractions(dir))).message, `${dir}: is a directory, expected an interaction file`);
  assert.is((await rejects(() => readItemFeatures(dir))).message, `${dir}: is a directory, expected a file`);
  assert.is((await rejects(() => readItemFeatures(missing))).message, `${missing}: no such file`);
});

test('CLI: --input - (stdin), a missing --input and a directory --input', () => {
  const out = path.join(tmp, 'nn.csv');
  const ok = spawnSync(process.execPath, [cli, 'similarity', '--input', '-', '--k', '2', '--out', out], { input: gzipSync(CSV), encoding: 'utf8', timeout: 120_000 });
  assert.is(ok.status, 0, ok.stderr);
  assert.ok(readFileSync(out, 'utf8').includes('i1'));
  const missing = path.join(tmp, 'nope.csv');
  const r = spawnSync(process.execPath, [cli, 'similarity', '--input', missing, '--out', out], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 1);
  assert.is(r.stderr.trim(), `affinity: ${missing}: no such file`);
  const d = spawnSync(process.execPath, [cli, 'similarity', '--input', tmp, '--out', out], { encoding: 'utf8', timeout: 120_000 });
  assert.is(d.stderr.trim(), `affinity: ${tmp}: is a directory, expected an interaction file`);
  const bad = spawnSync(process.execPath, [cli, 'similarity', '--input', '-', '--out', out], { input: latin1, encoding: 'utf8', timeout: 120_000 });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /^affinity: <stdin>:2: invalid UTF-8/);
});

test('CLI: --encoding latin1 reads a Latin-1 file with its ids distinct, --extra-columns ignore reads wider rows; errors name the flags', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  // caf\xe9 and caf\xe8 share their users: merged into one id, similarity would have one item
  const f = file('cli-latin1.csv', Buffer.from('user,item,rating\nu1,caf\xe9,4\nu1,caf\xe8,3\nu2,caf\xe9,5\nu2,caf\xe8,1\n', 'latin1'));
  const out = path.join(tmp, 'cli-latin1-sim.jsonl');
  const bad = run('similarity', '--input', f, '--out', out);
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /cli-latin1\.csv:2: invalid UTF-8 in 'u1,caf\\xe9,4'; pass encoding: 'latin1' \(CLI: --encoding latin1\)/);
  for (const enc of ['latin1', 'auto']) {
    const ok = run('similarity', '--input', f, '--encoding', enc, '--k', '1', '--out', out);
    assert.is(ok.status, 0, ok.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { item: string; neighbors?: unknown });
    assert.equal(lines.map((l) => l.item).sort(), ['cafè', 'café'], `--encoding ${enc}: two items, decoded`);
  }
  const p = run('precompute', '--input', f, '--encoding', 'latin1', '--model', 'popularity', '--k', '2', '--out', path.join(tmp, 'cli-latin1-recs.jsonl'), '--quiet');
  assert.is(p.status, 0, p.stderr);
  const e = run('eval', '--input', f, '--encoding', 'latin1', '--model', 'popularity', '--protocol', 'holdout:0.5', '--metrics', 'recall@2', '--json', '--quiet');
  assert.is(e.status, 0, e.stderr);
  assert.match(run('similarity', '--input', f, '--encoding', 'cp1252', '--out', out).stderr, /--encoding must be one of utf8, latin1, auto, got 'cp1252'/);

  const wide = file('cli-wide.csv', 'user,item,rating\nu1,i1,4,5\nu1,i2,3\nu2,i1,5\nu2,i2,2\n');
  const w = run('similarity', '--input', wide, '--out', out);
  assert.is(w.status, 1);
  assert.match(w.stderr, /cli-wide\.csv:2: 4 fields in 'u1,i1,4,5', expected 3 as on line 1; pass extraColumns: 'ignore' \(CLI: --extra-columns ignore\)/);
  const wi = run('precompute', '--input', wide, '--extra-columns', 'ignore', '--model', 'popularity', '--k', '2', '--out', path.join(tmp, 'cli-wide-recs.jsonl'), '--quiet', '--json');
  assert.is(wi.status, 0, wi.stderr);
  assert.is((JSON.parse(wi.stdout) as { users: number }).users, 2);
  assert.match(run('replay', '--input', wide, '--extra-columns', 'some', '--policy', 'egreedy').stderr, /--extra-columns must be one of error, ignore, got 'some'/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
