/**
 * What every layer computes with: the engine context (which engine, which backend, the abort
 * signal), the seeded generator that draws dropout seeds, and a workspace of reusable outputs.
 * Every heavy operation of a layer is a kernel call through `run`, so a model trains on whichever
 * backend the context names (or the engine picks per kernel and size under 'auto').
 *
 * The workspace: a call may name a slot (e.g. 'block0.ffn1.z'); the output of that slot from an
 * earlier training step is written into again, when its shape fits, instead of allocating (and
 * page-faulting) fresh memory every step. A slot is reused at most once per step — a second call
 * with the same slot in one step (a layer applied twice) gets a fresh output — and only after
 * `beginStep()`, which the training loop calls before each batch: outside training (inference,
 * validation) every call gets fresh memory, so outputs handed to a caller are never overwritten.
 */
import type { Dense } from '../data/matrix.js';
import { Rng } from '../data/random.js';
import { getKernel, type KernelArgs, type KernelName, type KernelOutput } from '../kernels/contract.js';
import { outputMismatch } from '../kernels/kernelDef.js';
import { resolveContext, type Context, type RunContext } from '../engine/context.js';
import { probeBackend } from '../backends/registry.js';

interface Slot {
  out: unknown;
  /** the step that last wrote it */
  step: number;
}

export class Runtime {
  readonly ctx: Context;
  /** draws dropout seeds; seeded, so training is reproducible */
  readonly rng: Rng;
  /** dropout is active only while training */
  training = false;
  private step = 0;
  private readonly slots = new Map<string, Slot>();

  constructor(context: RunContext = {}, seed = 42) {
    this.ctx = resolveContext(context);
    this.rng = new Rng(seed);
  }

  /** A new training step: each slot's output may be written once more. */
  beginStep(): void {
    this.step++;
  }

  /** Drop the workspace (its memory is freed with the last reference to it). */
  releaseWorkspace(): void {
    this.slots.clear();
  }

  async run<K extends KernelName>(kernel: K, args: KernelArgs<K>, slot?: string): Promise<KernelOutput<K>> {
    const opts = { backend: this.ctx.backend, signal: this.ctx.signal };
    const def = getKernel(kernel);
    if (slot === undefined || this.step === 0 || !def.outputShape) return this.ctx.engine.run(kernel, args, opts);
    const prev = this.slots.get(slot);
    const reuse = prev !== undefined && prev.step !== this.step && outputMismatch(prev.out, def.outputShape(args)) === null;
    const out = await this.ctx.engine.run(kernel, args, reuse ? { ...opts, out: prev.out as KernelOutput<K> } : opts);
    this.slots.set(slot, { out, step: this.step });
    return out;
  }

  /**
   * Run a kernel into a caller-owned output (its shape: the kernel's outputShape for args), for
   * buffers a layer reuses several times within one step (e.g. the output layer's row chunks), which
   * named slots cannot do. The caller must be done with what `out` held before.
   */
  runInto<K extends KernelName>(kernel: K, args: KernelArgs<K>, out: KernelOutput<K>): Promise<KernelOutput<K>> {
    return this.ctx.engine.run(kernel, args, { backend: this.ctx.backend, signal: this.ctx.signal, out });
  }

  /**
   * Whether this context's calls of `kernel` (of about `work` flops) run on a backend's own
   * implementation of it: false when they would run the reference — the backend pinned is 'js',
   * or lacks the kernel (the engine then falls back to 'js'), or under 'auto' the reference is the
   * best candidate. A layer uses it to call a fused kernel (e.g. softmaxOutputLayer) where a
   * backend has one and to compose the separate kernels (each on the backend) elsewhere.
   */
  async implements(kernel: KernelName, work: number): Promise<boolean> {
    const name = this.ctx.backend;
    if (name === 'auto') {
      const best = (await this.ctx.engine.candidates(kernel, work))[0];
      return best !== undefined && best.name !== 'js';
    }
    if (name === 'js') return false;
    const st = await probeBackend(name);
    return st.available && st.kernels.includes(kernel);
  }

  /** x·W (op(x)·op(W)): the gemm every dense layer uses, on Dense operands. */
  matmul(x: Dense, w: Dense, opts: { transA?: boolean; transB?: boolean } = {}, slot?: string): Promise<Dense> {
    const m = opts.transA ? x.cols : x.rows, k = opts.transA ? x.rows : x.cols;
    const n = opts.transB ? w.rows : w.cols, kw = opts.transB ? w.cols : w.rows;
    if (k !== kw) throw new RangeError(`matmul: inner dimensions differ (${m}×${k} · ${kw}×${n})`);
    return this.run('gemm', { m, n, k, a: x.data, b: w.data, transA: opts.transA ? 'T' : 'N', transB: opts.transB ? 'T' : 'N' }, slot);
  }

  /** x + y elementwise. */
  add(x: Float32Array, y: Float32Array, slot?: string): Promise<Float32Array> {
    return this.run('elementwise', { op: 'axpby', x, y }, slot);
  }
}
