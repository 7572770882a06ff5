/**
 * A Transformer block (Vaswani et al. 2017) with the LayerNorm before each sub-layer, in one of two
 * layouts (option `layout`):
 *
 *   'pre-ln' (default; the SASRec paper's equations, and most later models):
 *     h   = x + Dropout(Attention(LN₁(x)))
 *     out = h + Dropout(FFN(LN₂(h))),                 FFN(u) = act(u·W₁ + b₁)·W₂ + b₂
 *
 *   'sasrec-code' (the SASRec authors' TensorFlow code, Kang & McAuley 2018, and its PyTorch port
 *   pmixer/SASRec.pytorch): the queries are normalised, the keys and values are not, and both
 *   residuals start from the normalised input of their sub-layer:
 *     q   = LN₁(x)
 *     h   = q + Dropout(Attention(queries q, keys/values x))
 *     u   = LN₂(h)
 *     out = u + Dropout(FFN(u))
 *
 * Backward runs the same graph in reverse; the residual branches add their gradients.
 */
import type { Dense } from '../../data/matrix.js';
import type { Activation } from '../../kernels/nn/activation.js';
import type { ParamArena } from '../params.js';
import type { Runtime } from '../runtime.js';
import { MultiHeadSelfAttention, type SequenceBatch } from './attention.js';
import { Dropout } from './dropout.js';
import { LayerNorm } from './layerNorm.js';
import { Linear } from './linear.js';

export interface TransformerBlockOptions {
  heads?: number;
  /** hidden units of the feed-forward network (default dim) */
  hidden?: number;
  /** default 'relu' (SASRec); 'gelu' as BERT4Rec */
  activation?: Activation;
  dropout?: number;
  causal?: boolean;
  /** 'pre-ln' (default) or 'sasrec-code' (see above) */
  layout?: TransformerLayout;
}

export type TransformerLayout = 'pre-ln' | 'sasrec-code';
export const TRANSFORMER_LAYOUTS: readonly TransformerLayout[] = ['pre-ln', 'sasrec-code'];

export class TransformerBlock {
  private readonly ln1: LayerNorm;
  private readonly attention: MultiHeadSelfAttention;
  private readonly drop1: Dropout;
  private readonly ln2: LayerNorm;
  private readonly ff1: Linear;
  private readonly ff2: Linear;
  private readonly drop2: Dropout;
  readonly layout: TransformerLayout;

  constructor(private readonly rt: Runtime, arena: ParamArena, readonly name: string, readonly dim: number, opts: TransformerBlockOptions = {}) {
    const rate = opts.dropout ?? 0;
    this.layout = opts.layout ?? 'pre-ln';
    if (!TRANSFORMER_LAYOUTS.includes(this.layout)) throw new RangeError(`${name}: layout must be one of ${TRANSFORMER_LAYOUTS.join(', ')}, got '${String(this.layout)}'`);
    this.ln1 = new LayerNorm(rt, arena, `${name}.norm1`, dim);
    this.attention = new MultiHeadSelfAttention(rt, arena, `${name}.attention`, dim, { heads: opts.heads, causal: opts.causal, dropout: rate });
    this.drop1 = new Dropout(rt, rate, `${name}.dropout1`);
    this.ln2 = new LayerNorm(rt, arena, `${name}.norm2`, dim);
    this.ff1 = new Linear(rt, arena, `${name}.ffn1`, dim, opts.hidden ?? dim, { activation: opts.activation ?? 'relu' });
    this.ff2 = new Linear(rt, arena, `${name}.ffn2`, opts.hidden ?? dim, dim);
    this.drop2 = new Dropout(rt, rate, `${name}.dropout2`);
  }

  async forward(x: Dense, batch: SequenceBatch): Promise<Dense> {
    if (this.layout === 'sasrec-code') return this.forwardCodeLayout(x, batch);
    const a = await this.drop1.forward(await this.attention.forward(await this.ln1.forward(x), batch));
    const h: Dense = { rows: x.rows, cols: x.cols, data: await this.rt.add(x.data, a.data, `${this.name}.h`) };
    const f = await this.drop2.forward(await this.ff2.forward(await this.ff1.forward(await this.ln2.forward(h))));
    return { rows: x.rows, cols: x.cols, data: await this.rt.add(h.data, f.data, `${this.name}.out`) };
  }

  async backward(dy: Dense): Promise<Dense> {
    if (this.layout === 'sasrec-code') return this.backwardCodeLayout(dy);
    const df = await this.drop2.backward(dy);
    const dFfnIn = (await this.ff1.backward((await this.ff2.backward(df))!))!;
    const dh: Dense = { rows: dy.rows, cols: dy.cols, data: await this.rt.add(dy.data, (await this.ln2.backward(dFfnIn)).data, `${this.name}.dh`) };
    const da = await this.attention.backward(await this.drop1.backward(dh));
    return { rows: dy.rows, cols: dy.cols, data: await this.rt.add(dh.data, (await this.ln1.backward(da)).data, `${this.name}.dx`) };
  }

  /** 'sasrec-code': q = LN₁(x), h = q + Dropout(Attention(q; x)), u = LN₂(h), out = u + Dropout(FFN(u)). */
  private async forwardCodeLayout(x: Dense, batch: SequenceBatch): Promise<Dense> {
    const q = await this.ln1.forward(x);
    const a = await this.drop1.forward(await this.attention.forward(q, batch, x));
    const h: Dense = { rows: x.rows, cols: x.cols, data: await this.rt.add(q.data, a.data, `${this.name}.h`) };
    const u = await this.ln2.forward(h);
    const f = await this.drop2.forward(await this.ff2.forward(await this.ff1.forward(u)));
    return { rows: x.rows, cols: x.cols, data: await this.rt.add(u.data, f.data, `${this.name}.out`) };
  }

  /**
   * Reverse of forwardCodeLayout: ∂u = ∂out + FFN'ᵀ∂out, ∂h = LN₂'ᵀ∂u, ∂q = ∂h + (attention's
   * query gradient of ∂h), ∂x = LN₁'ᵀ∂q + (attention's keys/values gradient of ∂h).
   */
  private async backwardCodeLayout(dy: Dense): Promise<Dense> {
    const df = await this.drop2.backward(dy);
    const dFfnIn = (await this.ff1.backward((await this.ff2.backward(df))!))!;
    const du: Dense = { rows: dy.rows, cols: dy.cols, data: await this.rt.add(dy.data, dFfnIn.data, `${this.name}.du`) };
    const dh = await this.ln2.backward(du);
    const g = await this.attention.backwardInputs(await this.drop1.backward(dh));
    const dq: Dense = { rows: dy.rows, cols: dy.cols, data: await this.rt.add(dh.data, g.queries.data, `${this.name}.dq`) };
    return { rows: dy.rows, cols: dy.cols, data: await this.rt.add((await this.ln1.backward(dq)).data, g.keysValues.data, `${this.name}.dx`) };
  }
}
