/**
 * Accuracy of the factorization models on MovieLens 100K against the published numbers
 * of the libraries they follow. The data is read at run time from outside the repo
 * (AFFINITY_DATA_DIR, default <repo>/../shared/data) and never copied into it.
 *
 *   rating models — Surprise's benchmark protocol: 5-fold CV over all of u.data (shuffled
 *   once, seed 0), RMSE per fold, mean over folds. Surprise 1.1 (README table): SVD 0.934,
 *   SVD++ 0.919 (0.9187), NMF 0.963. SGD results move with the initialisation seed by about
 *   ±0.002 (SVD's 100 factors overfit, so its init matters most), so each model's number here
 *   is the mean over the five init seeds 0..4 of the 5-fold mean; each seed is printed.
 *   Bar: ≤ Surprise + 0.003.
 *
 *   implicit models — one 80/20 random split of all u.data ratings (seed 0); the rating is the
 *   confidence (ALS) / any rating is a positive (BPR); every held-out rating is a relevant
 *   item; top-10 with training items filtered; NDCG@10 (binary relevance, ideal DCG over
 *   min(10, #held-out)) averaged over test users — src/eval's evaluate() with 'holdout:0.2'.
 *   implicit 0.7: ALS(factors=64, iterations=15) 0.350, BPR (defaults) 0.283. Bar: ≥ each − 0.01.
 *
 *   Hogwild: SVD and BPR again with deterministic: false (their epochs in parallel over the
 *   engine's threads, float32, where the backend has the parallel kernel), against the same bars;
 *   and once more pinned to the wasm backend (its epochs as one task per pool worker on a shared
 *   WebAssembly.Memory, src/backends/wasm/hogwild.ts), skipped when that module cannot run here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInteractions } from '../src/data/readers.js';
import type { Interactions } from '../src/data/interactions.js';
import { evaluate } from '../src/eval/evaluate.js';
import { factorizationModels } from '../src/models/factorization/index.js';
import type { ModelParams } from '../src/models/types.js';
import { testOrSkip } from './helpers/skip.js';
import { loadHogwildWasm } from '../src/backends/wasm/index.js';

// compiled to dist/test/: the repo root is two levels up
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = process.env.AFFINITY_DATA_DIR ?? path.join(root, '..', 'shared', 'data');
const file = path.join(dataDir, 'ml-100k', 'u.data.gz');
const withData = testOrSkip(test, existsSync(file) ? null : `${file} not found (set AFFINITY_DATA_DIR)`);

let data: Interactions | null = null;
async function ml100k(): Promise<Interactions> {
  data ??= await readInteractions(file);
  return data;
}

async function cvRmse(model: string, seeds: number[], params: ModelParams = {}, backend?: string): Promise<number> {
  const x = await ml100k();
  const means: number[] = [];
  for (const seed of seeds) {
    const r = await evaluate({ data: x, modelName: model, params: { ...params, seed }, protocol: { kind: 'kfold', folds: 5 }, seed: 0, metrics: ['rmse'], models: factorizationModels, backend });
    means.push(r.mean.rmse);
    console.log(`  ${model} seed ${seed}: 5-fold RMSE ${r.mean.rmse.toFixed(4)} (folds ${r.folds.map((f) => f.rmse.toFixed(4)).join(' ')}; fit ${r.mean.fitSeconds.toFixed(2)} s/fold)`);
  }
  return means.reduce((a, b) => a + b, 0) / means.length;
}

async function holdoutNdcg(model: string, params: ModelParams = {}, backend?: string): Promise<number> {
  const x = await ml100k();
  const r = await evaluate({ data: x, modelName: model, params, protocol: { kind: 'holdout', ratio: 0.2 }, seed: 0, metrics: ['ndcg@10'], models: factorizationModels, backend });
  console.log(`  ${model} ${JSON.stringify(params)}${backend ? ` on ${backend}` : ''}: NDCG@10 ${r.mean['ndcg@10'].toFixed(4)} (fit ${r.mean.fitSeconds.toFixed(2)} s, recommend for all test users ${r.mean.testSeconds.toFixed(2)} s)`);
  return r.mean['ndcg@10'];
}

const SEEDS = [0, 1, 2, 3, 4];

const ratingBars: Array<[string, number]> = [['svd', 0.9344], ['svdpp', 0.9187], ['nmf', 0.9634]];
for (const [model, surprise] of ratingBars) {
  withData(`ML-100k 5-fold RMSE: ${model} ≤ Surprise ${surprise} + 0.003`, async () => {
    const rmse = await cvRmse(model, SEEDS);
    console.log(`  ${model}: mean over seeds ${rmse.toFixed(4)} (Surprise ${surprise}, bar ${(surprise + 0.003).toFixed(4)})`);
    assert.ok(rmse <= surprise + 0.003, `${model} RMSE ${rmse.toFixed(4)} > ${(surprise + 0.003).toFixed(4)}`);
  });
}

const rankingBars: Array<[string, ModelParams, number]> = [['als', { factors: 64, iterations: 15 }, 0.350], ['bpr', {}, 0.283]];
for (const [model, params, implicit] of rankingBars) {
  withData(`ML-100k 80/20 NDCG@10: ${model} ≥ implicit ${implicit} − 0.01`, async () => {
    const ndcg = await holdoutNdcg(model, params);
    assert.ok(ndcg >= implicit - 0.01, `${model} NDCG@10 ${ndcg.toFixed(4)} < ${(implicit - 0.01).toFixed(3)}`);
  });
}

// the same bars with Hogwild epochs (deterministic: false)
withData('ML-100k 5-fold RMSE: svd with Hogwild epochs ≤ Surprise 0.9344 + 0.003', async () => {
  const rmse = await cvRmse('svd', SEEDS, { deterministic: false });
  console.log(`  svd (Hogwild): mean over seeds ${rmse.toFixed(4)} (bar 0.9374)`);
  assert.ok(rmse <= 0.9344 + 0.003, `svd (Hogwild) RMSE ${rmse.toFixed(4)} > 0.9374`);
});

withData('ML-100k 80/20 NDCG@10: bpr with Hogwild epochs ≥ implicit 0.283 − 0.01', async () => {
  const ndcg = await holdoutNdcg('bpr', { deterministic: false });
  assert.ok(ndcg >= 0.283 - 0.01, `bpr (Hogwild) NDCG@10 ${ndcg.toFixed(4)} < 0.273`);
});

// the same on the wasm backend's Hogwild (one task per pool worker over a shared memory)
const hogwildWasm = loadHogwildWasm();
const withWasmHogwild = testOrSkip(test, !existsSync(file) ? `${file} not found (set AFFINITY_DATA_DIR)` : hogwildWasm instanceof Error ? `wasm Hogwild unavailable: ${hogwildWasm.message}` : null);

withWasmHogwild('ML-100k 5-fold RMSE: svd with Hogwild epochs on wasm ≤ Surprise 0.9344 + 0.003', async () => {
  const rmse = await cvRmse('svd', SEEDS, { deterministic: false }, 'wasm');
  console.log(`  svd (Hogwild, wasm): mean over seeds ${rmse.toFixed(4)} (bar 0.9374)`);
  assert.ok(rmse <= 0.9344 + 0.003, `svd (Hogwild, wasm) RMSE ${rmse.toFixed(4)} > 0.9374`);
});

withWasmHogwild('ML-100k 80/20 NDCG@10: bpr with Hogwild epochs on wasm ≥ implicit 0.283 − 0.01', async () => {
  const ndcg = await holdoutNdcg('bpr', { deterministic: false }, 'wasm');
  assert.ok(ndcg >= 0.283 - 0.01, `bpr (Hogwild, wasm) NDCG@10 ${ndcg.toFixed(4)} < 0.273`);
});

test.run();
