import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fromTriplets, type Interactions } from '../src/data/interactions.js';
import { csrFromTriplets, type Csr, type Dense } from '../src/data/matrix.js';
import { alsHalfStepReference, alsLoss, gramian } from '../src/kernels/alsHalfStep.js';
import { sgdEpochReference, type SgdEpochArgs } from '../src/kernels/sgdEpoch.js';
import { getKernel } from '../src/kernels/index.js';
import {
  ALS, BPR, ExplicitALS, NMF, SVD, SVDpp, factorizationModels, loadFactorizationModel, type FactorizationModel,
} from '../src/models/factorization/index.js';
import { Rng } from '../src/data/random.js';
import { readModelFile, writeModelFile, type ModelArray, type ModelFileHeader } from '../src/models/factorization/format.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'affinity-fact-'));

/** ratings r = clamp(1 + 4·σ(u·v)) from a random rank-`rank` model, `density` of the cells observed */
function ratingsData(nU: number, nI: number, rank: number, density: number, seed: number): Interactions {
  const rng = new Rng(seed);
  const U = Array.from({ length: nU * rank }, () => rng.normalScaled());
  const V = Array.from({ length: nI * rank }, () => rng.normalScaled());
  const rows: Array<[string, string, number]> = [];
  for (let u = 0; u < nU; u++) for (let i = 0; i < nI; i++) {
    if (rng.next() >= density) continue;
    let s = 0;
    for (let k = 0; k < rank; k++) s += U[u * rank + k] * V[i * rank + k];
    rows.push([`u${u}`, `i${i}`, Math.round(1 + 4 / (1 + Math.exp(-s)))]);
  }
  return fromTriplets(rows);
}

/** two taste clusters: users of cluster c interact with `per` random items of cluster c (counts 1..3) */
function clusterData(nU: number, nI: number, per: number, seed: number, holdout = 0): { train: Interactions; test: Array<[number, number]> } {
  const rng = new Rng(seed);
  const rows: Array<[string, string, number]> = [];
  const held: Array<[string, string]> = [];
  for (let i = 0; i < nI; i++) for (let u = 0; u < 2; u++) rows.push([`u${u * (nU / 2)}`, `i${i}`, 1]);
  for (let u = 0; u < nU; u++) {
    const c = u < nU / 2 ? 0 : 1;
    const pool = Array.from({ length: nI / 2 }, (_, k) => c * (nI / 2) + k);
    const pick = new Int32Array(pool); rng.scaledShuffle(pick);
    for (let k = 0; k < per + holdout; k++) {
      if (u % (nU / 2) === 0) continue;
      if (k < per) rows.push([`u${u}`, `i${pick[k]}`, 1 + rng.scaledInt(3)]);
      else held.push([`u${u}`, `i${pick[k]}`]);
    }
  }
  const train = fromTriplets(rows, true);
  return { train, test: held.map(([u, i]) => [train.users.index(u)!, train.items.index(i)!]) };
}

function dense(rows: number, cols: number, rng: Rng, scale = 1): Dense {
  const d = new Float32Array(rows * cols);
  for (let k = 0; k < d.length; k++) d[k] = rng.normalScaled() * scale;
  return { rows, cols, data: d };
}

// ---------------------------------------------------------------- kernels

test('alsHalfStep: Cholesky and CG (f steps from zero) agree, implicit and explicit', () => {
  const rng = new Rng(3);
  const f = 6, m = 40, n = 12;
  const Y = dense(m, f, rng, 0.3);
  const r: number[] = [], c: number[] = [], v: number[] = [];
  for (let u = 0; u < n; u++) for (let i = 0; i < m; i++) if (rng.next() < 0.3) { r.push(u); c.push(i); v.push(1 + rng.scaledInt(5)); }
  const C = csrFromTriplets(n, m, r, c, v);
  for (const mode of ['implicit', 'explicit'] as const) {
    const gram = gramian(Y);
    const exact: Dense = { rows: n, cols: f, data: new Float32Array(n * f) };
    alsHalfStepReference({ mode, solver: 'cholesky', matrix: C, other: Y, gram, regularization: 0.1 }, exact, 0, n);
    const cg: Dense = { rows: n, cols: f, data: new Float32Array(n * f) };
    alsHalfStepReference({ mode, solver: 'cg', cgSteps: f, matrix: C, other: Y, gram, regularization: 0.1 }, cg, 0, n);
    let maxDiff = 0, maxAbs = 0;
    for (let k = 0; k < exact.data.length; k++) { maxDiff = Math.max(maxDiff, Math.abs(exact.data[k] - cg.data[k])); maxAbs = Math.max(maxAbs, Math.abs(exact.data[k])); }
    assert.ok(maxAbs > 0.01, `${mode}: a non-trivial solution`);
    assert.ok(maxDiff < 1e-4 * Math.max(1, maxAbs), `${mode}: CG ≈ Cholesky (max diff ${maxDiff})`);
    // 3 warm-started CG steps from the exact solution stay there
    const warm: Dense = { rows: n, cols: f, data: exact.data.slice() };
    alsHalfStepReference({ mode, solver: 'cg', cgSteps: 3, matrix: C, other: Y, gram, regularization: 0.1 }, warm, 0, n);
    for (let k = 0; k < warm.data.length; k++) assert.ok(Math.abs(warm.data[k] - exact.data[k]) < 1e-4, 'warm start at the optimum stays');
    // the row range contract: rows outside [2, 5) are untouched
    const part: Dense = { rows: n, cols: f, data: new Float32Array(n * f).fill(7) };
    alsHalfStepReference({ mode, solver: 'cholesky', matrix: C, other: Y, gram, regularization: 0.1 }, part, 2, 5);
    assert.is(part.data[0], 7);
    assert.is(part.data[5 * f], 7);
    assert.equal(Array.from(part.data.subarray(2 * f, 5 * f)), Array.from(exact.data.subarray(2 * f, 5 * f)));
  }
});

test('alsHalfStep: the exact solve satisfies the normal equations of Hu et al.', () => {
  const rng = new Rng(5);
  const f = 4, m = 15;
  const Y = dense(m, f, rng, 0.5);
  const C = csrFromTriplets(1, m, [0, 0, 0], [1, 4, 9], [3, 1, 5]);
  const X: Dense = { rows: 1, cols: f, data: new Float32Array(f) };
  const lambda = 0.2;
  alsHalfStepReference({ mode: 'implicit', solver: 'cholesky', matrix: C, other: Y, gram: gramian(Y), regularization: lambda }, X, 0, 1);
  // (YᵀC_uY + λI)x = YᵀC_u p_u with c = 1 off the data, p = 1 on it
  const conf = new Map([[1, 3], [4, 1], [9, 5]]);
  for (let a = 0; a < f; a++) {
    let lhs = lambda * X.data[a], rhs = 0;
    for (let i = 0; i < m; i++) {
      const c = conf.get(i) ?? 1;
      let s = 0;
      for (let b = 0; b < f; b++) s += Y.data[i * f + b] * X.data[b];
      lhs += c * Y.data[i * f + a] * s;
      if (conf.has(i)) rhs += c * Y.data[i * f + a];
    }
    assert.ok(Math.abs(lhs - rhs) < 1e-4, `row ${a}: ${lhs} vs ${rhs}`);
  }
});

test('sgdEpoch svd: one step by hand', () => {
  const args: SgdEpochArgs = {
    algorithm: 'svd', factors: 2, user: Int32Array.of(0), item: Int32Array.of(0), rating: Float32Array.of(4), order: Int32Array.of(0),
    globalMean: 3.5, biased: true, lr: { bu: 0.1, bi: 0.1, pu: 0.1, qi: 0.1, yj: 0.1 }, reg: { bu: 0.5, bi: 0.5, pu: 0.5, qi: 0.5, yj: 0.5 },
    bu: Float32Array.of(0.1), bi: Float32Array.of(-0.2), pu: Float32Array.of(0.5, -0.3), qi: Float32Array.of(0.2, 0.4),
  };
  const out = new Float64Array(2);
  const sse = sgdEpochReference(args, out, 0, 1);
  // r̂ = 3.5 + 0.1 − 0.2 + (0.1 − 0.12) = 3.38, e = 0.62
  assert.ok(Math.abs(sse - 0.62 * 0.62) < 1e-6);
  assert.equal([out[0] > 0, out[1]], [true, 1]);
  const expect = { bu: [0.157], bi: [-0.128], pu: [0.4874, -0.2602], qi: [0.221, 0.3614] };
  for (const [k, want] of Object.entries(expect)) {
    const got = Array.from(args[k as 'bu']);
    want.forEach((w, t) => assert.ok(Math.abs(got[t] - w) < 1e-6, `${k}[${t}] = ${got[t]}, expected ${w}`));
  }
  // biased = false: r̂ = q·p only, biases untouched
  const a2 = { ...args, biased: false, bu: Float32Array.of(0.1), bi: Float32Array.of(-0.2), pu: Float32Array.of(0.5, -0.3), qi: Float32Array.of(0.2, 0.4) };
  assert.ok(Math.abs(sgdEpochReference(a2, new Float64Array(2), 0, 1) - 4.02 * 4.02) < 1e-5);
  assert.is(a2.bu[0], Math.fround(0.1));
});

/** Surprise's SVD++ loop, literally (every y_j updated at every rating), in float64 */
function naiveSvdpp(a: SgdEpochArgs, bu: Float64Array, bi: Float64Array, pu: Float64Array, qi: Float64Array, yj: Float64Array): void {
  const F = a.factors, N = a.implicitItems!;
  for (const pos of a.order) {
    const u = a.user[pos], i = a.item[pos], r = a.rating[pos];
    const Iu = Array.from(N.indices.subarray(N.indptr[u], N.indptr[u + 1]));
    const sq = Math.sqrt(Iu.length);
    const imp = new Float64Array(F);
    for (const j of Iu) for (let f = 0; f < F; f++) imp[f] += yj[j * F + f] / sq;
    let dot = 0;
    for (let f = 0; f < F; f++) dot += qi[i * F + f] * (pu[u * F + f] + imp[f]);
    const err = r - (a.globalMean + bu[u] + bi[i] + dot);
    bu[u] += a.lr.bu * (err - a.reg.bu * bu[u]);
    bi[i] += a.lr.bi * (err - a.reg.bi * bi[i]);
    for (let f = 0; f < F; f++) {
      const puf = pu[u * F + f], qif = qi[i * F + f];
      pu[u * F + f] += a.lr.pu * (err * qif - a.reg.pu * puf);
      qi[i * F + f] += a.lr.qi * (err * (puf + imp[f]) - a.reg.qi * qif);
      for (const j of Iu) yj[j * F + f] += a.lr.yj * (err * qif / sq - a.reg.yj * yj[j * F + f]);
    }
  }
}

test('sgdEpoch svdpp: the lazy y_j update equals Surprise\'s per-rating loop (grouped and shuffled orders)', () => {
  const x = ratingsData(12, 10, 2, 0.5, 11);
  const rng = new Rng(2);
  const F = 3, nU = x.users.size, nI = x.items.size, n = x.user.length;
  const N = csrFromTriplets(nU, nI, x.user, x.item, x.rating);
  for (const grouped of [true, false]) {
    const order = Int32Array.from({ length: n }, (_, k) => k);
    rng.scaledShuffle(order);
    if (grouped) order.sort((p, q) => x.user[p] - x.user[q] || p - q);
    const init = (len: number) => Float32Array.from({ length: len }, () => rng.normalScaled() * 0.1);
    const a: SgdEpochArgs = {
      algorithm: 'svdpp', factors: F, user: x.user, item: x.item, rating: x.rating, order, globalMean: 3, biased: true,
      lr: { bu: 0.01, bi: 0.02, pu: 0.03, qi: 0.04, yj: 0.05 }, reg: { bu: 0.02, bi: 0.03, pu: 0.04, qi: 0.05, yj: 0.06 },
      bu: init(nU), bi: init(nI), pu: init(nU * F), qi: init(nI * F), yj: init(nI * F), implicitItems: N,
    };
    const ref = { bu: Float64Array.from(a.bu), bi: Float64Array.from(a.bi), pu: Float64Array.from(a.pu), qi: Float64Array.from(a.qi), yj: Float64Array.from(a.yj!) };
    for (let e = 0; e < 3; e++) {
      sgdEpochReference(a, new Float64Array(2), 0, n);
      naiveSvdpp(a, ref.bu, ref.bi, ref.pu, ref.qi, ref.yj);
    }
    for (const k of ['bu', 'bi', 'pu', 'qi', 'yj'] as const) {
      const got = a[k]!, want = ref[k];
      let d = 0;
      for (let t = 0; t < want.length; t++) d = Math.max(d, Math.abs(got[t] - want[t]));
      assert.ok(d < 1e-5, `${grouped ? 'grouped' : 'shuffled'}: ${k} differs by ${d}`);
    }
  }
});

test('sgdEpoch nmf: one multiplicative step by hand (Surprise NMF, unbiased)', () => {
  // one user, two items; p = [1, 2], q0 = [0.5, 0.5], q1 = [1, 0]
  const a: SgdEpochArgs = {
    algorithm: 'nmf', factors: 2, user: Int32Array.of(0, 0), item: Int32Array.of(0, 1), rating: Float32Array.of(3, 2), order: Int32Array.of(0, 1),
    globalMean: 2.5, biased: false, lr: { bu: 0, bi: 0, pu: 0, qi: 0, yj: 0 }, reg: { bu: 0, bi: 0, pu: 0.1, qi: 0.2, yj: 0 },
    bu: new Float32Array(1), bi: new Float32Array(2), pu: Float32Array.of(1, 2), qi: Float32Array.of(0.5, 0.5, 1, 0),
  };
  sgdEpochReference(a, new Float64Array(2), 0, 2);
  // est0 = 1.5, est1 = 1; user: num = q0·3 + q1·2 = [3.5, 1.5], den = q0·1.5 + q1·1 = [1.75, 0.75]
  // p0 = 1·3.5/(1.75 + 2·0.1·1) = 1.794872, p1 = 2·1.5/(0.75 + 2·0.1·2) = 2.608696
  assert.ok(Math.abs(a.pu[0] - 3.5 / 1.95) < 1e-6 && Math.abs(a.pu[1] - 3 / 1.15) < 1e-6, `pu ${Array.from(a.pu)}`);
  // item 0: num = p·3 = [3, 6], den = p·1.5 = [1.5, 3] (+ 1·0.2·q) → q = 0.5·3/1.6, 0.5·6/3.1; item 1: q1 = [1·2/(1 + 0.2), 0 stays 0]
  const want = [1.5 / 1.6, 3 / 3.1, 2 / 1.2, 0];
  want.forEach((w, t) => assert.ok(Math.abs(a.qi[t] - w) < 1e-6, `qi[${t}] = ${a.qi[t]}, expected ${w}`));
});

test('kernels are registered with the engine registry', () => {
  for (const name of ['alsHalfStep', 'sgdEpoch', 'bprEpoch']) assert.is(getKernel(name).name, name);
  assert.is(getKernel('sgdEpoch').splittable, false);
});

// ---------------------------------------------------------------- models

test('ALS (exact solves): the objective never increases', async () => {
  const { train } = clusterData(40, 30, 6, 4);
  const losses: number[] = [], epochs: number[] = [];
  const exact = new ALS({ factors: 6, iterations: 8, useCg: false, regularization: 0.1 });
  await exact.fit(train, { onEpoch: (e, l) => { epochs.push(e); losses.push(l); } });
  assert.is(losses.length, 8);
  assert.equal(epochs, [1, 2, 3, 4, 5, 6, 7, 8]);
  // the loss comes from the kernel's pass (alsHalfStep loss); the last one is alsLoss() of the fitted factors
  const last = losses[losses.length - 1], ref = exact.trainingLoss();
  assert.ok(Math.abs(last - ref) <= 1e-6 * Math.abs(ref), `last reported loss ${last}, alsLoss ${ref}`);
  for (let e = 1; e < losses.length; e++) assert.ok(losses[e] <= losses[e - 1] * (1 + 1e-6), `iteration ${e + 1}: ${losses[e]} > ${losses[e - 1]}`);
  assert.ok(losses[losses.length - 1] < losses[0]);
  // CG (default) also makes progress
  const cg: number[] = [];
  await new ALS({ factors: 6, iterations: 8, regularization: 0.1 }).fit(train, { onEpoch: (_e, l) => cg.push(l) });
  assert.ok(cg[cg.length - 1] < cg[0]);
});

test('ExplicitALS recovers a noiseless low-rank matrix (RMSE < 0.05 on all cells, observed or not)', async () => {
  const rng = new Rng(9);
  const nU = 60, nI = 40, R = 3;
  const U = dense(nU, R, rng), V = dense(nI, R, rng);
  const truth = (u: number, i: number) => { let s = 0; for (let k = 0; k < R; k++) s += U.data[u * R + k] * V.data[i * R + k]; return 3 + s; };
  const rows: Array<[string, string, number]> = [];
  for (let u = 0; u < nU; u++) for (let i = 0; i < nI; i++) if (rng.next() < 0.6) rows.push([`u${u}`, `i${i}`, truth(u, i)]);
  const x = fromTriplets(rows);
  const m = new ExplicitALS({ factors: R + 1, regularization: 1e-5, iterations: 60 });
  await m.fit(x);
  const P = m.userFactors, Q = m.itemFactors;
  let se = 0;
  for (let u = 0; u < nU; u++) for (let i = 0; i < nI; i++) {
    const ui = x.users.index(`u${u}`)!, ii = x.items.index(`i${i}`)!;
    let s = 0;
    for (let k = 0; k < P.cols; k++) s += P.data[ui * P.cols + k] * Q.data[ii * Q.cols + k];
    se += (s - truth(u, i)) ** 2;
  }
  const rmse = Math.sqrt(se / (nU * nI));
  assert.ok(rmse < 0.05, `RMSE ${rmse}`);
});

test('BPR raises held-out AUC well above chance on a two-cluster toy set', async () => {
  const { train, test: held } = clusterData(60, 40, 15, 6, 2);
  const seen = csrFromTriplets(train.users.size, train.items.size, train.user, train.item, train.rating);
  const auc = (m: BPR): number => {
    let good = 0, all = 0;
    for (const [u, i] of held) {
      const si = m.predict(u, i).estimate;
      const own = new Set(seen.indices.subarray(seen.indptr[u], seen.indptr[u + 1]));
      for (let j = 0; j < train.items.size; j++) {
        if (j === i || own.has(j)) continue;
        const sj = m.predict(u, j).estimate;
        good += si > sj ? 1 : si === sj ? 0.5 : 0; all++;
      }
    }
    return good / all;
  };
  const before = new BPR({ factors: 8, iterations: 0 });
  await before.fit(train);
  const after = new BPR({ factors: 8, iterations: 60, learning_rate: 0.05 });
  const losses: number[] = [];
  await after.fit(train, { onEpoch: (_e, l) => losses.push(l) });
  const a0 = auc(before), a1 = auc(after);
  assert.ok(a1 > 0.8 && a1 > a0 + 0.2, `AUC before ${a0.toFixed(3)}, after ${a1.toFixed(3)}`);
  assert.ok(losses[losses.length - 1] < losses[0], 'BPR loss decreases');
});

test('save → load round trip: identical predictions, recommendations and factors for every model', async () => {
  const x = ratingsData(30, 25, 3, 0.4, 21);
  for (const [name, make] of Object.entries(factorizationModels)) {
    const m = make({ factors: 4, seed: 3, ...(name === 'bpr' ? { iterations: 5 } : name === 'nmf' ? { n_epochs: 5 } : {}) }) as FactorizationModel;
    await m.fit(x);
    const file = path.join(tmp, `${name}.affm`);
    m.save(file);
    const bytes = readFileSync(file);
    assert.is(bytes.subarray(0, 4).toString('latin1'), 'AFFM');
    const back = loadFactorizationModel(file);
    assert.is(back.name, name);
    assert.is(back.constructor, m.constructor);
    for (let u = 0; u < x.users.size; u++) for (let i = 0; i < x.items.size; i++) assert.equal(back.predict(u, i), m.predict(u, i), `${name} predict(${u}, ${i})`);
    for (const u of [0, 5, 17]) assert.equal(back.recommend(u, 5), m.recommend(u, 5), `${name} recommend`);
    assert.equal(back.similarItems(2, 4), m.similarItems(2, 4));
    assert.equal(Array.from(back.userFactors.data), Array.from(m.userFactors.data));
    assert.equal(back.userIds.toJSON(), m.userIds.toJSON());
    // the class's own load too
    const Cls = m.constructor as unknown as { load(p: string): FactorizationModel };
    assert.equal(Cls.load(file).predict(1, 1), m.predict(1, 1));
  }
});

test('loading a truncated, corrupt, foreign or wrong-kind file fails with a clear Error', async () => {
  const x = ratingsData(20, 15, 2, 0.5, 5);
  const m = new SVD({ factors: 3, n_epochs: 2 });
  await m.fit(x);
  const file = path.join(tmp, 'svd.affm');
  m.save(file);
  const good = readFileSync(file);
  const bad = (name: string, bytes: Uint8Array | string): string => { const p = path.join(tmp, name); writeFileSync(p, bytes); return p; };
  assert.throws(() => SVD.load(bad('trunc.affm', good.subarray(0, good.length - 37))), /truncated/);
  assert.throws(() => SVD.load(bad('trunc2.affm', good.subarray(0, 30))), /truncated/);
  assert.throws(() => SVD.load(bad('foreign.affm', 'user,item,rating\n1,2,3\n')), /not an affinity model file/);
  assert.throws(() => SVD.load(bad('empty.affm', '')), /not an affinity model file/);
  const flipped = Buffer.from(good); flipped[flipped.length - 20] ^= 0x55;
  assert.throws(() => SVD.load(bad('corrupt.affm', flipped)), /checksum/);
  const newer = Buffer.from(good); newer.writeUInt32LE(99, 4);
  assert.throws(() => SVD.load(bad('newer.affm', newer)), /version 99/);
  assert.throws(() => ALS.load(file), /holds a 'svd' model, not 'als'/);
  assert.throws(() => SVD.load(path.join(tmp, 'missing.affm')), /cannot load model/);
});

test('a file with a valid checksum but missing, ill-typed or inconsistent fields is refused on load, naming the field', async () => {
  const x = ratingsData(20, 15, 2, 0.5, 6);
  const models: Array<[string, FactorizationModel]> = [['svd', new SVD({ factors: 3, n_epochs: 2 })], ['bpr', new BPR({ factors: 3, iterations: 2 })], ['svdpp', new SVDpp({ factors: 3, n_epochs: 2 })]];
  for (const [kind, m] of models) {
    await m.fit(x);
    const file = path.join(tmp, `${kind}-fields.affm`);
    m.save(file);
    const good = readModelFile(file);
    // rewrite the file with one change to its header or arrays: a correct checksum, a wrong model
    const variant = (label: string, edit: (h: Record<string, unknown>, arrays: Record<string, ModelArray>) => void): string => {
      const h = JSON.parse(JSON.stringify(good.header)) as Record<string, unknown>;
      const arrays: Record<string, ModelArray> = {};
      for (const [n, a] of Object.entries(good.arrays)) arrays[n] = a.slice();
      edit(h, arrays);
      delete h.arrays;
      const p = path.join(tmp, `${kind}-${label}.affm`);
      writeModelFile(p, kind, h as unknown as Omit<ModelFileHeader, 'arrays'>, arrays);
      return p;
    };
    const meta = (h: Record<string, unknown>) => h.meta as Record<string, unknown>;
    const dims = (h: Record<string, unknown>) => h.dims as Record<string, unknown>;
    const refused: Array<[string, RegExp, (h: Record<string, unknown>, a: Record<string, ModelArray>) => void]> = [
      ['no-dimU', /meta\.dimU must be an integer ≥ 1, got undefined/, (h) => { delete meta(h).dimU; }],
      ['dimU-text', /meta\.dimU must be an integer/, (h) => { meta(h).dimU = String(meta(h).dimU); }],
      ['dimI-zero', /meta\.dimI must be an integer ≥ 1, got 0/, (h) => { meta(h).dimI = 0; }],
      // dimU that disagrees with the params, with P reshaped to match it so only the field is wrong
      ['dimU-other', /meta\.dimU \d+ and meta\.dimI \d+ must both be \d+/, (h, a) => {
        const d = (meta(h).dimU as number) + 1; meta(h).dimU = d; dims(h).factors = d; a.P = new Float32Array((dims(h).users as number) * d);
      }],
      ['factors-other', /dims\.factors 99 differs from meta\.dimU/, (h) => { dims(h).factors = 99; }],
      ['no-meta', /no meta object/, (h) => { delete h.meta; }],
      ['no-params', /no params object/, (h) => { h.params = 'factors=3'; }],
      ['users-negative', /dims\.users must be an integer ≥ 0, got -1/, (h) => { dims(h).users = -1; }],
      ['users-fraction', /dims\.users must be an integer/, (h) => { dims(h).users = 19.5; }],
      ['no-globalMean', /meta\.globalMean must be a finite number, got undefined/, (h) => { delete meta(h).globalMean; }],
      ['range-inverted', /meta\.ratingMin 9 is above meta\.ratingMax/, (h) => { meta(h).ratingMin = 9; }],
      // finite as a double, Infinity as the float32 a score is: every score would be ±Infinity
      ['mean-beyond-float32', /meta\.globalMean 3\.5e\+38 lies outside \[meta\.ratingMin/, (h) => { meta(h).globalMean = 3.5e38; }],
      ['mean-outside-range', /meta\.globalMean 7 lies outside \[meta\.ratingMin 1, meta\.ratingMax 5\]/, (h) => { meta(h).ratingMin = 1; meta(h).ratingMax = 5; meta(h).globalMean = 7; }],
      ['range-beyond-float32', /meta\.ratingMin -?[\d.]+ and meta\.ratingMax 1e\+39 must lie within the float32 range/, (h) => { meta(h).ratingMax = 1e39; }],
      ['ids-short', /userIds has \d+ ids, dims say \d+/, (h) => { (h.userIds as unknown[]).pop(); }],
      ['id-object', /itemIds\[2\] is \{"a":1\}, not a string or a finite number/, (h) => { (h.itemIds as unknown[])[2] = { a: 1 }; }],
      ['P-nan', /array 'P' holds NaN at 4/, (_h, a) => { a.P[4] = NaN; }],
      ['Q-missing', /array 'Q' is missing/, (_h, a) => { delete a.Q; }],
      ['indptr-offset', /indptr starts at 3, not 0/, (_h, a) => { const ip = a.seenIndptr; for (let t = 0; t < ip.length; t++) ip[t] += 3; }],
      ['indptr-negative', /indptr (starts at|decreases)/, (_h, a) => { a.seenIndptr.fill(-5); a.seenIndptr[0] = 0; }],
      ['row-unsorted', /row \d+ is not sorted by column/, (_h, a) => {
        const ip = a.seenIndptr, ix = a.seenIndices;
        let r = 0; while (ip[r + 1] - ip[r] < 2) r++;
        const t = ix[ip[r]]; ix[ip[r]] = ix[ip[r] + 1]; ix[ip[r] + 1] = t;
      }],
      ['column-out', /column 15 out of range \[0, 15\)/, (_h, a) => { a.seenIndices[0] = 15; }],
    ];
    if (kind !== 'bpr') refused.push(['bu-missing', /array 'bu' is missing/, (_h, a) => { delete a.bu; }], ['bi-inf', /array 'bi' holds Infinity/, (_h, a) => { a.bi[1] = Infinity; }]);
    if (kind === 'svdpp') refused.push(['yj-short', /array 'yj' is missing or has \d+ values/, (_h, a) => { a.yj = a.yj.slice(1); }]);
    for (const [label, why, edit] of refused) {
      const p = variant(label, edit);
      let err: unknown = null;
      try { loadFactorizationModel(p); } catch (e) { err = e; }
      assert.ok(err instanceof Error, `${kind} ${label}: loaded without an error`);
      assert.match((err as Error).message, new RegExp(`^affinity: cannot load model '${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': `), `${kind} ${label}: ${(err as Error).message}`);
      assert.match((err as Error).message, why, `${kind} ${label}: ${(err as Error).message}`);
    }
    // the unchanged rewrite loads and scores as the saved model
    const same = loadFactorizationModel(variant('unchanged', () => {}));
    assert.equal(same.recommend(0, 5), m.recommend(0, 5), `${kind} unchanged rewrite`);
  }
});

test('ALS foldInUser: top-10 matches the user refit from scratch with the item factors fixed (≥ 9 of 10)', async () => {
  const x = ratingsData(80, 60, 4, 0.25, 31);
  const m = new ALS({ factors: 8, iterations: 10 });
  await m.fit(x);
  const seen = csrFromTriplets(x.users.size, x.items.size, x.user, x.item, x.rating);
  const Y = m.itemFactors;
  let checked = 0;
  for (const u of [3, 10, 42]) {
    const items = Array.from(seen.indices.subarray(seen.indptr[u], seen.indptr[u + 1]));
    const ratings = Array.from(seen.data.subarray(seen.indptr[u], seen.indptr[u + 1]));
    // refit from scratch: the exact least-squares solve with Y fixed, confidence α·r (α = 1)
    const row: Csr = { rows: 1, cols: Y.rows, indptr: Int32Array.of(0, items.length), indices: Int32Array.from(items), data: Float32Array.from(ratings) };
    const xu: Dense = { rows: 1, cols: Y.cols, data: new Float32Array(Y.cols) };
    alsHalfStepReference({ mode: 'implicit', solver: 'cholesky', matrix: row, other: Y, gram: gramian(Y), regularization: 0.01 }, xu, 0, 1);
    const scores: Array<[number, number]> = [];
    for (let i = 0; i < Y.rows; i++) {
      if (items.includes(i)) continue;
      let s = 0;
      for (let f = 0; f < Y.cols; f++) s += xu.data[f] * Y.data[i * Y.cols + f];
      scores.push([i, s]);
    }
    scores.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const ref = scores.slice(0, 10).map((s) => s[0]);
    const { index, ignored } = m.foldInUser([...items, 10_000, -1], [...ratings, 5, 5], { id: `new-${u}` });
    assert.is(ignored, 2, 'unknown item ids are ignored and counted');
    assert.is(index, m.userIds.size - 1);
    assert.is(m.userIds.external(index), `new-${u}`);
    const got = Array.from(m.recommend(index, 10).ids);
    const same = got.filter((i) => ref.includes(i)).length;
    assert.ok(same >= 9, `user ${u}: ${same}/10 shared`);
    // and close to the jointly fitted user's own list
    const own = Array.from(m.recommend(u, 10).ids);
    assert.ok(own.filter((i) => got.includes(i)).length >= 7, `user ${u}: fold-in close to the fitted row`);
    checked++;
  }
  assert.is(checked, 3);
});

test('SVD / BPR / NMF / SVDpp foldInUser, foldInItem and partialFit grow the model and give sensible rows', async () => {
  const x = ratingsData(60, 40, 3, 0.35, 41);
  const seen = csrFromTriplets(x.users.size, x.items.size, x.user, x.item, x.rating);
  for (const Cls of [SVD, SVDpp, NMF, BPR, ExplicitALS, ALS]) {
    const m: FactorizationModel = new Cls({ factors: 6, seed: 1, ...(Cls === BPR ? { iterations: 30 } : {}) });
    await m.fit(x);
    const u = 7;
    const items = Array.from(seen.indices.subarray(seen.indptr[u], seen.indptr[u + 1]));
    const ratings = Array.from(seen.data.subarray(seen.indptr[u], seen.indptr[u + 1]));
    const nu = m.userIds.size;
    const r = m.foldInUser([...items, 999], ratings.concat([3]));
    assert.equal(r, { index: nu, ignored: 1 }, `${m.name} foldInUser`);
    const rec = m.recommend(r.index, 10);
    assert.is(rec.ids.length, 10);
    for (const i of rec.ids) assert.not.ok(items.includes(i), `${m.name}: seen items filtered for the folded-in user`);
    if (m.predictsRatings) {
      // the folded-in user's predictions track the original user's
      let se = 0;
      for (let i = 0; i < x.items.size; i++) se += (m.predict(r.index, i).estimate - m.predict(u, i).estimate) ** 2;
      assert.ok(Math.sqrt(se / x.items.size) < 0.5, `${m.name}: fold-in predictions close to the fitted user's (rms diff ${Math.sqrt(se / x.items.size)})`);
    }
    const ni = m.itemIds.size;
    const ri = m.foldInItem([0, 1, 2, 3, 4000], [5, 4, 5, 4, 1]);
    assert.equal(ri, { index: ni, ignored: 1 }, `${m.name} foldInItem`);
    assert.ok(m.predict(0, ri.index).impossible === false);
    // partial fit with a new user, a new item and an existing pair
    const add = fromTriplets([['u1', 'i2', 5], ['zz-new', 'i3', 4], ['zz-new', 'i-new', 5], ['u2', 'i-new', 4]]);
    const before = m.userIds.size, beforeI = m.itemIds.size;
    const res = await m.partialFit(add);
    assert.equal(res, { users: 3, items: 3, newUsers: 1, newItems: 1 }, `${m.name} partialFit`);
    assert.is(m.userIds.size, before + 1);
    assert.is(m.itemIds.size, beforeI + 1);
    const nuIdx = m.userIds.index('zz-new')!;
    assert.is(nuIdx, before);
    assert.not.ok(m.predict(nuIdx, m.itemIds.index('i3')!).impossible);
    assert.is(m.userFactors.rows, before + 1);
    assert.ok(m.recommend(nuIdx, 5).ids.length === 5);
  }
});

test('determinism: same seed → bit-identical factors; another seed → different', async () => {
  const x = ratingsData(40, 30, 3, 0.3, 51);
  for (const [name, make] of Object.entries(factorizationModels)) {
    const p = { factors: 5, ...(name === 'bpr' ? { iterations: 10 } : {}) };
    const fit = async (seed: number) => { const m = make({ ...p, seed }) as FactorizationModel; await m.fit(x); return m; };
    const a = await fit(7), b = await fit(7), c = await fit(8);
    assert.ok(Buffer.from(a.userFactors.data.buffer).equals(Buffer.from(b.userFactors.data.buffer)), `${name}: user factors identical`);
    assert.ok(Buffer.from(a.itemFactors.data.buffer).equals(Buffer.from(b.itemFactors.data.buffer)), `${name}: item factors identical`);
    assert.not.ok(Buffer.from(a.itemFactors.data.buffer).equals(Buffer.from(c.itemFactors.data.buffer)), `${name}: another seed differs`);
  }
});

test('bad hyper-parameters: RangeError naming the parameter', () => {
  assert.throws(() => new SVD({ factors: 0 }), (e: Error) => e instanceof RangeError && /factors/.test(e.message));
  assert.throws(() => factorizationModels.svd({ n_factors: '-3' }), (e: Error) => e instanceof RangeError && /n_factors/.test(e.message));
  assert.throws(() => new ALS({ regularization: -0.1 }), (e: Error) => e instanceof RangeError && /regularization/.test(e.message));
  assert.throws(() => factorizationModels.bpr({ reg: -1 }), (e: Error) => e instanceof RangeError && /\breg\b/.test(e.message));
  assert.throws(() => factorizationModels.svdpp({ reg_all: -0.02 }), (e: Error) => e instanceof RangeError && /reg_all/.test(e.message));
  assert.throws(() => factorizationModels.nmf({ reg_pu: -1 }), (e: Error) => e instanceof RangeError && /reg_pu/.test(e.message));
  assert.throws(() => factorizationModels['als-explicit']({ factors: 2.5 }), (e: Error) => e instanceof RangeError && /factors/.test(e.message));
  assert.throws(() => factorizationModels.svd({ lr_all: 0 }), (e: Error) => e instanceof RangeError && /lr_all/.test(e.message));
  assert.throws(() => factorizationModels.als({ alhpa: 1 }), (e: Error) => e instanceof RangeError && /unknown parameter 'alhpa'/.test(e.message));
  assert.throws(() => factorizationModels.svd({ curriculum: 'easy' }), /curriculum/);
  assert.is((factorizationModels.bpr({ deterministic: 'false' }) as BPR).params.deterministic, false);
  // CLI spellings reach the options
  const m = factorizationModels.svd({ n_factors: '7', n_epochs: '3', lr_all: '0.01', biased: 'false' }) as SVD;
  assert.equal([m.params.factors, m.params.epochs, m.params.lrAll, m.params.biased], [7, 3, 0.01, false]);
  const a = factorizationModels.als({ factors: 64, iterations: 15, use_cg: 'false', alpha: '2' }) as ALS;
  assert.equal([a.params.factors, a.params.iterations, a.params.useCg, a.params.alpha], [64, 15, false, 2]);
  assert.equal(Object.keys(factorizationModels).sort(), ['als', 'als-explicit', 'bpr', 'nmf', 'svd', 'svdpp']);
});

test('NaN during training: Error naming the epoch and the learning rate; the model stays as before fit', async () => {
  const x = ratingsData(30, 20, 2, 0.5, 61);
  let err: Error | null = null;
  try { await new SVD({ factors: 4, lr_all: 1000 }).fit(x); } catch (e) { err = e as Error; }
  assert.ok(err, 'diverging fit throws');
  assert.match(err!.message, /epoch \d+/);
  assert.match(err!.message, /learning rate lr_all 1000/);
  // a fitted model keeps its state when a later fit diverges
  const m = new SVD({ factors: 4, n_epochs: 3 });
  await m.fit(x);
  const before = m.predict(1, 2);
  const huge = fromTriplets([['a', 'b', 1e30], ['a', 'c', -1e30], ['d', 'b', 1e30], ['d', 'c', 1e30]]);
  await m.fit(huge).then(() => assert.unreachable('should diverge'), (e: Error) => assert.match(e.message, /diverged at epoch \d+ .*learning rate/));
  assert.equal(m.predict(1, 2), before);
  assert.is(m.userIds.size, x.users.size);
  const bpr = new BPR({ factors: 4, learning_rate: 1e30, iterations: 3 });
  await bpr.fit(clusterData(20, 10, 3, 1).train).then(() => assert.unreachable('bpr should diverge'), (e: Error) => assert.match(e.message, /iteration \d+.*learning rate 1e\+30/));
});

test('recommend: filterSeen default, candidate items, unknown users; similarItems excludes the item', async () => {
  const x = ratingsData(30, 25, 3, 0.4, 71);
  const seen = csrFromTriplets(x.users.size, x.items.size, x.user, x.item, x.rating);
  const m = new SVD({ factors: 4 });
  await m.fit(x);
  const u = 4;
  const own = new Set(seen.indices.subarray(seen.indptr[u], seen.indptr[u + 1]));
  const all = m.recommend(u, x.items.size);
  assert.is(all.ids.length, x.items.size - own.size);
  for (const i of all.ids) assert.not.ok(own.has(i));
  for (let t = 1; t < all.scores.length; t++) assert.ok(all.scores[t] <= all.scores[t - 1]);
  // scores are the model's unclipped estimates
  const top = all.ids[0];
  const est = m.predict(u, top).estimate;
  assert.ok(Math.abs(Math.min(5, Math.max(1, all.scores[0])) - est) < 1e-4);
  const noFilter = m.recommend(u, x.items.size, { filterSeen: false });
  assert.is(noFilter.ids.length, x.items.size);
  const cand = [0, 1, 2, 3, 4, 5];
  const r = m.recommend(u, 3, { items: cand });
  for (const i of r.ids) { assert.ok(cand.includes(i)); assert.not.ok(own.has(i)); }
  assert.is(m.recommend(99999, 5).ids.length, 0);
  const sim = m.similarItems(3, 5);
  assert.is(sim.ids.length, 5);
  assert.not.ok(Array.from(sim.ids).includes(3));
  for (const s of sim.scores) assert.ok(s <= 1 + 1e-6 && s >= -1 - 1e-6);
});

test('curriculum pacing and balancing options train', async () => {
  const m = new SVD({ n_epochs: 10, curriculum: 'item-popularity', curriculum_start: 0.3, curriculum_epochs: 4 });
  assert.ok(Math.abs(m.pacing(0) - 0.3) < 1e-12);
  assert.ok(Math.abs(m.pacing(2) - 0.65) < 1e-12);
  assert.is(m.pacing(4), 1);
  assert.is(m.pacing(9), 1);
  const root = new SVD({ curriculum: 'loss', curriculum_pacing: 'root', curriculum_epochs: 4 });
  assert.ok(root.pacing(2) > 0.65 && root.pacing(2) < 1);
  const x = ratingsData(40, 30, 3, 0.4, 81);
  for (const c of ['item-popularity', 'user-activity', 'loss'] as const) {
    const losses: number[] = [];
    const s = new SVDpp({ factors: 4, n_epochs: 6, curriculum: c, curriculum_epochs: 3 });
    await s.fit(x, { onEpoch: (_e, l) => losses.push(l) });
    assert.is(losses.length, 6);
    assert.ok(losses.every(Number.isFinite));
  }
  const bal = new SVD({ factors: 4, balance_gamma: 0.5 });
  await bal.fit(x);
  assert.not.ok(bal.predict(0, 0).impossible);
  const als = new ALS({ factors: 4, balance_gamma: 0.5, iterations: 3 });
  await als.fit(x);
  assert.ok(Number.isFinite(als.trainingLoss()));
  const bpr = new BPR({ factors: 4, iterations: 3, negative_beta: 0.5 });
  await bpr.fit(x);
  const uni = new BPR({ factors: 4, iterations: 3, negative_beta: 0 });
  await uni.fit(x);
  assert.ok(Number.isFinite(uni.predict(0, 0).estimate));
});

test('predict: unknown users/items fall back and say so; explicit models clip to the rating range', async () => {
  const x = ratingsData(20, 15, 2, 0.5, 91);
  const m = new SVD({ factors: 3 });
  await m.fit(x);
  const p = m.predict(5000, 1);
  assert.is(p.impossible, true);
  assert.is(p.reason, 'user unknown');
  for (let u = 0; u < x.users.size; u++) for (let i = 0; i < x.items.size; i++) {
    const e = m.predict(u, i).estimate;
    assert.ok(e >= 1 && e <= 5);
  }
  const als = new ALS({ factors: 3, iterations: 2 });
  assert.throws(() => als.predict(0, 0), /before fit/);
  await als.fit(x);
  assert.is(als.predictsRatings, false);
  assert.is(als.predict(0, 9999).reason, 'item unknown');
  assert.ok(Number.isFinite(alsLoss({ mode: 'implicit', matrix: csrFromTriplets(x.users.size, x.items.size, x.user, x.item, x.rating), userFactors: als.userFactors, itemFactors: als.itemFactors, regularization: 0.01 })));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('ALS hands the kernel its confidences and factors on shared memory (the native backend reads them in place, no copy per half step)', async () => {
  const { Engine } = await import('../src/engine/engine.js');
  const x = fromTriplets([['u0', 'a', 4], ['u0', 'b', 3], ['u1', 'a', 2], ['u2', 'c', 5], ['u2', 'b', 1]]);
  const engine = new Engine({ backend: 'js' });
  const notShared: string[] = [];
  const spy = Object.create(engine) as typeof engine;
  spy.run = ((kernel: string, args: { matrix: Csr; other: Dense; initial?: Dense }, o: unknown) => {
    if (kernel === 'alsHalfStep') {
      const arrays: Array<[string, ArrayBufferView | undefined]> = [['matrix.data', args.matrix.data], ['other', args.other.data], ['initial', args.initial?.data]];
      for (const [name, a] of arrays) if (a && !(a.buffer instanceof SharedArrayBuffer)) notShared.push(name);
    }
    return (engine.run as (k: string, a: unknown, o: unknown) => Promise<unknown>)(kernel, args, o);
  }) as typeof engine.run;
  try {
    const m = new ALS({ factors: 3, iterations: 2 });
    await m.fit(x, { engine: spy });
    assert.equal(notShared, []);
    // the same factors as a fit on the plain engine
    const plain = new ALS({ factors: 3, iterations: 2 });
    await plain.fit(x, { engine });
    assert.equal(Array.from(m.userFactors.data), Array.from(plain.userFactors.data));
  } finally {
    await engine.close();
  }
});

test("svd order 'surprise' visits ratings as Surprise's trainset.all_ratings(): users by first appearance, each user's ratings in input order, every epoch", async () => {
  const { Engine } = await import('../src/engine/engine.js');
  // input order: u2 a, u0 b, u2 c, u1 a, u0 a, u2 b
  const x = fromTriplets([['u2', 'a', 4], ['u0', 'b', 3], ['u2', 'c', 5], ['u1', 'a', 2], ['u0', 'a', 1], ['u2', 'b', 4]]);
  const engine = new Engine({ backend: 'js' });
  const seen: number[][] = [];
  const spy = Object.create(engine) as typeof engine;
  spy.run = ((kernel: string, args: { order: Int32Array }, o: unknown) => {
    if (kernel === 'sgdEpoch') seen.push(Array.from(args.order));
    return (engine.run as (k: string, a: unknown, o: unknown) => Promise<unknown>)(kernel, args, o);
  }) as typeof engine.run;
  try {
    await new SVD({ factors: 2, epochs: 3, order: 'surprise' }).fit(x, { engine: spy });
    // u2 first (rows 0, 2, 5), then u0 (1, 4), then u1 (3)
    assert.equal(seen, [[0, 2, 5, 1, 4, 3], [0, 2, 5, 1, 4, 3], [0, 2, 5, 1, 4, 3]]);
    seen.length = 0;
    await new SVD({ factors: 2, epochs: 2, order: 'shuffle', seed: 1 }).fit(x, { engine: spy });
    assert.is(seen.length, 2);
    assert.not.equal(seen[0], seen[1], 'shuffle: a fresh permutation each epoch');
  } finally {
    await engine.close();
  }
});

test.run();
