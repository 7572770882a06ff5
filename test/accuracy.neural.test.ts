/**
 * Accuracy bars of issue 19's EASE, Mult-VAE and two-tower on MovieLens 100K, each against the
 * classical models on the same splits (src/eval's evaluate() with shared splits). The data is
 * read at run time from $AFFINITY_DATA_DIR/ml-100k (default: the shared data folder beside the
 * repository) and never copied; the suite skips with a printed reason when it is absent.
 *
 *   multvae ≥ als on NDCG@100, heldout-users:0.2 (Liang et al. 2018's protocol: 20 % of the users
 *     held out, 80 % of their items folded in, 20 % to rank), split seeds 0 and 1. Mult-VAE is the
 *     paper's architecture (600 → 200, β → 0.2, dropout 0.5) with batches of 100 users and 30
 *     epochs (ML-100k has 943 users: the paper's batches of 500 give 2 updates an epoch); ALS is
 *     fitted with the held-out users' fold-in items, at its defaults and at the factorization
 *     suite's 64 factors × 15 iterations, and the bar is the better of the two. Recall@20 (Liang's,
 *     recall-capped@20) is printed too.
 *   two-tower ≥ popularity and ≥ feature-mf on NDCG@10 of the users with no training history
 *     (bucket 0) under cold-users:0.1:0.2, u.item and u.user as side information, split seeds 0–2.
 *   ease ≥ item-knn on NDCG@10 under user-holdout:0.2 (seed 0), both at their defaults.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testOrSkip } from './helpers/skip.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInteractions } from '../src/data/readers.js';
import { readItemFeatures, readUserFeatures } from '../src/data/sideInfo.js';
import type { Interactions } from '../src/data/interactions.js';
import { evaluate, makeSplits, type EvaluateResult, type Protocol } from '../src/eval/evaluate.js';
import { allModels } from '../src/models/registry.js';
import type { ModelParams } from '../src/models/types.js';
import type { SideInfoInput } from '../src/models/attachSideInfo.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = process.env.AFFINITY_DATA_DIR ?? path.join(root, '..', 'shared', 'data');
const dir = path.join(dataDir, 'ml-100k');
const file = path.join(dir, 'u.data.gz');
const withData = testOrSkip(test, existsSync(file) ? null : `${file} not found (set AFFINITY_DATA_DIR)`);

let data: Interactions | null = null;
async function ml100k(): Promise<Interactions> {
  data ??= await readInteractions(file);
  return data;
}

async function run(models: Array<[string, ModelParams]>, protocol: Protocol, seed: number, repeat: number, metrics: string[], extra: { sideInfo?: SideInfoInput; coldStart?: 'user' } = {}): Promise<EvaluateResult[]> {
  const x = await ml100k();
  const splits = makeSplits(x, protocol, seed, repeat);
  const out: EvaluateResult[] = [];
  for (const [name, params] of models) {
    const r = await evaluate({ data: x, modelName: name, params, protocol, seed, repeat, splits, metrics, models: allModels, ...extra });
    const b0 = r.coldStart?.find((b) => b.bucket === '0');
    console.log(`  ${name} ${JSON.stringify(params)}: ${metrics.map((m) => `${m} ${r.mean[m].toFixed(4)}`).join(', ')}${b0 ? `, bucket 0 (${b0.users} users) ndcg@10 ${b0.mean['ndcg@10']!.toFixed(4)}` : ''} (fit ${r.mean.fitSeconds.toFixed(1)} s per split${r.splits[0].foldIn ? `, fold-in by ${r.splits[0].foldIn}` : ''})`);
    out.push(r);
  }
  return out;
}

withData('ML-100k heldout-users:0.2 NDCG@100: multvae ≥ the better ALS', async () => {
  const [vae, alsDefault, als64] = await run([
    ['multvae', { epochs: 30, batch_size: 100 }], ['als', {}], ['als', { factors: 64, iterations: 15 }],
  ], { kind: 'heldout-users', users: 0.2, testRatio: 0.2 }, 0, 2, ['ndcg@100', 'recall-capped@20']);
  assert.is(vae.splits[0].foldIn, 'history');
  const bar = Math.max(alsDefault.mean['ndcg@100'], als64.mean['ndcg@100']);
  assert.ok(vae.mean['ndcg@100'] >= bar, `multvae NDCG@100 ${vae.mean['ndcg@100'].toFixed(4)} < als ${bar.toFixed(4)}`);
});

withData('ML-100k cold-users:0.1:0.2 bucket 0 NDCG@10: two-tower ≥ popularity and ≥ feature-mf', async () => {
  const sideInfo = { items: await readItemFeatures(path.join(dir, 'u.item.gz')), users: await readUserFeatures(path.join(dir, 'u.user.gz')) };
  const results = await run([['two-tower', {}], ['popularity', {}], ['feature-mf', {}]], { kind: 'cold-users', fraction: 0.1, warmRatio: 0.2 }, 0, 3, ['ndcg@10'], { sideInfo, coldStart: 'user' });
  const b0 = results.map((r) => r.coldStart!.find((b) => b.bucket === '0')!.mean['ndcg@10']!);
  assert.ok(b0[0] >= b0[1], `two-tower ${b0[0].toFixed(4)} < popularity ${b0[1].toFixed(4)}`);
  assert.ok(b0[0] >= b0[2], `two-tower ${b0[0].toFixed(4)} < feature-mf ${b0[2].toFixed(4)}`);
});

withData('ML-100k user-holdout:0.2 NDCG@10: ease ≥ item-knn', async () => {
  const [ease, knn] = await run([['ease', {}], ['item-knn', {}]], { kind: 'user-holdout', ratio: 0.2 }, 0, 1, ['ndcg@10']);
  assert.ok(ease.mean['ndcg@10'] >= knn.mean['ndcg@10'], `ease ${ease.mean['ndcg@10'].toFixed(4)} < item-knn ${knn.mean['ndcg@10'].toFixed(4)}`);
});

test.run();
