/**
 * `affinity eval --input FILE --model NAME[,NAME…] [--params …] [--protocol P] [--repeat N]
 *                [--metrics LIST] [--cold-start [user|item]] [--items FILE] [--users FILE]
 *                [--seed N] [--json]`
 *
 * Runs the evaluation protocol (src/eval/evaluate.ts). Every model is scored on the SAME splits
 * (makeSplits once, shared). One model: a table with one row per fold, then mean and std (or with
 * --json the EvaluateResult object). Several models: one comparison table, one row per model,
 * `mean ± std` per metric (or with --json an array of EvaluateResult objects, in --model order).
 * With --cold-start a per-bucket table follows each model (JSON: `coldStart: [{bucket, users, mean}]`).
 * Progress goes to stderr (fits of the neural models: a bar per fit on a TTY, a line per epoch otherwise).
 *
 * --params syntax (repeatable; groups separated by ';'):
 *   k=v,k=v            applies to every model (the only form needed for one model)
 *   MODEL:k=v,k=v      applies to that model only, e.g. --params 'svd:factors=50;als:factors=64'
 *                      or --params svd:factors=50 --params als:factors=64
 * Model-specific values override shared ones.
 */
import type { Command } from 'commander';
import { readInteractions } from '../../data/readers.js';
import { readItemFeatures, readUserFeatures, type Encoding, type ItemFeatureFormat, type SideInfoOptions, type UserFeatureFormat } from '../../data/sideInfo.js';
import { checkModel, evaluate, formatProtocol, makeSplits, parseMetrics, parseProtocol, type EvaluateResult, type Protocol } from '../../eval/evaluate.js';
import { allModels } from '../../models/registry.js';
import type { CliEdge } from '../edge.js';
import type { SideInfoInput } from '../../models/attachSideInfo.js';
import type { ModelFactory, ModelParams } from '../../models/types.js';
import { parseParams, positiveInt, UsageError } from '../args.js';
import { EpochProgress } from '../epochProgress.js';

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
function formatComparison(results: EvaluateResult[]): string {
  if (!results.length) return '';
  const keys: string[] = [];
  for (const r of results) for (const k of Object.keys(r.mean)) if (!keys.includes(k)) keys.push(k);
  // timings last
  keys.sort((a, b) => Number(a.endsWith('Seconds')) - Number(b.endsWith('Seconds')));
  const rows = results.map((r) => {
    const params = paramText(r.params);
    return [`${r.model}${params ? ` (${params})` : ''}`, ...keys.map((k) => (k in r.mean ? `${fmtValue(k, r.mean[k])} ± ${fmtValue(k, r.std[k])}` : '—'))];
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

/** Default metrics by model kind: rating predictors get rmse,mae; ranking-only models ndcg/precision/recall@10. */
const DEFAULT_RATING_METRICS = ['rmse', 'mae'];
const DEFAULT_RANKING_METRICS = ['ndcg@10', 'precision@10', 'recall@10'];

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

interface EvalCliOptions extends SideInfoCliOptions {
  input: string;
  model: string;
  params: string[];
  protocol: string;
  repeat: number;
  seed: number;
  metrics?: string;
  coldStart?: string | boolean;
  implicit?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command, edge: CliEdge, models: Record<string, ModelFactory> = allModels): void {
  const names = Object.keys(models).sort().join('|');
  const cmd = program
    .command('eval')
    .description('cross-validate one or several models on the same splits: rating (rmse, mae, mse, fcp), ranking and beyond-accuracy metrics, cold-start buckets')
    .requiredOption('--input <file>', 'interaction file (CSV/TSV/u.data/JSONL, optionally .gz)')
    .requiredOption('--model <names>', `comma-separated models, scored on the same splits: ${names}`)
    .option('--params <spec>', "model parameters (repeatable): 'k=v,…' for every model, 'MODEL:k=v,…' for one; groups separated by ';'", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--protocol <p>', 'kfold:N | holdout:R | user-holdout:R | loo | leave:K | temporal:R | temporal-user:R | cold-users:F[:W] | heldout-users:N[:R]', 'kfold:5')
    .option('--repeat <n>', 'runs of a seeded protocol with seeds seed..seed+n-1 (mean ± std over all folds)', positiveInt('--repeat'), 1)
    .option('--seed <n>', 'random seed of the split', (v) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isInteger(n)) throw new UsageError(`--seed must be an integer, got '${v}'`);
      return n;
    }, 0)
    .option('--metrics <list>', `comma-separated metrics (default: ${DEFAULT_RATING_METRICS.join(',')} for rating models, ${DEFAULT_RANKING_METRICS.join(',')} for ranking-only models)`)
    .option('--cold-start [by]', "also report every metric per cold-start bucket (history length 0, 1-5, 6-20, 21-50, >50) of test users ('user', default) or items ('item')")
    .option('--implicit', 'the input has no rating column (every interaction has weight 1)')
    .option('--json', 'print the result as JSON: one model → the result object, several → an array of them')
    .option('--quiet', 'no progress on stderr');
  addSideInfoOptions(cmd);
  cmd.addHelpText('after', `
Metrics: rating  rmse, mae, mse, fcp (models that predict ratings only)
         ranking ndcg@K, precision@K, recall@K, f1@K, hit@K, map@K, mrr@K, ndcg-graded@K, auc@K, auc,
                 recall-capped@K (hits / min(K, |test items|): Liang et al. 2018's Recall@R)
         beyond  coverage@K, diversity@K, novelty@K, popbias@K
Protocols: kfold:N, holdout:R, user-holdout:R (per user), loo, leave:K, temporal:R, temporal-user:R
         (temporal ones need timestamps), cold-users:F[:W] (a random F of the users loses all its
         training data; W: share of every other user's interactions held out too),
         heldout-users:N[:R] (Liang et al. 2018: N users, or a fraction when < 1, held out of
         training; R (0.2) of each one's interactions to test, the rest folded in: ease and
         multvae rank them from those items, other models train with them)
--params: 'factors=50,epochs=10' applies to every model; 'svd:factors=50;als:factors=64' or
         repeated --params svd:factors=50 --params als:factors=64 gives each model its own.
Examples:
  affinity eval --input u.data --model svd,als,item-knn --protocol user-holdout:0.2 --metrics ndcg@10,recall@10,coverage@10
  affinity eval --input u.data --model popularity,content-knn,feature-mf --protocol cold-users:0.1:0.2 \\
                --cold-start user --items u.item --users u.user --metrics ndcg@10 --json
  affinity eval --input u.data --model multvae,ease,als --protocol heldout-users:0.1 --metrics recall-capped@20,ndcg@100`);
  cmd.action(async (o: EvalCliOptions) => {
    const modelNames = o.model.split(',').map((s) => s.trim()).filter(Boolean);
    if (!modelNames.length) throw new UsageError('--model is empty');
    for (const m of modelNames) if (!models[m]) throw new UsageError(`unknown model '${m}' (known: ${Object.keys(models).sort().join(', ')})`);
    const dup = modelNames.find((m, i) => modelNames.indexOf(m) !== i);
    if (dup) throw new UsageError(`--model lists '${dup}' twice`);
    const params = parseModelParams(o.params ?? [], modelNames);
    let protocol: Protocol;
    try { protocol = parseProtocol(o.protocol); } catch (e) { throw new UsageError(`--protocol: ${(e as Error).message}`); }
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
      try { probe = models[name](params[name]); } catch (e) { throw new UsageError(`${name}: ${(e as Error).message}`); }
      rating[name] = probe.predictsRatings;
    }
    const allRating = modelNames.every((n) => rating[n]);
    for (const name of modelNames) {
      const metrics = explicit ?? (allRating ? DEFAULT_RATING_METRICS : rating[name] ? [...DEFAULT_RATING_METRICS, ...DEFAULT_RANKING_METRICS] : DEFAULT_RANKING_METRICS);
      let specs;
      try { specs = parseMetrics(metrics); } catch (e) { throw new UsageError(`--metrics: ${(e as Error).message}`); }
      checkModel({ models, modelName: name, params: params[name], sideInfo }, specs); // 'does not predict ratings' before any fitting
      metricsOf[name] = metrics;
    }

    const say = o.quiet ? (_: string) => {} : (m: string) => { process.stderr.write(m); };
    say(`reading ${o.input}\n`);
    const data = await readInteractions(o.input, { implicit: o.implicit === true, progress: false });
    const splits = makeSplits(data, protocol, o.seed, o.repeat);
    say(`${formatProtocol(protocol)}: ${splits.length} split(s) of ${data.user.length} interactions, ${data.users.size} users, ${data.items.size} items\n`);
    const results: EvaluateResult[] = [];
    const progress = new EpochProgress(!o.quiet && process.stderr.isTTY === true, say);
    for (const name of modelNames) {
      const metrics = metricsOf[name];
      const t0 = performance.now();
      progress.begin(`${name} fold 1/${splits.length}`);
      const r = await evaluate({
        ...edge.context(), data, modelName: name, params: params[name], protocol, seed: o.seed, repeat: o.repeat, metrics, models, sideInfo, coldStart, splits,
        onEpoch: o.quiet ? undefined : progress.onEpoch,
        onFold: (f, fr) => {
          progress.end();
          say(`${name} fold ${f + 1}/${splits.length}: ${metrics.map((m) => `${m} ${fmtValue(m, fr[m])}`).join(', ')} (fit ${fr.fitSeconds.toFixed(2)} s)\n`);
          if (f + 1 < splits.length) progress.begin(`${name} fold ${f + 2}/${splits.length}`);
        },
      }).finally(() => progress.end());
      say(`${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
      results.push(r);
    }
    if (o.json) process.stdout.write(JSON.stringify(results.length === 1 ? results[0] : results) + '\n');
    else process.stdout.write(results.length === 1 ? formatTable(results[0]) : formatComparison(results));
  });
}
