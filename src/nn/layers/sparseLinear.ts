/**
 * A dense layer on sparse input rows, y = act(x·W + b), x a Csr batch (n × inputs) — and, with
 * no bias and the identity, a weighted bag of embeddings (W the table, x the bag's weights).
 * The product is the weighted sum of the rows of W that x touches, the segmentSum kernel
 * (offsets = x.indptr, positions = x.indices, weights = x.data), O(nnz·outputs) instead of the
 * dense product's n·inputs·outputs: the input layer of models whose input is a user's items
 * (Mult-VAE's encoder, a bag of history items).
 *
 * Backward, with z = x·W and dz = dy ⊙ act'(z + b):
 *   ∂L/∂W_i: = Σ_{(r, i) ∈ x} x_ri · dz_r:    (only the rows i that x touches: a sparse gradient,
 *                                                grouped by i with groupByIndex and summed by segmentSum)
 *   ∂L/∂b = Σ_rows dz
 * x is data: no gradient flows to it.
 */
import type { Csr, Dense } from '../../data/matrix.js';
import { sharedFloat32, sharedInt32 } from '../../data/matrix.js';
import type { Activation } from '../../kernels/nn/activation.js';
import { groupByIndex } from '../../kernels/nn/embedding.js';
import { addDenseGrad, type Init, type Param, type ParamArena } from '../params.js';
import type { Runtime } from '../runtime.js';

export interface SparseLinearOptions {
  /** default true */
  bias?: boolean;
  /** default 'identity' */
  activation?: Activation;
  /** of W; default Glorot uniform */
  init?: Init;
  /** true: Adam updates only the rows a batch touched (lazy); default false (every row, as dense Adam) */
  lazy?: boolean;
}

export class SparseLinear {
  readonly weight: Param;
  readonly bias: Param | null;
  readonly activation: Activation;
  private x: Csr | null = null;
  private z: Dense | null = null;

  constructor(private readonly rt: Runtime, arena: ParamArena, name: string, readonly inputs: number, readonly outputs: number, opts: SparseLinearOptions = {}) {
    this.weight = arena.add({ name: `${name}.weight`, rows: inputs, cols: outputs, init: opts.init ?? { kind: 'glorot' }, lazy: opts.lazy === true });
    this.bias = opts.bias === false ? null : arena.add({ name: `${name}.bias`, rows: 1, cols: outputs, init: { kind: 'zeros' } });
    this.activation = opts.activation ?? 'identity';
  }

  async forward(x: Csr): Promise<Dense> {
    if (x.cols !== this.inputs) throw new RangeError(`${this.weight.name}: input has ${x.cols} columns, the layer takes ${this.inputs}`);
    if (!(x.indptr instanceof Int32Array)) throw new TypeError(`${this.weight.name}: the input's indptr must be an Int32Array`);
    const nnz = x.indptr[x.rows];
    const z = await this.rt.run('segmentSum', {
      src: this.weight.dense, offsets: x.indptr, positions: x.indices.subarray(0, nnz), weights: x.data.subarray(0, nnz),
    });
    this.x = x;
    this.z = z;
    if (!this.bias && this.activation === 'identity') return z;
    return this.rt.run('biasActivation', { x: z, bias: this.bias?.value, activation: this.activation });
  }

  /** Adds ∂L/∂W (the touched rows) and ∂L/∂b to the parameters. */
  async backward(dy: Dense): Promise<void> {
    const x = this.x, z = this.z;
    if (!x || !z) throw new Error(`${this.weight.name}: backward before forward`);
    if (dy.rows !== z.rows || dy.cols !== this.outputs) throw new RangeError(`${this.weight.name}: gradient is ${dy.rows}×${dy.cols}, expected ${z.rows}×${this.outputs}`);
    const dz = this.activation === 'identity' ? dy : await this.rt.run('activationBackward', { x: z, bias: this.bias?.value, activation: this.activation, gradOut: dy });
    if (this.bias) await addDenseGrad(this.rt, this.bias, await this.rt.run('columnSums', { x: dz }));
    const nnz = x.indptr[x.rows];
    const g = groupByIndex(x.indices.subarray(0, nnz), this.inputs);
    if (g.rows.length === 0) return;
    // position q of the grouping is entry e = g.positions[q] of x: its row of dz and its weight
    const rowOf = new Int32Array(nnz);
    for (let r = 0; r < x.rows; r++) rowOf.fill(r, x.indptr[r], x.indptr[r + 1]);
    const positions = sharedInt32(g.positions.length), weights = sharedFloat32(g.positions.length);
    for (let q = 0; q < g.positions.length; q++) { const e = g.positions[q]; positions[q] = rowOf[e]; weights[q] = x.data[e]; }
    const values = await this.rt.run('segmentSum', { src: dz, offsets: g.offsets, positions, weights });
    this.weight.sparse.push({ rows: g.rows, values: values.data });
  }
}
