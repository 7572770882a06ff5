/**
 * A pre-norm Transformer block (Vaswani et al. 2017 with the LayerNorm moved before each
 * sub-layer, as SASRec's implementation and most later models do):
 *
 *   h   = x + Dropout(Attention(LN₁(x)))
 *   out = h + Dropout(FFN(LN₂(h))),   FFN(u) = act(u·W₁ + b₁)·W₂ + b₂
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
}

export class TransformerBlock {
  private readonly ln1: LayerNorm;
  private readonly attention: MultiHeadSelfAttention;
  private readonly drop1: Dropout;
  private readonly ln2: LayerNorm;
  private readonly ff1: Linear;
  private readonly ff2: Linear;
  private readonly drop2: Dropout;

  constructor(private readonly rt: Runtime, arena: ParamArena, readonly name: string, readonly dim: number, opts: TransformerBlockOptions = {}) {
    const rate = opts.dropout ?? 0;
    this.ln1 = new LayerNorm(rt, arena, `${name}.norm1`, dim);
    this.attention = new MultiHeadSelfAttention(rt, arena, `${name}.attention`, dim, { heads: opts.heads, causal: opts.causal, dropout: rate });
    this.drop1 = new Dropout(rt, rate, `${name}.dropout1`);
    this.ln2 = new LayerNorm(rt, arena, `${name}.norm2`, dim);
    this.ff1 = new Linear(rt, arena, `${name}.ffn1`, dim, opts.hidden ?? dim, { activation: opts.activation ?? 'relu' });
    this.ff2 = new Linear(rt, arena, `${name}.ffn2`, opts.hidden ?? dim, dim);
    this.drop2 = new Dropout(rt, rate, `${name}.dropout2`);
  }

  async forward(x: Dense, batch: SequenceBatch): Promise<Dense> {
    const a = await this.drop1.forward(await this.attention.forward(await this.ln1.forward(x), batch));
    const h: Dense = { rows: x.rows, cols: x.cols, data: await this.rt.add(x.data, a.data, `${this.name}.h`) };
    const f = await this.drop2.forward(await this.ff2.forward(await this.ff1.forward(await this.ln2.forward(h))));
    return { rows: x.rows, cols: x.cols, data: await this.rt.add(h.data, f.data, `${this.name}.out`) };
  }

  async backward(dy: Dense): Promise<Dense> {
    const df = await this.drop2.backward(dy);
    const dFfnIn = (await this.ff1.backward((await this.ff2.backward(df))!))!;
    const dh: Dense = { rows: dy.rows, cols: dy.cols, data: await this.rt.add(dy.data, (await this.ln2.backward(dFfnIn)).data, `${this.name}.dh`) };
    const da = await this.attention.backward(await this.drop1.backward(dh));
    return { rows: dy.rows, cols: dy.cols, data: await this.rt.add(dh.data, (await this.ln1.backward(da)).data, `${this.name}.dx`) };
  }
}
