/**
 * `affinity precompute`: top-k recommendations for every user (and optionally similar items
 * for every item) written to JSONL / CSV / Parquet, atomically, resumable, shardable.
 * See src/pipeline/precompute.ts for the job and src/pipeline/writers.ts for the formats.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { existsSync } from 'node:fs';
import { checkOutputPath, parseParams, positiveInt, UsageError } from '../args.js';
import { parseShard, precomputeToFile, similarItemsPath, type Summary } from '../../pipeline/precompute.js';
import { refuseInputAsOutput } from '../../data/outputFile.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../../pipeline/writers.js';
import { allModels } from '../../models/registry.js';
import type { CliEdge } from '../edge.js';
import { attachSideInfo, takesSideInfo } from '../../models/attachSideInfo.js';
import type { Model } from '../../models/types.js';
import { addSideInfoOptions, readSideInfoOptions, type SideInfoCliOptions } from './eval.js';
import { addReadOptions, readOptionsOf, type ReadCliOptions } from '../readOptions.js';
import { EpochProgress } from '../epochProgress.js';
import { factorizationModels } from '../../models/factorization/index.js';
import { addPartitionedOptions, runPartitionedPrecompute, type PartitionedCliOptions } from './precomputeDataset.js';

interface Opts extends SideInfoCliOptions, PartitionedCliOptions, ReadCliOptions {
  input?: string;
  model?: string;
  params?: string;
  k: number;
  out: string;
  format?: string;
  similarItems?: number;
  shard?: string;
  blockSize: number;
  resume?: boolean;
  modelFile?: string;
  implicit?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/**
 * Progress bars on stderr (only on a TTY): fitting (epochs, loss) and scoring (keys, rate, ETA).
 * Off a TTY (logs, CI) the neural models' epochs get one line each instead (EpochProgress).
 */
class Bars {
  private bar: cliProgress.SingleBar | null = null;
  private stage = '';
  private fitTotal = 0;
  private epochs = 0;
  /** keys already done when the bar started (resume): the rate counts only this run's */
  private from = 0;
  private t0 = 0;

  constructor(private readonly enabled: boolean) {}

  private start(format: string, total: number, payload: Record<string, unknown>, from = 0): void {
    this.stop();
    if (!this.enabled) return;
    this.bar = new cliProgress.SingleBar({
      stream: process.stderr,
      format,
      hideCursor: true,
      etaBuffer: 20,
      fps: 5,
    }, cliProgress.Presets.shades_classic);
    this.bar.start(total, from, payload);
    this.t0 = performance.now();
    this.from = from;
  }

  onStage = (stage: 'read' | 'fit' | 'score' | 'similar', info: { total?: number; done?: number; model?: string }): void => {
    if (this.stage === 'fit' && this.bar) this.bar.update(this.fitTotal || 1); // the fit is over (models without epochs never report one)
    this.stage = stage;
    if (stage === 'read') { this.stop(); return; } // the reader draws its own bar (files ≥ 16 MiB)
    if (stage === 'fit') {
      this.fitTotal = info.total ?? 0;
      this.epochs = 0;
      this.start(`fitting ${info.model ?? ''} [{bar}] {value}/{total} epochs | loss {loss} | {rate} epochs/s | ETA {eta_formatted}`, this.fitTotal || 1, { loss: '-', rate: '-' });
      return;
    }
    const what = stage === 'score' ? 'users' : 'items';
    this.start(`${stage === 'score' ? 'scoring' : 'similar items'} [{bar}] {percentage}% | {value}/{total} ${what} | {rate} ${what}/s | ETA {eta_formatted}`, info.total ?? 0, { rate: '-' }, info.done ?? 0);
  };

  onEpoch = (_epoch: number, loss: number): void => {
    if (!this.bar || this.stage !== 'fit') return;
    // count the calls: models number epochs from 1 (most) or from 0
    const done = ++this.epochs;
    if (done > this.fitTotal) { this.fitTotal = done; this.bar.setTotal(done); }
    this.bar.update(done, { loss: Number.isFinite(loss) ? loss.toPrecision(5) : String(loss), rate: this.rate(done) });
  };

  onBlock = (e: { done: number }): void => {
    if (!this.bar) return;
    this.bar.update(e.done, { rate: this.rate(e.done - this.from) });
  };

  private rate(done: number): string {
    const s = (performance.now() - this.t0) / 1000;
    return s > 0 ? (done / s).toFixed(done / s >= 100 ? 0 : 1) : '-';
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

function describe(s: Summary): string {
  const t = s.timings;
  const shard = s.shard.count > 1 ? ` (shard ${s.shard.index}/${s.shard.count})` : '';
  const sim = s.similarItems !== undefined ? ` and ${s.similarItems} similar items to ${s.similarOut}` : '';
  const resumed = s.resumedFromBlock ? `, resumed at ${s.resumedFromBlock.phase} block ${s.resumedFromBlock.block}` : '';
  return `wrote ${s.recommendations} recommendations for ${s.users} users${shard} to ${s.out}${sim} ` +
    `(read ${t.read.toFixed(2)} s, fit ${t.fit.toFixed(2)} s, score ${t.score.toFixed(2)} s, write ${t.write.toFixed(2)} s${resumed}; peak RSS ${s.peakRssMiB} MiB)`;
}

export function register(program: Command, edge: CliEdge): void {
  const cmd = program
    .command('precompute')
    .description('fit a model (or load a saved one) and write top-k recommendations for every user, and optionally similar items for every item')
    .option('--input <file>', 'interactions file (csv, tsv, jsonl, MovieLens .dat; optionally .gz)')
    .option('--model <name>', "model to fit, e.g. als, bpr, item-knn, popularity (with --model-file: the saved model's kind)")
    .option('--params <k=v,...>', 'model hyper-parameters, e.g. factors=64,epochs=15,seed=1')
    .option('--k <n>', 'recommendations per user', positiveInt('--k'), 20)
    .requiredOption('--out <path>', 'output file; similar items go next to it with .similar before the extension')
    .option('--format <fmt>', `output format: ${OUTPUT_FORMATS.join(' | ')} (default: from --out's extension, else jsonl)`)
    .option('--similar-items <n>', 'also write the n most similar items of every item', positiveInt('--similar-items'))
    .option('--shard <i/N>', 'only users (and items) whose index ≡ i (mod N); the N outputs together are the whole result')
    .option('--block-size <n>', 'users per block (scoring, streaming and checkpoint unit)', positiveInt('--block-size'), 1024)
    .option('--resume', 'continue from OUT.checkpoint after an interrupted run')
    .option('--model-file <path>', 'load a model saved by `affinity fit` (any model) instead of fitting (no --input)')
    .option('--implicit', 'the input has no rating column (every interaction has weight 1)')
    .option('--quiet', 'no progress bars or messages on stderr')
    .option('--json', 'print a JSON summary on stdout at the end');
  addReadOptions(cmd); // --encoding / --extra-columns of --input
  addSideInfoOptions(cmd); // --items / --users: side information for content-knn, hybrid, feature-mf, two-tower
  addPartitionedOptions(cmd); // --shards, --queue …: a partitioned dataset (precomputeDataset.ts)
  cmd
    .addHelpText('after', `
Output (ids are written as strings, exactly as in the input; scores as the shortest decimal of their float32):
  jsonl    one line per user:  {"user":"u1","items":["i9","i4"],"scores":[0.93,0.71]}
           (users with nothing to recommend get empty arrays)
  csv      header user,rank,item,score, then one row per recommendation (rank from 1)
  parquet  columns user: string, rank: int32, item: string, score: float32; a row group per block
Similar items (--similar-items) go to OUT with .similar before the extension (recs.jsonl →
recs.similar.jsonl), keyed by item: {"item":…,"items":[…],"scores":[…]} / item,rank,similar_item,score.

Reliability: data goes to OUT.partial and is renamed to OUT at the end; OUT.checkpoint is
rewritten after every block, so a killed run continues with --resume (same bytes as an
uninterrupted run; refused, naming the difference, when the options, the input's content, the
model file, the affinity version or the backend of a kernel differ). One run at a time writes
OUT (OUT.lock; a lock left by a dead process is taken over), and OUT may not be the input. --shard i/N scores users (and items) whose index ≡ i (mod N) in input order;
concatenating the N outputs gives every line of the unsharded output (CSV: drop the repeated headers).`)
    .action(async (o: Opts) => {
      if (await runPartitionedPrecompute(o, edge)) return;
      if (o.model === undefined && o.modelFile === undefined) throw new UsageError('--model is required (or --model-file)');
      if (o.input === undefined && o.modelFile === undefined) throw new UsageError('--input is required (or --model-file)');
      if (o.input !== undefined && o.modelFile !== undefined) throw new UsageError('--input and --model-file are exclusive: a saved model carries its own users, items and training data');
      if (o.format !== undefined && !(OUTPUT_FORMATS as readonly string[]).includes(o.format)) throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, got '${o.format}'`);
      checkOutputPath(o.out);
      if (o.modelFile !== undefined && !existsSync(o.modelFile)) throw new UsageError(`cannot load model '${o.modelFile}': no such file`);
      let shard;
      try {
        shard = parseShard(o.shard);
      } catch (e) {
        throw new UsageError(`--shard: ${(e as Error).message}`);
      }
      if (o.params !== undefined && o.modelFile !== undefined) throw new UsageError('--params does not apply to --model-file (a saved model keeps its hyper-parameters)');
      const params = parseParams(o.params);
      const readOptions = readOptionsOf(o);
      // the side-information files are inputs too (precomputeToFile checks --input and --model-file)
      refuseInputAsOutput(o.similarItems !== undefined ? [o.out, similarItemsPath(o.out)] : [o.out], [{ what: '--items file', path: o.items }, { what: '--users file', path: o.users }]);
      // side information (--items / --users): build the model here and hand it over with its side info
      let model: string | Model | undefined = o.model;
      if (o.items !== undefined || o.users !== undefined) {
        if (o.modelFile !== undefined) throw new UsageError('--items/--users do not apply to --model-file (a saved model keeps what it was fitted with)');
        const factory = allModels[o.model!];
        if (!factory) throw new UsageError(`unknown model '${o.model}' (known: ${Object.keys(allModels).sort().join(', ')})`);
        const m = factory(params);
        if (!takesSideInfo(m)) throw new UsageError(`model '${o.model}' takes no side information; --items/--users apply to content-knn, hybrid, feature-mf and two-tower`);
        const side = await readSideInfoOptions(o);
        attachSideInfo(m, side ?? {});
        model = m;
      } else {
        await readSideInfoOptions(o); // column options without --items/--users are an error
      }
      const tty = process.stderr.isTTY === true && !o.quiet;
      const bars = new Bars(tty);
      // off a TTY, a line per epoch of the models that report more than a loss (the neural ones)
      const epochLines = !tty && !o.quiet ? new EpochProgress(false, (line) => process.stderr.write(line)) : null;
      epochLines?.begin(`fitting ${o.model ?? ''}`.trim());
      const note = o.quiet ? undefined : (m: string): void => { bars.stop(); process.stderr.write(`affinity: ${m}\n`); };
      let summary: Summary;
      try {
        summary = await precomputeToFile({
          input: o.input,
          read: { implicit: o.implicit === true, ...readOptions, progress: tty ? undefined : false },
          model,
          fit: typeof model === 'string' ? undefined : true,
          params,
          modelFile: o.modelFile,
          k: o.k,
          similarItems: o.similarItems,
          shard,
          blockSize: o.blockSize,
          ...edge.context(),
          out: o.out,
          format: o.format as OutputFormat | undefined,
          resume: o.resume === true,
          onStage: bars.onStage,
          // the loss is computed only for a bar that shows it; off a TTY only the models whose
          // epochs report more than a loss (the neural ones, at no extra cost) print a line per epoch
          onEpoch: tty || (o.model !== undefined && !factorizationModels[o.model])
            ? (epoch, loss, info) => { bars.onEpoch(epoch, loss); epochLines?.onEpoch(epoch, loss, info); }
            : undefined,
          onBlock: bars.onBlock,
          onNote: note,
        });
      } finally {
        bars.stop();
      }
      if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else if (!o.quiet) process.stderr.write(describe(summary) + '\n');
    });
}
