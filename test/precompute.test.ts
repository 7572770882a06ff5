import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { affinity, runAndKill } from './helpers/cli.js';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { readInteractions } from '../src/data/readers.js';
import { splitRecord } from '../src/data/csvLine.js';
import { writeSyntheticCsv } from '../src/data/synthetic.js';
import type { Interactions } from '../src/data/interactions.js';
import type { Model, Prediction, RecommendOptions, Recommendations } from '../src/models/types.js';
import { closeEngine, getEngine } from '../src/engine/processEngine.js';
import { denseFrom } from '../src/data/matrix.js';
import { precompute, precomputeToFile, parseShard, type UserBlock, type SimilarBlock } from '../src/pipeline/precompute.js';
import { similarItemsPath, formatFromPath } from '../src/pipeline/writers.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-precompute-'));

function dir(name: string): string {
  const d = path.join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/**
 * Six users with nested histories over six items whose popularity is 6, 5, 4, 3, 2, 1, so
 * popularity recommendations are known exactly. Ids look numeric ('007', '0042', '1e3') or
 * need CSV quoting ('a,b', 'x"y').
 */
const ITEMS = ['007', '1e3', 'a,b', 'x"y', '42', '01'];
const USERS = ['u1', '0042', 'u3', 'u4', 'u5', '10'];
function fixtureCsv(): string {
  const q = (s: string): string => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  let text = 'user,item,rating\n';
  USERS.forEach((u, ui) => {
    for (let i = 0; i < ITEMS.length - ui; i++) text += `${q(u)},${q(ITEMS[i])},1\n`;
  });
  return text;
}
/** Top-3 unseen items by popularity for each fixture user (user index ui has seen items 0 .. 5-ui). */
const EXPECTED_TOP3: Record<string, string[]> = {
  u1: [], '0042': ['01'], u3: ['42', '01'], u4: ['x"y', '42', '01'], u5: ['a,b', 'x"y', '42'], '10': ['1e3', 'a,b', 'x"y'],
};
const POPULARITY: Record<string, number> = { '007': 6, '1e3': 5, 'a,b': 4, 'x"y': 3, '42': 2, '01': 1 };

function writeFixture(d: string): string {
  const f = path.join(d, 'ratings.csv');
  writeFileSync(f, fixtureCsv());
  return f;
}

interface JsonlLine { user?: string; item?: string; items: string[]; scores: number[] }
function readJsonl(file: string): JsonlLine[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as JsonlLine);
}
function readCsvRows(file: string): string[][] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => splitRecord(l, ',')!);
}
async function readParquet(file: string): Promise<{ rows: Record<string, unknown>[]; schema: Array<{ name: string; type?: string; converted_type?: string }> }> {
  const buf = readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({ file: ab })) as Record<string, unknown>[];
  const schema = parquetMetadata(ab).schema as Array<{ name: string; type?: string; converted_type?: string }>;
  return { rows, schema };
}

/**
 * A small item-item co-occurrence model for library tests: score(u, i) = Σ_{j seen by u} C[i][j],
 * similarItems(i) = C[i][·]; ties go to the lower item index. Counts its fits.
 */
class Cooccurrence implements Model {
  readonly name = 'cooccurrence';
  readonly predictsRatings = false;
  fits = 0;
  private c: Float64Array = new Float64Array(0);
  private n = 0;
  private seen: Set<number>[] = [];
  get isFitted(): boolean { return this.fits > 0; }
  async fit(x: Interactions): Promise<void> {
    this.fits++;
    this.n = x.items.size;
    this.seen = Array.from({ length: x.users.size }, () => new Set<number>());
    for (let p = 0; p < x.user.length; p++) this.seen[x.user[p]].add(x.item[p]);
    this.c = new Float64Array(this.n * this.n);
    for (const s of this.seen) for (const a of s) for (const b of s) if (a !== b) this.c[a * this.n + b]++;
  }
  predict(): Prediction { return { estimate: 0, impossible: true }; }
  private top(score: (i: number) => number, skip: (i: number) => boolean, k: number): Recommendations {
    const cand: number[] = [];
    for (let i = 0; i < this.n; i++) if (!skip(i) && score(i) > 0) cand.push(i);
    cand.sort((a, b) => score(b) - score(a) || a - b);
    const ids = Int32Array.from(cand.slice(0, k));
    return { ids, scores: Float32Array.from(ids, score) };
  }
  recommend(u: number, k: number, opts: RecommendOptions = {}): Recommendations {
    const s = this.seen[u];
    const score = (i: number): number => { let t = 0; for (const j of s) t += this.c[i * this.n + j]; return t; };
    return this.top(score, (i) => (opts.filterSeen ?? true) && s.has(i), k);
  }
  similarItems(item: number, k: number): Recommendations {
    return this.top((i) => this.c[item * this.n + i], (i) => i === item, k);
  }
}

/** The expected blocks of a model: for each user in index order, its recommendations as external ids. */
function expectedLines(m: Model, x: Interactions, k: number): JsonlLine[] {
  const out: JsonlLine[] = [];
  for (let u = 0; u < x.users.size; u++) {
    const r = m.recommend(u, k, { filterSeen: true });
    out.push({ user: String(x.users.external(u)), items: Array.from(r.ids, (i) => String(x.items.external(i))), scores: Array.from(r.scores) });
  }
  return out;
}

let synthetic: string;
test.before(async () => {
  synthetic = path.join(tmp, 'synthetic.csv');
  await writeSyntheticCsv({ users: 300, items: 80, interactions: 4000, explicit: true, seed: 7, out: synthetic });
});
test.after(async () => {
  await closeEngine();
  rmSync(tmp, { recursive: true, force: true });
});

test('helpers: similar-items path, format from extension, shard parsing', () => {
  assert.is(similarItemsPath('out/recs.jsonl'), 'out/recs.similar.jsonl');
  assert.is(similarItemsPath('out/recs.csv'), 'out/recs.similar.csv');
  assert.is(similarItemsPath('out/recs'), 'out/recs.similar');
  assert.is(formatFromPath('a.parquet'), 'parquet');
  assert.is(formatFromPath('a.CSV'), 'csv');
  assert.is(formatFromPath('a.txt'), undefined);
  assert.equal(parseShard('2/4'), { index: 2, count: 4 });
  assert.throws(() => parseShard('4/4'), /\[0, 4\)/);
  assert.throws(() => parseShard('1-4'), /i\/N/);
});

test('CLI jsonl: one line per user, ids as strings exactly as in the input, seen items filtered, k honoured', () => {
  const d = dir('jsonl');
  const input = writeFixture(d);
  const out = path.join(d, 'recs.jsonl');
  const r = affinity('precompute', '--input', input, '--model', 'popularity', '--k', '3', '--out', out, '--json');
  assert.is(r.code, 0, r.stderr);
  const lines = readJsonl(out);
  assert.equal(lines.map((l) => l.user), USERS, 'every user, in input order, ids as strings');
  for (const l of lines) {
    assert.type(l.user, 'string');
    assert.equal(l.items, EXPECTED_TOP3[l.user!], `user ${l.user}`);
    assert.equal(l.scores, l.items.map((i) => POPULARITY[i]), `scores of ${l.user}`);
    for (const it of l.items) assert.type(it, 'string');
  }
  const s = JSON.parse(r.stdout);
  assert.is(s.users, 6);
  assert.is(s.items, 6);
  assert.is(s.interactions, 21);
  assert.is(s.recommendations, 12);
  for (const key of ['read', 'fit', 'score', 'write']) assert.type(s.timings[key], 'number');
  assert.ok(s.peakRssMiB > 0);
  assert.is(s.out, out);
  assert.equal(readdirSync(d).sort(), ['ratings.csv', 'recs.jsonl'], 'no temporary or checkpoint files left');
});

test('CLI csv and parquet hold the same rows as jsonl; parquet has the documented schema', async () => {
  const d = dir('formats');
  const input = writeFixture(d);
  for (const f of ['jsonl', 'csv', 'parquet']) {
    const r = affinity('precompute', '--input', input, '--model', 'popularity', '--k', '3', '--out', path.join(d, `recs.${f}`), '--quiet');
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr, '', '--quiet writes nothing on stderr');
  }
  const want: string[][] = [];
  for (const l of readJsonl(path.join(d, 'recs.jsonl'))) l.items.forEach((it, j) => want.push([l.user!, String(j + 1), it, String(l.scores[j])]));
  const csv = readCsvRows(path.join(d, 'recs.csv'));
  assert.equal(csv[0], ['user', 'rank', 'item', 'score']);
  assert.equal(csv.slice(1), want);
  assert.ok(readFileSync(path.join(d, 'recs.csv'), 'utf8').includes('u5,1,"a,b",4\n'), 'CSV quotes ids with commas');
  const pq = await readParquet(path.join(d, 'recs.parquet'));
  assert.equal(pq.rows.map((x) => [x.user, String(x.rank), x.item, String(x.score)]), want);
  const byName = Object.fromEntries(pq.schema.map((e) => [e.name, e]));
  assert.is(byName.user.type, 'BYTE_ARRAY'); assert.is(byName.user.converted_type, 'UTF8');
  assert.is(byName.item.type, 'BYTE_ARRAY'); assert.is(byName.item.converted_type, 'UTF8');
  assert.is(byName.rank.type, 'INT32');
  assert.is(byName.score.type, 'FLOAT');
  for (const x of pq.rows) assert.type(x.user, 'string');
});

test('same input and params give the same bytes (jsonl, csv, parquet)', () => {
  const d = dir('determinism');
  for (const f of ['jsonl', 'csv', 'parquet']) {
    const a = path.join(d, `a.${f}`), b = path.join(d, `b.${f}`);
    for (const out of [a, b]) {
      const r = affinity('precompute', '--input', synthetic, '--model', 'item-knn', '--k', '5', '--block-size', '37', '--out', out, '--quiet');
      assert.is(r.code, 0, r.stderr);
    }
    assert.ok(readFileSync(a).equals(readFileSync(b)), `${f} output differs between identical runs`);
  }
});

test('CLI similar items go to OUT with .similar before the extension, keyed by item', () => {
  const d = dir('similar');
  const out = path.join(d, 'recs.jsonl');
  const r = affinity('precompute', '--input', synthetic, '--model', 'item-knn', '--k', '5', '--similar-items', '4', '--out', out, '--json');
  assert.is(r.code, 0, r.stderr);
  const sim = readJsonl(path.join(d, 'recs.similar.jsonl'));
  const s = JSON.parse(r.stdout);
  assert.is(sim.length, s.items, 'one line per item');
  assert.is(s.similarOut, path.join(d, 'recs.similar.jsonl'));
  let pairs = 0;
  for (const l of sim) {
    assert.type(l.item, 'string');
    assert.ok(l.items.length <= 4);
    assert.not.ok(l.items.includes(l.item!), `item ${l.item} is not its own neighbour`);
    for (let j = 1; j < l.scores.length; j++) assert.ok(l.scores[j] <= l.scores[j - 1], 'best first');
    pairs += l.items.length;
  }
  assert.ok(pairs > 0);
  assert.is(s.similarItems, pairs);
  assert.equal(readdirSync(d).sort(), ['recs.jsonl', 'recs.similar.jsonl']);
});

test('shards 0..3 together are the unsharded output (jsonl and csv lines)', () => {
  const d = dir('shards');
  for (const f of ['jsonl', 'csv']) {
    const full = path.join(d, `full.${f}`);
    assert.is(affinity('precompute', '--input', synthetic, '--model', 'item-knn', '--k', '5', '--similar-items', '3', '--block-size', '16', '--out', full, '--quiet').code, 0);
    for (const kind of ['', '.similar']) {
      const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0 && !/^(user|item),rank,/.test(l));
      const all = lines(full.replace(`.${f}`, `${kind}.${f}`));
      const union: string[] = [];
      for (let i = 0; i < 4; i++) {
        const out = path.join(d, `shard${i}.${f}`);
        const r = affinity('precompute', '--input', synthetic, '--model', 'item-knn', '--k', '5', '--similar-items', '3', '--block-size', '16', '--shard', `${i}/4`, '--out', out, '--quiet');
        assert.is(r.code, 0, r.stderr);
        const part = lines(out.replace(`.${f}`, `${kind}.${f}`));
        assert.ok(part.length > 0 && part.length < all.length, `shard ${i} is a proper part`);
        union.push(...part);
      }
      assert.is(union.length, all.length, `${f}${kind}: shards are disjoint and complete`);
      assert.equal([...union].sort(), [...all].sort(), `${f}${kind}: union of shards = unsharded`);
    }
  }
});

test('library precompute(): blocks from a model already in memory, no refit', async () => {
  const x = await readInteractions(synthetic);
  const model = new Cooccurrence();
  await model.fit(x);
  const run = precompute({ input: x, model, k: 4, blockSize: 64, similarItems: 3 });
  const got: UserBlock[] = [];
  for await (const b of run.blocks) got.push(b);
  const sims: SimilarBlock[] = [];
  for await (const b of run.similarBlocks!) sims.push(b);
  const summary = await run.summary;
  assert.is(model.fits, 1, 'a fitted model is not refitted');
  assert.is(got.length, Math.ceil(x.users.size / 64));
  assert.ok(got.slice(0, -1).every((b) => b.users.length === 64));
  const flat: JsonlLine[] = got.flatMap((b) => b.users.map((u, r) => ({ user: u, items: b.items[r], scores: b.scores[r] })));
  const want = expectedLines(model, x, 4);
  assert.equal(flat.map((l) => l.user), want.map((l) => l.user));
  assert.equal(flat.map((l) => l.items), want.map((l) => l.items));
  assert.equal(flat.map((l) => l.scores), want.map((l) => l.scores));
  // seen items are filtered and k is honoured
  const seen = new Map<string, Set<string>>();
  for (let p = 0; p < x.user.length; p++) {
    const u = String(x.users.external(x.user[p]));
    if (!seen.has(u)) seen.set(u, new Set());
    seen.get(u)!.add(String(x.items.external(x.item[p])));
  }
  for (const l of flat) {
    assert.ok(l.items.length <= 4);
    for (const it of l.items) assert.not.ok(seen.get(l.user!)!.has(it), `user ${l.user} saw ${it}`);
  }
  const simFlat = sims.flatMap((b) => b.items.map((it, r) => ({ item: it, similar: b.similar[r] })));
  assert.is(simFlat.length, x.items.size);
  const first = model.similarItems(0, 3);
  assert.equal(simFlat[0].similar, Array.from(first.ids, (i) => String(x.items.external(i))));
  assert.is(summary.users, x.users.size);
  assert.is(summary.recommendations, flat.reduce((a, l) => a + l.items.length, 0));
  assert.is(summary.similarItems, simFlat.reduce((a, l) => a + l.similar.length, 0));
  assert.is(summary.timings.fit, 0, 'no fit time for a fitted model');

  assert.equal(summary.backends, {}, 'this model runs no engine kernels');

  // kernels the model runs through the engine are reported per kernel
  class EngineModel extends Cooccurrence {
    override async fit(data: Interactions): Promise<void> {
      await super.fit(data);
      const m = denseFrom(2, 2, [1, 0, 0, 1]);
      await getEngine().run('denseScoreTopK', { queries: m, keys: m, k: 1, metric: 'dot' }, { backend: 'js' });
    }
  }
  const withEngine = precompute({ input: x, model: new EngineModel(), k: 1 });
  for await (const _ of withEngine.blocks) { /* drain */ }
  assert.equal((await withEngine.summary).backends, { denseScoreTopK: 'js' });

  // an unfitted instance is fitted once
  const fresh = new Cooccurrence();
  const run2 = precompute({ input: x, model: fresh, k: 2 });
  let n = 0;
  for await (const b of run2.blocks) n += b.users.length;
  assert.is(n, x.users.size);
  assert.is(fresh.fits, 1);
  assert.is((await run2.summary).users, x.users.size);
});

test('library precomputeToFile(): atomic output, similar items file matches the model, ids preserved', async () => {
  const d = dir('library');
  const x = await readInteractions(writeFixture(d));
  const model = new Cooccurrence();
  await model.fit(x);
  const out = path.join(d, 'recs.jsonl');
  let events = 0;
  const s = await precomputeToFile({
    input: x, model, k: 2, similarItems: 2, out, blockSize: 2,
    onBlock: () => {
      // atomic output: while blocks are being written nothing is at the final paths
      events++;
      assert.not.ok(existsSync(out) || existsSync(path.join(d, 'recs.similar.jsonl')), 'no final file before the end');
      assert.ok(existsSync(`${out}.partial`) && existsSync(`${out}.checkpoint`));
    },
  });
  assert.is(events, 3 + 3, 'one event per block: 6 users and 6 items in blocks of 2');
  assert.equal(readJsonl(out), expectedLines(model, x, 2));
  const sim = readJsonl(path.join(d, 'recs.similar.jsonl'));
  assert.equal(sim.map((l) => l.item), ITEMS);
  sim.forEach((l, i) => {
    const r = model.similarItems(i, 2);
    assert.equal(l.items, Array.from(r.ids, (j) => ITEMS[j]));
    assert.equal(l.scores, Array.from(r.scores));
  });
  assert.is(s.format, 'jsonl');
  assert.is(model.fits, 1);
  assert.equal(readdirSync(d).sort(), ['ratings.csv', 'recs.jsonl', 'recs.similar.jsonl']);
});

test('bad input: non-zero exit, message names file:line, no output, no temporary file', () => {
  const d = dir('bad');
  const input = path.join(d, 'bad.csv');
  writeFileSync(input, 'user,item,rating\nu1,i1,5\nu2,i2,4\nu3,i3,abc\nu4,i4,3\n');
  const out = path.join(d, 'recs.jsonl');
  const r = affinity('precompute', '--input', input, '--model', 'popularity', '--k', '3', '--out', out);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /^affinity: .*bad\.csv:4: .*'abc'/);
  assert.is(r.stderr.trim().split('\n').length, 1, 'one line');
  assert.equal(readdirSync(d), ['bad.csv'], 'no output, temporary or checkpoint file');
  // an existing file at OUT is left as it was
  writeFileSync(out, 'previous\n');
  assert.is.not(affinity('precompute', '--input', input, '--model', 'popularity', '--k', '3', '--out', out).code, 0);
  assert.is(readFileSync(out, 'utf8'), 'previous\n');
  assert.equal(readdirSync(d).sort(), ['bad.csv', 'recs.jsonl']);
});

test('bad arguments: unknown model, bad shard, bad format, missing input', () => {
  const d = dir('badargs');
  const input = writeFixture(d);
  const cases: Array<[string[], RegExp]> = [
    [['--model', 'nope', '--out', path.join(d, 'a.jsonl')], /unknown model 'nope'/],
    [['--model', 'popularity', '--shard', '4/4', '--out', path.join(d, 'a.jsonl')], /shard/],
    [['--model', 'popularity', '--format', 'xml', '--out', path.join(d, 'a.jsonl')], /--format/],
    // each shard fits its own model: a Hogwild (non-reproducible) fit would give each shard another one
    [['--model', 'bpr', '--params', 'deterministic=false,iterations=2', '--shard', '0/2', '--out', path.join(d, 'a.jsonl')], /training must be reproducible/],
    // whatever the backend: wasm runs those epochs as Hogwild over its pool workers too
    [['--model', 'svd', '--params', 'deterministic=false,n_epochs=2', '--backend', 'wasm', '--shard', '1/2', '--out', path.join(d, 'a.jsonl')], /training must be reproducible/],
  ];
  for (const [args, re] of cases) {
    const r = affinity('precompute', '--input', input, '--k', '3', ...args);
    assert.is.not(r.code, 0, args.join(' '));
    assert.match(r.stderr, re);
  }
  const r = affinity('precompute', '--input', path.join(d, 'missing.csv'), '--model', 'popularity', '--out', path.join(d, 'a.jsonl'));
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /missing\.csv/);
  assert.equal(readdirSync(d), ['ratings.csv']);
});

interface CheckpointState { phase: string; recommendations: { blocks: number }; similar?: { blocks: number } }

/** Starts the CLI, SIGKILLs it once the checkpoint shows `minBlocks` blocks done (or `when` holds); returns whether it was killed mid-run. */
function runAndKillAt(args: string[], checkpoint: string, minBlocks: number | ((cp: CheckpointState) => boolean)): Promise<{ killed: boolean; stderr: string }> {
  const when = typeof minBlocks === 'number' ? (cp: CheckpointState) => cp.recommendations.blocks >= minBlocks : minBlocks;
  return runAndKill(args, () => existsSync(checkpoint) && when(JSON.parse(readFileSync(checkpoint, 'utf8')) as CheckpointState));
}

test('resume after SIGKILL gives the same bytes as an uninterrupted run (jsonl, csv, parquet); no final file before the end', async () => {
  const d = dir('resume');
  const input = path.join(d, 'big.csv');
  await writeSyntheticCsv({ users: 5000, items: 1000, interactions: 50000, explicit: false, seed: 3, out: input });
  for (const f of ['jsonl', 'csv', 'parquet']) {
    const ref = path.join(d, `ref.${f}`);
    const base = ['precompute', '--input', input, '--model', 'popularity', '--k', '10', '--block-size', '2', '--quiet'];
    const r0 = affinity(...base, '--out', ref);
    assert.is(r0.code, 0, r0.stderr);

    const out = path.join(d, `recs.${f}`);
    const cp = `${out}.checkpoint`;
    const run = await runAndKillAt([...base, '--out', out], cp, 5);
    assert.ok(run.killed, `the run was killed before it finished (${run.stderr})`);
    assert.not.ok(existsSync(out), 'no file at the final path after a kill');
    assert.ok(existsSync(`${out}.partial`), 'the partial output is kept');
    const state = JSON.parse(readFileSync(cp, 'utf8'));
    assert.ok(state.recommendations.blocks >= 5 && state.recommendations.blocks < 2500);
    // bytes past the checkpoint (a block cut short by the kill) are dropped on resume: append
    // more garbage than the whole output, so leftovers would show even after overwriting
    appendFileSync(`${out}.partial`, Buffer.alloc(readFileSync(ref).length + 1, 0x78));
    if (f === 'parquet') {
      assert.ok(existsSync(`${out}.partial.rowgroups`), 'parquet keeps its row-group metadata beside the partial file');
      appendFileSync(`${out}.partial.rowgroups`, 'a row group the checkpoint does not know\n');
    }

    const r1 = affinity(...base.filter((a) => a !== '--quiet'), '--out', out, '--resume', '--json');
    assert.is(r1.code, 0, r1.stderr);
    const s = JSON.parse(r1.stdout);
    assert.is(s.resumedFromBlock.phase, 'recommendations');
    assert.is(s.resumedFromBlock.block, state.recommendations.blocks);
    assert.is(s.users, 5000);
    assert.ok(readFileSync(out).equals(readFileSync(ref)), `${f}: resumed output is byte-identical to the uninterrupted one`);
    assert.not.ok(existsSync(cp), 'checkpoint removed at the end');
    assert.not.ok(existsSync(`${out}.partial`), 'partial file renamed at the end');
    if (f === 'parquet') {
      assert.not.ok(existsSync(`${out}.partial.rowgroups`), 'row-group sidecar removed at the end');
      const pq = await readParquet(out);
      assert.is(pq.rows.length, s.recommendations, 'the resumed parquet file reads back whole');
    }
  }
});

test('resume in the similar-items phase gives the same bytes for both files', async () => {
  const d = dir('resume-similar');
  const input = path.join(d, 'big.csv');
  await writeSyntheticCsv({ users: 3000, items: 1200, interactions: 40000, explicit: false, seed: 5, out: input });
  const base = ['precompute', '--input', input, '--model', 'item-knn', '--k', '5', '--similar-items', '5', '--block-size', '2', '--quiet'];
  const ref = path.join(d, 'ref.jsonl');
  assert.is(affinity(...base, '--out', ref).code, 0);
  const out = path.join(d, 'recs.jsonl');
  const run = await runAndKillAt([...base, '--out', out], `${out}.checkpoint`, (cp) => cp.phase === 'similar' && (cp.similar?.blocks ?? 0) >= 3);
  assert.ok(run.killed, `killed in the similar phase (${run.stderr})`);
  assert.not.ok(existsSync(out) || existsSync(path.join(d, 'recs.similar.jsonl')), 'no final files after the kill');
  const r = affinity(...base, '--out', out, '--resume', '--json');
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).resumedFromBlock.phase, 'similar');
  assert.ok(readFileSync(out).equals(readFileSync(ref)), 'recommendations identical');
  assert.ok(readFileSync(path.join(d, 'recs.similar.jsonl')).equals(readFileSync(path.join(d, 'ref.similar.jsonl'))), 'similar items identical');
  assert.equal(readdirSync(d).sort(), ['big.csv', 'recs.jsonl', 'recs.similar.jsonl', 'ref.jsonl', 'ref.similar.jsonl']);
});

test('resume refuses a checkpoint written for other parameters; a run without --resume starts over', async () => {
  const d = dir('resume-mismatch');
  const input = path.join(d, 'big.csv');
  await writeSyntheticCsv({ users: 5000, items: 1000, interactions: 50000, explicit: false, seed: 4, out: input });
  const out = path.join(d, 'recs.jsonl');
  const base = ['precompute', '--input', input, '--model', 'popularity', '--block-size', '2', '--quiet', '--out', out];
  const run = await runAndKillAt([...base, '--k', '10'], `${out}.checkpoint`, 3);
  assert.ok(run.killed);
  const r = affinity(...base, '--k', '11', '--resume');
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /checkpoint .* other inputs or parameters/);
  assert.ok(existsSync(`${out}.checkpoint`), 'a refused resume keeps the checkpoint');
  const r2 = affinity(...base, '--k', '11');
  assert.is(r2.code, 0, r2.stderr);
  assert.equal(readdirSync(d).sort(), ['big.csv', 'recs.jsonl']);
  const lines = readJsonl(out);
  assert.is(lines.length, 5000);
  assert.ok(lines.every((l) => l.items.length <= 11));
  assert.ok(lines.some((l) => l.items.length === 11));
});

test('--model-file: a saved factorization model is loaded, not refitted', async () => {
  const d = dir('model-file');
  const { ALS } = await import('../src/models/factorization/index.js');
  const x = await readInteractions(synthetic, { implicit: false });
  const model = new ALS({ factors: 8, iterations: 3, seed: 1 });
  await model.fit(x);
  const file = path.join(d, 'als.affm');
  model.save(file);
  const out = path.join(d, 'recs.jsonl');
  const r = affinity('precompute', '--model-file', file, '--k', '5', '--out', out, '--json', '--backend', 'js');
  assert.is(r.code, 0, r.stderr);
  const got = readJsonl(out).map((l) => ({ ...l, scores: l.scores.map((v) => Math.fround(v)) }));
  assert.equal(got, expectedLines(model, x, 5));
  const s = JSON.parse(r.stdout);
  assert.is(s.model, 'als');
  assert.is(s.interactions, null);
  const wrong = affinity('precompute', '--model-file', file, '--model', 'bpr', '--k', '5', '--out', path.join(d, 'b.jsonl'));
  assert.is.not(wrong.code, 0);
  assert.match(wrong.stderr, /holds a 'als' model, not 'bpr'/);
});

test.run();
