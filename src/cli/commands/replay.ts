/**
 * `affinity replay`: offline replay (Li et al. 2011) of a bandit policy re-ranking a model's
 * candidates over a logged interaction stream.
 *
 * The input is ordered by timestamp (or file order with --order input); the first
 * --train-fraction of it fits the model, the rest is replayed: at each logged event the policy
 * picks one of the user's candidates (the model's top --candidates, or with --pool popular the
 * training set's most popular items); a pick equal to the logged item is a match, earns the
 * event's reward (rating ≥ --threshold → 1, else 0; implicit input: 1) and updates the policy.
 * Prints {policy, steps, matched, matchRate, reward, ctr, ctrStdError, regretVsGreedy} (see
 * src/explore/replay.ts); ctrStdError = √(ctr(1 − ctr)/matched), the binomial standard error. Only
 * matched events inform the CTR, so fewer than --min-matched (default 200) prints a warning.
 */
import type { Command } from 'commander';
import type { CliEdge } from '../edge.js';
import { readInteractions } from '../../data/readers.js';
import { subset } from '../../data/interactions.js';
import { allModels } from '../../models/registry.js';
import { contentModels, Popularity } from '../../models/content/index.js';
import type { Model, ModelFactory } from '../../models/types.js';
import { createPolicy, POLICY_NAMES, type ItemVectors } from '../../explore/bandits.js';
import { loggedEvents, replayOrder, replayWithRegret } from '../../explore/replay.js';
import { parseParams, positiveInt, UsageError } from '../args.js';
import { decimalNumber } from '../../data/decimal.js';
import { addReadOptions, readOptionsOf, type ReadCliOptions } from '../readOptions.js';

function models(): Record<string, ModelFactory> {
  return { ...contentModels, ...(allModels as Record<string, ModelFactory>) };
}

function itemVectorsOf(m: Model): ItemVectors | undefined {
  const f = (m as { itemFactors?: unknown }).itemFactors;
  if (f && typeof f === 'object' && 'rows' in f && 'cols' in f && 'data' in f) return f as ItemVectors;
  return undefined;
}

interface ReplayCliOptions extends ReadCliOptions {
  input: string;
  model: string;
  modelParams?: string;
  policy: string;
  params?: string;
  seed: number;
  candidates: number;
  pool: string;
  trainFraction: number;
  threshold: number;
  order: string;
  implicit?: boolean;
  minMatched: number;
  json?: boolean;
}

export function register(program: Command, edge: CliEdge): void {
  const cmd = program
    .command('replay')
    .description('offline replay evaluation (Li et al. 2011) of a bandit policy over a model\'s candidates on a time-ordered log')
    .requiredOption('--input <file>', 'interaction file with timestamps (CSV/TSV/u.data/JSONL, optionally .gz)')
    .option('--model <name>', 'model that proposes the candidates (popularity, content-knn, feature-mf, or any registered model)', 'popularity')
    .option('--model-params <k=v,...>', 'the model\'s parameters, e.g. factors=32,epochs=10')
    .requiredOption('--policy <name>', `bandit policy: ${POLICY_NAMES.join('|')}`)
    .option('--params <k=v,...>', 'policy parameters: epsilon (egreedy), c (ucb1), prior_a/prior_b (thompson), alpha/lambda (linucb)')
    .option('--seed <n>', 'random seed of the policy', (v) => {
      const n = decimalNumber(v);
      if (v.trim() === '' || !Number.isInteger(n)) throw new UsageError(`--seed must be an integer, got '${v}'`);
      return n;
    }, 42)
    .option('--candidates <n>', 'candidate list length', positiveInt('--candidates'), 20)
    .option('--pool <kind>', "candidates: 'model' (each user's top-N of the model) or 'popular' (the N most popular training items)", 'model')
    .option('--train-fraction <f>', 'share of the (time-ordered) log used to fit the model; the rest is replayed', (v) => {
      const f = decimalNumber(v);
      if (!(f >= 0 && f < 1)) throw new UsageError(`--train-fraction must be in [0, 1), got '${v}'`);
      return f;
    }, 0.5)
    .option('--threshold <r>', 'explicit input: reward 1 when rating ≥ r', (v) => {
      const r = decimalNumber(v);
      if (v.trim() === '' || !Number.isFinite(r)) throw new UsageError(`--threshold must be a number, got '${v}'`);
      return r;
    }, 4)
    .option('--order <o>', "'time' (by timestamp; default) or 'input' (file order)", 'time')
    .option('--implicit', 'the input has no rating column (every event has reward 1)')
    .option('--min-matched <n>', 'warn when fewer logged events than this matched the policy\'s pick (the CTR is estimated on them)', positiveInt('--min-matched'), 200)
    .option('--json', 'print {policy, steps, matched, matchRate, reward, ctr, ctrStdError, regretVsGreedy} as one JSON object');
  addReadOptions(cmd)
    .action(async (o: ReplayCliOptions) => {
      const table = models();
      const factory = table[o.model];
      if (!factory) throw new UsageError(`unknown model '${o.model}' (known: ${Object.keys(table).sort().join(', ')})`);
      if (!(POLICY_NAMES as readonly string[]).includes(o.policy)) throw new UsageError(`unknown policy '${o.policy}' (${POLICY_NAMES.join('|')})`);
      if (o.pool !== 'model' && o.pool !== 'popular') throw new UsageError(`--pool must be 'model' or 'popular', got '${o.pool}'`);
      if (o.order !== 'time' && o.order !== 'input') throw new UsageError(`--order must be 'time' or 'input', got '${o.order}'`);
      const policyParams = parseParams(o.params);
      const readOptions = readOptionsOf(o);
      const model = factory(parseParams(o.modelParams)); // bad params fail before reading the data
      createPolicy(o.policy === 'linucb' ? 'greedy' : o.policy, { ...policyParams, seed: o.seed }); // likewise

      const x = await readInteractions(o.input, { implicit: o.implicit === true, ...readOptions });
      let order: Int32Array;
      try { order = replayOrder(x, o.order as 'time' | 'input'); } catch (e) { throw new UsageError((e as Error).message.replace("order 'input' / ", '')); }
      const nTrain = Math.floor(order.length * o.trainFraction);
      if (nTrain === 0) throw new UsageError(`--train-fraction ${o.trainFraction} leaves no interactions to fit the model`);
      if (nTrain >= order.length) throw new UsageError('nothing left to replay');
      const train = subset(x, order.subarray(0, nTrain));
      const events = loggedEvents(x, order.subarray(nTrain), { threshold: o.threshold });
      const ctx = edge.context();
      await model.fit(train, ctx);

      let candidates: (user: number) => ArrayLike<number>;
      if (o.pool === 'popular') {
        const pop = new Popularity();
        await pop.fit(train, ctx);
        const fixed = pop.recommend(0, o.candidates, { filterSeen: false }).ids;
        candidates = () => fixed;
      } else {
        const cache = new Map<number, Int32Array>();
        candidates = (u) => {
          let c = cache.get(u);
          if (!c) cache.set(u, (c = model.recommend(u, o.candidates, { ...ctx, filterSeen: true }).ids));
          return c;
        };
      }
      const itemVectors = o.policy === 'linucb' ? itemVectorsOf(model) : undefined;
      if (o.policy === 'linucb' && !itemVectors) throw new UsageError(`linucb needs item factors, and model '${o.model}' has none: use --model feature-mf or a factorization model`);
      const policy = createPolicy(o.policy, { ...policyParams, seed: o.seed, itemVectors });
      const r = replayWithRegret(events, policy, candidates);
      // the CTR is estimated on the matched events only: its binomial standard error says how far to trust it
      const ctrStdError = r.matched > 0 ? Math.sqrt(r.ctr * (1 - r.ctr) / r.matched) : NaN;
      const out = {
        policy: r.policy, steps: r.steps, matched: r.matched, matchRate: r.steps > 0 ? r.matched / r.steps : 0, reward: r.reward, ctr: r.ctr,
        ctrStdError: Number.isFinite(ctrStdError) ? ctrStdError : null, regretVsGreedy: r.regretVsGreedy,
      };
      if (r.matched < o.minMatched) {
        process.stderr.write(`affinity: warning: only ${r.matched} of ${r.steps} logged events (${(100 * out.matchRate).toFixed(2)}%) matched the policy's pick; ` +
          `a CTR from fewer than ${o.minMatched} matched events is not to be trusted${out.ctrStdError !== null ? ` (± ${out.ctrStdError.toFixed(4)} standard error)` : ''}: ` +
          'replay more events, or use fewer --candidates so more picks match the log\n');
      }
      if (o.json) process.stdout.write(JSON.stringify(out) + '\n');
      else process.stdout.write(
        `policy ${out.policy} over ${o.model} (${o.pool} pool of ${o.candidates}), ${out.steps} events replayed after ${nTrain} for training\n` +
        `matched ${out.matched} of ${out.steps} events (${(100 * out.matchRate).toFixed(2)}%), reward ${out.reward}, ` +
        `ctr ${out.ctr.toFixed(4)}${out.ctrStdError !== null ? ` ± ${out.ctrStdError.toFixed(4)}` : ''} (greedy ${r.greedy.ctr.toFixed(4)} on ${r.greedy.matched} matched), regret vs greedy ${out.regretVsGreedy.toFixed(2)}\n`);
    });
}
