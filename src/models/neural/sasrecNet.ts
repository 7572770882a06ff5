/**
 * SASRec's network and its training loss on one batch (the model, sasrec.ts, has the formulas and
 * the training procedure): item and position embeddings, Transformer blocks (pre-LN, or the
 * authors' code's layout: option blockLayout) with causal
 * self-attention over left-padded windows, a last layer norm, and the next-item scores against the
 * tied item embeddings, with the full softmax cross-entropy or the sampled binary cross-entropy.
 */
import type { Dense } from '../../data/matrix.js';
import { denseFrom, sharedFloat32, sharedInt32 } from '../../data/matrix.js';
import { groupByIndex } from '../../kernels/nn/embedding.js';
import { Dropout, Embedding, LayerNorm, TransformerBlock, addDenseGrad, type ParamArena, type Runtime, type TransformerLayout } from '../../nn/index.js';
import { sequenceLength, sequenceOf, type Sequences } from './sequences.js';

export interface SasrecShape {
  hidden: number;
  maxLen: number;
  blocks: number;
  heads: number;
  dropout: number;
  /** the blocks' layout (transformer.ts): 'pre-ln' (the paper's equations) or 'sasrec-code' (the authors' code); default 'pre-ln' */
  blockLayout?: TransformerLayout;
}

/** Left-padded windows: ids (S × T, −1 padding) and, for training, the next item at each position (−1: none). */
export interface Windows {
  S: number;
  T: number;
  ids: Int32Array;
  targets?: Int32Array;
  /** the user of each window */
  users: Int32Array;
}

export type TrainingWindowsMode = 'last' | 'all';

/** Training examples: window k is user[k]'s sequence cut at end[k] (items [0, end[k]) of it). */
export interface TrainingExamples {
  user: Int32Array;
  end: Int32Array;
}

/**
 * The training examples of `users` (each with ≥ 2 items): 'last' — one per user, its whole sequence
 * (end = its length n); 'all' — also the ends n − maxLen, n − 2·maxLen, … while ≥ 2, so that the
 * windows (the last maxLen targets before each end) cover every target s_2…s_n exactly once.
 */
export function trainingExamples(seq: Sequences, users: ArrayLike<number>, maxLen: number, mode: TrainingWindowsMode): TrainingExamples {
  const user: number[] = [], end: number[] = [];
  for (let k = 0; k < users.length; k++) {
    const u = users[k], n = sequenceLength(seq, u);
    user.push(u); end.push(n);
    if (mode === 'all') for (let e = n - maxLen; e >= 2; e -= maxLen) { user.push(u); end.push(e); }
  }
  return { user: Int32Array.from(user), end: Int32Array.from(end) };
}

/**
 * Training windows: with s = the user's sequence cut at its end (default: the whole sequence, n
 * items), inputs s_1…s_{n−1} and targets s_2…s_n of its last maxLen + 1 items.
 */
export function trainingWindows(seq: Sequences, users: Int32Array, maxLen: number, ends?: Int32Array): Windows {
  const endOf = (b: number) => (ends ? ends[b] : sequenceLength(seq, users[b]));
  let T = 1;
  for (let b = 0; b < users.length; b++) T = Math.max(T, Math.min(maxLen, endOf(b) - 1));
  const S = users.length;
  const ids = sharedInt32(S * T).fill(-1), targets = sharedInt32(S * T).fill(-1);
  users.forEach((u, b) => {
    const end = endOf(b);
    if (end > sequenceLength(seq, u)) throw new RangeError(`sasrec: window end ${end} is past user ${u}'s ${sequenceLength(seq, u)} items`);
    const s = sequenceOf(seq, u).subarray(0, end), n = Math.min(T, s.length - 1);
    for (let j = 0; j < n; j++) {
      ids[b * T + T - n + j] = s[s.length - 1 - n + j];
      targets[b * T + T - n + j] = s[s.length - n + j];
    }
  });
  return { S, T, ids, targets, users };
}

/** Inference windows: the last maxLen items of each user's sequence. */
export function inferenceWindows(seq: Sequences, users: Int32Array, maxLen: number): Windows {
  let T = 1;
  for (const u of users) T = Math.max(T, Math.min(maxLen, sequenceLength(seq, u)));
  const S = users.length;
  const ids = sharedInt32(S * T).fill(-1);
  users.forEach((u, b) => {
    const s = sequenceOf(seq, u), n = Math.min(T, s.length);
    ids.set(s.subarray(s.length - n), b * T + T - n);
  });
  return { S, T, ids, users };
}

export interface BatchLossOptions {
  loss: 'bce' | 'ce';
  /** bce: one negative per target position, in the order of the positions with a target */
  negatives?: Int32Array;
  /** per-item weight of a target position (popularity balancing) */
  itemWeight?: Float32Array;
  /** most logits per output-layer call (rows × catalogue); default 2²⁴ (~64 MiB) */
  outputElements?: number;
}

export class SasrecNet {
  readonly items: Embedding;
  private readonly positions: Embedding;
  private readonly dropout: Dropout;
  private readonly blocks: TransformerBlock[];
  private readonly norm: LayerNorm;
  private rows = 0;
  /** whether the backend runs the fused output layer (softmaxOutputLayer); decided on the first ce batch */
  private fusedOutput: boolean | null = null;
  private output: { logits: Float32Array; loss: Float32Array; grad: Float32Array } | null = null;

  constructor(private readonly rt: Runtime, arena: ParamArena, nItems: number, private readonly o: SasrecShape) {
    const d = o.hidden;
    // Glorot-scaled initialisation (the paper's code: Xavier for every parameter)
    this.items = new Embedding(rt, arena, 'item', nItems, d, { init: { kind: 'glorot' }, lazy: false });
    this.positions = new Embedding(rt, arena, 'position', o.maxLen, d, { init: { kind: 'glorot' }, lazy: false });
    this.dropout = new Dropout(rt, o.dropout);
    this.blocks = Array.from({ length: o.blocks }, (_, b) => new TransformerBlock(rt, arena, `block${b + 1}`, d, { heads: o.heads, hidden: d, activation: 'relu', dropout: o.dropout, causal: true, layout: o.blockLayout }));
    this.norm = new LayerNorm(rt, arena, 'norm', d);
  }

  /** Hidden states (S·T × d) of S left-padded windows of length T (ids −1 = padding). */
  async forward(ids: Int32Array, S: number, T: number): Promise<Dense> {
    const d = this.o.hidden, n = S * T, shift = this.o.maxLen - T;
    const pos = sharedInt32(n), keyValid = new Uint8Array(n);
    for (let r = 0; r < n; r++) {
      const real = ids[r] >= 0;
      pos[r] = real ? shift + (r % T) : -1;
      keyValid[r] = real ? 1 : 0;
    }
    const e = await this.items.forward(ids);
    const p = await this.positions.forward(pos);
    const x = await this.rt.run('elementwise', { op: 'axpby', x: e.data, y: p.data, alpha: Math.sqrt(d), beta: 1 });
    let h = await this.dropout.forward({ rows: n, cols: d, data: x });
    for (const b of this.blocks) h = await b.forward(h, { sequences: S, length: T, keyValid });
    this.rows = n;
    return this.norm.forward(h);
  }

  /** Adds every parameter's gradient for ∂L/∂(hidden states) = dH. */
  async backward(dH: Dense): Promise<void> {
    let g = await this.norm.backward(dH);
    for (let b = this.blocks.length - 1; b >= 0; b--) g = await this.blocks[b].backward(g);
    g = await this.dropout.backward(g);
    await this.positions.backward(g);
    const ge = await this.rt.run('elementwise', { op: 'axpby', x: g.data, alpha: Math.sqrt(this.o.hidden) });
    await this.items.backward({ rows: this.rows, cols: this.o.hidden, data: ge });
  }

  /** The last position's hidden state of each window (S × d). */
  async lastStates(w: Windows): Promise<Dense> {
    const H = await this.forward(w.ids, w.S, w.T);
    const last = sharedInt32(w.S);
    for (let b = 0; b < w.S; b++) last[b] = b * w.T + w.T - 1;
    return this.rt.run('embeddingGather', { table: H, ids: last });
  }

  /**
   * Forward, loss and backward of a batch of training windows: adds every parameter's gradient and
   * returns the loss (mean over the positions with a target) and the number of those positions.
   * Only the positions with a target reach the output layer (their hidden states gathered, their
   * gradient scattered back).
   */
  async trainStep(w: Windows, o: BatchLossOptions): Promise<{ loss: number; positions: number }> {
    const rt = this.rt, targetsAll = w.targets!;
    const H = await this.forward(w.ids, w.S, w.T);
    let n = 0;
    for (let r = 0; r < targetsAll.length; r++) if (targetsAll[r] >= 0) n++;
    const rows = sharedInt32(n), targets = sharedInt32(n), inverse = sharedInt32(w.S * w.T).fill(-1);
    for (let r = 0, t = 0; r < targetsAll.length; r++) {
      if (targetsAll[r] < 0) continue;
      rows[t] = r; targets[t] = targetsAll[r]; inverse[r] = t; t++;
    }
    const Hc = await rt.run('embeddingGather', { table: H, ids: rows });
    const weights = o.itemWeight ? Float32Array.from(targets, (i) => o.itemWeight![i]) : undefined;
    let out: { loss: number; dHc: Dense };
    if (o.loss === 'ce') out = await this.softmaxLoss(Hc, targets, weights, o.outputElements ?? 1 << 24);
    else {
      if (!o.negatives || o.negatives.length !== n) throw new RangeError(`sasrec: ${o.negatives?.length ?? 0} negatives for ${n} target positions`);
      out = await this.binaryLoss(Hc, targets, o.negatives, weights);
    }
    await this.backward(await rt.run('embeddingGather', { table: out.dHc, ids: inverse }));
    return { loss: out.loss, positions: n };
  }

  /**
   * Full softmax cross-entropy of the positions' hidden states Hc (n × d) against every item: one
   * softmaxOutputLayer call where the backend implements it (native), else in row chunks: logits = Hc·Eᵀ, ∂L/∂Hc = G·E, ∂L/∂E = Gᵀ·Hc (G = the loss's gradient, scaled 1/n;
   * ∂L/∂E is the item table's dense gradient). With weights, row t's loss is w_t·CE (the kernel's
   * target weights: w_t at the target, 0 elsewhere).
   */
  private async softmaxLoss(Hc: Dense, targets: Int32Array, weights: Float32Array | undefined, outputElements: number): Promise<{ loss: number; dHc: Dense }> {
    const rt = this.rt, E = this.items.table.dense;
    const n = Hc.rows, d = Hc.cols, I = E.rows;
    this.fusedOutput ??= await rt.implements('softmaxOutputLayer', 6 * n * I * d);
    if (this.fusedOutput) {
      // the same three products and loss in one call that never stores the n × I logits (the native module)
      const out = await rt.run('softmaxOutputLayer', { hidden: Hc, table: E, targets, weights, gradScale: 1 / n });
      let loss = 0;
      for (let t = 0; t < n; t++) loss += out.loss[t];
      await addDenseGrad(rt, this.items.table, out.gradTable);
      return { loss: n ? loss / n : 0, dHc: { rows: n, cols: d, data: out.gradHidden } };
    }
    const chunk = Math.min(n, Math.max(1, Math.floor(outputElements / Math.max(1, I))));
    const dHc = denseFrom(n, d);
    const buf = this.outputBuffers(chunk, I);
    let dE: Float32Array | null = null, loss = 0;
    for (let at = 0; at < n; at += chunk) {
      const m = Math.min(chunk, n - at);
      const h = Hc.data.subarray(at * d, (at + m) * d);
      // the chunk's logits and loss gradient live in buffers reused chunk after chunk, step after step
      const logits = await rt.runInto('gemm', { m, n: I, k: d, a: h, b: E.data, transB: 'T' }, { rows: m, cols: I, data: buf.logits.subarray(0, m * I) });
      const ceOut = { loss: buf.loss.subarray(0, m), grad: buf.grad.subarray(0, m * I) };
      let ce;
      if (weights) {
        const tw = denseFrom(m, I);
        for (let t = 0; t < m; t++) tw.data[t * I + targets[at + t]] = weights[at + t];
        ce = await rt.runInto('softmaxCrossEntropy', { logits, targetWeights: tw, gradScale: 1 / n }, ceOut);
      } else {
        ce = await rt.runInto('softmaxCrossEntropy', { logits, targets: targets.subarray(at, at + m), gradScale: 1 / n }, ceOut);
      }
      for (let t = 0; t < m; t++) loss += ce.loss[t];
      // ∂L/∂Hc of the chunk's rows, written in place
      await rt.runInto('gemm', { m, n: d, k: I, a: ce.grad, b: E.data }, { rows: m, cols: d, data: dHc.data.subarray(at * d, (at + m) * d) });
      dE = (await rt.run('gemm', { m: I, n: d, k: m, a: ce.grad, transA: 'T', b: h, ...(dE ? { beta: 1, c: dE } : {}) })).data;
    }
    if (dE) await addDenseGrad(rt, this.items.table, dE);
    return { loss: n ? loss / n : 0, dHc };
  }

  /** The output layer's chunk buffers (logits, loss, loss gradient) for chunks of up to `rows` rows, grown as needed and kept. */
  private outputBuffers(rows: number, I: number): { logits: Float32Array; loss: Float32Array; grad: Float32Array } {
    const b = this.output;
    if (b && b.loss.length >= rows && b.logits.length === b.loss.length * I) return b;
    this.output = { logits: sharedFloat32(rows * I), loss: sharedFloat32(rows), grad: sharedFloat32(rows * I) };
    return this.output;
  }

  /**
   * The paper's loss: per position, −log σ(h·E[pos]) − log(1 − σ(h·E[neg])), summed and divided by
   * the positions (the row dot products and their gradients are batched 1×d·d×1 and 1×1·1×d gemms).
   * The item table's gradient is sparse: the rows of the positives and negatives.
   */
  private async binaryLoss(Hc: Dense, pos: Int32Array, neg: Int32Array, weights: Float32Array | undefined): Promise<{ loss: number; dHc: Dense }> {
    const rt = this.rt, table = this.items.table, E = table.dense;
    const n = Hc.rows, d = Hc.cols;
    const Ep = await rt.run('embeddingGather', { table: E, ids: pos });
    const En = await rt.run('embeddingGather', { table: E, ids: neg });
    const dot = (x: Dense) => rt.run('gemm', { batch: n, m: 1, n: 1, k: d, a: Hc.data, b: x.data, transB: 'T' });
    const logits = sharedFloat32(2 * n), labels = sharedFloat32(2 * n);
    logits.set((await dot(Ep)).data, 0);
    logits.set((await dot(En)).data, n);
    labels.fill(1, 0, n);
    let w: Float32Array | undefined;
    if (weights) { w = sharedFloat32(2 * n); w.set(weights, 0); w.set(weights, n); }
    const bce = await rt.run('sigmoidCrossEntropy', { logits, targets: labels, weights: w, gradScale: 1 / n });
    let loss = 0;
    for (let t = 0; t < 2 * n; t++) loss += bce.loss[t];
    const gp = bce.grad.subarray(0, n), gn = bce.grad.subarray(n);
    // ∂L/∂h_t = g⁺_t·E[pos_t] + g⁻_t·E[neg_t];  ∂L/∂E[pos_t] += g⁺_t·h_t,  ∂L/∂E[neg_t] += g⁻_t·h_t
    const scale = (g: Float32Array, x: Dense, c?: Float32Array) => rt.run('gemm', { batch: n, m: 1, n: d, k: 1, a: g, b: x.data, ...(c ? { beta: 1, c } : {}) });
    const dHc = await scale(gn, En, (await scale(gp, Ep)).data);
    const values = sharedFloat32(2 * n * d);
    values.set((await scale(gp, Hc)).data, 0);
    values.set((await scale(gn, Hc)).data, n * d);
    const ids = sharedInt32(2 * n);
    ids.set(pos, 0); ids.set(neg, n);
    const g = groupByIndex(ids, E.rows);
    const summed = await rt.run('segmentSum', { src: { rows: 2 * n, cols: d, data: values }, offsets: g.offsets, positions: g.positions });
    table.sparse.push({ rows: g.rows, values: summed.data });
    return { loss: n ? loss / n : 0, dHc };
  }
}
