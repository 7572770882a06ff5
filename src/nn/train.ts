/**
 * The training loop every neural model uses: epochs of shuffled mini-batches, one forward +
 * backward (the model's `step`) and one optimizer step per batch, a validation metric per epoch
 * with early stopping (the best epoch's parameters are restored), an `onEpoch` report, and
 * cancellation by AbortSignal between batches.
 *
 * A batch whose loss or gradient is not finite stops training with a TrainingError naming the
 * epoch and batch; that batch's update is not applied, so the parameters are those of the last
 * good step.
 */
import { Rng } from '../data/random.js';
import { NonFiniteGradientError, type Adam } from './optimizer.js';
import type { ParamArena } from './params.js';
import type { Runtime } from './runtime.js';
import { releaseSharedMemory } from '../engine/sharedMemory.js';

export interface EpochReport {
  epoch: number;
  /** mean of the batches' losses */
  loss: number;
  /** the validation metric, when there is one (higher is better) */
  metric?: number;
  bestEpoch: number;
  seconds: number;
  lr: number;
  batches: number;
}

export interface TrainLoopOptions<B> {
  epochs: number;
  /**
   * the mini-batches of an epoch (shuffle with `rng`, the loop's seeded generator); an async
   * iterable when choosing them needs kernel calls (e.g. a curriculum ranking examples by loss)
   */
  batches(epoch: number, rng: Rng): Iterable<B> | AsyncIterable<B>;
  /** forward + backward of one batch: adds the gradients to the parameters and returns the batch's loss */
  step(batch: B): Promise<number>;
  runtime: Runtime;
  arena: ParamArena;
  optimizer: Adam;
  /** after each epoch, a metric where higher is better (e.g. NDCG@10 on a validation split) */
  validate?(epoch: number): Promise<number>;
  /** stop after this many epochs without a better metric (needs validate; default: run every epoch) */
  patience?: number;
  onEpoch?(report: EpochReport): void;
  signal?: AbortSignal;
  /** seeds the batch order (default 42) */
  seed?: number;
}

export interface TrainResult {
  epochs: number;
  bestEpoch: number;
  bestMetric?: number;
  stoppedEarly: boolean;
  history: EpochReport[];
}

export class TrainingError extends Error {
  constructor(message: string, readonly epoch: number, readonly batch: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TrainingError';
  }
}

/** Indices 0 … n−1 in a seeded random order, cut into batches of `size` (the last may be smaller). */
export function* shuffledBatches(n: number, size: number, rng: Rng): Generator<Int32Array> {
  if (!(size >= 1) || !Number.isInteger(size)) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (let at = 0; at < n; at += size) yield order.subarray(at, Math.min(n, at + size));
}

export async function trainLoop<B>(o: TrainLoopOptions<B>): Promise<TrainResult> {
  if (!Number.isInteger(o.epochs) || o.epochs < 0) throw new RangeError(`epochs must be an integer ≥ 0, got ${o.epochs}`);
  if (o.patience !== undefined && !o.validate) throw new RangeError('early stopping (patience) needs a validate function');
  const rng = new Rng(o.seed ?? 42);
  const history: EpochReport[] = [];
  let best = -Infinity, bestEpoch = 0, bestParams: Float32Array | null = null, stale = 0, stoppedEarly = false;
  const rt = o.runtime;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now();
    let sum = 0, count = 0, lr = o.optimizer.options.lr;
    rt.training = true;
    try {
      for await (const batch of o.batches(epoch, rng)) {
        o.signal?.throwIfAborted();
        rt.beginStep();
        let loss: number;
        try {
          loss = await o.step(batch);
        } catch (e) {
          o.arena.clearGrads();
          if (o.signal?.aborted) throw o.signal.reason;
          throw e instanceof RangeError || e instanceof TypeError
            ? new TrainingError(`training stopped at epoch ${epoch}, batch ${count + 1}: ${e.message}`, epoch, count + 1, { cause: e })
            : e;
        }
        if (!Number.isFinite(loss)) {
          o.arena.clearGrads();
          throw new TrainingError(`training stopped at epoch ${epoch}, batch ${count + 1}: the loss is ${loss} (check the batch for NaN or infinite values); the parameters are those of the last good step`, epoch, count + 1);
        }
        try {
          lr = (await o.optimizer.step()).lr;
        } catch (e) {
          if (e instanceof NonFiniteGradientError) {
            throw new TrainingError(`training stopped at epoch ${epoch}, batch ${count + 1}: ${e.message}; the parameters are those of the last good step`, epoch, count + 1, { cause: e });
          }
          throw e;
        }
        sum += loss;
        count++;
        releaseSharedMemory();
      }
    } finally {
      rt.training = false;
    }
    const metric = o.validate ? await o.validate(epoch) : undefined;
    if (metric === undefined || metric > best) {
      if (metric !== undefined) best = metric;
      bestEpoch = epoch;
      stale = 0;
      if (o.patience !== undefined) bestParams = o.arena.snapshot();
    } else {
      stale++;
    }
    const report: EpochReport = { epoch, loss: count ? sum / count : 0, metric, bestEpoch, seconds: (performance.now() - t0) / 1000, lr, batches: count };
    history.push(report);
    o.onEpoch?.(report);
    if (o.patience !== undefined && stale >= o.patience) {
      stoppedEarly = true;
      break;
    }
  }
  if (bestParams && bestEpoch !== history.length) o.arena.restore(bestParams);
  return { epochs: history.length, bestEpoch, bestMetric: o.validate ? best : undefined, stoppedEarly, history };
}
