/**
 * The CLI's engine context, made once at its edge. When a command starts, `start()` builds the
 * one Engine the whole run uses — backend from --backend, else AFFINITY_BACKEND (else 'auto');
 * threads from AFFINITY_THREADS; backends ranked by this machine's cached calibration table —
 * and every command takes `{engine, backend}` from `context()`. `close()` stops its worker pool
 * at exit. `distributed()` gives the settings of a sharded precompute (Kubernetes' JOB_COMPLETION_INDEX,
 * AFFINITY_SHARDS, AFFINITY_QUEUE, the Redis password and CA). The CLI reads the environment here
 * and nowhere else, and never writes it.
 */
import { Engine } from '../engine/engine.js';
import { useCalibration } from '../engine/calibration.js';
import type { Context } from '../engine/context.js';
import { redisEnv, type RedisEnv } from '../pipeline/redisUrl.js';

/** What the environment says about a distributed precompute (a Kubernetes Indexed Job, a queue). */
export interface DistributedEnv {
  /** JOB_COMPLETION_INDEX: this pod's index in an Indexed Job */
  shardIndex?: string;
  /** AFFINITY_SHARDS: the number of shards */
  shards?: string;
  /** AFFINITY_QUEUE: the queue's redis:// or rediss:// URL */
  queue?: string;
  /** AFFINITY_REDIS_PASSWORD, AFFINITY_REDIS_CA */
  redis: RedisEnv;
}

export class CliEdge {
  private engine: Engine | null = null;

  /** Build the engine for this run (once; `backend` is the --backend option, if given). */
  start(backend: string | undefined): void {
    if (this.engine) return;
    this.engine = new Engine({
      backend: backend ?? (process.env.AFFINITY_BACKEND || undefined),
      threads: Number(process.env.AFFINITY_THREADS) || undefined,
    });
    useCalibration(this.engine);
  }

  /** The run's context: its engine (started without --backend when no command hook started it) and that engine's backend. */
  context(): Context {
    if (!this.engine) this.start(undefined);
    const engine = this.engine!;
    return { engine, backend: engine.defaultBackend };
  }

  /** The distributed precompute's settings from the environment (see DistributedEnv). */
  distributed(): DistributedEnv {
    const env = process.env;
    return {
      ...(env.JOB_COMPLETION_INDEX !== undefined && env.JOB_COMPLETION_INDEX !== '' ? { shardIndex: env.JOB_COMPLETION_INDEX } : {}),
      ...(env.AFFINITY_SHARDS ? { shards: env.AFFINITY_SHARDS } : {}),
      ...(env.AFFINITY_QUEUE ? { queue: env.AFFINITY_QUEUE } : {}),
      redis: redisEnv(env),
    };
  }

  async close(): Promise<void> {
    const e = this.engine;
    this.engine = null;
    if (e) await e.close();
  }
}
