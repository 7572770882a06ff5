/**
 * The neural models on MovieLens 100K against affinity's classical models on the same split
 * (issue 19). The data is read at run time from outside the repo (AFFINITY_DATA_DIR, default
 * <repo>/../shared/data) and never copied into it.
 *
 * Protocol: leave-last:1 — per user, by timestamp (ties by input order), the last rating is the
 * test item and the second-last the validation item (kept in training; the neural models hold it
 * out of their targets and stop early on it). Every rating is a positive. Full ranking over the
 * catalogue with the user's training items filtered: HR@10 and NDCG@10 over the 943 users; and the
 * papers' sampled metric (the test item among 100 seeded random items the user never rated,
 * sampled:hit@10 / sampled:ndcg@10).
 *
 * Bars:
 *   sasrec full-ranking NDCG@10, mean over three seeds, ≥ 1.2 × the best of popularity, item-knn,
 *   als, bpr and ease;
 *   neumf ≥ bpr on sampled HR@10 (He et al. 2017's protocol).
 * Every model's figures are printed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testOrSkip } from './helpers/skip.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInteractions } from '../src/data/readers.js';
import { evaluate, makeSplits, type EvaluateResult } from '../src/eval/evaluate.js';
import { allModels } from '../src/models/registry.js';
import type { ModelParams } from '../src/models/types.js';
import { closeEngine } from '../src/engine/processEngine.js';

// compiled to dist/test/: the repo root is two levels up
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = process.env.AFFINITY_DATA_DIR ?? path.join(root, '..', 'shared', 'data');
const file = path.join(dataDir, 'ml-100k', 'u.data.gz');
const withData = testOrSkip(test, existsSync(file) ? null : `${file} not found (set AFFINITY_DATA_DIR)`);

/**
 * The classical models of the bar, with the settings of the factorization accuracy suite. EASE
 * (Steck 2019) joins the bar automatically once the model is registered as 'ease' (another part
 * of issue 19); until then it is listed as pending.
 */
const BASELINES: Array<[string, ModelParams]> = [
  ['popularity', {}],
  ['item-knn', {}],
  ['als', { factors: 64, iterations: 15 }],
  ['bpr', {}],
  ...(allModels.ease ? [['ease', {}] as [string, ModelParams]] : []),
];

/**
 * The neural models as the suite trains them. SASRec: the paper's architecture with the blocks
 * laid out as the authors' code does them (blockLayout 'sasrec-code'), full softmax CE, lr 0.003
 * for up to 40 epochs (patience 8), every window of the longer histories (windows 'all'): the best
 * mean validation NDCG@10 over seeds 42, 1, 2 of the settings tried (docs/sequential-study.md (f):
 * 0.1100, against 0.1078 for the same layout at lr 0.005 and 0.1035 for the pre-LN layout at
 * lr 0.005, the suite's settings before). It is fitted once per seed of SASREC_SEEDS
 * (initialisation, dropout, batch order; the split is the same): one seed's test NDCG@10 moves by
 * as much as the bar's margin (0.087–0.107 here; 0.079–0.099 with the earlier settings), so the bar
 * is asserted on the mean over the seeds.
 */
const SASREC: ModelParams = { loss: 'ce', lr: 0.003, epochs: 40, patience: 8, windows: 'all', blockLayout: 'sasrec-code' };
const SASREC_SEEDS = [42, 1, 2];
const NEUMF: ModelParams = { epochs: 20, patience: 3 };

const METRICS = ['hit@10', 'ndcg@10'];
let results: Promise<Map<string, EvaluateResult>> | null = null;

/** The runs: every baseline, 'sasrec seed=N' for each seed, and neumf. */
function runAll(): Promise<Map<string, EvaluateResult>> {
  results ??= (async () => {
    const data = await readInteractions(file);
    const protocol = { kind: 'leave-last' as const, k: 1 };
    const splits = makeSplits(data, protocol, 0);
    const out = new Map<string, EvaluateResult>();
    const runs: Array<[string, string, ModelParams]> = [
      ...BASELINES.map(([m, p]) => [m, m, p] as [string, string, ModelParams]),
      ...SASREC_SEEDS.map((seed) => [`sasrec seed=${seed}`, 'sasrec', { ...SASREC, seed }] as [string, string, ModelParams]),
      ['neumf', 'neumf', NEUMF],
    ];
    for (const [label, model, params] of runs) {
      const epochs: string[] = [];
      const r = await evaluate({
        data, modelName: model, params, protocol, seed: 0, metrics: METRICS, models: allModels, splits, sampledNegatives: 100,
        onEpoch: (e, loss, info) => { if (info?.metric !== undefined) epochs.push(`${e}:${loss.toFixed(3)}/${info.metric.toFixed(4)}`); },
      });
      out.set(label, r);
      const m = r.mean;
      console.log(`  ${label.padEnd(16)} HR@10 ${m['hit@10'].toFixed(4)}  NDCG@10 ${m['ndcg@10'].toFixed(4)}  sampled-100 HR@10 ${m['sampled:hit@10'].toFixed(4)}  NDCG@10 ${m['sampled:ndcg@10'].toFixed(4)}  (fit ${m.fitSeconds.toFixed(1)} s${epochs.length ? `; epoch:loss/validation NDCG@10 ${epochs.join(' ')}` : ''})`);
    }
    if (!allModels.ease) console.log('  ease: pending (not registered yet; it joins the bar when it is)');
    return out;
  })();
  return results;
}

// Issue 19's bar: 1.2 × the best classical model, on SASRec's mean NDCG@10 over the seeds. Measured
// (seeded, identical run to run on one build): seeds 42, 1, 2 → 0.0893, 0.1078, 0.0870, mean 0.0947 = 1.28 × ALS
// 0.0739; the lowest seed alone is 1.18 ×, so a single-seed bar would not hold for every seed.
withData(`ML-100k leave-last:1, full ranking: sasrec NDCG@10 (mean over seeds ${SASREC_SEEDS.join(', ')}) ≥ 1.2 × the best classical model`, async () => {
  const r = await runAll();
  const best = BASELINES.map(([m]) => [m, r.get(m)!.mean['ndcg@10']] as const).reduce((a, b) => (b[1] > a[1] ? b : a));
  const perSeed = SASREC_SEEDS.map((seed) => r.get(`sasrec seed=${seed}`)!.mean['ndcg@10']);
  const mean = perSeed.reduce((a, b) => a + b, 0) / perSeed.length;
  const ratio = mean / best[1];
  console.log(`  sasrec NDCG@10 per seed ${perSeed.map((v, k) => `${SASREC_SEEDS[k]}: ${v.toFixed(4)} (${(v / best[1]).toFixed(3)} ×)`).join(', ')}; mean ${mean.toFixed(4)} = ${ratio.toFixed(3)} × ${best[0]} ${best[1].toFixed(4)}; min ${(Math.min(...perSeed) / best[1]).toFixed(3)} ×`);
  assert.ok(ratio >= 1.2, `sasrec mean NDCG@10 ${mean.toFixed(4)} < 1.2 × ${best[0]} ${best[1].toFixed(4)}`);
});

withData('ML-100k leave-last:1, 100 sampled negatives (the NeuMF paper protocol): neumf HR@10 ≥ bpr', async () => {
  const r = await runAll();
  const neumf = r.get('neumf')!.mean['sampled:hit@10'], bpr = r.get('bpr')!.mean['sampled:hit@10'];
  console.log(`  neumf sampled HR@10 ${neumf.toFixed(4)} vs bpr ${bpr.toFixed(4)}`);
  assert.ok(neumf >= bpr, `neumf sampled HR@10 ${neumf.toFixed(4)} < bpr ${bpr.toFixed(4)}`);
});

test.after(() => closeEngine());
test.run();
