import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromTriplets, subset, type Interactions } from '../src/data/interactions.js';
import { neighbourhoodModels, BaselineOnly, KnnModel, CoClustering, ImplicitKnn } from '../src/models/neighbourhood/index.js';
import { allModels } from '../src/models/registry.js';
import type { Model } from '../src/models/types.js';
import { mulberry32 } from './helpers/random.js';

const close = (got: number, want: number, eps = 1e-6, what = '') =>
  assert.ok(Math.abs(got - want) <= eps, `${what} got ${got}, want ${want}`);

/**
 * u0 rated A=3, B=3; u1: A=3, B=3, T=4; u2: A=4, B=3, T=3; u3: A=5, B=3, T=5.
 * User-based msd: sim(u0,u1) = 1/(0+1) = 1, sim(u0,u2) = 1/((1+0)/2+1) = 2/3, sim(u0,u3) = 1/((4+0)/2+1) = 1/3.
 */
function handData(): Interactions {
  return fromTriplets([
    ['u0', 'A', 3], ['u0', 'B', 3],
    ['u1', 'A', 3], ['u1', 'B', 3], ['u1', 'T', 4],
    ['u2', 'A', 4], ['u2', 'B', 3], ['u2', 'T', 3],
    ['u3', 'A', 5], ['u3', 'B', 3], ['u3', 'T', 5],
  ]);
}
const idx = (x: Interactions, u: string, i: string) => [x.users.require(u), x.items.require(i)] as const;

async function fitted(name: string, x: Interactions, params = {}): Promise<Model> {
  const m = neighbourhoodModels[name](params);
  await m.fit(x);
  return m;
}

test('KNNBasic by hand: weighted mean of (4,3,5) with weights (1, 2/3, 1/3) ∝ (3,2,1) = 23/6', async () => {
  const x = handData();
  const [u, t] = idx(x, 'u0', 'T');
  const p = (await fitted('knn-basic', x)).predict(u, t);
  close(p.estimate, 23 / 6);
  assert.is(p.impossible, false);
  // k = 2 keeps u1 (1) and u2 (2/3): (4 + 2)/(5/3) = 3.6
  close((await fitted('knn-basic', x, { k: 2 })).predict(u, t).estimate, 3.6);
  // min_k = 4 > 3 neighbours: impossible, global mean 39/11
  const q = (await fitted('knn-basic', x, { min_k: 4 })).predict(u, t);
  assert.is(q.impossible, true);
  assert.is(q.reason, 'not enough neighbours');
  close(q.estimate, 39 / 11);
});

test('KNNWithMeans and KNNWithZScore by hand', async () => {
  const x = handData();
  const [u, t] = idx(x, 'u0', 'T');
  // μ_u0 = 3, μ_u1 = μ_u2 = 10/3, μ_u3 = 13/3: 3 + (1·(2/3) + (2/3)(−1/3) + (1/3)(2/3)) / 2 = 10/3
  close((await fitted('knn-means', x)).predict(u, t).estimate, 10 / 3);
  // z-score: σ_u0 = 0 → overall σ; σ_u1 = σ_u2 = √2/3, σ_u3 = 2√2/3
  const all = [3, 3, 3, 3, 4, 4, 3, 3, 5, 3, 5];
  const mu = all.reduce((s, r) => s + r, 0) / all.length;
  const overall = Math.sqrt(all.reduce((s, r) => s + (r - mu) ** 2, 0) / all.length);
  const s1 = Math.sqrt(2) / 3, s3 = (2 * Math.sqrt(2)) / 3;
  const agg = (1 * (4 - 10 / 3) / s1 + (2 / 3) * (3 - 10 / 3) / s1 + (1 / 3) * (5 - 13 / 3) / s3) / 2;
  close((await fitted('knn-zscore', x)).predict(u, t).estimate, 3 + agg * overall);
});

test('KNNBaseline by hand from the ALS baselines', async () => {
  const x = handData();
  const [u, t] = idx(x, 'u0', 'T');
  const b = new BaselineOnly();
  await b.fit(x);
  const { bu, bi } = b.biases;
  const mu = 39 / 11;
  const [u1, u2, u3] = ['u1', 'u2', 'u3'].map((n) => x.users.require(n));
  const want = mu + bu[u] + bi[t] + (1 * (4 - (mu + bu[u1] + bi[t])) + (2 / 3) * (3 - (mu + bu[u2] + bi[t])) + (1 / 3) * (5 - (mu + bu[u3] + bi[t]))) / 2;
  close((await fitted('knn-baseline', x)).predict(u, t).estimate, want);
});

test('BaselineOnly: one ALS epoch and one SGD epoch by the formulas', async () => {
  const x = handData();
  const mu = 39 / 11;
  const users = ['u0', 'u1', 'u2', 'u3'], items = ['A', 'B', 'T'];
  const r: Record<string, Record<string, number>> = { u0: { A: 3, B: 3 }, u1: { A: 3, B: 3, T: 4 }, u2: { A: 4, B: 3, T: 3 }, u3: { A: 5, B: 3, T: 5 } };
  // ALS, one epoch: b_i = Σ(r − μ)/(10 + n_i) with b_u = 0, then b_u = Σ(r − μ − b_i)/(15 + n_u)
  const bi: Record<string, number> = {}, bu: Record<string, number> = {};
  for (const i of items) { const rs = users.filter((u) => r[u][i] !== undefined).map((u) => r[u][i]); bi[i] = rs.reduce((s, v) => s + v - mu, 0) / (10 + rs.length); }
  for (const u of users) { const is = Object.keys(r[u]); bu[u] = is.reduce((s, i) => s + r[u][i] - mu - bi[i], 0) / (15 + is.length); }
  const als = new BaselineOnly({ n_epochs: 1 });
  await als.fit(x);
  for (const i of items) close(als.biases.bi[x.items.require(i)], bi[i], 1e-9, `bi ${i}`);
  for (const u of users) close(als.biases.bu[x.users.require(u)], bu[u], 1e-9, `bu ${u}`);
  // SGD, one epoch, users then their items in index order, lr 0.005, reg 0.02
  const su: Record<string, number> = {}, si: Record<string, number> = { A: 0, B: 0, T: 0 };
  for (const u of users) {
    su[u] = 0;
    for (const i of items) {
      if (r[u][i] === undefined) continue;
      const e = r[u][i] - (mu + su[u] + si[i]);
      su[u] += 0.005 * (e - 0.02 * su[u]);
      si[i] += 0.005 * (e - 0.02 * si[i]);
    }
  }
  const sgd = new BaselineOnly({ method: 'sgd', n_epochs: 1 });
  await sgd.fit(x);
  for (const i of items) close(sgd.biases.bi[x.items.require(i)], si[i], 1e-9, `sgd bi ${i}`);
  const [u, t] = idx(x, 'u1', 'T');
  close(sgd.predict(u, t).estimate, mu + su.u1 + si.T, 1e-9);
});

test('SlopeOne by hand (Surprise\'s unweighted, and weighted)', async () => {
  // u0: A=5, B=3 ; u1: A=4, C=2 ; u2: B=2, C=5, A=3 ; predict (u0, C)
  const x = fromTriplets([['u0', 'A', 5], ['u0', 'B', 3], ['u1', 'A', 4], ['u1', 'C', 2], ['u2', 'B', 2], ['u2', 'C', 5], ['u2', 'A', 3]]);
  const [u, c] = idx(x, 'u0', 'C');
  // dev(C,A) = ((2−4) + (5−3))/2 = 0 ; dev(C,B) = (5−2)/1 = 3 ; μ_u0 = 4 → 4 + (0 + 3)/2 = 5.5 → clipped to 5
  const m = await fitted('slope-one', x);
  close(m.predict(u, c).estimate, 5);
  close(m.recommend(u, 1, { items: [c] }).scores[0], 5.5, 1e-6); // ranking uses the unclipped estimate
  // weighted: ((0 + 5)·2 + (3 + 3)·1) / 3 = 16/3 (clipped to 5 in predict)
  const w = await fitted('slope-one', x, { weighted: true });
  close(w.recommend(u, 1, { items: [c] }).scores[0], 16 / 3, 1e-6);
  close(w.predict(u, c).estimate, 5);
  // (u1, B): dev(B,A) over u0 (3−5) and u2 (2−3) = −1.5 ; dev(B,C) = 2−5 = −3 → μ_u1 = 3 + (−4.5)/2 = 0.75 → clipped to 2
  const [u1, b] = idx(x, 'u1', 'B');
  close((await fitted('slope-one', x)).predict(u1, b).estimate, 2);
});

test('SlopeOne\'s sparse deviations equal the dense formula on random data (unweighted and weighted, unclipped scores)', async () => {
  const x = randomRatings(40, 30, 500, 21);
  const nU = x.users.size, nI = x.items.size;
  const r: Array<Map<number, number>> = Array.from({ length: nU }, () => new Map());
  for (let t = 0; t < x.user.length; t++) r[x.user[t]].set(x.item[t], x.rating[t]);
  // dense reference: dev(i, j) and |U_ij| over every pair, as Surprise computes them
  const freq = new Float64Array(nI * nI), sum = new Float64Array(nI * nI);
  for (const ru of r) for (const [i, ri] of ru) for (const [j, rj] of ru) { freq[i * nI + j]++; sum[i * nI + j] += ri - rj; }
  const want = (u: number, i: number, weighted: boolean): number => {
    let count = 0, s = 0, w = 0;
    for (const [j, rj] of r[u]) {
      const f = freq[i * nI + j];
      if (!f) continue;
      const dev = i === j ? 0 : Math.fround(sum[i * nI + j] / f);
      count++;
      if (weighted) { s += (dev + rj) * f; w += f; } else s += dev;
    }
    const mu = [...r[u].values()].reduce((a, b) => a + b, 0) / r[u].size;
    return count === 0 ? mu : weighted ? s / w : mu + s / count;
  };
  for (const weighted of [false, true]) {
    const m = await fitted('slope-one', x, { weighted });
    for (let u = 0; u < nU; u += 3) {
      const items = Array.from({ length: nI }, (_, i) => i);
      const rec = m.recommend(u, nI, { items, filterSeen: false });
      for (let t = 0; t < rec.ids.length; t++) close(rec.scores[t], want(u, rec.ids[t], weighted), 1e-5, `weighted=${weighted} u${u} i${rec.ids[t]}`);
    }
  }
});

test('SlopeOne fits more than 8,192 items (memory grows with co-rated pairs, not items²)', async () => {
  const { generateInteractions } = await import('../src/data/synthetic.js');
  const { SlopeOne } = await import('../src/models/neighbourhood/slopeOne.js');
  const x = generateInteractions({ users: 150, items: 9724, interactions: 15000, seed: 3, explicit: true, zipf: 0.5 });
  const m = new SlopeOne();
  await m.fit(x);
  assert.ok(x.items.size > 8192, `${x.items.size} items`);
  assert.ok(m.pairs < x.items.size * x.items.size / 20, `${m.pairs} co-rated pairs stored`);
  const p = m.predict(0, x.user[0] === 0 ? x.item[1] : x.item[0]);
  assert.ok(Number.isFinite(p.estimate));
});

test('CoClustering with one cluster each: r̂ = μ_u + μ_i − μ; seeded runs are identical', async () => {
  const x = handData();
  const [u, t] = idx(x, 'u0', 'T');
  const m = await fitted('co-clustering', x, { n_cltr_u: 1, n_cltr_i: 1 });
  close(m.predict(u, t).estimate, 3 + 4 - 39 / 11);
  const data = randomRatings(60, 40, 900, 3);
  const a = new CoClustering({ seed: 7 }), b = new CoClustering({ seed: 7 });
  await a.fit(data); await b.fit(data);
  assert.equal(Array.from(a.clusters.users), Array.from(b.clusters.users));
  assert.equal(Array.from(a.clusters.items), Array.from(b.clusters.items));
  assert.ok(new Set(a.clusters.users).size > 1, 'users spread over clusters');
});

test('random (NormalPredictor): seeded, mean and spread of the training ratings', async () => {
  const x = randomRatings(50, 30, 800, 11);
  const a = await fitted('random', x, { seed: 3 }), b = await fitted('random', x, { seed: 3 });
  const ea: number[] = [], eb: number[] = [];
  for (let t = 0; t < 2000; t++) { ea.push(a.predict(t % 50, t % 30).estimate); eb.push(b.predict(t % 50, t % 30).estimate); }
  assert.equal(ea, eb);
  assert.ok(ea.every((e) => e >= 1 && e <= 5));
  const mu = x.rating.reduce((s, r) => s + r, 0) / x.rating.length;
  const mean = ea.reduce((s, e) => s + e, 0) / ea.length;
  assert.ok(Math.abs(mean - mu) < 0.15, `mean ${mean} vs ${mu}`);
});

test('unknown user or item: impossible with a reason, global mean (baseline for KNNBaseline/BaselineOnly)', async () => {
  const full = handData();
  // drop every rating of u3 → u3 stays in the id map but is unknown to the model
  const keep = Array.from(full.user.keys()).filter((p) => full.users.external(full.user[p]) !== 'u3');
  const x = subset(full, keep);
  const [u3, t] = idx(full, 'u3', 'T');
  const mu = (3 + 3 + 3 + 3 + 4 + 4 + 3 + 3) / 8;
  for (const name of ['knn-basic', 'knn-means', 'knn-zscore', 'slope-one', 'co-clustering']) {
    const p = (await fitted(name, x)).predict(u3, t);
    assert.is(p.impossible, true, name);
    assert.is(p.reason, 'user unknown', name);
    close(p.estimate, mu, 1e-6, name);
  }
  const base = new BaselineOnly();
  await base.fit(x);
  for (const name of ['knn-baseline', 'baseline']) {
    const p = (await fitted(name, x)).predict(u3, t);
    assert.is(p.impossible, true);
    close(p.estimate, mu + base.biases.bi[t], 1e-6, name);
  }
  const q = (await fitted('knn-basic', x)).predict(u3, 99999);
  assert.is(q.reason, 'user and item unknown');
});

test('predictions are clipped to the training rating range; recommend filters seen items', async () => {
  const x = randomRatings(40, 25, 500, 5);
  for (const name of ['baseline', 'knn-basic', 'knn-means', 'knn-zscore', 'knn-baseline', 'slope-one', 'co-clustering']) {
    const m = await fitted(name, x);
    for (let u = 0; u < 40; u++) for (let i = 0; i < 25; i++) {
      const e = m.predict(u, i).estimate;
      assert.ok(e >= 1 && e <= 5 && Number.isFinite(e), `${name} (${u},${i}) = ${e}`);
    }
    const rec = m.recommend(0, 5);
    const seen = new Set(Array.from(x.item).filter((_, p) => x.user[p] === 0));
    assert.ok(rec.ids.length === 5 && Array.from(rec.ids).every((i) => !seen.has(i)), name);
    for (let t = 1; t < rec.scores.length; t++) assert.ok(rec.scores[t] <= rec.scores[t - 1]);
    const some = m.recommend(0, 3, { items: [1, 2, 3, 4], filterSeen: false });
    assert.ok(Array.from(some.ids).every((i) => [1, 2, 3, 4].includes(i)));
  }
});

test('item-based KNN orientation: similarItems; similarUsers on user-based', async () => {
  const x = handData();
  const m = new KnnModel('basic', { user_based: false });
  await m.fit(x);
  const s = m.similarItems(x.items.require('A'), 5);
  assert.ok(s.ids.length > 0);
  assert.throws(() => m.similarUsers(0, 3), /user_based=true/);
  const ub = new KnnModel('basic');
  await ub.fit(x);
  const near = ub.similarUsers(x.users.require('u0'), 3);
  assert.equal(Array.from(near.ids), ['u1', 'u2', 'u3'].map((n) => x.users.require(n)));
  close(near.scores[1], 2 / 3);
});

test('item-knn (implicit): scores are sums of neighbour similarities, by hand', async () => {
  // users × items, implicit: u0 {a, b}, u1 {a, b, c}, u2 {b, c}, u3 {c, d}
  const x = fromTriplets([['u0', 'a'], ['u0', 'b'], ['u1', 'a'], ['u1', 'b'], ['u1', 'c'], ['u2', 'b'], ['u2', 'c'], ['u3', 'c'], ['u3', 'd']], true);
  const m = new ImplicitKnn('item');
  await m.fit(x);
  // item vectors over users: a=(1,1,0,0) b=(1,1,1,0) c=(0,1,1,1) d=(0,0,0,1)
  // cos(a,c) = 1/(√2·√3), cos(b,c) = 2/3, cos(a,d) = 0, cos(b,d) = 0 → score(u0, c) = 1/√6 + 2/3, d unscored
  const [u0, c] = idx(x, 'u0', 'c');
  const rec = m.recommend(u0, 5);
  assert.equal(Array.from(rec.ids), [c]);
  close(rec.scores[0], 1 / Math.sqrt(6) + 2 / 3, 1e-6);
  close(m.predict(u0, c).estimate, 1 / Math.sqrt(6) + 2 / 3, 1e-6);
  assert.is(m.predictsRatings, false);
  // without filtering, seen items come back too (a via b's list, b via a's list)
  const all = m.recommend(u0, 5, { filterSeen: false });
  assert.ok(Array.from(all.ids).includes(x.items.require('a')));
  // similarItems: c's neighbours b (2/3), d (1/√3), a (1/√6)
  const sim = m.similarItems(c, 3);
  assert.equal(Array.from(sim.ids), ['b', 'd', 'a'].map((n) => x.items.require(n)));
  // K = 1 neighbour per item: c keeps only b; a's neighbour is b, b's is a → u3 {c,d}: c→b, d→c(seen) → b
  const k1 = new ImplicitKnn('item', { K: 1 });
  await k1.fit(x);
  assert.equal(Array.from(k1.recommend(x.users.require('u3'), 3).ids), [x.items.require('b')]);
});

test('user-knn (implicit) by hand; tfidf and bm25 variants run and rank', async () => {
  const x = fromTriplets([['u0', 'a'], ['u0', 'b'], ['u1', 'a'], ['u1', 'b'], ['u1', 'c'], ['u2', 'b'], ['u2', 'c'], ['u3', 'c'], ['u3', 'd']], true);
  const m = new ImplicitKnn('user');
  await m.fit(x);
  // user vectors: u0=(1,1,0,0) u1=(1,1,1,0) u2=(0,1,1,0) u3=(0,0,1,1)
  // cos(u0,u1) = 2/√6, cos(u0,u2) = 1/2, cos(u0,u3) = 0 → score(u0, c) = 2/√6 + 1/2
  const [u0, c] = idx(x, 'u0', 'c');
  const rec = m.recommend(u0, 3);
  assert.equal(Array.from(rec.ids), [c]);
  close(rec.scores[0], 2 / Math.sqrt(6) + 0.5, 1e-6);
  for (const variant of ['tfidf', 'bm25']) {
    const v = neighbourhoodModels['item-knn']({ variant });
    await v.fit(randomRatings(30, 20, 200, 9, true));
    const r = v.recommend(0, 5);
    assert.ok(r.ids.length > 0, variant);
  }
});

test('item-knn bm25 defaults are implicit BM25Recommender\'s (K1 = 1.2, B = 0.75), not its weighting function\'s (100, 0.8)', async () => {
  const m = new ImplicitKnn('item', { variant: 'bm25' });
  assert.equal([m.options.K1, m.options.B], [1.2, 0.75]);
  const x = randomRatings(30, 20, 200, 9, true);
  const args = m.similarityArgs({ rows: 0, cols: 0, indptr: new Int32Array(1), indices: new Int32Array(0), data: new Float32Array(0) });
  assert.equal([args.metric, args.weighting, args.bm25K1, args.bm25B], ['dot', 'bm25', 1.2, 0.75]);
  // the fitted lists are those of the explicit parameters, and differ from the weighting function's defaults
  const lists = async (p: Record<string, number | string>) => {
    const k = new ImplicitKnn('item', { variant: 'bm25', ...p });
    await k.fit(x);
    return Array.from(k.neighbours.ids);
  };
  const dflt = await lists({});
  assert.equal(dflt, await lists({ K1: 1.2, B: 0.75 }));
  assert.not.equal(dflt, await lists({ K1: 100, B: 0.8 }));
});

test("implicit's K counts the item itself: item-knn bm25 k = 19 scores every unseen item as implicit's BM25Recommender(K = 20)", async () => {
  // implicit's BM25Recommender, transcribed in float64 from its source (nearest_neighbours.py):
  //   bm25_weight(item_users, K1, B): N = items, idf(u) = ln N − ln(1 + items of u),
  //     L(i) = (1 − B) + B·Σ_u X[i,u] / mean_i'(Σ_u X[i',u]),  W[i,u] = X[i,u]·(K1 + 1) / (K1·L(i) + X[i,u]) · idf(u)
  //   all_pairs_knn: S[i,·] = the K largest W_i·W_j over every j, i itself included
  //   recommend(u): score(i) = Σ_j r_uj·S[j,i], the user's items filtered out
  const x = randomRatings(60, 40, 900, 21);
  const nU = x.users.size, nI = x.items.size, K = 20, K1 = 1.2, B = 0.75;
  const X = Array.from({ length: nI }, () => new Float64Array(nU));
  for (let t = 0; t < x.user.length; t++) X[x.item[t]][x.user[t]] += x.rating[t];
  const df = new Float64Array(nU), rowSum = new Float64Array(nI);
  for (let i = 0; i < nI; i++) for (let u = 0; u < nU; u++) if (X[i][u] !== 0) { df[u]++; rowSum[i] += X[i][u]; }
  const avg = rowSum.reduce((a, b) => a + b, 0) / nI;
  const W = X.map((row, i) => row.map((v, u) => (v === 0 ? 0 : (v * (K1 + 1)) / (K1 * ((1 - B) + (B * rowSum[i]) / avg) + v) * (Math.log(nI) - Math.log1p(df[u])))));
  const S = W.map((wi, i) => {
    const sims = W.map((wj, j) => ({ j, s: wi.reduce((a, v, u) => a + v * wj[u], 0) })).sort((a, b) => b.s - a.s);
    // the comparison is exact only where the item is in its own top K and the K-th is no tie
    assert.ok(sims.slice(0, K).some((e) => e.j === i), `item ${i} is in its own top ${K}`);
    assert.ok(sims[K - 1].s - sims[K].s > 1e-6 * Math.abs(sims[K - 1].s), `no tie at rank ${K} for item ${i}`);
    const row = new Float64Array(nI);
    for (const e of sims.slice(0, K)) row[e.j] = e.s;
    return row;
  });
  const scoresOf = async (k: number) => {
    const m = new ImplicitKnn('item', { variant: 'bm25', k });
    await m.fit(x);
    return m;
  };
  const k19 = await scoresOf(K - 1), k20 = await scoresOf(K);
  let compared = 0, k20Differs = 0;
  for (let u = 0; u < nU; u++) {
    const seen = new Set<number>();
    for (let t = 0; t < x.user.length; t++) if (x.user[t] === u) seen.add(x.item[t]);
    for (let i = 0; i < nI; i++) {
      if (seen.has(i)) continue;
      let ref = 0;
      for (const j of seen) ref += X[j][u] * S[j][i];
      const tol = 1e-4 * Math.max(1, Math.abs(ref));
      close(k19.predict(u, i).estimate, ref, tol);
      if (Math.abs(k20.predict(u, i).estimate - ref) > tol) k20Differs++;
      compared++;
    }
  }
  assert.ok(compared > 1000, `${compared} (user, item) scores compared`);
  assert.ok(k20Differs > 0, 'k = 20 here (20 neighbours besides the item) scores differently from implicit\'s K = 20');
});

test('registry: every model name; unknown names and bad params are clear errors', async () => {
  assert.equal(Object.keys(neighbourhoodModels).sort(), ['baseline', 'co-clustering', 'item-knn', 'knn-baseline', 'knn-basic', 'knn-means', 'knn-zscore', 'random', 'slope-one', 'user-knn']);
  for (const name of Object.keys(neighbourhoodModels)) assert.ok(allModels[name], `allModels has ${name}`);
  assert.throws(() => neighbourhoodModels['knn-basic']({ kk: 3 }), /unknown parameter 'kk'/);
  assert.throws(() => neighbourhoodModels['knn-basic']({ k: 0 }), /k must be a positive integer/);
  assert.throws(() => neighbourhoodModels['knn-basic']({ sim: 'euclid' }), /sim must be one of/);
  assert.throws(() => neighbourhoodModels.baseline({ method: 'newton' }), /method must be one of als\|sgd/);
  assert.throws(() => neighbourhoodModels['item-knn']({ K: -1 }), /must be a positive integer/);
  const m = neighbourhoodModels['knn-means']({ sim: 'pearson_baseline', user_based: false, shrinkage: 50, min_support: 2 });
  await m.fit(randomRatings(30, 20, 300, 2));
  assert.ok(Number.isFinite(m.predict(0, 0).estimate));
  assert.throws(() => neighbourhoodModels['knn-basic']().predict(0, 0), /not fitted/);
  let threw = false;
  try { await neighbourhoodModels['knn-basic']().fit(fromTriplets([])); } catch (e) { threw = /empty/.test((e as Error).message); }
  assert.ok(threw, 'empty training data → error');
  assert.throws(() => neighbourhoodModels.baseline().recommend(0, 0), /not fitted|k must be/);
});

function randomRatings(users: number, items: number, n: number, seed: number, implicit = false): Interactions {
  const rnd = mulberry32(seed);
  const seen = new Set<string>();
  const rows: Array<[number, number, number]> = [];
  // every user and item at least once, then random pairs
  for (let u = 0; u < users; u++) rows.push([u, u % items, 1 + Math.floor(rnd() * 5)]);
  for (let i = 0; i < items; i++) rows.push([(i * 7) % users, i, 1 + Math.floor(rnd() * 5)]);
  while (rows.length < n) rows.push([Math.floor(rnd() * users), Math.floor(rnd() * items), 1 + Math.floor(rnd() * 5)]);
  const uniq = rows.filter(([u, i]) => { const key = `${u}:${i}`; if (seen.has(key)) return false; seen.add(key); return true; });
  // ids in index order so that index = id
  uniq.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return fromTriplets(uniq.map(([u, i, r]) => [u, i, implicit ? 1 : r]), implicit);
}

test.run();
