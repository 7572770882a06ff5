/**
 * `affinity worker --queue redis://…`: take shard jobs of `affinity precompute --queue … --shards N`
 * from BullMQ and run them, one at a time, until SIGTERM or SIGINT (the shard in hand is finished
 * first; a second signal exits at once and the shard's job is taken over by another worker when
 * its lock expires). Run as many as there are machines (or cores to spare).
 */
import type { Command } from 'commander';
import { positiveInt, UsageError } from '../args.js';
import type { CliEdge } from '../edge.js';
import { parseRedisUrl } from '../../pipeline/redisUrl.js';
import { runShardWorker } from '../../pipeline/queue.js';

interface Opts {
  queue?: string;
  queueName?: string;
  lockDuration?: number;
  stalledInterval?: number;
  maxStalled?: number;
  quiet?: boolean;
}

export function register(program: Command, edge: CliEdge): void {
  program
    .command('worker')
    .description('run shard jobs of a queued precompute (affinity precompute --queue … --shards N) until stopped')
    .option('--queue <url>', 'Redis URL of the queue: redis://HOST:PORT/DB, rediss:// for TLS (default: AFFINITY_QUEUE)')
    .option('--queue-name <name>', 'BullMQ queue name (default affinity-precompute)')
    .option('--lock-duration <ms>', "how long a shard job's lock lasts without renewal; a dead worker's shard is taken over after it (default 30000)", positiveInt('--lock-duration'))
    .option('--stalled-interval <ms>', 'how often to look for shard jobs whose worker died (default 30000)', positiveInt('--stalled-interval'))
    .option('--max-stalled <n>', 'times a shard job may lose its worker before it fails (default 2)', positiveInt('--max-stalled'))
    .option('--quiet', 'print only errors')
    .addHelpText('after', `
The password may be given in AFFINITY_REDIS_PASSWORD instead of the URL (so that it is not on the
command line), and the CA of a rediss:// server in AFFINITY_REDIS_CA (a PEM file). Logs show the
URL without its password. Every worker must see the dataset directory and the model file at the
paths the enqueuer gave (a shared volume).`)
    .action(async (o: Opts) => {
      const env = edge.distributed();
      const queue = o.queue ?? env.queue;
      if (queue === undefined) throw new UsageError('--queue is required (or AFFINITY_QUEUE)');
      try { parseRedisUrl(queue, env.redis); } catch (e) { throw new UsageError(`--queue: ${(e as Error).message}`); }
      const stop = new AbortController();
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (++signals > 1) {
          process.stderr.write(`affinity worker: ${sig} again; exiting now\n`);
          process.exit(130);
        }
        stop.abort();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      const log = (line: string): void => {
        if (o.quiet && !/fail|error|redis:/i.test(line)) return;
        process.stderr.write(`affinity worker ${process.pid}: ${line}\n`);
      };
      try {
        const r = await runShardWorker({
          ...edge.context(), queue, redis: env.redis, queueName: o.queueName,
          lockDurationMs: o.lockDuration, stalledIntervalMs: o.stalledInterval, maxStalledCount: o.maxStalled,
          log, stop: stop.signal,
        });
        log(`stopped after ${r.finished} shard jobs (${r.failed} failed)`);
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
}
