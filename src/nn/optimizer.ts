/**
 * Adam / AdamW over a parameter arena (the adamUpdate kernel has the formulas), with global-norm
 * gradient clipping (Pascanu et al. 2013: g ← g·min(1, c/‖g‖₂)) and a learning-rate schedule.
 *
 * A step: (1) each parameter's gradient contributions are merged — sparse rows of a lazy table
 * are summed per row (groupByIndex + segmentSum); sparse rows of a table that also has a dense
 * gradient, or is not lazy, are added into the dense one; (2) the global norm over every merged
 * gradient is computed, and a non-finite norm stops the step before any parameter changes;
 * (3) one adamUpdate per parameter (lazy tables: only their touched rows); (4) gradients cleared.
 * A parameter that received no gradient in a step is not updated (its moments do not decay).
 */
import { sharedFloat32 } from '../data/matrix.js';
import { groupByIndex } from '../kernels/nn/embedding.js';
import type { Param, ParamArena } from './params.js';
import type { Runtime } from './runtime.js';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** λ (default 0) */
  weightDecay?: number;
  /** true (default): AdamW's decoupled decay; false: L2 in the gradient */
  decoupled?: boolean;
  /** clip the global gradient norm to this (default: no clipping) */
  clipNorm?: number;
  /** learning-rate multiplier at step t (1-based), e.g. warmupLinearDecay(…) */
  schedule?: (step: number) => number;
}

/** A step whose gradients are not finite (NaN/∞): nothing was updated. */
export class NonFiniteGradientError extends Error {
  constructor(readonly parameter: string, readonly norm: number) {
    super(`the gradient of '${parameter}' is not finite (global norm ${norm})`);
    this.name = 'NonFiniteGradientError';
  }
}

export interface StepReport {
  step: number;
  /** global gradient norm before clipping */
  gradNorm: number;
  lr: number;
}

type Merged = { p: Param; dense: Float32Array } | { p: Param; rows: Int32Array; values: Float32Array };

export class Adam {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;

  constructor(private readonly rt: Runtime, private readonly arena: ParamArena, readonly options: AdamOptions) {
    if (!(options.lr > 0) || !Number.isFinite(options.lr)) throw new RangeError(`Adam: lr must be a positive number, got ${options.lr}`);
    if (options.clipNorm !== undefined && !(options.clipNorm > 0)) throw new RangeError(`Adam: clipNorm must be > 0, got ${options.clipNorm}`);
    this.m = sharedFloat32(arena.size);
    this.v = sharedFloat32(arena.size);
  }

  get steps(): number {
    return this.t;
  }

  /** Moments, for save/restore with the parameters (early stopping restores parameters only). */
  state(): { m: Float32Array; v: Float32Array; step: number } {
    return { m: this.m, v: this.v, step: this.t };
  }

  async step(): Promise<StepReport> {
    const merged: Merged[] = [];
    for (const p of this.arena.params) {
      const g = await this.merge(p);
      if (g) merged.push(g);
    }
    let sq = 0;
    for (const g of merged) {
      const a = 'dense' in g ? g.dense : g.values;
      let s = 0;
      for (let i = 0; i < a.length; i++) s += a[i] * a[i];
      if (!Number.isFinite(s)) {
        this.arena.clearGrads();
        throw new NonFiniteGradientError(g.p.name, s);
      }
      sq += s;
    }
    const norm = Math.sqrt(sq);
    const o = this.options;
    const gradScale = o.clipNorm !== undefined && norm > o.clipNorm ? o.clipNorm / norm : 1;
    this.t++;
    const lr = o.lr * (o.schedule ? o.schedule(this.t) : 1);
    for (const g of merged) {
      const { p } = g, at = p.offset, end = at + p.size;
      await this.rt.run('adamUpdate', {
        params: p.value, m: this.m.subarray(at, end), v: this.v.subarray(at, end), dim: p.cols,
        ...('dense' in g ? { grads: g.dense } : { grads: g.values, rowIds: g.rows }),
        step: this.t, lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, decoupled: o.decoupled, gradScale,
      });
    }
    this.arena.clearGrads();
    return { step: this.t, gradNorm: norm, lr };
  }

  /** One parameter's gradient of this step, merged; null when it has none. */
  private async merge(p: Param): Promise<Merged | null> {
    if (p.sparse.length === 0) return p.grad ? { p, dense: p.grad } : null;
    if (p.grad !== null || !p.lazy) {
      // scatter the sparse rows into a dense gradient (ours to modify: a kernel output or a fresh buffer)
      const dense = p.grad ?? sharedFloat32(p.size), cols = p.cols;
      for (const s of p.sparse) {
        for (let r = 0; r < s.rows.length; r++) {
          const base = s.rows[r] * cols, from = r * cols;
          for (let j = 0; j < cols; j++) dense[base + j] += s.values[from + j];
        }
      }
      return { p, dense };
    }
    if (p.sparse.length === 1) return { p, rows: p.sparse[0].rows, values: p.sparse[0].values };
    // several lookups of one lazy table in a step: sum the rows they share
    const total = p.sparse.reduce((n, s) => n + s.rows.length, 0);
    const rows = new Int32Array(total), values = sharedFloat32(total * p.cols);
    let at = 0;
    for (const s of p.sparse) { rows.set(s.rows, at); values.set(s.values, at * p.cols); at += s.rows.length; }
    const g = groupByIndex(rows, p.rows);
    const summed = await this.rt.run('segmentSum', { src: { rows: total, cols: p.cols, data: values }, offsets: g.offsets, positions: g.positions }, `${p.name}.sparseSum`);
    return { p, rows: g.rows, values: summed.data };
  }
}

/** Linear warm-up over `warmup` steps, then linear decay to 0 at `total` steps (BERT's schedule). */
export function warmupLinearDecay(warmup: number, total: number): (step: number) => number {
  return (t) => (t <= warmup ? t / Math.max(1, warmup) : Math.max(0, (total - t) / Math.max(1, total - warmup)));
}
