/**
 * Accuracy bar for the neighbourhood models on MovieLens 100K (5-fold CV, default parameters):
 * each model's mean RMSE must be at or below Surprise 1.1.4's measured figure + 0.003.
 *
 * The data is read at run time from $AFFINITY_DATA_DIR/ml-100k/u.data.gz (default: the shared
 * data folder beside the repository) and never copied; the suite skips when it is absent.
 *
 * Deterministic models are averaged over 3 k-fold splits (split seeds 1, 2, 3). CoClustering's
 * result depends strongly on its random initial clusters (one 5-fold run ranges over about
 * ±0.007 RMSE from seed to seed, sd ≈ 0.0033; Surprise's 0.9626 is a single draw), so it is
 * averaged over 40 runs, run r using split seed r + 1 and model seed r (about 20 s).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInteractions } from '../src/data/readers.js';
import type { Interactions } from '../src/data/interactions.js';
import { evaluate } from '../src/eval/evaluate.js';
import { neighbourhoodModels } from '../src/models/neighbourhood/index.js';
import { testOrSkip } from './helpers/skip.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = process.env.AFFINITY_DATA_DIR ?? path.join(root, '..', 'shared', 'data');
const file = path.join(dataDir, 'ml-100k', 'u.data.gz');

/** Surprise 1.1.4, ML-100k, 5-fold, default parameters: mean RMSE. */
const SURPRISE: Record<string, { surprise: string; rmse: number; runs: number }> = {
  'knn-baseline': { surprise: 'KNNBaseline', rmse: 0.9307, runs: 3 },
  'knn-means': { surprise: 'KNNWithMeans', rmse: 0.9511, runs: 3 },
  'knn-basic': { surprise: 'KNNBasic', rmse: 0.9797, runs: 3 },
  'slope-one': { surprise: 'SlopeOne', rmse: 0.9459, runs: 3 },
  baseline: { surprise: 'BaselineOnly', rmse: 0.9440, runs: 3 },
  'co-clustering': { surprise: 'CoClustering', rmse: 0.9626, runs: 40 },
};
const MARGIN = 0.003;

async function meanRmse(data: Interactions, model: string, runs: number): Promise<{ rmse: number; min: number; max: number; seconds: number }> {
  const seeded = model === 'co-clustering';
  const values: number[] = [];
  const t0 = performance.now();
  for (let r = 0; r < runs; r++) {
    const res = await evaluate({
      data, modelName: model, params: seeded ? { seed: r } : {}, protocol: { kind: 'kfold', folds: 5 }, seed: r + 1,
      metrics: ['rmse'], models: neighbourhoodModels,
    });
    values.push(res.mean.rmse);
  }
  return { rmse: values.reduce((s, v) => s + v, 0) / runs, min: Math.min(...values), max: Math.max(...values), seconds: (performance.now() - t0) / 1000 };
}

const present = existsSync(file);
const withData = testOrSkip(test, present ? null : `${file} not found (set AFFINITY_DATA_DIR)`);
let data: Interactions;
if (present) {
  test.before(async () => {
    data = await readInteractions(file);
  });
}

withData('ML-100k is the expected dataset', () => {
  assert.is(data.user.length, 100000);
  assert.is(data.users.size, 943);
  assert.is(data.items.size, 1682);
});

for (const [model, ref] of Object.entries(SURPRISE)) {
  withData(`${model}: 5-fold mean RMSE ≤ Surprise ${ref.surprise} ${ref.rmse} + ${MARGIN}`, async () => {
    const r = await meanRmse(data, model, ref.runs);
    console.log(`  ${model.padEnd(14)} RMSE ${r.rmse.toFixed(4)} (runs ${ref.runs}, range ${r.min.toFixed(4)}–${r.max.toFixed(4)}) vs Surprise ${ref.surprise} ${ref.rmse}  [${r.seconds.toFixed(1)} s]`);
    assert.ok(r.rmse <= ref.rmse + MARGIN, `${model}: RMSE ${r.rmse.toFixed(4)} > ${ref.rmse} + ${MARGIN}`);
  });
}

// implicit's BM25Recommender (K=20, K1=1.2, B=0.75) on an ML-100k 80/20 split: precision_at_k(10) = 0.385
// (measured for issue 16). implicit's precision divides by min(10, held-out): affinity's capped-precision@10.
withData('item-knn bm25 with its defaults, ML-100k 80/20: capped-precision@10 (mean of split seeds 0-2) ≥ implicit 0.385 − 0.01', async () => {
  const values: number[] = [];
  for (const seed of [0, 1, 2]) {
    const r = await evaluate({
      data, modelName: 'item-knn', params: { variant: 'bm25' }, protocol: { kind: 'holdout', ratio: 0.2 }, seed,
      metrics: ['capped-precision@10', 'precision@10'], models: neighbourhoodModels,
    });
    values.push(r.mean['capped-precision@10']);
    console.log(`  item-knn bm25 seed ${seed}: capped-precision@10 ${r.mean['capped-precision@10'].toFixed(4)}, precision@10 ${r.mean['precision@10'].toFixed(4)}`);
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  assert.ok(mean >= 0.385 - 0.01, `capped-precision@10 ${mean.toFixed(4)} < 0.375`);
});

withData('knn-zscore and random (no Surprise bar in the issue): reported, sanity-checked', async () => {
  for (const model of ['knn-zscore', 'random']) {
    const r = await meanRmse(data, model, 1);
    console.log(`  ${model.padEnd(14)} RMSE ${r.rmse.toFixed(4)}  [${r.seconds.toFixed(1)} s]`);
    assert.ok(model === 'random' ? r.rmse > 1.3 && r.rmse < 1.7 : r.rmse < 0.96, `${model}: ${r.rmse}`);
  }
});

test.run();
