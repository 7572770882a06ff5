/**
 * The study of issue 19's EASE, Mult-VAE and two-tower against affinity's classical models on
 * MovieLens 100K: writes docs/neural-study.md from measurements made by the `affinity` CLI, each
 * section with the exact command it ran.
 *
 *   npm run build:ts && node dist/bench/study/neural.js [--data DIR] [--out FILE] [--only a,b,c,d,e,f] [--ease-json FILE]
 *
 *   (a) Liang et al.'s held-out-users protocol: Recall@20 / NDCG@100 of multvae and ease (ranked
 *       from the fold-in items) against als, bpr, item-knn, popularity (trained with them)
 *   (b) cold start: two-tower against popularity, feature-mf, content-knn, per history bucket
 *   (c) per-user holdout: every new model beside the classical ones (accuracy and beyond)
 *   (d) curriculum and popularity balancing on/off for multvae and two-tower
 *   (e) speed: seconds per training epoch per backend (affinity bench)
 *   (f) EASE's fit at 3,000 and 27,000 items (bench/study/easeLarge.ts: wall and CPU time, peak
 *       RSS; ~half an hour at 27,000 items on 2 shared cores). --ease-json FILE formats a 27,000-item
 *       result that command printed earlier instead of running it again.
 *
 * --only reruns some sections: the others are kept from the existing document.
 *
 * DIR holds u.data(.gz), u.item(.gz), u.user(.gz); default $AFFINITY_DATA_DIR/ml-100k, else
 * <repo>/../shared/data/ml-100k. The data are read in place and never copied; the document holds
 * aggregate numbers only. Every CLI run is a child process of `node dist/src/cli/main.js …`, so
 * each section's command is exactly what the document prints (with $D for the data directory).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EvaluateResult } from '../../src/eval/evaluate.js';
import { affinity, arg, bold, cmd, dataFile, evalJson, f2, f4, log, onlySections, outFile as studyOutFile, pm, root, table } from './studyKit.js';

const outFile = studyOutFile('neural-study.md');
const only = onlySections('a,b,c,d,e,f');
const F = { data: dataFile('u.data'), item: dataFile('u.item'), user: dataFile('u.user') };
const label = (r: EvaluateResult) => (Object.keys(r.params).length ? `${r.model} (${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(', ')})` : r.model);

const DATA = ['--input', `$D/${F.data}`];
const SIDE = ['--items', `$D/${F.item}`, '--users', `$D/${F.user}`];
const VAE = 'multvae:epochs=30,batch_size=100';
const sections: string[] = [];
/** When and on which commit a section was measured (sections rerun with --only keep their own). */
function stamp(): string {
  const head = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no', 'src', 'bench'], { encoding: 'utf8' });
  return `run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC at commit ${head.status === 0 ? head.stdout.trim() : 'unknown'}${dirty.stdout.trim() ? ' with uncommitted changes' : ''}`;
}
const started = performance.now();

// ------------------------------------------------------------------------------------------
// (a) held-out users

if (only.has('a')) {
  const t0 = performance.now();
  const metrics = ['recall-capped@20', 'ndcg@100', 'ndcg@10', 'coverage@10'];
  const common = ['--protocol', 'heldout-users:0.2', '--repeat', '2', '--seed', '0', '--metrics', metrics.join(',')];
  const a1 = [...DATA, '--model', 'multvae,ease,als,bpr,item-knn,popularity', '--params', VAE, ...common];
  const a2 = [...DATA, '--model', 'als', '--params', 'factors=64,iterations=15', ...common];
  const res = [...evalJson(a1), ...evalJson(a2)];
  const rows = res.map((r) => [label(r), ...metrics.map((k) => pm(r, k)), r.splits[0].foldIn ?? '', f2(r.mean.fitSeconds)]);
  for (let c = 1; c <= 3; c++) bold(rows, c, 'max');
  sections.push(`## (a) Held-out users (Liang et al. 2018's protocol)

${cmd(a1, a2)}

\`heldout-users:0.2\`: 20 % of the users (${res[0].usersEvaluated} per run) are held out of training; of each, a random 20 % of
their ratings is to rank and the other 80 % is folded in (every rating is a positive, whatever its
value). \`multvae\` and \`ease\` are fitted on the other users only and rank each held-out user from
the fold-in items (fold-in \`history\`, the paper's strong generalization); the other models cannot
rank a user they were not fitted on, so they are trained with the fold-in items (\`fit\`), which
favours them. recall-capped@20 is the paper's Recall@20 (hits / min(20, |test items|)). Two runs
(split seeds 0, 1), mean ± std. Mult-VAE: the paper's network (600 → 200, β annealed to 0.2, input
dropout 0.5, Adam 1e-3) with batches of 100 users for 30 epochs (ML-100k has 943 users; the paper's
batches of 500 give 2 updates an epoch). The paper's figures are on ML-20M (Recall@20 0.395,
NDCG@100 0.426 for Mult-VAE, 0.360 / 0.386 for WMF): a different, much larger data set, shown for
scale only.

${table(['model', ...metrics, 'fold-in', 'fit s'], rows)}

Section runtime: ${((performance.now() - t0) / 1000).toFixed(0)} s (${stamp()}).
`);
}

// ------------------------------------------------------------------------------------------
// (b) cold start

if (only.has('b')) {
  const t0 = performance.now();
  const b = [...DATA, '--model', 'two-tower,popularity,feature-mf,content-knn,als', '--protocol', 'cold-users:0.1:0.2', '--repeat', '3', '--seed', '0',
    '--cold-start', 'user', '--metrics', 'ndcg@10,recall@10', ...SIDE];
  const res = evalJson(b);
  const buckets = res[0].coldStart!.map((x) => x.bucket);
  const parts: string[] = [];
  for (const m of ['ndcg@10', 'recall@10']) {
    const rows = res.map((r) => [r.model, ...r.coldStart!.map((x) => f4(x.mean[m])), pm(r, m), f2(r.mean.fitSeconds)]);
    for (let c = 1; c <= buckets.length + 1; c++) bold(rows, c, 'max');
    parts.push(`**${m}** by training-history bucket (users scored per bucket, summed over the 3 runs: ${res[0].coldStart!.map((x) => `${x.bucket}: ${x.users}`).join(', ')})\n\n${table(['model', ...buckets, 'all users', 'fit s'], rows)}`);
  }
  sections.push(`## (b) Cold start: the two-tower DNN

${cmd(b)}

\`cold-users:0.1:0.2\`: a random 10 % of the users lose all their interactions from training (bucket 0:
they are ranked from u.user alone — age bucket, gender, occupation, zip region); of every other
user a random 20 % is held out. Three runs (seeds 0–2); a bucket's value is the mean over runs
weighted by its users. \`two-tower\` at its defaults: towers over side tokens (+ the mean of the
recent items for users, + an identity column for items with interactions), in-batch softmax,
ranking adds the log-popularity back (logq=rank), side-token dropout 0.5. Its margin over
popularity on bucket 0 is small: on 943 users a user's side tokens nearly identify them, and every
personalised model here overfits them (feature-mf falls well below popularity).

${parts.join('\n\n')}

Section runtime: ${((performance.now() - t0) / 1000).toFixed(0)} s (${stamp()}).
`);
}

// ------------------------------------------------------------------------------------------
// (c) per-user holdout, every model

if (only.has('c')) {
  const t0 = performance.now();
  const metrics = ['ndcg@10', 'recall@10', 'ndcg@100', 'coverage@10', 'novelty@10', 'popbias@10'];
  const c = [...DATA, '--model', 'ease,multvae,two-tower,item-knn,als,bpr,feature-mf,popularity', '--params', VAE, '--protocol', 'user-holdout:0.2', '--repeat', '2', '--seed', '0',
    '--metrics', metrics.join(','), ...SIDE];
  const res = evalJson(c);
  const rows = res.map((r) => [label(r), ...metrics.map((k) => pm(r, k)), f2(r.mean.fitSeconds), f2(r.mean.testSeconds)]);
  for (let col = 1; col <= 5; col++) bold(rows, col, 'max');
  sections.push(`## (c) Per-user holdout: the new models beside the classical ones

${cmd(c)}

Per user, a random 20 % of the ratings is held out (every rating relevant); top 10 (and 100) of the
unseen items. Two runs (seeds 0, 1), mean ± std; fit and test seconds per run (test: recommend for
every test user). \`ease\` at λ = 500 (binary X), \`two-tower\` with u.item/u.user, \`feature-mf\` with
the same side information.

${table(['model', ...metrics, 'fit s', 'test s'], rows)}

Section runtime: ${((performance.now() - t0) / 1000).toFixed(0)} s (${stamp()}).
`);
}

// ------------------------------------------------------------------------------------------
// (d) curriculum and popularity balancing on/off

if (only.has('d')) {
  const t0 = performance.now();
  const variants = ['', 'curriculum=user-activity', 'curriculum=item-popularity', 'curriculum=loss', 'balance_gamma=0.5'];
  const name = (v: string) => v || 'off (default)';
  const vMetrics = ['ndcg@100', 'recall-capped@20', 'coverage@10', 'popbias@10'];
  const vaeRuns = variants.map((v) => [...DATA, '--model', 'multvae', '--params', `epochs=30,batch_size=100${v ? `,${v}` : ''}`, '--protocol', 'heldout-users:0.2', '--repeat', '2', '--seed', '0', '--metrics', vMetrics.join(',')]);
  const vae = vaeRuns.map((a) => evalJson(a)[0]);
  const vRows = vae.map((r, i) => [name(variants[i]), ...vMetrics.map((k) => pm(r, k)), f2(r.mean.fitSeconds)]);
  const tMetrics = ['ndcg@10', 'coverage@10', 'popbias@10'];
  const ttRuns = variants.map((v) => [...DATA, '--model', 'two-tower', ...(v ? ['--params', v] : []), '--protocol', 'cold-users:0.1:0.2', '--repeat', '3', '--seed', '0', '--cold-start', 'user', '--metrics', tMetrics.join(','), ...SIDE]);
  const tt = ttRuns.map((a) => evalJson(a)[0]);
  const tRows = tt.map((r, i) => [name(variants[i]), pm(r, 'ndcg@10'), f4(r.coldStart!.find((b) => b.bucket === '0')!.mean['ndcg@10']), pm(r, 'coverage@10'), pm(r, 'popbias@10'), f2(r.mean.fitSeconds)]);
  sections.push(`## (d) Curriculum and popularity balancing on/off

The factorization models' options (src/models/factorization/sgd.ts), applied to the neural models'
training examples (src/models/neural/curriculum.ts): \`curriculum\` trains epoch e on the easiest
fraction c(e) = 0.3 + 0.7·min(1, e/E) of the examples (E = half the epochs) — Mult-VAE's examples are
users (\`user-activity\`: most items first; \`item-popularity\`: the most popular items on average
first; \`loss\`: lowest current per-item negative log-likelihood first), two-tower's are
interactions (popular items / active users / lowest current full-softmax loss first);
\`balance_gamma\` = γ weights each interaction by pop_i^−γ (mean 1) in the likelihood (Mult-VAE's
multinomial targets, two-tower's rows).

**Mult-VAE**, held-out users as in (a) (two runs):

${cmd(...vaeRuns)}

${table(['option', ...vMetrics, 'fit s'], vRows)}

**two-tower**, cold users as in (b) (three runs; bucket 0 = users without training history):

${cmd(...ttRuns)}

${table(['option', 'ndcg@10 (all)', 'ndcg@10 bucket 0', 'coverage@10', 'popbias@10', 'fit s'], tRows)}

Section runtime: ${((performance.now() - t0) / 1000).toFixed(0)} s (${stamp()}).
`);
}

// ------------------------------------------------------------------------------------------
// (e) speed

interface BenchRow { kernel: string; backend: string; size: string; medianSeconds: number; minSeconds: number; maxSeconds: number; medianCpuSeconds?: number; peakRssMiB?: number; note?: string }

if (only.has('e')) {
  const t0 = performance.now();
  const runs: Array<{ args: string[]; epochs: number }> = [];
  for (const b of ['auto', 'native', 'wasm', 'js']) runs.push({ args: ['bench', '--suite', 'quick', '--kernel', 'fit:multvae', '--backend', b, '--repeats', b === 'js' ? '1' : '3'], epochs: 2 });
  for (const b of ['auto', 'native', 'wasm', 'js']) runs.push({ args: ['bench', '--suite', 'quick', '--kernel', 'fit:two-tower', '--backend', b, '--repeats', b === 'js' ? '1' : '3'], epochs: 1 });
  const rows: string[][] = [];
  for (const r of runs) {
    const recs = JSON.parse(affinity([...r.args, '--json'])) as BenchRow[];
    for (const x of recs) {
      const e = r.epochs;
      rows.push([x.kernel, x.size, x.backend, `${f2(x.medianSeconds / e)} (${f2(x.minSeconds / e)}–${f2(x.maxSeconds / e)})`, x.medianCpuSeconds !== undefined ? f2(x.medianCpuSeconds / e) : '—', String(x.peakRssMiB ?? '—'), (x.note ?? '').replace(/\|/g, '/')]);
    }
  }
  sections.push(`## (e) Speed

${cmd(...runs.map((r) => r.args))}

Seconds per training epoch on ML-100k, per backend: wall time (median and min–max over the repeats)
and the process's CPU time (median; user + system of every thread — pool workers and native
threads — the figure to compare while other jobs share the cores);
\`auto\` lets the engine pick per kernel by its calibration, \`native\`, \`wasm\` and \`js\` pin every
kernel to that backend (a kernel a backend lacks falls back to js; the note lists where each kernel
ran). Peak RSS is the bench process's high-water mark. EASE: section (f). Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, shared with other jobs while measured: the figures are noisy.

${table(['case', 'size', 'backend', 'wall s per epoch (min–max)', 'CPU s per epoch', 'peak RSS MiB', 'note'], rows)}

Section runtime: ${((performance.now() - t0) / 1000).toFixed(0)} s (${stamp()}).
`);
}

// ------------------------------------------------------------------------------------------
// (f) EASE on a large catalogue

interface EaseRun { data: string; items: number; backend: string; memoryEstimateGiB: number; generate: { wallS: number; cpuS: number; peakRssGiB: number }; fit: { wallS: number; cpuS: number; peakRssGiB: number }; engineUsed: Record<string, string[]> }

if (only.has('f')) {
  const t0 = performance.now();
  const script = path.join(root, 'dist', 'bench', 'study', 'easeLarge.js');
  const sizes: Array<[number, number, number]> = [[20_000, 3000, 500_000], [138_000, 27_000, 20_000_000]];
  const args = (s: [number, number, number]) => ['--users', String(s[0]), '--items', String(s[1]), '--interactions', String(s[2])];
  const easeJson = arg('--ease-json');
  const results: EaseRun[] = sizes.map((s) => {
    if (s[1] === 27_000 && easeJson) return JSON.parse(readFileSync(easeJson, 'utf8')) as EaseRun;
    const r = spawnSync(process.execPath, [script, ...args(s)], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status !== 0) throw new Error(`easeLarge ${args(s).join(' ')} failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    log(`easeLarge ${args(s).join(' ')}`);
    return JSON.parse(r.stdout) as EaseRun;
  });
  const rows = results.map((r) => [r.data, String(r.items), f2(r.fit.wallS), f2(r.fit.cpuS), r.fit.peakRssGiB.toFixed(2), r.memoryEstimateGiB.toFixed(2), Object.entries(r.engineUsed).map(([k, v]) => `${k}→${v.join('/')}`).join(', '), `${f2(r.generate.wallS)} / ${f2(r.generate.cpuS)}`]);
  sections.push(`## (f) EASE on 3,000 and 27,000 items

\`\`\`sh
${sizes.map((s) => `node dist/bench/study/easeLarge.js ${args(s).join(' ')}`).join('\n')}
\`\`\`

EASE (λ = 500, binary X) fitted once on the full suite's synthetic sets (bench/data.ts
\`syntheticData\`, Zipf item popularity, seed 27): the Gram matrix XᵀX from the sparse rows (lower
triangle, JS), one spdSolve (inverse) of items × items on the engine, then B = I − P·diag(1/diag P)
in place. Fit time as wall seconds and as the process's CPU seconds (user + system, every thread:
compare these on a shared machine); peak RSS is the process's high-water mark after the fit (data
included); the estimate is the model's own check (16 bytes × items²: the Gram matrix, its inverse
and the factor), which refuses a catalogue above memory_limit_gib (default 80 % of RAM) before
allocating. ${easeJson ? 'The 27,000-item row was printed by its command above in an earlier run (--ease-json).' : ''}
Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, shared with other jobs while measured: the wall times are noisy.

${table(['data', 'items', 'fit wall s', 'fit CPU s', 'peak RSS GiB', 'estimate GiB', 'engine used', 'data generation wall / CPU s'], rows)}

Section runtime: ${((performance.now() - t0) / 1000).toFixed(0)} s (${stamp()}).
`);
}

const head = `# EASE, Mult-VAE and a two-tower DNN on MovieLens 100K

Written by \`bench/study/neural.ts\` (last run ${new Date().toISOString().slice(0, 10)}, ${((performance.now() - started) / 60000).toFixed(1)} min): every number below was measured by the
command printed above its table (\`$D\` = the ml-100k folder). Reproduce with

\`\`\`sh
npm run build:ts && node dist/bench/study/neural.js --data $D [--only a,b,c,d,e,f]
\`\`\`

(--only reruns the sections named and keeps the others; each section gives its own runtime.)
`;
// sections not rerun are kept from the existing document
const kept = existsSync(outFile) ? readFileSync(outFile, 'utf8').split(/^(?=## \([a-z]\) )/m).slice(1).filter((s) => !only.has(s[4])) : [];
const all = [...sections, ...kept.map((s) => s.replace(/\n+$/, '\n'))].sort((a, b) => a[4].localeCompare(b[4]));
mkdirSync(path.dirname(outFile), { recursive: true });
writeFileSync(outFile, [head, ...all].join('\n'));
log(`wrote ${outFile}`);
