// The readers' native fast path (src/data/fastReader.ts → native/core delimited_reader) against the
// reference parser (readers.ts, parser: 'js') on every fixture: the same rows, ids, stats — or the
// same DataFormatError (message, line, value). Fixtures cover quoted fields, CRLF, BOM, blank lines,
// huge ids, numbers, encodings, limits, skipped rows, gzip and chunk boundaries; a fast-check
// property then compares the two on random near-CSV bytes. Skipped, with the reason, without the addon.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { skip } from './helpers/skip.js';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readInteractions, type ReadOptions, type ReadResult } from '../src/data/readers.js';
import { nativeReaderUnavailable } from '../src/data/fastReader.js';

const why = nativeReaderUnavailable();
const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-fast-'));
let files = 0;

function file(name: string, bytes: Buffer | string): string {
  const f = path.join(tmp, `${files++}-${name}`);
  writeFileSync(f, bytes);
  return f;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string; line?: number; value?: string } };

function describeResult(x: ReadResult): unknown {
  return {
    users: x.users.ids(), items: x.items.ids(), user: Array.from(x.user), item: Array.from(x.item),
    // Object.is per element: -0 and NaN compared exactly
    rating: Array.from(x.rating, (v) => (Object.is(v, -0) ? '-0' : v)),
    timestamp: x.timestamp ? Array.from(x.timestamp, (v) => (Object.is(v, -0) ? '-0' : v)) : null,
    stats: { ...x.stats, parser: undefined }, implicit: x.implicit,
  };
}

async function outcome(f: string, o: ReadOptions): Promise<Outcome> {
  try {
    return { ok: true, value: describeResult(await readInteractions(f, o)) };
  } catch (e) {
    const err = e as Error & { line?: number; value?: string };
    return { ok: false, error: { name: err.name, message: err.message, line: err.line, value: err.value } };
  }
}

async function rejects(f: () => Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await f();
  } catch (e) {
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}

async function same(f: string, o: ReadOptions = {}, what = f): Promise<Outcome> {
  const js = await outcome(f, { ...o, parser: 'js' });
  const native = await outcome(f, { ...o, parser: 'auto' });
  assert.equal(native, js, `${what}: the native reader differs from the reference`);
  return js;
}

const big = (n: number, row: (k: number) => string): string => Array.from({ length: n }, (_, k) => row(k)).join('\n');

// [name, text, options]
const FIXTURES: Array<[string, string | Buffer, ReadOptions?]> = [
  ['basic.csv', 'user,item,rating,timestamp\nu1,i1,5,100\nu1,i2,3.5,101\nu2,i1,1,102\n'],
  ['noheader.csv', 'u1,i1,5\nu2,i2,4\n'],
  ['crlf.csv', 'user,item,rating\r\nu1,i1,5\r\nu2,i2,4\r\n'],
  ['bom.csv', '\ufeffuser,item,rating\nu1,i1,5\n'],
  ['blank.csv', 'user,item,rating\n\n  \nu1,i1,5\n\t\r\n\u00a0\nu2,i2,4\n\n'],
  ['ws-ids.csv', 'user,item,rating\n u1 ,i1,5\nu1,i1 ,4\n'],
  ['quoted.csv', 'user,item,rating\n"u,1","i""1",5\n"u2","multi\nline",4\n"u3","a"b,3\n'],
  ['quoted-crlf.csv', 'user,item,rating\r\n"u1","two\r\nlines",5\r\n"u2",i2,4\r\n'],
  ['quoted-empty-lines.csv', 'user,item,rating\n"u1","a\n\n\nb",5\n'],
  ['unclosed.csv', 'user,item,rating\nu1,i1,5\nu2,"open,4\nu3,i3,3\n'],
  ['unclosed-skip.csv', 'user,item,rating\nu1,i1,5\nu2,"open,4\n', { skipInvalid: true }],
  ['huge-ids.csv', 'user,item,rating\n123456789012345678901234567890,9007199254740993,5\n9007199254740992,9007199254740993,4\n'],
  ['unicode.csv', 'user,item,rating\nü,日本,5\n🎬,é,4\n'],
  ['numbers.csv', 'user,item,rating,timestamp\nu1,i1,1.,1e3\nu2,i2,.5,0\nu3,i3, 4 ,\u00a07\u3000\nu4,i4,-0,-0\nu5,i5,3.4028234663852886e38,9007199254740991\n'],
  ['bad-rating.csv', 'user,item,rating\nu1,i1,5\nu2,i2,abc\n'],
  ['hex-rating.csv', 'user,item,rating\nu1,i1,0x10\n'],
  ['inf-rating.csv', 'user,item,rating\nu1,i1,Infinity\n'],
  ['empty-rating.csv', 'user,item,rating\nu1,i1,\n'],
  ['f32-rating.csv', 'user,item,rating\nu1,i1,4e38\n'],
  ['big-ts.csv', 'user,item,rating,timestamp\nu1,i1,1,9007199254740993\n'],
  ['empty-user.csv', 'user,item,rating\n,i1,5\n'],
  ['blank-item.csv', 'user,item,rating\nu1,\u3000,5\n'],
  ['missing-field.csv', 'user,item,rating\nu1,i1\n'],
  ['extra.csv', 'user,item,rating\nu1,i1,5,x\n'],
  ['extra-ignore.csv', 'user,item,rating\nu1,i1,5,x\nu2,i2,4\n', { extraColumns: 'ignore' }],
  ['skip.csv', 'user,item,rating\nu1,i1,5\nu2,i2,abc\nu3,,4\nu4,i4,4,9\nu5,i5,1\n', { skipInvalid: true }],
  ['all-invalid.csv', 'user,item,rating\nu2,i2,abc\n', { skipInvalid: true }],
  ['limit.csv', 'user,item,rating\nu1,i1,5\nu2,i2,4\nu3,i3,bad\n', { limit: 2 }],
  ['limit1.csv', 'u1,i1,5\nu2,i2,4\n', { limit: 1 }],
  ['tsv.tsv', 'user\titem\trating\nu1\ti1\t5\n'],
  ['ml.dat', '1::10::5::978300760\n1::11::4::978300761\n1:::3::4::1\n'],
  ['semicolon.txt', 'user;item;rating\nu1;i1;5\n'],
  ['pipe.txt', 'u1|i1|5\nu2|i2|3\n'],
  ['implicit.csv', 'user,item\nu1,i1\nu1,i2\nu1,i1\n', { implicit: true }],
  ['implicit-positions.csv', 'a,b,c\nx,u1,i1\n', { implicit: true, header: true, user: 1, item: 2 }],
  ['named-columns.csv', 'when,who,what,score\n1,u1,i1,5\n', { user: 'who', item: 'what', rating: 'score', timestamp: 'when' }],
  ['no-quotes.csv', 'user,item,rating\n"u1,i1,5\n', { quotes: false, extraColumns: 'ignore' }],
  ['dup-sum.csv', 'user,item,rating,timestamp\nu1,i1,1,5\nu1,i1,2,3\nu2,i1,1,1\n', { duplicates: 'sum' }],
  ['dup-max.csv', 'user,item,rating\nu1,i1,1\nu1,i1,2\nu1,i1,2\n', { duplicates: 'max' }],
  ['dup-error.csv', 'user,item,rating\nu1,i1,1\nu2,i1,2\nu1,i1,2\n', { duplicates: 'error' }],
  ['latin1.csv', Buffer.from('user,item,rating\ncaf\xe9,i1,5\ncaf\xe8,i1,4\n', 'latin1'), { encoding: 'latin1' }],
  ['latin1-as-utf8.csv', Buffer.from('user,item,rating\nu1,i1,5\ncaf\xe9,i1,5\n', 'latin1')],
  ['auto-latin1.csv', Buffer.from('user,item,rating\nu1,i1,5\ncaf\xe9,i1,5\n\xa0\n', 'latin1'), { encoding: 'auto' }],
  ['auto-utf8.csv', Buffer.concat([Buffer.from('user,item,rating\nu1,i1,5\ncafé,i1,5\n'), Buffer.from('caf\xe9,i2,4\n', 'latin1')]), { encoding: 'auto' }],
  ['auto-header.csv', Buffer.from('usér,item,rating\ncaf\xe9,i1,5\n', 'latin1'), { encoding: 'auto' }],
  ['overlong.csv', Buffer.from([...Buffer.from('user,item,rating\nu1,i'), 0xc0, 0xaf, ...Buffer.from(',5\n')])],
  ['surrogate.csv', Buffer.from([...Buffer.from('user,item,rating\nu1,i'), 0xed, 0xa0, 0x80, ...Buffer.from(',5\n')])],
  ['no-final-newline.csv', 'user,item,rating\nu1,i1,5\nu2,i2,4\r'],
  ['header-only.csv', 'user,item,rating\n'],
  ['one-line-no-lf.csv', 'u1,i1,5'],
  ['controls.csv', 'user,item,rating\n\x01\nu1,i1,5\n'],
  ['nul-ids.csv', 'user,item,rating\nu\0,i\0,5\n'],
  ['quote-too-long.csv', `user,item,rating\nu1,"${'x'.repeat(1 << 20)}\nmore",5\n`],
  ['quote-at-limit.csv', `user,item,rating\nu1,"${'é'.repeat((1 << 19) - 4)}\nx",5\n`],
];

if (why !== null) {
  skip(test, 'data.fastReader: the native reader against the reference', why);
} else {
  test('fixtures: the native reader and the reference give the same result or the same error', async () => {
    for (const [name, text, o] of FIXTURES) await same(file(name, text), o ?? {}, name);
    // and the fast path is the one taken ('auto'), the reference when asked
    const f = file('which.csv', 'user,item,rating\nu1,i1,5\nu2,i2,4\n');
    assert.is((await readInteractions(f)).stats.parser, 'native');
    assert.is((await readInteractions(f, { parser: 'js' })).stats.parser, 'js');
  });

  test('fixtures gzipped: the same again', async () => {
    for (const [name, text, o] of FIXTURES) {
      const bytes = typeof text === 'string' ? Buffer.from(text) : text;
      await same(file(`${name}.gz`, gzipSync(bytes)), o ?? {}, `${name}.gz`);
    }
  });

  test('a file larger than the read chunks: records, quoted line breaks and multi-byte characters across chunk boundaries', async () => {
    // ~3 MiB: several 1 MiB stream chunks; a quoted multi-line record every 997 rows, ids with 2-, 3- and 4-byte characters
    const text = 'user,item,rating,timestamp\n' + big(120_000, (k) => k % 997 === 0
      ? `"u${k}","line one\r\nline ""two""",${(k % 5) + 1},${k}`
      : `u${k % 3001}é,i${k % 701}日${k % 3 === 0 ? '🎬' : ''},${(k % 9) / 2},${1e9 + k}`) + '\n';
    const ok = await same(file('chunks.csv', text), {}, 'chunks.csv');
    assert.ok(ok.ok);
    await same(file('chunks.csv.gz', gzipSync(Buffer.from(text))), {}, 'chunks.csv.gz');
    // an error late in the file: the same line and message
    await same(file('late-error.csv', text + 'u1,i1,oops,1\n'), {}, 'late-error.csv');
    await same(file('late-utf8.csv', Buffer.concat([Buffer.from(text), Buffer.from('u\xff,i1,1,1\n', 'latin1')])), {}, 'late-utf8.csv');
    await same(file('late-limit.csv', text), { limit: 100_001 }, 'late-limit.csv');
  });

  test("parser: 'native' says why when it cannot read the input", async () => {
    const f = file('x.jsonl', '{"user":"u1","item":"i1","rating":5}\n');
    await rejects(() => readInteractions(f, { parser: 'native' }), /reads delimited text only/);
    const g = file('y.txt', 'u1¦i1¦5\n');
    await rejects(() => readInteractions(g, { parser: 'native', delimiter: '¦' }), /not printable ASCII/);
    assert.equal((await readInteractions(g, { delimiter: '¦' })).users.ids(), ['u1']); // 'auto' reads it with the reference
  });

  test('random near-CSV bytes: the native reader and the reference agree (fast-check)', async () => {
    const TOKENS = [',', ',', ',', '\t', '::', ';', '\n', '\n', '\r\n', '\r', '"', '""', 'user', 'item', 'rating', 'timestamp', 'u1', 'u2', 'i2', 'i3',
      '3', '4.5', '-', '.', 'e', '1e3', '0x1', '1e39', ' ', '\u00a0', '\u3000', '\xe9', 'é', '日', '🎬', '\ufeff', '\0', '9007199254740993'];
    const seed = Number(process.env.FC_SEED ?? 20251203);
    const options = fc.record({
      encoding: fc.constantFrom<ReadOptions['encoding']>('utf8', 'latin1', 'auto'),
      skipInvalid: fc.boolean(),
      extraColumns: fc.constantFrom<ReadOptions['extraColumns']>('error', 'ignore'),
      implicit: fc.boolean(),
      limit: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
      quotes: fc.boolean(),
    });
    const bytes = fc.tuple(fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }), fc.constantFrom<BufferEncoding>('utf8', 'latin1'))
      .map(([t, enc]) => Buffer.from('user,item,rating\n' + t.join(''), enc));
    await fc.assert(fc.asyncProperty(bytes, options, fc.constantFrom('.csv', '.txt'), async (b, o, ext) => {
      await same(file(`fuzz${ext}`, b), o);
    }), { seed, numRuns: Number(process.env.FC_RUNS ?? 300) });
  });
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
