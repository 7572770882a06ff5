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
 *   sasrec full-ranking NDCG@10 ≥ 1.2 × the best of popularity, item-knn, als, bpr and ease;
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
 * The neural models as the suite trains them: the paper's architecture; lr 0.005 so that the fit
 * converges in ~10–20 epochs; SASRec trains on every window of the longer histories (windows
 * 'all': the best validation NDCG@10 of the settings tried, docs/sequential-study.md).
 */
const SASREC: ModelParams = { loss: 'ce', lr: 0.005, epochs: 30, patience: 5, windows: 'all' };
const NEUMF: ModelParams = { epochs: 20, patience: 3 };

const METRICS = ['hit@10', 'ndcg@10'];
let results: Promise<Map<string, EvaluateResult>> | null = null;

function runAll(): Promise<Map<string, EvaluateResult>> {
  results ??= (async () => {
    const data = await readInteractions(file);
    const protocol = { kind: 'leave-last' as const, k: 1 };
    const splits = makeSplits(data, protocol, 0);
    const out = new Map<string, EvaluateResult>();
    for (const [model, params] of [...BASELINES, ['sasrec', SASREC], ['neumf', NEUMF]] as Array<[string, ModelParams]>) {
      const epochs: string[] = [];
      const r = await evaluate({
        data, modelName: model, params, protocol, seed: 0, metrics: METRICS, models: allModels, splits, sampledNegatives: 100,
        onEpoch: (e, loss, info) => { if (info?.metric !== undefined) epochs.push(`${e}:${loss.toFixed(3)}/${info.metric.toFixed(4)}`); },
      });
      out.set(model, r);
      const m = r.mean;
      console.log(`  ${model.padEnd(10)} HR@10 ${m['hit@10'].toFixed(4)}  NDCG@10 ${m['ndcg@10'].toFixed(4)}  sampled-100 HR@10 ${m['sampled:hit@10'].toFixed(4)}  NDCG@10 ${m['sampled:ndcg@10'].toFixed(4)}  (fit ${m.fitSeconds.toFixed(1)} s${epochs.length ? `; epoch:loss/validation NDCG@10 ${epochs.join(' ')}` : ''})`);
    }
    if (!allModels.ease) console.log('  ease: pending (not registered yet; it joins the bar when it is)');
    return out;
  })();
  return results;
}

// Issue 19's bar: 1.2 × the best classical model (measured 1.34 ×: sasrec 0.0994, als 0.0739; seeded,
// identical run to run). Not a robust margin: with seed 1 instead of the default 42 the same settings
// give 0.0789 = 1.07 × (docs/sequential-study.md (f)), the spread between seeds is as large as the gap.
withData('ML-100k leave-last:1, full ranking: sasrec NDCG@10 ≥ 1.2 × the best classical model', async () => {
  const r = await runAll();
  const best = BASELINES.map(([m]) => [m, r.get(m)!.mean['ndcg@10']] as const).reduce((a, b) => (b[1] > a[1] ? b : a));
  const sasrec = r.get('sasrec')!.mean['ndcg@10'];
  const ratio = sasrec / best[1];
  console.log(`  sasrec NDCG@10 ${sasrec.toFixed(4)} = ${ratio.toFixed(3)} × ${best[0]} ${best[1].toFixed(4)}`);
  assert.ok(ratio >= 1.2, `sasrec NDCG@10 ${sasrec.toFixed(4)} < 1.2 × ${best[0]} ${best[1].toFixed(4)}`);
});

withData('ML-100k leave-last:1, 100 sampled negatives (the NeuMF paper protocol): neumf HR@10 ≥ bpr', async () => {
  const r = await runAll();
  const neumf = r.get('neumf')!.mean['sampled:hit@10'], bpr = r.get('bpr')!.mean['sampled:hit@10'];
  console.log(`  neumf sampled HR@10 ${neumf.toFixed(4)} vs bpr ${bpr.toFixed(4)}`);
  assert.ok(neumf >= bpr, `neumf sampled HR@10 ${neumf.toFixed(4)} < bpr ${bpr.toFixed(4)}`);
});

test.after(() => closeEngine());
test.run();
