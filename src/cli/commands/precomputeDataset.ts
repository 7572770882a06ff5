/**
 * `affinity precompute --shards N --out DIR`: the precompute as a partitioned dataset
 * (src/pipeline/dataset.ts), computed past one machine:
 *
 *   --queue redis://…   enqueue the N shard jobs on BullMQ and wait for `affinity worker`s to run
 *                       them (src/pipeline/shardQueue.ts); the model is fitted here once (or
 *                       taken from --model-file)
 *   --shard i           run shard i of N here, without a queue: a pod of a Kubernetes Indexed
 *                       Job, where i defaults to JOB_COMPLETION_INDEX and N to AFFINITY_SHARDS
 *
 * The queue URL may come from AFFINITY_QUEUE, its password from AFFINITY_REDIS_PASSWORD and the
 * CA of a rediss:// server from AFFINITY_REDIS_CA; the URL is only ever printed without its
 * password.
 */
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { parseParams, positiveInt, UsageError } from '../args.js';
import type { CliEdge, DistributedEnv } from '../edge.js';
import { parseShard } from '../../pipeline/precompute.js';
import { precomputeDatasetShard } from '../../pipeline/datasetShard.js';
import type { DatasetManifest } from '../../pipeline/dataset.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../../pipeline/writers.js';
import { parseRedisUrl } from '../../pipeline/redisUrl.js';
import { enqueuePrecompute, type QueueProgress } from '../../pipeline/queue.js';

/** The options of `affinity precompute` this mode reads. */
export interface PartitionedCliOptions {
  input?: string;
  model?: string;
  params?: string;
  k: number;
  out: string;
  format?: string;
  similarItems?: number;
  shard?: string;
  shards?: number;
  blockSize: number;
  resume?: boolean;
  modelFile?: string;
  modelSha256?: string;
  implicit?: boolean;
  quiet?: boolean;
  json?: boolean;
  queue?: string;
  queueName?: string;
  wait?: boolean;
  retryFailed?: boolean;
  items?: string;
  users?: string;
}

/** Adds the options of the partitioned precompute to `affinity precompute`. */
export function addPartitionedOptions(cmd: Command): void {
  cmd
    .option('--shards <n>', 'write a partitioned dataset to the directory --out, in N shards (default: AFFINITY_SHARDS); needs --queue or a shard index', positiveInt('--shards'))
    .option('--queue <url>', 'with --shards: enqueue the shards on BullMQ at this Redis URL (redis://HOST:PORT/DB, rediss:// for TLS; default: AFFINITY_QUEUE) and wait for `affinity worker`s')
    .option('--queue-name <name>', 'BullMQ queue name (default affinity-precompute)')
    .option('--no-wait', 'with --queue: enqueue and return without waiting (the last worker writes the manifest)')
    .option('--retry-failed', 'with --queue: put shard jobs that failed in an earlier run back in the queue')
    .option('--model-sha256 <hex>', 'with --shards and a shard index: refuse --model-file unless its SHA-256 is this')
    .addHelpText('after', `
Partitioned output (--shards N, --out DIR): DIR/part-00000.jsonl … one part per shard (users whose
index ≡ i mod N), each written once and atomically, then DIR/_manifest.json (rows, bytes, SHA-256 of
every part, the model's digest, the parameters) and DIR/_SUCCESS. \`affinity verify DIR\` checks it.
  --queue URL   fits the model once (or takes --model-file), enqueues N shard jobs on BullMQ and
                waits for \`affinity worker --queue URL\` processes (any number, any machine that sees
                DIR and the model file at the same paths); running it again adds no work.
  --shard i     runs shard i only, without a queue: in a Kubernetes Indexed Job, i defaults to
                JOB_COMPLETION_INDEX and N to AFFINITY_SHARDS (deploy/k8s/precompute-job.yaml).
Only saved factorization models (svd, svdpp, nmf, als, als-explicit, bpr) travel to workers.
`);
}

function envShards(env: DistributedEnv): number | undefined {
  if (env.shards === undefined) return undefined;
  const n = Number(env.shards);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`AFFINITY_SHARDS must be a positive integer, got '${env.shards}'`);
  return n;
}

/** The shard index from --shard (i or i/N, N = shards) or JOB_COMPLETION_INDEX. */
function shardIndex(o: PartitionedCliOptions, env: DistributedEnv, shards: number): number | undefined {
  if (o.shard !== undefined) {
    if (/^\s*\d+\s*$/.test(o.shard)) {
      const i = Number(o.shard);
      if (i >= shards) throw new UsageError(`--shard ${i} is outside 0 … ${shards - 1}`);
      return i;
    }
    let s;
    try { s = parseShard(o.shard); } catch (e) { throw new UsageError(`--shard: ${(e as Error).message}`); }
    if (s.count !== shards) throw new UsageError(`--shard ${o.shard} says ${s.count} shards, --shards/AFFINITY_SHARDS says ${shards}`);
    return s.index;
  }
  if (env.shardIndex !== undefined) {
    const i = Number(env.shardIndex);
    if (!/^\d+$/.test(env.shardIndex) || i >= shards) throw new UsageError(`JOB_COMPLETION_INDEX must be an integer in [0, ${shards}), got '${env.shardIndex}'`);
    return i;
  }
  return undefined;
}

function describeManifest(m: DatasetManifest, dir: string): string {
  const sim = m.totals.similarRows !== undefined ? ` and ${m.totals.similarRows} similar items` : '';
  return `${dir}: ${m.parts.length} parts, ${m.totals.rows} recommendations for ${m.totals.users} users${sim} (${(m.totals.bytes / 2 ** 20).toFixed(1)} MiB), model ${m.model.kind} ${m.model.sha256.slice(0, 12)}…`;
}

/**
 * Runs `affinity precompute` as a partitioned dataset when --shards/AFFINITY_SHARDS or --queue
 * ask for it; returns false (having done nothing) for the ordinary single-file precompute.
 */
export async function runPartitionedPrecompute(o: PartitionedCliOptions, edge: CliEdge): Promise<boolean> {
  const env = edge.distributed();
  const shards = o.shards ?? envShards(env);
  if (shards === undefined) {
    if (o.queue !== undefined) throw new UsageError('--queue needs --shards N (the number of shard jobs)');
    if (env.shardIndex !== undefined && o.shard === undefined) {
      throw new UsageError('JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job?) but the shard count is not: set AFFINITY_SHARDS or --shards (or pass --shard i/N)');
    }
    return false;
  }
  // --shard i/N alone (no --shards) keeps its single-file meaning; with --shards it picks the shard
  if (o.resume) throw new UsageError('--resume does not apply to --shards: each shard resumes from its own checkpoint by itself');
  if (o.items !== undefined || o.users !== undefined) throw new UsageError('--items/--users do not apply to --shards: the shards score a saved model');
  if (o.format !== undefined && !(OUTPUT_FORMATS as readonly string[]).includes(o.format)) throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, got '${o.format}'`);
  const format = (o.format ?? 'jsonl') as OutputFormat;
  const index = shardIndex(o, env, shards);
  const queue = o.queue ?? (index === undefined ? env.queue : undefined);
  const quiet = o.quiet === true;
  const note = quiet ? undefined : (m: string): void => { process.stderr.write(`affinity: ${m}\n`); };

  if (queue !== undefined) {
    if (index !== undefined) throw new UsageError('--queue enqueues every shard; --shard (or JOB_COMPLETION_INDEX) runs one shard without a queue: give one or the other');
    if (o.modelSha256 !== undefined) throw new UsageError('--model-sha256 applies to a shard run without a queue (the queue records the digest it computed)');
    let display: string;
    try { display = parseRedisUrl(queue, env.redis).display; } catch (e) { throw new UsageError(`--queue: ${(e as Error).message}`); }
    if (o.modelFile === undefined && (o.input === undefined || o.model === undefined)) throw new UsageError('--queue needs --model-file, or --input and --model (fitted once, before the shards are enqueued)');
    const params = parseParams(o.params);
    if (o.modelFile !== undefined && Object.keys(params).length > 0) throw new UsageError('--params does not apply to --model-file (a saved model keeps its hyper-parameters)');
    const tty = process.stderr.isTTY === true && !quiet;
    let bar: cliProgress.SingleBar | null = null;
    let lastDone = -1;
    const onProgress = (p: QueueProgress): void => {
      if (tty) {
        if (!bar) {
          bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'shards [{bar}] {shardsDone}/{shards} | {value}/{total} users | ETA {eta_formatted}', hideCursor: true, fps: 5, etaBuffer: 20 }, cliProgress.Presets.shades_classic);
          bar.start(p.users, 0, { shardsDone: 0, shards: p.shards });
        }
        bar.update(Math.min(p.usersDone, p.users), { shardsDone: p.shardsDone, shards: p.shards });
      } else if (!quiet && p.shardsDone !== lastDone) {
        process.stderr.write(`affinity: ${p.shardsDone}/${p.shards} shards done\n`);
      }
      lastDone = p.shardsDone;
    };
    if (!quiet) process.stderr.write(`affinity: enqueueing ${shards} shards on ${display}\n`);
    let r;
    try {
      r = await enqueuePrecompute({
        ...edge.context(),
        queue, redis: env.redis, queueName: o.queueName, out: o.out, shards,
        modelFile: o.modelFile, input: o.input, read: { implicit: o.implicit === true, progress: false }, model: o.model,
        params: o.modelFile === undefined ? params : undefined,
        k: o.k, similarItems: o.similarItems, blockSize: o.blockSize, format,
        wait: o.wait !== false, retryFailed: o.retryFailed === true,
        onNote: note, onProgress,
      });
    } finally {
      (bar as cliProgress.SingleBar | null)?.stop();
    }
    if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
    else if (!quiet) {
      process.stderr.write(r.manifest ? `affinity: wrote ${describeManifest(r.manifest, o.out)} (job ${r.jobKey}, ${r.seconds.toFixed(1)} s)\n`
        : `affinity: job ${r.jobKey}: ${r.added} shard jobs enqueued on ${r.queue} (${r.alreadyDone} already done); the last worker writes the manifest\n`);
    }
    return true;
  }

  if (index === undefined) {
    throw new UsageError('--shards N needs --queue URL (enqueue the shards for `affinity worker`s) or a shard index (--shard i, or JOB_COMPLETION_INDEX in a Kubernetes Indexed Job)');
  }
  if (o.modelFile === undefined) throw new UsageError('a shard run without a queue needs --model-file (the model is fitted once, before the shards: `model.save()` or a queue run)');
  if (o.input !== undefined) throw new UsageError('--input does not apply to a shard run: the shards score --model-file');
  if (o.modelSha256 !== undefined && !/^[0-9a-f]{64}$/.test(o.modelSha256)) throw new UsageError('--model-sha256 must be 64 hex digits');
  const r = await precomputeDatasetShard({
    ...edge.context(),
    modelFile: o.modelFile, modelSha256: o.modelSha256, dir: o.out, shards, shard: index,
    k: o.k, similarItems: o.similarItems, blockSize: o.blockSize, format, onNote: note,
  });
  if (o.json) process.stdout.write(JSON.stringify({ shard: index, shards, jobKey: r.spec.jobKey, computed: r.computed, receipt: r.receipt, resumedFromBlock: r.resumedFromBlock, manifest: r.manifest !== null }) + '\n');
  else if (!quiet) {
    const rec = r.receipt.recommendations;
    process.stderr.write(`affinity: shard ${index}/${shards}: ${r.computed ? 'wrote' : 'already done:'} ${rec.file} (${rec.rows} recommendations for ${rec.keys} users)` +
      `${r.resumedFromBlock ? `, resumed at block ${r.resumedFromBlock.block}` : ''}\n`);
    if (r.manifest) process.stderr.write(`affinity: every shard is done: ${describeManifest(r.manifest, o.out)}\n`);
  }
  return true;
}
