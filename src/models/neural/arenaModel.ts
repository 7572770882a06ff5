/**
 * What SASRec and NeuMF share as Models: their options, the fitted state (training view, parameter
 * arena and model-specific parts) or null before fit, the epochs of the last fit, and how that
 * state and history go into and come out of the AFFM file (modelFileTrainset.ts's saveNeural/readNeural).
 */
import type { IdMap } from '../../data/idMap.js';
import type { EpochReport, ParamArena } from '../../nn/index.js';
import { ModelBase } from '../base.js';
import type { Trainset } from '../trainset.js';
import type { ModelParams } from '../types.js';
import type { NeuralFile } from '../modelFileTrainset.js';

export abstract class ArenaModel<O extends { lr: number }, F extends { ts: Trainset }> extends ModelBase {
  /** implicit-feedback rankers: scores are not ratings */
  readonly predictsRatings = false;
  abstract readonly opts: O;
  protected fitted: F | null = null;
  /** the epochs of the last fit (loss, validation NDCG@10, seconds) */
  history: EpochReport[] = [];

  get params(): ModelParams { return { ...this.opts }; }
  get isFitted(): boolean { return this.fitted !== null; }
  get userIds(): IdMap | undefined { return this.fitted?.ts.users; }
  get itemIds(): IdMap | undefined { return this.fitted?.ts.items; }

  /** The fitted state; `what` (e.g. 'save()') names the call made too early. */
  protected need(what: string): F {
    this.trainset(what);
    return this.fitted!;
  }

  /** The history as saved in the file's meta (epoch, loss, metric of each epoch). */
  protected savedHistory(): Array<{ epoch: number; loss: number; metric?: number }> {
    return this.history.map((h) => ({ epoch: h.epoch, loss: h.loss, metric: h.metric }));
  }

  /** Restore the history saved by savedHistory (what the file does not keep: zeros, the options' lr). */
  protected restoreHistory(meta: Record<string, unknown>): void {
    const hist = (meta.history ?? []) as Array<{ epoch: number; loss: number; metric?: number }>;
    this.history = hist.map((h) => ({ epoch: h.epoch, loss: h.loss, metric: h.metric ?? undefined, bestEpoch: 0, seconds: 0, lr: this.opts.lr, batches: 0 }));
  }
}

/** Load the saved parameter values into `arena` (allocated by the model the params build); a mismatch is an Error naming the file. */
export function loadArena(arena: ParamArena, file: NeuralFile & { bad(why: string): Error }): void {
  try {
    arena.load(file.layout, file.values);
  } catch (e) {
    throw Object.assign(file.bad((e as Error).message), { cause: e });
  }
}
