/**
 * `affinity similarity --input FILE --by item|user --metric NAME --k 50 --out FILE`
 *
 * The k nearest neighbours of every item (or user) by the sparseSimilarityTopK kernel, written
 * with external ids: JSONL (one line per entity, `{"item": id, "items": [ids], "scores": [..]}`,
 * `{"user": id, "users": [...], …}` with --by user) or CSV (`item,rank,similar_item,score`, rank
 * from 1; `user,rank,similar_user,score`) by the output's extension (.jsonl/.ndjson/.json or .csv,
 * optionally .gz). The one neighbour-list schema: precompute's similar items are written the same
 * way (src/pipeline/writers.ts). Entities without any neighbour get an empty list
 * in JSONL and no rows in CSV. The file is written to a temporary name and renamed when complete
 * (temporaries of killed runs are removed by the next run), under an exclusive lock (OUT.lock), and
 * never over the input.
 */
import type { Context } from '../../engine/context.js';
import type { Command } from 'commander';
import { readInteractions, writeTextFile } from '../../data/readers.js';
import { lockOutput, refuseInputAsOutput } from '../../data/outputFile.js';
import { csvField, float32Text } from '../../data/csvLine.js';
import { toCsr, type Interactions } from '../../data/interactions.js';
import type { TopK } from '../../data/matrix.js';
import type { IdMap } from '../../data/idMap.js';
import {
  SIMILARITY_METRICS, SIMILARITY_WEIGHTINGS, type SimilarityMetric, type SimilarityWeighting, type SparseSimilarityTopKArgs,
} from '../../kernels/sparseSimilarityTopK.js';
import { Trainset } from '../../models/trainset.js';
import { computeBaselines, DEFAULT_BASELINE_OPTIONS, similarityBaselines } from '../../models/neighbourhood/baselines.js';
import { checkOutputPath, nonNegativeNumber, positiveInt, UsageError } from '../args.js';
import { decimalNumber } from '../../data/decimal.js';
import type { CliEdge } from '../edge.js';
import { addReadOptions, readOptionsOf, type ReadCliOptions } from '../readOptions.js';

export type OutputFormat = 'jsonl' | 'csv';

function outputFormat(file: string): OutputFormat {
  const base = file.toLowerCase().replace(/\.gz$/, '');
  if (base.endsWith('.csv')) return 'csv';
  if (base.endsWith('.jsonl') || base.endsWith('.ndjson') || base.endsWith('.json')) return 'jsonl';
  throw new UsageError(`--out must end in .jsonl, .ndjson, .json or .csv (optionally .gz), got '${file}'`);
}

export interface SimilarityCommandOptions {
  by: 'item' | 'user';
  metric: SimilarityMetric;
  k: number;
  weighting?: SimilarityWeighting;
  shrinkage?: number;
  minSupport?: number;
  minSimilarity?: number;
}

/** The kernel's arguments for data x (pearson-baseline gets ALS baselines, Surprise's defaults). */
function similarityArgsFor(x: Interactions, o: SimilarityCommandOptions): SparseSimilarityTopKArgs {
  const matrix = toCsr(x, o.by);
  const args: SparseSimilarityTopKArgs = {
    matrix, metric: o.metric, k: o.k, weighting: o.weighting, shrinkage: o.shrinkage, minSupport: o.minSupport, minSimilarity: o.minSimilarity,
  };
  if (o.metric === 'pearson-baseline') {
    const ts = Trainset.of(x, 'similarity');
    args.baselines = similarityBaselines(ts, computeBaselines(ts, DEFAULT_BASELINE_OPTIONS), o.by === 'user');
  }
  return args;
}

/** Compute the neighbour lists through the context's engine (its backend, or the fastest for sparseSimilarityTopK). */
async function computeNeighbours(args: SparseSimilarityTopKArgs, ctx: Context): Promise<TopK> {
  return await ctx.engine.run('sparseSimilarityTopK', args, { backend: ctx.backend, signal: ctx.signal });
}

function* jsonlChunks(nn: TopK, ids: IdMap, key: string): Generator<string> {
  let buf = '';
  for (let r = 0; r < nn.rows; r++) {
    const nbs: Array<string | number> = [], scores: number[] = [];
    for (let t = r * nn.k, te = t + nn.k; t < te && nn.ids[t] >= 0; t++) {
      nbs.push(ids.external(nn.ids[t]));
      scores.push(Number(float32Text(nn.scores[t])));
    }
    buf += `{${JSON.stringify(key)}:${JSON.stringify(ids.external(r))},${JSON.stringify(`${key}s`)}:${JSON.stringify(nbs)},"scores":${JSON.stringify(scores)}}\n`;
    if (buf.length >= 1 << 20) { yield buf; buf = ''; }
  }
  if (buf) yield buf;
}

function* csvChunks(nn: TopK, ids: IdMap, key: string): Generator<string> {
  let buf = `${key},rank,similar_${key},score\n`;
  const text = ids.ids().map((id) => csvField(String(id)));
  for (let r = 0; r < nn.rows; r++) {
    for (let t = r * nn.k, te = t + nn.k, rank = 1; t < te && nn.ids[t] >= 0; t++, rank++) {
      buf += `${text[r]},${rank},${text[nn.ids[t]]},${float32Text(nn.scores[t])}\n`;
    }
    if (buf.length >= 1 << 20) { yield buf; buf = ''; }
  }
  if (buf) yield buf;
}

/** Write the neighbour lists to `out` (format by extension); writeTextFile writes a temporary file renamed when complete. */
async function writeNeighbours(out: string, nn: TopK, ids: IdMap, by: 'item' | 'user'): Promise<void> {
  const format = outputFormat(out);
  await writeTextFile(out, format === 'csv' ? csvChunks(nn, ids, by) : jsonlChunks(nn, ids, by));
}

function metricArg(v: string): SimilarityMetric {
  const m = v.replace(/_/g, '-');
  if (!(SIMILARITY_METRICS as readonly string[]).includes(m)) throw new UsageError(`--metric must be one of ${SIMILARITY_METRICS.join(', ')}, got '${v}'`);
  return m as SimilarityMetric;
}

export function register(program: Command, edge: CliEdge): void {
  const cmd = program
    .command('similarity')
    .description('the k most similar items (or users) of each item (user), by a sparse similarity metric')
    .requiredOption('--input <file>', 'interaction file (CSV/TSV/u.data/JSONL, optionally .gz)')
    .option('--by <side>', 'compare items or users: item|user', 'item')
    .option('--metric <name>', `similarity: ${SIMILARITY_METRICS.join('|')}`, metricArg, 'cosine' as SimilarityMetric)
    .option('--k <n>', 'neighbours per entity', positiveInt('--k'), 50)
    .option('--weighting <w>', `value weighting before the metric: ${SIMILARITY_WEIGHTINGS.join('|')}`, 'none')
    .option('--shrinkage <s>', 'shrink by n/(n+s), n = co-raters', nonNegativeNumber('--shrinkage'))
    .option('--min-support <n>', 'minimum co-raters for a non-zero similarity', nonNegativeNumber('--min-support'))
    .option('--min-similarity <s>', 'drop neighbours below this similarity', (v) => {
      const n = decimalNumber(v);
      if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--min-similarity must be a number, got '${v}'`);
      return n;
    })
    .requiredOption('--out <file>', 'output: .jsonl or .csv (optionally .gz)');
  addReadOptions(cmd)
    .action(async (o: ReadCliOptions & { input: string; by: string; metric: SimilarityMetric; k: number; weighting: string; shrinkage?: number; minSupport?: number; minSimilarity?: number; out: string }) => {
      if (o.by !== 'item' && o.by !== 'user') throw new UsageError(`--by must be item or user, got '${o.by}'`);
      if (!(SIMILARITY_WEIGHTINGS as readonly string[]).includes(o.weighting)) throw new UsageError(`--weighting must be one of ${SIMILARITY_WEIGHTINGS.join(', ')}, got '${o.weighting}'`);
      outputFormat(o.out);
      checkOutputPath(o.out);
      const readOptions = readOptionsOf(o);
      refuseInputAsOutput([o.out], [{ what: 'input', path: o.input }]);
      // one run per output: a second one fails now, not after its computation
      const lock = lockOutput(o.out, (m) => process.stderr.write(`affinity: ${m}\n`));
      let args: SparseSimilarityTopKArgs, t0: number, t1: number, t2: number;
      try {
        t0 = performance.now();
        const x = await readInteractions(o.input, readOptions);
        args = similarityArgsFor(x, {
          by: o.by, metric: o.metric, k: o.k, weighting: o.weighting as SimilarityWeighting,
          shrinkage: o.shrinkage, minSupport: o.minSupport, minSimilarity: o.minSimilarity,
        });
        t1 = performance.now();
        const nn = await computeNeighbours(args, edge.context());
        t2 = performance.now();
        await writeNeighbours(o.out, nn, o.by === 'item' ? x.items : x.users, o.by);
      } finally {
        lock.release();
      }
      process.stderr.write(`${args.matrix.rows} ${o.by}s, ${o.metric}, k=${o.k}: read ${((t1 - t0) / 1000).toFixed(1)} s, similarity ${((t2 - t1) / 1000).toFixed(1)} s, wrote ${o.out}\n`);
    });
}
