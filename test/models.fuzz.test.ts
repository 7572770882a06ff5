// Property-based tests of the model-file loader (fast-check; fixed seed, FC_SEED=<n> tries
// another): the model files a precompute or a library user loads are input too (issue 17 item 14).
// Invariants: a damaged or edited file either loads into a model whose scores are finite, or is
// refused with an Error that names the file ("affinity: cannot load model 'PATH': …") — never a
// TypeError, a RangeError from a typed array or DataView, a hang, or NaN scores.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fromTriplets } from '../src/data/interactions.js';
import { ALS, BPR, SVD, SVDpp, loadFactorizationModel, type FactorizationModel } from '../src/models/factorization/index.js';
import { readModelFile, writeModelFile, type ModelArray, type ModelFileHeader } from '../src/models/factorization/format.js';
import { closeEngine } from '../src/engine/processEngine.js';

const seed = Number(process.env.FC_SEED ?? 20261207);
const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-model-fuzz-'));
let files = 0;
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function ratings(): ReturnType<typeof fromTriplets> {
  const rows: Array<[string, string, number]> = [];
  for (let u = 0; u < 25; u++) for (let i = 0; i < 18; i++) if ((u * 5 + i * 3) % 4 === 0) rows.push([`u${u}`, `i${i}`, 1 + ((u + i) % 5)]);
  return fromTriplets(rows);
}

/** Load `bytes` as a model file: the model, or the Error it was refused with (anything else thrown fails the property). */
function load(bytes: Uint8Array): { model: FactorizationModel; file: string } | { error: Error; file: string } {
  const file = path.join(tmp, `m${files++}.affm`);
  writeFileSync(file, bytes);
  try {
    return { model: loadFactorizationModel(file), file };
  } catch (e) {
    if (!(e instanceof Error) || e instanceof TypeError) throw e;
    return { error: e, file };
  }
}

/** A loaded model answers with finite scores and item indices in range, or refuses the call with an Error. */
function assertUsable(m: FactorizationModel, label: string): void {
  const users = m.userIds.size, items = m.itemIds.size;
  for (const u of [0, users - 1]) {
    if (u < 0) continue;
    const r = m.recommend(u, 5);
    for (let t = 0; t < r.ids.length; t++) {
      assert.ok(r.ids[t] >= 0 && r.ids[t] < items, `${label}: item ${r.ids[t]} out of [0, ${items})`);
      assert.ok(Number.isFinite(r.scores[t]), `${label}: score ${r.scores[t]}`);
    }
  }
}

function assertRefusedOrUsable(res: ReturnType<typeof load>, label: string): void {
  if ('error' in res) {
    assert.match(res.error.message, new RegExp(`^affinity: cannot load model '${escape(res.file)}': `), `${label}: ${res.error.constructor.name}: ${res.error.message}`);
  } else {
    assertUsable(res.model, label);
  }
}

const models: Array<[string, () => FactorizationModel]> = [
  ['svd', () => new SVD({ factors: 3, n_epochs: 2 })],
  ['svdpp', () => new SVDpp({ factors: 3, n_epochs: 2 })],
  ['als', () => new ALS({ factors: 3, iterations: 2 })],
  ['bpr', () => new BPR({ factors: 3, iterations: 2 })],
];
const saved: Record<string, Buffer> = {};

test.before(async () => {
  const x = ratings();
  for (const [kind, make] of models) {
    const m = make();
    await m.fit(x);
    const f = path.join(tmp, `${kind}.affm`);
    m.save(f);
    saved[kind] = readFileSync(f);
  }
  await closeEngine();
});

test('damaged bytes (cut, flipped, spliced, extended): refused naming the file, or (unchanged) loaded; never a crash', () => {
  const damage = fc.record({
    kind: fc.constantFrom(...models.map(([k]) => k)),
    cut: fc.option(fc.nat(), { nil: undefined }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
    extra: fc.uint8Array({ maxLength: 16 }),
  });
  fc.assert(fc.property(damage, ({ kind, cut, flips, extra }) => {
    const good = saved[kind];
    let b = Buffer.from(good);
    for (const [at, x] of flips) b[at % b.length] ^= x;
    if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
    b = Buffer.concat([b, extra]);
    const res = load(b);
    if (b.equals(good)) assert.ok('model' in res, `${kind}: the unchanged file was refused`);
    else assertRefusedOrUsable(res, `${kind} damaged`);
  }), { seed, numRuns: 300 });
});

/** Paths to every value in a JSON tree (objects and arrays), e.g. ['meta', 'dimU'] or ['userIds', 3]. */
function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(v)) v.slice(0, 4).forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

test('header fields replaced or deleted under a valid checksum: refused naming the file, or loaded into a model with finite scores', () => {
  const headers: Record<string, { header: Record<string, unknown>; arrays: Record<string, ModelArray>; paths: Array<Array<string | number>> }> = {};
  for (const [kind] of models) {
    const f = readModelFile(path.join(tmp, `${kind}.affm`));
    const header = JSON.parse(JSON.stringify(f.header)) as Record<string, unknown>;
    delete header.arrays;
    headers[kind] = { header, arrays: f.arrays, paths: paths(header).filter((p) => p.length > 0) };
  }
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 1 }),
    fc.constantFrom(0, -1, 1, 2, 3, 4, 1e9, 2 ** 31, -0.5, 2.5, '3', '', null, [], {}, [1, 2]),
  );
  const edit = fc.record({
    kind: fc.constantFrom(...models.map(([k]) => k)),
    at: fc.nat(),
    del: fc.boolean(),
    value,
    arrayEdit: fc.option(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(NaN, Infinity, -1, 0, 1e30, 7, 2 ** 31 - 1)), { nil: undefined }),
  });
  fc.assert(fc.property(edit, ({ kind, at, del, value: v, arrayEdit }) => {
    const { header, arrays, paths: ps } = headers[kind];
    const h = JSON.parse(JSON.stringify(header)) as Record<string, unknown>;
    const p = ps[at % ps.length];
    let parent = h as Record<string | number, unknown>;
    for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = p[p.length - 1];
    if (del && !Array.isArray(parent)) delete parent[last];
    else parent[last] = v;
    const a: Record<string, ModelArray> = {};
    for (const [n, x] of Object.entries(arrays)) a[n] = x.slice();
    if (arrayEdit) {
      const names = Object.keys(a).sort();
      const arr = a[names[arrayEdit[0] % names.length]];
      if (arr.length > 0) arr[arrayEdit[1] % arr.length] = arrayEdit[2];
    }
    const file = path.join(tmp, `e${files++}.affm`);
    writeModelFile(file, kind, h as unknown as Omit<ModelFileHeader, 'arrays'>, a);
    assertRefusedOrUsable(load(readFileSync(file)), `${kind} ${p.join('.')} ${del ? 'deleted' : `= ${JSON.stringify(v)}`}${arrayEdit ? ` and an array value ${arrayEdit[2]}` : ''}`);
  }), { seed, numRuns: 400 });
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
