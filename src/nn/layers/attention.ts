/**
 * Multi-head scaled dot-product self-attention (Vaswani et al. 2017), composed from the gemm,
 * maskedSoftmax and softmaxBackward kernels:
 *
 *   Q = x·Wq + bq,  K = z·Wk + bk,  V = z·Wv + bv               (x: sequences·T rows × d;
 *                                                                z = x, or the keys/values input
 *                                                                when one is given, as SASRec's
 *                                                                official code attends LN(x) to x)
 *   per head h (columns [h·dₕ, (h+1)·dₕ), dₕ = d/heads), per sequence:
 *     P_h = softmax_masked(Q_h·K_hᵀ / √dₕ)                       (causal and key-padding masks)
 *     O_h = dropout(P_h)·V_h
 *   out = [O_1 … O_H]·Wo + bo
 *
 * Backward per head (P' = dropout(P)):
 *   dV_h = P'ᵀ·dO_h,  dP = dropout'(dO_h·V_hᵀ),  dS = softmaxBackward(P, dP, 1/√dₕ),
 *   dQ_h = dS·K_h,  dK_h = dSᵀ·Q_h
 * Heads read their column block of Q, K, V and dO in place (gemm's leading dimensions); the
 * per-head results are written into their column block of a d-wide matrix.
 */
import type { Dense } from '../../data/matrix.js';
import { denseFrom } from '../../data/matrix.js';
import type { ParamArena } from '../params.js';
import type { Runtime } from '../runtime.js';
import { Linear } from './linear.js';
import { Dropout } from './dropout.js';

/** The layout of a batch of sequences: x has sequences·length rows, sequence s at rows [s·length, (s+1)·length). */
export interface SequenceBatch {
  sequences: number;
  length: number;
  /** sequences × length: 1 = a real position, 0 = padding (never attended to) */
  keyValid?: Uint8Array;
}

export interface AttentionOptions {
  heads?: number;
  /** a position attends only to itself and earlier ones (default true) */
  causal?: boolean;
  /** dropout on the attention weights (default 0) */
  dropout?: number;
}

interface HeadState {
  probs: Dense;
  dropped: Dense;
}

export class MultiHeadSelfAttention {
  readonly heads: number;
  readonly headDim: number;
  private readonly causal: boolean;
  private readonly q: Linear;
  private readonly k: Linear;
  private readonly v: Linear;
  private readonly o: Linear;
  private readonly attentionDropout: Dropout[];
  private saved: { batch: SequenceBatch; Q: Dense; K: Dense; V: Dense; heads: HeadState[] } | null = null;

  constructor(private readonly rt: Runtime, arena: ParamArena, readonly name: string, readonly dim: number, opts: AttentionOptions = {}) {
    this.heads = opts.heads ?? 1;
    if (!Number.isInteger(this.heads) || this.heads < 1 || dim % this.heads !== 0) throw new RangeError(`${name}: ${dim} dimensions do not split into ${this.heads} heads`);
    this.headDim = dim / this.heads;
    this.causal = opts.causal ?? true;
    this.q = new Linear(rt, arena, `${name}.query`, dim, dim);
    this.k = new Linear(rt, arena, `${name}.key`, dim, dim);
    this.v = new Linear(rt, arena, `${name}.value`, dim, dim);
    this.o = new Linear(rt, arena, `${name}.output`, dim, dim);
    this.attentionDropout = Array.from({ length: this.heads }, (_, h) => new Dropout(rt, opts.dropout ?? 0, `${name}.head${h}.dropout`));
  }

  /**
   * The attention of the queries' rows x to the keys' and values' rows `keysValues` (default x:
   * self-attention); both are sequences·T rows × d in the same layout.
   */
  async forward(x: Dense, batch: SequenceBatch, keysValues: Dense = x): Promise<Dense> {
    const { sequences: S, length: T } = batch;
    for (const [what, m] of [['input', x], ['keys/values input', keysValues]] as const) {
      if (m.rows !== S * T || m.cols !== this.dim) throw new RangeError(`attention: ${what} is ${m.rows}×${m.cols}, expected ${S * T}×${this.dim}`);
    }
    const Q = await this.q.forward(x), K = await this.k.forward(keysValues), V = await this.v.forward(keysValues);
    const d = this.dim, dh = this.headDim, seq = T * d;
    const heads: HeadState[] = [];
    const outputs: Dense[] = [];
    for (let h = 0; h < this.heads; h++) {
      const off = h * dh, slot = `${this.name}.head${h}`;
      const scores = await this.rt.run('gemm', {
        batch: S, m: T, n: T, k: dh, a: Q.data.subarray(off), lda: d, strideA: seq, b: K.data.subarray(off), ldb: d, strideB: seq, transB: 'T',
      }, `${slot}.scores`);
      const probs = await this.rt.run('maskedSoftmax', { scores, queries: T, causal: this.causal, keyValid: batch.keyValid, scale: 1 / Math.sqrt(dh) }, `${slot}.probs`);
      const dropped = await this.attentionDropout[h].forward(probs);
      outputs.push(await this.rt.run('gemm', { batch: S, m: T, n: dh, k: T, a: dropped.data, b: V.data.subarray(off), ldb: d, strideB: seq }, `${slot}.out`));
      heads.push({ probs, dropped });
    }
    this.saved = { batch, Q, K, V, heads };
    return this.o.forward(mergeHeads(outputs, S * T, d));
  }

  /** ∂L/∂x of self-attention (forward without a separate keys/values input): the three inputs' gradients summed. */
  async backward(dy: Dense): Promise<Dense> {
    const g = await this.projectionGrads(dy);
    const sum = await this.rt.add(g.q.data, g.k.data, `${this.name}.dxQK`);
    return { rows: g.q.rows, cols: this.dim, data: await this.rt.add(sum, g.v.data, `${this.name}.dx`) };
  }

  /** The gradients of the queries' input x and of the keys/values input, apart (for a forward with a keys/values input). */
  async backwardInputs(dy: Dense): Promise<{ queries: Dense; keysValues: Dense }> {
    const g = await this.projectionGrads(dy);
    return { queries: g.q, keysValues: { rows: g.k.rows, cols: this.dim, data: await this.rt.add(g.k.data, g.v.data, `${this.name}.dxKV`) } };
  }

  /** ∂L/∂(input) through each of the query, key and value projections. */
  private async projectionGrads(dy: Dense): Promise<{ q: Dense; k: Dense; v: Dense }> {
    const s = this.saved;
    if (!s) throw new Error('attention: backward before forward');
    const { sequences: S, length: T } = s.batch;
    const d = this.dim, dh = this.headDim, seq = T * d;
    const dO = (await this.o.backward(dy))!;
    const dQs: Dense[] = [], dKs: Dense[] = [], dVs: Dense[] = [];
    for (let h = 0; h < this.heads; h++) {
      const off = h * dh, { probs, dropped } = s.heads[h], slot = `${this.name}.head${h}`;
      const dOh = dO.data.subarray(off);
      dVs.push(await this.rt.run('gemm', { batch: S, m: T, n: dh, k: T, a: dropped.data, transA: 'T', b: dOh, ldb: d, strideB: seq }, `${slot}.dV`));
      const dDropped = await this.rt.run('gemm', {
        batch: S, m: T, n: T, k: dh, a: dOh, lda: d, strideA: seq, b: s.V.data.subarray(off), ldb: d, strideB: seq, transB: 'T',
      }, `${slot}.dDropped`);
      const dProbs = await this.attentionDropout[h].backward(dDropped);
      const dScores = await this.rt.run('softmaxBackward', { probs, gradProbs: dProbs, scale: 1 / Math.sqrt(dh) }, `${slot}.dScores`);
      dQs.push(await this.rt.run('gemm', { batch: S, m: T, n: dh, k: T, a: dScores.data, b: s.K.data.subarray(off), ldb: d, strideB: seq }, `${slot}.dQ`));
      dKs.push(await this.rt.run('gemm', { batch: S, m: T, n: dh, k: T, a: dScores.data, transA: 'T', b: s.Q.data.subarray(off), ldb: d, strideB: seq }, `${slot}.dK`));
    }
    const rows = S * T;
    const dx = (await this.q.backward(mergeHeads(dQs, rows, d)))!;
    const dxK = (await this.k.backward(mergeHeads(dKs, rows, d)))!;
    const dxV = (await this.v.backward(mergeHeads(dVs, rows, d)))!;
    return { q: dx, k: dxK, v: dxV };
  }
}

/** The heads' outputs (rows × dₕ each) side by side in one rows × d matrix (one head: as is). */
function mergeHeads(parts: Dense[], rows: number, d: number): Dense {
  if (parts.length === 1) return parts[0];
  const out = denseFrom(rows, d), dh = d / parts.length;
  parts.forEach((p, h) => {
    for (let r = 0; r < rows; r++) out.data.set(p.data.subarray(r * dh, (r + 1) * dh), r * d + h * dh);
  });
  return out;
}
