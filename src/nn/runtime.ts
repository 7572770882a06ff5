/**
 * What every layer computes with: the engine context (which engine, which backend, the abort
 * signal) and the seeded generator that draws dropout seeds. Every heavy operation of a layer is a
 * kernel call through `run`, so a model trains on whichever backend the context names (or the
 * engine picks per kernel and size under 'auto').
 */
import type { Dense } from '../data/matrix.js';
import { Rng } from '../data/random.js';
import type { KernelArgs, KernelName, KernelOutput } from '../kernels/contract.js';
import { resolveContext, type Context, type RunContext } from '../engine/context.js';

export class Runtime {
  readonly ctx: Context;
  /** draws dropout seeds; seeded, so training is reproducible */
  readonly rng: Rng;
  /** dropout is active only while training */
  training = false;

  constructor(context: RunContext = {}, seed = 42) {
    this.ctx = resolveContext(context);
    this.rng = new Rng(seed);
  }

  run<K extends KernelName>(kernel: K, args: KernelArgs<K>): Promise<KernelOutput<K>> {
    return this.ctx.engine.run(kernel, args, { backend: this.ctx.backend, signal: this.ctx.signal });
  }

  /** x·W (+ β·c): the gemm every dense layer uses, on Dense operands. */
  matmul(x: Dense, w: Dense, opts: { transA?: boolean; transB?: boolean } = {}): Promise<Dense> {
    const m = opts.transA ? x.cols : x.rows, k = opts.transA ? x.rows : x.cols;
    const n = opts.transB ? w.rows : w.cols, kw = opts.transB ? w.cols : w.rows;
    if (k !== kw) throw new RangeError(`matmul: inner dimensions differ (${m}×${k} · ${kw}×${n})`);
    return this.run('gemm', { m, n, k, a: x.data, b: w.data, transA: opts.transA ? 'T' : 'N', transB: opts.transB ? 'T' : 'N' });
  }

  /** x + y elementwise (a new buffer). */
  async add(x: Float32Array, y: Float32Array): Promise<Float32Array> {
    return this.run('elementwise', { op: 'axpby', x, y });
  }
}
