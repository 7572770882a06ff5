/**
 * The ML-100k study (issue 7): writes docs/ml100k-study.md from measurements made by the
 * `affinity` CLI (sections a–d and the bandit replay) and the library (the MMR sweep).
 *
 *   npm run build:ts && node dist/bench/study/ml100k.js [--data DIR] [--out FILE] [--only a,b,c,d,e]
 *
 * DIR holds u.data(.gz), u.item(.gz), u.user(.gz); default $AFFINITY_DATA_DIR/ml-100k, else
 * <repo>/../shared/data/ml-100k. The data are read in place and never copied; the document
 * holds aggregate numbers only (means and standard deviations over folds / seeds).
 * Every CLI run is a child process of `node dist/src/cli/main.js …`, so each section's command
 * is exactly what the document prints (with $D for the data directory).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readInteractions } from '../../src/data/readers.js';
import { makeSplits, parseMetrics, scoreLists, type EvaluateResult, type ListSource } from '../../src/eval/evaluate.js';
import { interactionCosine } from '../../src/eval/beyondAccuracy.js';
import { mmrRerank } from '../../src/explore/mmr.js';
import { allModels } from '../../src/models/registry.js';
import { affinity, bold, cliSeconds, cmd, dataDir, dataFile, evalJson, f2, f4, log, onlySections, outFile as studyOutFile, pm, table } from './studyKit.js';

const outFile = studyOutFile('ml100k-study.md');
const only = onlySections('a,b,c,d,e');
const F = { data: dataFile('u.data'), item: dataFile('u.item'), user: dataFile('u.user') };
const D = (f: string) => path.join(dataDir, f);

const sections: string[] = [];
const started = performance.now();

// ------------------------------------------------------------------------------------------
// (a) all models side by side

const RATING_MODELS = ['baseline', 'knn-basic', 'knn-means', 'knn-zscore', 'knn-baseline', 'slope-one', 'co-clustering', 'svd', 'svdpp', 'nmf', 'als-explicit', 'random'];
const ALL_MODELS = [...RATING_MODELS, 'item-knn', 'user-knn', 'als', 'bpr', 'popularity', 'content-knn', 'feature-mf', 'hybrid'];
const RANK_METRICS = ['ndcg@10', 'precision@10', 'recall@10', 'map@10', 'coverage@10', 'diversity@10', 'novelty@10', 'popbias@10'];
const SIDE = ['--items', `$D/${F.item}`, '--users', `$D/${F.user}`];
const HYBRID = 'hybrid:a=als,b=popularity,threshold=5';

if (only.has('a')) {
  const t0 = performance.now();
  const a1 = ['--input', `$D/${F.data}`, '--model', RATING_MODELS.join(','), '--protocol', 'kfold:5', '--seed', '0', '--metrics', 'rmse,mae,fcp'];
  const r1 = evalJson(a1);
  const rows1 = r1.map((r) => [r.model, pm(r, 'rmse'), pm(r, 'mae'), pm(r, 'fcp'), f2(r.mean.fitSeconds), f2(r.mean.testSeconds)]);
  bold(rows1, 1, 'min'); bold(rows1, 2, 'min'); bold(rows1, 3, 'max');
  const a2 = ['--input', `$D/${F.data}`, '--model', ALL_MODELS.join(','), '--protocol', 'user-holdout:0.2', '--repeat', '2', '--seed', '0',
    '--metrics', RANK_METRICS.join(','), ...SIDE, '--params', HYBRID];
  const r2 = evalJson(a2);
  const rows2 = r2.map((r) => [r.model, ...RANK_METRICS.map((k) => pm(r, k)), f2(r.mean.fitSeconds)]);
  for (let c = 1; c <= RANK_METRICS.length; c++) if (RANK_METRICS[c - 1] !== 'popbias@10') bold(rows2, c, 'max');
  sections.push(`## (a) All models side by side

### Rating metrics: 5-fold cross-validation

${cmd(['eval', ...a1])}

Mean ± population std over the 5 folds; default hyper-parameters of every model (Surprise's for the
rating models). Best value per column in bold. Seconds are per fold (fit on 80 000 ratings, then
predict 20 000).

${table(['model', 'RMSE', 'MAE', 'FCP', 'fit s', 'test s'], rows1)}

### Ranking and beyond-accuracy metrics: per-user holdout

${cmd(['eval', ...a2])}

Per user, a random 20% of their ratings is held out (every rating counts as relevant, whatever
its value); each model recommends 10 unseen items per test user. Two runs (seeds 0 and 1), mean ± std
over them. precision@10 = hits / 10, averaged over users (implicit's precision_at_k divides by
min(10, the user's held-out count) instead: affinity's capped-precision@10). coverage = distinct recommended items / 1682; diversity = 1 − mean pairwise cosine of
the recommended items' training interaction vectors; novelty = mean −log2(share of training users
who rated the item); popbias = mean popularity percentile (0–100) of the recommended items (lower =
less popular items). The rating models rank by predicted rating; \`hybrid\` is ALS for users with
≥ 5 training items and popularity below. ${r2[0]?.usersEvaluated ?? '?'} users evaluated per run.

${table(['model', ...RANK_METRICS, 'fit s'], rows2)}

Section runtime: ${((performance.now() - t0) / 1000).toFixed(0)} s.
`);
}

// ------------------------------------------------------------------------------------------
// (b) cold start

if (only.has('b')) {
  const t0 = performance.now();
  const metrics = ['ndcg@10', 'precision@10', 'recall@10'];
  const b = ['--input', `$D/${F.data}`, '--model', 'popularity,content-knn,feature-mf,hybrid,als,item-knn', '--protocol', 'cold-users:0.1:0.2', '--repeat', '3', '--seed', '0',
    '--cold-start', 'user', '--metrics', metrics.join(','), ...SIDE, '--params', HYBRID];
  const res = evalJson(b);
  const buckets = res[0].coldStart!.map((x) => x.bucket);
  const parts: string[] = [];
  for (const m of metrics) {
    const rows = res.map((r) => [r.model, ...r.coldStart!.map((x) => f4(x.mean[m])), pm(r, m)]);
    for (let c = 1; c <= buckets.length + 1; c++) bold(rows, c, 'max');
    parts.push(`**${m}** by training-history bucket (users scored per bucket, summed over the 3 runs: ${res[0].coldStart!.map((x) => `${x.bucket}: ${x.users}`).join(', ')})\n\n${table(['model', ...buckets.map((x) => `${x}`), 'all users'], rows)}`);
  }
  sections.push(`## (b) Cold start

${cmd(['eval', ...b])}

Protocol \`cold-users:0.1:0.2\`: a random 10% of the users lose ALL their interactions from training
(they are new users: bucket 0); of every other user a random 20% is held out. Test users are then
bucketed by their training history length. Three runs (seeds 0, 1, 2); a bucket's value is the mean
over runs weighted by its users. Bucket 1–5 is empty on ML-100k (every user has ≥ 20 ratings, so a
warm user keeps ≥ 16 in training). Side information: genres, decade and title words of u.item
(content-knn), and u.user's age bucket, gender, occupation and zip region (feature-mf's user
features); \`hybrid\` switches to popularity below 5 training items, else ALS.

${parts.join('\n\n')}

Section runtime: ${((performance.now() - t0) / 1000).toFixed(0)} s.
`);
}

// ------------------------------------------------------------------------------------------
// (c) curriculum on/off for SVD

if (only.has('c')) {
  const t0 = performance.now();
  const epochs = [1, 2, 3, 5, 8, 12, 20, 30];
  const curricula = ['none', 'item-popularity', 'user-activity', 'loss'];
  const base = (e: number, c: string) => ['--input', `$D/${F.data}`, '--model', 'svd', '--params', `epochs=${e},curriculum=${c}`, '--protocol', 'kfold:5', '--seed', '0', '--metrics', 'rmse,mae'];
  const grid = new Map<string, EvaluateResult>();
  for (const c of curricula) for (const e of epochs) grid.set(`${c}/${e}`, evalJson(base(e, c))[0]);
  const target = grid.get('none/20')!.mean.rmse;
  const rows = curricula.map((c) => [c, ...epochs.map((e) => f4(grid.get(`${c}/${e}`)!.mean.rmse))]);
  for (let col = 1; col <= epochs.length; col++) bold(rows, col, 'min');
  const reach = curricula.map((c) => {
    const e = epochs.find((x) => grid.get(`${c}/${x}`)!.mean.rmse <= target);
    const best = Math.min(...epochs.map((x) => grid.get(`${c}/${x}`)!.mean.rmse));
    const bestAt = epochs.find((x) => grid.get(`${c}/${x}`)!.mean.rmse === best)!;
    const fit20 = grid.get(`${c}/20`)!.mean.fitSeconds;
    return [c, e === undefined ? `not within ${epochs[epochs.length - 1]}` : String(e), f4(best), String(bestAt), f4(grid.get(`${c}/20`)!.mean.mae), f2(fit20)];
  });
  const d20 = curricula.slice(1).map((c) => `${c} ${(grid.get(`${c}/20`)!.mean.rmse - target >= 0 ? '+' : '')}${(grid.get(`${c}/20`)!.mean.rmse - target).toFixed(4)}`).join(', ');
  sections.push(`## (c) Curriculum on/off (SVD)

${cmd(['eval', ...base(20, 'item-popularity')])}

for every \`curriculum\` in none | item-popularity | user-activity | loss and \`epochs\` in
${epochs.join(', ')} (${curricula.length * epochs.length} runs; each a fresh fit, so the curriculum's pacing —
the easiest 30% of the ratings first, growing linearly to all of them by epoch ⌈epochs/2⌉ — is
scaled to the run's epoch budget). Other parameters: SVD's defaults (100 factors, lr 0.005, reg 0.02).

Test RMSE (mean over 5 folds) at equal epochs; best per column in bold:

${table(['curriculum', ...epochs.map((e) => `${e} ep`)], rows)}

Epochs to the target RMSE ${f4(target)} (= no curriculum at 20 epochs, Surprise's default), the best
RMSE over the grid, and fit seconds per fold at 20 epochs:

${table(['curriculum', 'epochs to target', 'best RMSE', 'at epochs', 'MAE @20', 'fit s @20'], reach)}

Difference to no curriculum at 20 epochs: ${d20} (negative = better).

Section runtime: ${((performance.now() - t0) / 1000).toFixed(0)} s.
`);
}

// ------------------------------------------------------------------------------------------
// (d) balancing on/off

if (only.has('d')) {
  const t0 = performance.now();
  const metrics = ['ndcg@10', 'recall@10', 'coverage@10', 'novelty@10', 'popbias@10'];
  const configs: Array<{ model: string; param: string; values: number[]; def: number; rating?: boolean }> = [
    { model: 'bpr', param: 'beta', values: [0, 0.5, 1], def: 1 },
    { model: 'als', param: 'gamma', values: [0, 0.25, 0.5, 1], def: 0 },
    { model: 'svd', param: 'gamma', values: [0, 0.25, 0.5, 1], def: 0, rating: true },
  ];
  const blocks: string[] = [];
  for (const c of configs) {
    const args = (v: number) => ['--input', `$D/${F.data}`, '--model', c.model, '--params', `${c.param}=${v}`, '--protocol', 'user-holdout:0.2', '--repeat', '2', '--seed', '0',
      '--metrics', [...(c.rating ? ['rmse'] : []), ...metrics].join(',')];
    const rs = c.values.map((v) => evalJson(args(v))[0]);
    const keys = [...(c.rating ? ['rmse'] : []), ...metrics];
    const rows = rs.map((r, i) => [`${c.param} = ${c.values[i]}${c.values[i] === c.def ? ' (default)' : ''}`, ...keys.map((k) => pm(r, k))]);
    blocks.push(`**${c.model}** — ${c.model === 'bpr' ? 'negative sampling P(j) ∝ pop(j)^β (β = 0 uniform, β = 1 implicit\'s scheme)' : `popularity weights w_i ∝ pop_i^−γ on the ${c.model === 'als' ? 'confidence' : 'squared error'} of each interaction`}

${cmd(['eval', ...args(c.values[1])])}

${table([c.param, ...keys], rows)}`);
  }
  sections.push(`## (d) Balancing on/off

Per-user holdout of 20%, two runs (seeds 0 and 1), mean ± std; each row is one command with the
value substituted. Default hyper-parameters otherwise (BPR: 100 factors, 100 iterations; ALS: 100
factors, 15 iterations; SVD: 100 factors, 20 epochs).

${blocks.join('\n\n')}

Section runtime: ${((performance.now() - t0) / 1000).toFixed(0)} s.
`);
}

// ------------------------------------------------------------------------------------------
// (e) bandits (replay) and the MMR sweep

if (only.has('e')) {
  const t0 = performance.now();
  const policies = ['greedy', 'egreedy', 'ucb1', 'thompson', 'linucb'];
  const seeds = [1, 2, 3, 4, 5];
  const pools: Array<{ name: string; extra: string[] }> = [
    { name: 'popular pool (the 20 most popular training items, the same for every user)', extra: ['--pool', 'popular'] },
    { name: "model pool (each user's ALS top 20, seen items filtered)", extra: ['--pool', 'model'] },
  ];
  const blocks: string[] = [];
  const matchedByPool: string[] = [];
  for (const pool of pools) {
    const args = (p: string, s: number) => ['replay', '--input', `$D/${F.data}`, '--model', 'als', ...pool.extra, '--candidates', '20', '--train-fraction', '0.5', '--policy', p, '--seed', String(s), '--json'];
    const rows: string[][] = [];
    let steps = 0;
    let greedyMatched = 0;
    for (const p of policies) {
      const rs = seeds.map((s) => JSON.parse(affinity(args(p, s))) as { steps: number; matched: number; reward: number; ctr: number; regretVsGreedy: number });
      steps = rs[0].steps;
      if (p === 'greedy') greedyMatched = rs[0].matched;
      const ms = (k: 'matched' | 'reward' | 'ctr' | 'regretVsGreedy', d: number) => {
        const v = rs.map((r) => r[k]);
        const m = v.reduce((a, b) => a + b, 0) / v.length;
        const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
        return `${m.toFixed(d)} ± ${sd.toFixed(d)}`;
      };
      rows.push([p, ms('matched', 1), ms('reward', 1), ms('ctr', 4), ms('regretVsGreedy', 2)]);
    }
    matchedByPool.push(`${greedyMatched} (${pool.extra[1]} pool, greedy)`);
    blocks.push(`**${pool.name}** — ${steps} events replayed

${cmd(args('ucb1', 1))}

${table(['policy', 'matched', 'reward', 'ctr', 'regretVsGreedy'], rows)}`);
  }

  // MMR λ sweep (library: there is no CLI for it)
  const data = await readInteractions(D(F.data), { progress: false });
  const [split] = makeSplits(data, { kind: 'user-holdout', ratio: 0.2 }, 0, 1);
  const specs = parseMetrics(['ndcg@10', 'precision@10', 'diversity@10', 'coverage@10', 'novelty@10', 'popbias@10']);
  const sim = interactionCosine(split.train);
  const lambdas = [1, 0.9, 0.8, 0.7, 0.5, 0.3];
  const mmrBlocks: string[] = [];
  for (const name of ['als', 'item-knn']) {
    const model = allModels[name]({});
    await model.fit(split.train);
    const cands = new Map<number, { ids: Int32Array; scores: Float32Array | Float64Array }>();
    const cand = (u: number) => {
      let c = cands.get(u);
      if (!c) { const r = model.recommend(u, 50, { filterSeen: true }); cands.set(u, (c = { ids: r.ids, scores: r.scores as Float32Array })); }
      return c;
    };
    const rows: string[][] = [];
    for (const lambda of lambdas) {
      const source: ListSource = { top: (u) => { const c = cand(u); return mmrRerank(c.ids, c.scores, 10, sim, { lambda }).ids; } };
      const v = scoreLists(source, split.test, specs, { train: split.train }).values;
      rows.push([lambda === 1 ? '1 (no re-ranking)' : String(lambda), ...specs.map((s) => f4(v[s.key]))]);
      log(`mmr ${name} λ=${lambda}: ndcg@10 ${f4(v['ndcg@10'])}, diversity@10 ${f4(v['diversity@10'])}`);
    }
    mmrBlocks.push(`**${name}** (top 50 candidates re-ranked to 10)\n\n${table(['λ', ...specs.map((s) => s.key)], rows)}`);
  }

  sections.push(`## (e) Exploration: bandit replay and MMR

### Bandit policies, offline replay (Li et al. 2011)

The ratings ordered by timestamp; the first half fits ALS (default parameters), the second half
(${'50 000'} events) is replayed: at each logged (user, item) the policy picks one of the user's 20
candidates; only picks equal to the logged item count (matched), with reward 1 when the rating is
≥ 4. ctr = reward / matched; regretVsGreedy = (ctr_greedy − ctr_policy) · matched (negative = better
than greedy). Five policy seeds (1–5), mean ± std. Policy parameters are the defaults
(ε = 0.1, UCB1 c = √2 scale, Beta(1, 1) prior, LinUCB α = 1 on the ALS item factors).

${blocks.join('\n\n')}

Caveat: MovieLens is an organic log, not a uniformly random logging policy, so the replay estimate is
a consistent comparison on the same stream, not an unbiased CTR; and only ${matchedByPool.join(' and ')} of the
${'50 000'} events match at all, so differences of a few matched events are noise.

### MMR diversity re-ranking: λ sweep

\`node dist/bench/study/ml100k.js --only e\` (library code: \`mmrRerank\` over each user's top 50,
scored by \`scoreLists\` on the \`user-holdout:0.2\` split with seed 0). The similarity MMR penalises
is the same training-interaction cosine the diversity metric measures, so diversity is what it
optimises directly; NDCG, precision, coverage and novelty show the price and the side effects.

${mmrBlocks.join('\n\n')}

Section runtime: ${((performance.now() - t0) / 1000).toFixed(0)} s.
`);
}

// ------------------------------------------------------------------------------------------

const total = (performance.now() - started) / 1000;
const doc = `# ML-100k study: models, cold start, curriculum, balancing, exploration

Generated by \`node dist/bench/study/ml100k.js\` (bench/study/ml100k.ts) on ${new Date().toISOString().slice(0, 10)}:
${os.cpus().length} CPU core(s) (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; total runtime ${(total / 60).toFixed(1)} min
(${cliSeconds().toFixed(0)} s of it in CLI runs). Rerun after \`npm run build:ts\` with
\`node dist/bench/study/ml100k.js [--data DIR]\` (DIR: the ml-100k folder with u.data, u.item,
u.user, optionally gzipped; default \`$AFFINITY_DATA_DIR/ml-100k\`, else \`../shared/data/ml-100k\`),
or one section with \`--only a|b|c|d|e\`. In the commands below \`$D\` is that folder.

MovieLens 100k: 100 000 ratings (1–5) by 943 users on 1682 movies. Only aggregate measurements
appear here. All splits are seeded, so every number is reproducible; timings are not (this machine
was shared with other CPU-heavy jobs while the study ran).

${sections.join('\n')}`;
mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(outFile, doc);
log(`wrote ${outFile} in ${total.toFixed(0)} s`);
