/**
 * `affinity eval --input FILE --model NAME[,NAME…] [--params …] [--protocol P] [--repeat N]
 *                [--metrics LIST] [--cold-start [user|item]] [--items FILE] [--users FILE]
 *                [--sampled-negatives N] [--seed N] [--json]`
 * `affinity eval --train A1[,A2…] --test B1[,B2…] --model …`  (given splits, e.g. ML-100k's u1..u5)
 *
 * Runs the evaluation protocol (src/eval/evaluate.ts), or scores given splits (src/eval/givenSplits.ts)
 * the same way. Every model is scored on the SAME splits
 * (makeSplits once, shared). One model: a table with one row per fold, then mean and std (or with
 * --json the EvaluateResult object). Several models: one comparison table, one row per model,
 * `mean ± std` per metric (or with --json an array of EvaluateResult objects, in --model order).
 * With --cold-start a per-bucket table follows each model (JSON: `coldStart: [{bucket, users, mean}]`).
 * With --sampled-negatives N every ranking metric is also reported as `sampled:<metric>` (the test
 * items ranked among N seeded non-interacted items), beside the full-ranking value.
 * Progress goes to stderr: a bar over every (model, fold) on a terminal (its text shows the epoch
 * and loss of a fit in progress), one line per fold otherwise (and one per epoch of the neural models).
 *
 * --params syntax (repeatable; groups separated by ';'):
 *   k=v,k=v            applies to every model (the only form needed for one model)
 *   MODEL:k=v,k=v      applies to that model only, e.g. --params 'svd:factors=50;als:factors=64'
 *                      or --params svd:factors=50 --params als:factors=64
 * Model-specific values override shared ones.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { readInteractions } from '../../data/readers.js';
import { readItemFeatures, readUserFeatures, type Encoding, type ItemFeatureFormat, type SideInfoOptions, type UserFeatureFormat } from '../../data/sideInfo.js';
import {
  checkModel, evaluate, formatProtocol, makeSplits, modelLists, parseMetrics, parseProtocol, scoreLists, type EvaluateResult, type FoldResult, type Protocol, type SeededSplit,
} from '../../eval/evaluate.js';
import { readGivenSplits, remap } from '../../eval/givenSplits.js';
import { loadModel } from '../../models/modelFile.js';
import type { Interactions } from '../../data/interactions.js';
import type { MetricSpec } from '../../eval/metrics.js';
import { allModels } from '../../models/registry.js';
import type { CliEdge } from '../edge.js';
import type { SideInfoInput } from '../../models/attachSideInfo.js';
import type { ModelFactory, ModelParams } from '../../models/types.js';
import { parseParams, positiveInt, UsageError } from '../args.js';
import { decimalNumber } from '../../data/decimal.js';
import { addReadOptions, readOptionsOf, type ReadCliOptions } from '../readOptions.js';
import { EpochProgress } from '../epochProgress.js';
import { factorizationModels } from '../../models/factorization/index.js';

const fmtValue = (key: string, v: number | null | undefined): string =>
  v === null || v === undefined || Number.isNaN(v) ? '—' : key.endsWith('Seconds') ? v.toFixed(2) : v.toFixed(4);

function alignRows(head: string[], rows: string[][]): string[] {
  const width = head.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((s, c) => (c === 0 ? s.padEnd(width[c]) : s.padStart(width[c]))).join('  ');
  return [line(head), ...rows.map(line)];
}

function paramText(p: ModelParams): string {
  return Object.entries(p).map(([k, v]) => `${k}=${v}`).join(',');
}

/** One result as an aligned text table: one row per fold, then mean and std. */
function formatTable(r: EvaluateResult): string {
  const keys = Object.keys(r.mean);
  const rows = [
    ...r.folds.map((f, i) => [`fold ${i + 1}`, ...keys.map((k) => fmtValue(k, f[k]))]),
    ['mean', ...keys.map((k) => fmtValue(k, r.mean[k]))],
    ['std', ...keys.map((k) => fmtValue(k, r.std[k]))],
  ];
  const params = paramText(r.params);
  const rep = r.repeat > 1 ? `, repeat ${r.repeat}` : '';
  return [`${r.model}${params ? ` (${params})` : ''}, ${formatProtocol(r.protocol)}, seed ${r.seed}${rep}`, ...alignRows(['', ...keys], rows)].join('\n') + '\n' + formatColdStart(r);
}

/** Several results (same splits) as one comparison table: one row per model, mean ± std per metric. */
function formatComparison(results: EvaluateResult[], order: string[] = []): string {
  if (!results.length) return '';
  // the metrics in --metrics order, then any others, timings last
  const keys: string[] = order.filter((k) => results.some((r) => k in r.mean));
  for (const r of results) for (const k of Object.keys(r.mean)) if (!keys.includes(k)) keys.push(k);
  keys.sort((a, b) => Number(a.endsWith('Seconds')) - Number(b.endsWith('Seconds')));
  const rows = results.map((r) => {
    const params = paramText(r.params);
    return [`${r.model}${params ? ` (${params})` : ''}`, ...keys.map((k) => (k in r.mean ? `${fmtValue(k, r.mean[k])} ± ${fmtValue(k, r.std[k])}` : 'n/a'))];
  });
  const r0 = results[0];
  const rep = r0.repeat > 1 ? `, repeat ${r0.repeat}` : '';
  const head = `${results.length} models, ${formatProtocol(r0.protocol)}, seed ${r0.seed}${rep}, ${r0.folds.length} fold(s) each (same splits); mean ± std over folds`;
  return [head, ...alignRows(['model', ...keys], rows)].join('\n') + '\n' + results.map(formatColdStart).join('');
}

/** The cold-start buckets of one result as a table ('' when there are none). */
function formatColdStart(r: EvaluateResult): string {
  if (!r.coldStart) return '';
  const keys = Object.keys(r.coldStart[0]?.mean ?? {});
  const by = r.coldStartBy ?? 'user';
  const rows = r.coldStart.map((b) => [b.bucket, String(b.users), ...(by === 'item' ? [String(b.items ?? 0)] : []), ...keys.map((k) => fmtValue(k, b.mean[k]))]);
  const head = ['bucket', 'users', ...(by === 'item' ? ['items'] : []), ...keys];
  return [`\n${r.model}: cold start by ${by} (training history length; users = scored users summed over folds)`, ...alignRows(head, rows)].join('\n') + '\n';
}

/**
 * Parse the --params values (see the file comment) for the given models: shared `k=v,…` groups
 * and `MODEL:k=v,…` groups. A MODEL prefix that is not among `models` is an error.
 */
function parseModelParams(values: string[], models: string[]): Record<string, ModelParams> {
  const shared: ModelParams = {};
  const own: Record<string, ModelParams> = {};
  for (const value of values) {
    for (const group of value.split(';')) {
      if (!group.trim()) continue;
      const m = /^\s*([A-Za-z][\w-]*)\s*:(.*)$/.exec(group);
      if (m && !m[1].includes('=')) {
        const name = m[1];
        if (!models.includes(name)) throw new UsageError(`--params: '${name}:' names a model that is not in --model (${models.join(',')})`);
        Object.assign((own[name] ??= {}), parseParams(m[2]));
      } else {
        Object.assign(shared, parseParams(group));
      }
    }
  }
  const out: Record<string, ModelParams> = {};
  for (const name of models) out[name] = { ...shared, ...(own[name] ?? {}) };
  return out;
}

/** `eval --model-file FILE --test FILE`: a saved model scored on one test file, as one fold of a protocol would be. */
async function evalModelFile(o: EvalCliOptions, cmd: Command, edge: CliEdge): Promise<void> {
  const file = o.modelFile!;
  for (const [opt, given] of [['--model', o.model !== undefined], ['--input', o.input !== undefined], ['--train', o.train.length > 0], ['--params', o.params.length > 0],
    ['--protocol', cmd.getOptionValueSource('protocol') !== 'default'], ['--repeat', o.repeat > 1], ['--cold-start', o.coldStart !== undefined], ['--items/--users', o.items !== undefined || o.users !== undefined]] as Array<[string, boolean]>) {
    if (given) throw new UsageError(`${opt} does not apply to --model-file (the saved model is scored as it is, on --test)`);
  }
  if (o.test.length !== 1) throw new UsageError(`--model-file needs one --test FILE, got ${o.test.length}`);
  const say = o.quiet ? (_: string) => {} : (m: string) => { process.stderr.write(m); };
  const ctx = edge.context();
  const t0 = performance.now();
  const loaded = await loadModel(file, ctx);
  const loadSeconds = (performance.now() - t0) / 1000;
  const metrics = o.metrics !== undefined ? o.metrics.split(',').map((m) => m.trim()).filter(Boolean)
    : loaded.model.predictsRatings ? [...DEFAULT_RATING_METRICS, ...DEFAULT_RANKING_METRICS] : DEFAULT_RANKING_METRICS;
  let specs: MetricSpec[];
  try { specs = parseMetrics(metrics); } catch (e) { throw new UsageError(`--metrics: ${(e as Error).message}`); }
  if (!loaded.model.predictsRatings && specs.some((m) => m.kind === 'rating')) throw new UsageError(`the '${loaded.kind}' model in ${file} ranks items and does not predict ratings; use ranking metrics such as ndcg@10`);
  say(`loaded ${loaded.kind} from ${file} in ${loadSeconds.toFixed(2)} s; reading ${o.test[0]}\n`);
  // the test file in the model's id space: ids the model never saw are unknown users/items to it
  const test = remap(await readInteractions(o.test[0], { implicit: o.implicit === true, ...readOptionsOf(o), progress: false }), loaded.users, loaded.items);
  const t1 = performance.now();
  const r = scoreLists(modelLists(loaded.model, specs, loaded.items.size, ctx), test, specs, { train: loaded.train });
  const fold = { ...r.values, fitSeconds: 0, testSeconds: (performance.now() - t1) / 1000 } as FoldResult;
  const result: EvaluateResult = {
    model: loaded.kind, params: {}, protocol: { kind: 'given', pairs: [{ train: file, test: o.test[0] }] }, seed: 0, repeat: 1,
    folds: [fold], mean: { ...fold }, std: Object.fromEntries(Object.keys(fold).map((k) => [k, 0])),
    usersEvaluated: r.usersEvaluated, usersWithoutTest: 0, splits: [{ seed: 0, fold: 0, train: loaded.train.user.length, test: test.user.length, usersEvaluated: r.usersEvaluated, usersWithoutTest: 0 }],
  };
  if (o.json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(formatTable(result));
}

/** A repeatable comma-separated list option: `--train a,b --train c` → [a, b, c]. */
function listOption(v: string, prev: string[]): string[] {
  return [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

/** Default metrics by model kind: rating predictors get rmse,mae; ranking-only models ndcg/precision/recall@10. */
const DEFAULT_RATING_METRICS = ['rmse', 'mae'];
const DEFAULT_RANKING_METRICS = ['ndcg@10', 'precision@10', 'recall@10'];
/** leave-last has one test item per user: the papers' hit rate and NDCG */
const DEFAULT_LEAVE_LAST_METRICS = ['hit@10', 'ndcg@10'];

// ---------------------------------------------------------------------------------------------
// side-info options, shared with `affinity precompute`

export interface SideInfoCliOptions {
  items?: string;
  users?: string;
  itemsFormat?: string;
  usersFormat?: string;
  itemId?: string;
  itemText?: string;
  itemCategorical?: string;
  userId?: string;
  userText?: string;
  userCategorical?: string;
  sideDelimiter?: string;
  listSeparator?: string;
  sideHeader?: boolean;
  sideEncoding?: string;
}

/** Add --items/--users and the generic-CSV column options to a command. */
export function addSideInfoOptions(cmd: Command): Command {
  return cmd
    .option('--items <file>', 'item side information: MovieLens u.item, movies.dat, movies.csv (recognised by name/content; latin-1 for u.item/.dat), or a CSV with --item-id/--item-text/--item-categorical')
    .option('--users <file>', 'user side information: MovieLens u.user, users.dat, or a CSV with --user-id/--user-text/--user-categorical')
    .option('--items-format <f>', 'auto|movielens-100k-item|movielens-dat|movies-csv|csv (default auto)')
    .option('--users-format <f>', 'auto|movielens-100k-user|movielens-dat-user|csv (default auto)')
    .option('--item-id <col>', 'generic CSV: id column of --items, by header name or 0-based position (default 0)')
    .option('--item-text <cols>', 'generic CSV: comma-separated free-text columns of --items (e.g. title,description)')
    .option('--item-categorical <cols>', 'generic CSV: comma-separated categorical columns of --items (values split by --list-separator)')
    .option('--user-id <col>', 'generic CSV: id column of --users (default 0)')
    .option('--user-text <cols>', 'generic CSV: free-text columns of --users')
    .option('--user-categorical <cols>', 'generic CSV: categorical columns of --users (e.g. age,gender,occupation)')
    .option('--side-delimiter <c>', "generic CSV: field delimiter of the side files (default ','; 'tab' for a tab)")
    .option('--list-separator <c>', "generic CSV: separator of multi-valued categorical fields (default '|'; '' never splits)")
    .option('--no-side-header', 'generic CSV: the side files have no header line (columns by position)')
    .option('--side-encoding <e>', 'utf8|latin1 (default: latin1 for MovieLens u.item/u.user/.dat, else utf8)');
}

function columns(v: string | undefined): Array<string | number> | undefined {
  if (v === undefined) return undefined;
  const cols = v.split(',').map((s) => s.trim()).filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  return cols;
}

function column(v: string | undefined): string | number | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  return /^\d+$/.test(s) ? Number(s) : s;
}

function sideOptions<F extends string>(o: SideInfoCliOptions, kind: 'item' | 'user', formats: readonly string[]): SideInfoOptions<F> {
  const fmt = kind === 'item' ? o.itemsFormat : o.usersFormat;
  if (fmt !== undefined && !formats.includes(fmt)) throw new UsageError(`--${kind}s-format must be one of ${formats.join(', ')}, got '${fmt}'`);
  const enc = o.sideEncoding;
  if (enc !== undefined && enc !== 'utf8' && enc !== 'latin1') throw new UsageError(`--side-encoding must be utf8 or latin1, got '${enc}'`);
  const id = column(kind === 'item' ? o.itemId : o.userId);
  const text = columns(kind === 'item' ? o.itemText : o.userText);
  const cat = columns(kind === 'item' ? o.itemCategorical : o.userCategorical);
  const delimiter = o.sideDelimiter === 'tab' || o.sideDelimiter === '\\t' ? '\t' : o.sideDelimiter;
  let format = fmt as F | undefined;
  // column options imply the generic CSV reader
  if (format === undefined && (text !== undefined || cat !== undefined)) format = 'csv' as F;
  return {
    format, idColumn: id, textColumns: text, categoricalColumns: cat, delimiter,
    listSeparator: o.listSeparator, header: o.sideHeader === false ? false : undefined, encoding: enc as Encoding | undefined,
  };
}

/** Read --items / --users (undefined when neither is given). Errors are UsageErrors naming the option. */
export async function readSideInfoOptions(o: SideInfoCliOptions): Promise<SideInfoInput | undefined> {
  if (o.items === undefined && o.users === undefined) {
    if (o.itemText !== undefined || o.itemCategorical !== undefined || o.itemId !== undefined || o.itemsFormat !== undefined) throw new UsageError('item column/format options need --items FILE');
    if (o.userText !== undefined || o.userCategorical !== undefined || o.userId !== undefined || o.usersFormat !== undefined) throw new UsageError('user column/format options need --users FILE');
    return undefined;
  }
  const out: SideInfoInput = {};
  const itemOpts = sideOptions<ItemFeatureFormat>(o, 'item', ['auto', 'movielens-100k-item', 'movielens-dat', 'movies-csv', 'csv']);
  const userOpts = sideOptions<UserFeatureFormat>(o, 'user', ['auto', 'movielens-100k-user', 'movielens-dat-user', 'csv']);
  try {
    if (o.items !== undefined) out.items = await readItemFeatures(o.items, itemOpts);
  } catch (e) {
    throw new UsageError(`--items: ${(e as Error).message}${/needs textColumns/.test((e as Error).message) ? ' (use --item-text and/or --item-categorical)' : ''}`);
  }
  try {
    if (o.users !== undefined) out.users = await readUserFeatures(o.users, userOpts);
  } catch (e) {
    throw new UsageError(`--users: ${(e as Error).message}${/needs textColumns/.test((e as Error).message) ? ' (use --user-text and/or --user-categorical)' : ''}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

interface EvalCliOptions extends SideInfoCliOptions, ReadCliOptions {
  input?: string;
  modelFile?: string;
  train: string[];
  test: string[];
  model?: string;
  params: string[];
  protocol: string;
  repeat: number;
  seed: number;
  metrics?: string;
  coldStart?: string | boolean;
  sampledNegatives?: number;
  implicit?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command, edge: CliEdge, models: Record<string, ModelFactory> = allModels): void {
  const names = Object.keys(models).sort().join('|');
  const cmd = program
    .command('eval')
    .description('cross-validate one or several models on the same splits: rating (rmse, mae, mse, fcp), ranking and beyond-accuracy metrics, cold-start buckets')
    .option('--input <file>', 'interaction file (CSV/TSV/u.data/JSONL, optionally .gz), split by --protocol')
    .option('--train <files>', 'given splits instead of --input: training file(s), comma-separated or repeated, one per --test file (e.g. ML-100k u1.base,…,u5.base)', listOption, [] as string[])
    .option('--test <files>', 'the test file of each --train file, in the same order (e.g. u1.test,…,u5.test)', listOption, [] as string[])
    .option('--model <names>', `comma-separated models, scored on the same splits: ${names}`)
    .option('--model-file <file>', 'score a model saved by `affinity fit` on --test FILE instead (no fitting)')
    .option('--params <spec>', "model parameters (repeatable): 'k=v,…' for every model, 'MODEL:k=v,…' for one; groups separated by ';'", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--protocol <p>', 'kfold:N | holdout:R | user-holdout:R | loo | leave:K | temporal:R | temporal-user:R | cold-users:F[:W] | leave-last:K | heldout-users:N[:R]', 'kfold:5')
    .option('--repeat <n>', 'runs of a seeded protocol with seeds seed..seed+n-1 (mean ± std over all folds)', positiveInt('--repeat'), 1)
    .option('--seed <n>', 'random seed of the split', (v) => {
      const n = decimalNumber(v);
      if (v.trim() === '' || !Number.isInteger(n)) throw new UsageError(`--seed must be an integer, got '${v}'`);
      return n;
    }, 0)
    .option('--metrics <list>', `comma-separated metrics (default: ${DEFAULT_RATING_METRICS.join(',')} for rating models, ${DEFAULT_RANKING_METRICS.join(',')} for ranking-only models)`)
    .option('--sampled-negatives <n>', 'also rank each test user\'s test items among N seeded random items the user never interacted with (the NeuMF/SASRec papers\' HR@10/NDCG@10), reported as sampled:<metric> beside the full ranking', positiveInt('--sampled-negatives'))
    .option('--cold-start [by]', "also report every metric per cold-start bucket (history length 0, 1-5, 6-20, 21-50, >50) of test users ('user', default) or items ('item')")
    .option('--implicit', 'the input has no rating column (every interaction has weight 1)')
    .option('--json', 'print the result as JSON: one model → the result object, several → an array of them')
    .option('--quiet', 'no progress on stderr');
  addReadOptions(cmd);
  addSideInfoOptions(cmd);
  cmd.addHelpText('after', `
Metrics: rating  rmse, mae, mse, fcp (models that predict ratings only)
         ranking ndcg@K, precision@K (hits/K), capped-precision@K (implicit's precision_at_K: Σ hits /
                 Σ min(K, held-out) over users), recall@K, f1@K, hit@K, map@K, mrr@K, ndcg-graded@K, auc@K, auc,
                 recall-capped@K (hits / min(K, |test items|) per user: Liang et al. 2018's Recall@R)
         beyond  coverage@K, diversity@K, novelty@K, popbias@K
Protocols: kfold:N, holdout:R, user-holdout:R (per user), loo, leave:K, temporal:R, temporal-user:R
         (temporal ones need timestamps), cold-users:F[:W] (a random F of the users loses all its
         training data; W: share of every other user's interactions held out too),
         leave-last:K (per user by time: the last K to test, the K before them as the validation
         set of models that early-stop; needs timestamps)
         heldout-users:N[:R] (Liang et al. 2018: N users, or a fraction when < 1, held out of
         training; their interactions with items no training user has are dropped; R (0.2)
         of the rest to test, the others folded in: ease and multvae rank them from those
         items, other models train with them)
--params: 'factors=50,epochs=10' applies to every model; 'svd:factors=50;als:factors=64' or
         repeated --params svd:factors=50 --params als:factors=64 gives each model its own.
Given splits: --train A1,A2,… --test B1,B2,… scores each (train, test) pair of files as one fold,
         exactly as a protocol's folds (ids shared across the files), e.g. ML-100k's u1..u5.
Examples:
  affinity eval --input u.data --model svd,als,item-knn --protocol user-holdout:0.2 --metrics ndcg@10,recall@10,coverage@10
  affinity eval --train u1.base,u2.base,u3.base,u4.base,u5.base --test u1.test,u2.test,u3.test,u4.test,u5.test --model svd
  affinity eval --input u.data --model popularity,content-knn,feature-mf --protocol cold-users:0.1:0.2 \\
                --cold-start user --items u.item --users u.user --metrics ndcg@10 --json
  affinity eval --input u.data --model sasrec,bpr --protocol leave-last:1 --sampled-negatives 100 --metrics hit@10,ndcg@10
  affinity eval --input u.data --model multvae,ease,als --protocol heldout-users:0.1 --metrics recall-capped@20,ndcg@100`);
  cmd.action(async (o: EvalCliOptions) => {
    if (o.modelFile !== undefined) return evalModelFile(o, cmd, edge);
    if (o.model === undefined) throw new UsageError("required option '--model <names>' not specified (or --model-file FILE --test FILE)");
    const given = o.train.length > 0 || o.test.length > 0;
    if (given && o.input !== undefined) throw new UsageError('--input and --train/--test are exclusive: give one data file to split, or the splits');
    if (!given && o.input === undefined) throw new UsageError("required option '--input <file>' not specified (or give splits with --train/--test)");
    if (o.train.length !== o.test.length) throw new UsageError(`--train has ${o.train.length} file(s) and --test ${o.test.length}: give one test file per training file`);
    if (given && cmd.getOptionValueSource('protocol') !== 'default') throw new UsageError('--protocol does not apply to --train/--test (the files are the splits)');
    if (given && o.repeat > 1) throw new UsageError('--repeat does not apply to --train/--test (given splits have no seed)');
    const modelNames = o.model.split(',').map((s) => s.trim()).filter(Boolean);
    if (!modelNames.length) throw new UsageError('--model is empty');
    for (const m of modelNames) if (!models[m]) throw new UsageError(`unknown model '${m}' (known: ${Object.keys(models).sort().join(', ')})`);
    const dup = modelNames.find((m, i) => modelNames.indexOf(m) !== i);
    if (dup) throw new UsageError(`--model lists '${dup}' twice`);
    const params = parseModelParams(o.params ?? [], modelNames);
    let protocol: Protocol;
    if (given) protocol = { kind: 'given', pairs: o.train.map((train, f) => ({ train, test: o.test[f] })) };
    else try { protocol = parseProtocol(o.protocol); } catch (e) { throw new UsageError(`--protocol: ${(e as Error).message}`); }
    let coldStart: 'user' | 'item' | undefined;
    if (o.coldStart !== undefined && o.coldStart !== false) {
      const by = o.coldStart === true ? 'user' : o.coldStart;
      if (by !== 'user' && by !== 'item') throw new UsageError(`--cold-start must be 'user' or 'item', got '${by}'`);
      coldStart = by;
    }
    if (o.repeat > 1 && protocol.kind === 'temporal') throw new UsageError(`--repeat: protocol '${formatProtocol(protocol)}' is deterministic (no seed), so repeating it gives the same split`);
    const sideInfo = await readSideInfoOptions(o);

    // metrics per model; every model is built (so names, params and metric kinds are checked) before reading the data
    const explicit = o.metrics !== undefined ? o.metrics.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
    if (explicit && !explicit.length) throw new UsageError('--metrics is empty');
    const metricsOf: Record<string, string[]> = {};
    const rating: Record<string, boolean> = {};
    for (const name of modelNames) {
      let probe;
      // model errors already start with the model's name ('svd: factors must be …')
      try { probe = models[name](params[name]); } catch (e) { const m = (e as Error).message; throw new UsageError(m.startsWith(`${name}: `) ? m : `${name}: ${m}`); }
      rating[name] = probe.predictsRatings;
    }
    const allRating = modelNames.every((n) => rating[n]);
    let explicitSpecs: MetricSpec[] | undefined;
    if (explicit) {
      try { explicitSpecs = parseMetrics(explicit); } catch (e) { throw new UsageError(`--metrics: ${(e as Error).message}`); }
    }
    // rating metrics (rmse, mae, …) do not apply to models that only rank: each model is scored on the
    // metrics it supports, the others are shown as n/a, and one note says so
    const notApplicable: Record<string, string[]> = {};
    const ranking = protocol.kind === 'leave-last' ? DEFAULT_LEAVE_LAST_METRICS : DEFAULT_RANKING_METRICS;
    for (const name of modelNames) {
      let metrics = explicit ?? (allRating ? DEFAULT_RATING_METRICS : rating[name] ? [...DEFAULT_RATING_METRICS, ...ranking] : ranking);
      if (explicitSpecs && !rating[name]) {
        const ratingKeys = explicitSpecs.filter((m) => m.kind === 'rating').map((m) => m.key);
        if (ratingKeys.length === explicitSpecs.length) throw new UsageError(`model '${name}' ranks items and does not predict ratings, so none of --metrics (${explicit!.join(',')}) applies to it; add a ranking metric such as ndcg@10`);
        if (ratingKeys.length) {
          notApplicable[name] = ratingKeys;
          metrics = explicitSpecs.filter((m) => m.kind !== 'rating').map((m) => m.key);
        }
      }
      if (o.sampledNegatives !== undefined && !metrics.some((m) => /@\d+$/.test(m) && !/^(coverage|diversity|novelty|popbias)@/.test(m))) {
        throw new UsageError(`--sampled-negatives ranks test items among sampled ones: --metrics needs a ranking metric with a cut-off, such as hit@10 or ndcg@10 (${name} has ${metrics.join(',')})`);
      }
      let specs;
      try { specs = parseMetrics(metrics); } catch (e) { throw new UsageError(`--metrics: ${(e as Error).message}`); }
      checkModel({ models, modelName: name, params: params[name], sideInfo }, specs); // names, params and side info before any fitting
      metricsOf[name] = metrics;
    }

    const say = o.quiet ? (_: string) => {} : (m: string) => { process.stderr.write(m); };
    const skippedModels = Object.keys(notApplicable);
    if (skippedModels.length) {
      const keys = [...new Set(skippedModels.flatMap((n) => notApplicable[n]))];
      process.stderr.write(`affinity: ${keys.join(', ')} ${keys.length > 1 ? 'do' : 'does'} not apply to ${skippedModels.join(', ')} (${skippedModels.length > 1 ? 'they rank items and do' : 'it ranks items and does'} not predict ratings): shown as n/a\n`);
    }
    let data: Interactions, splits: SeededSplit[];
    if (protocol.kind === 'given') {
      const g = await readGivenSplits(protocol.pairs, { implicit: o.implicit === true, ...readOptionsOf(o) }, (f) => say(`reading ${f}\n`));
      ({ data, splits } = g);
      g.overlap.forEach((n, f) => { if (n) process.stderr.write(`affinity: ${o.test[f]}: ${n} test interaction(s) are also in ${o.train[f]} (the model sees them in training)\n`); });
      say(`${splits.length} given split(s): ${splits.map((sp) => `${sp.train.user.length}/${sp.test.user.length}`).join(', ')} train/test interactions; ${data.users.size} users, ${data.items.size} items in all\n`);
    } else {
      say(`reading ${o.input}\n`);
      data = await readInteractions(o.input!, { implicit: o.implicit === true, ...readOptionsOf(o), progress: false });
      splits = makeSplits(data, protocol, o.seed, o.repeat);
      say(`${formatProtocol(protocol)}: ${splits.length} split(s) of ${data.user.length} interactions, ${data.users.size} users, ${data.items.size} items\n`);
      const dropped = splits.filter((sp) => sp.heldout).map((sp) => sp.heldout!.dropped);
      if (dropped.length) say(`held-out users: ${dropped.join(', ')} interaction(s) with items no training user has dropped (Liang et al.'s protocol), per split\n`);
    }
    const results: EvaluateResult[] = [];
    // progress: a bar over every (model, fold) on a terminal; one line per fold otherwise (logs)
    const bar = !o.quiet && process.stderr.isTTY === true
      ? new cliProgress.SingleBar({ stream: process.stderr, format: 'eval [{bar}] {value}/{total} folds | {last} | ETA {eta_formatted}', hideCursor: true, fps: 5 }, cliProgress.Presets.shades_classic)
      : null;
    bar?.start(modelNames.length * splits.length, 0, { last: `${modelNames[0]} fitting` });
    // off a terminal, the neural models' epochs (loss, validation metric) are a line each
    const epochLines = !o.quiet && !bar ? new EpochProgress(false, say) : null;
    try {
      for (const name of modelNames) {
        const metrics = metricsOf[name];
        const t0 = performance.now();
        let fold = 0;
        epochLines?.begin(`${name} fold 1/${splits.length}`);
        // an epoch callback makes the factor models compute their loss: only where it is shown
        const showEpochs = bar !== null || (epochLines !== null && !factorizationModels[name]);
        const r = await evaluate({
          ...edge.context(), data, modelName: name, params: params[name], protocol, seed: o.seed, repeat: o.repeat, metrics, models, sideInfo, coldStart, splits,
          sampledNegatives: o.sampledNegatives,
          onEpoch: showEpochs
            ? (epoch, loss, info) => {
              if (bar) bar.update({ last: `${name} fold ${fold + 1}/${splits.length} epoch ${epoch}${info?.epochs ? `/${info.epochs}` : ''}, loss ${Number.isFinite(loss) ? loss.toPrecision(5) : String(loss)}` });
              else epochLines?.onEpoch(epoch, loss, info);
            }
            : undefined,
          onFold: (f, fr) => {
            const keys = Object.keys(fr).filter((k) => !k.endsWith('Seconds'));
            const line = `${name} fold ${f + 1}/${splits.length}: ${keys.map((m) => `${m} ${fmtValue(m, fr[m])}`).join(', ')} (fit ${fr.fitSeconds.toFixed(2)} s)`;
            fold = f + 1;
            if (bar) bar.increment({ last: line });
            else say(`${line}\n`);
            if (f + 1 < splits.length) epochLines?.begin(`${name} fold ${f + 2}/${splits.length}`);
          },
        });
        if (!bar) say(`${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
        results.push(r);
      }
    } finally {
      bar?.stop();
    }
    const shown = results.map((r) => (notApplicable[r.model] ? { ...r, notApplicable: notApplicable[r.model] } : r));
    if (o.json) process.stdout.write(JSON.stringify(shown.length === 1 ? shown[0] : shown) + '\n');
    else process.stdout.write(results.length === 1 ? formatTable(results[0]) : formatComparison(results, explicit));
  });
}
