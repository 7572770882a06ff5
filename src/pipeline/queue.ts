/**
 * The precompute queue's entry points (shardQueue.ts), loading BullMQ and its Redis client on
 * first use, so that importing affinity (or starting any other CLI command) does not pay for them.
 */
import type { EnqueueOptions, EnqueueResult, ShardWorkerOptions } from './shardQueue.js';

export type { EnqueueOptions, EnqueueResult, QueueProgress, ShardWorkerOptions, ShardJobData, ShardJobResult } from './shardQueue.js';

/** Enqueue a partitioned precompute's shard jobs on BullMQ and (by default) wait for them; see shardQueue.ts. */
export async function enqueuePrecompute(o: EnqueueOptions): Promise<EnqueueResult> {
  const queue = await import('./shardQueue.js');
  return queue.enqueuePrecompute(o);
}

/** Run shard jobs from the queue until `o.stop` is aborted; see shardQueue.ts. */
export async function runShardWorker(o: ShardWorkerOptions): Promise<{ finished: number; failed: number }> {
  const queue = await import('./shardQueue.js');
  return queue.runShardWorker(o);
}
