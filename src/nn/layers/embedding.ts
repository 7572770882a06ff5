/**
 * An embedding table (vocab × dim): forward looks rows up (id −1 gives a zero row, for padding);
 * backward adds the gradient of the rows the batch touched — grouped by id and summed by the
 * segmentSum kernel — as a sparse contribution, which the optimizer applies lazily (only those
 * rows) or densely when the table also receives a dense gradient (e.g. tied output weights).
 */
import type { Dense } from '../../data/matrix.js';
import { groupByIndex } from '../../kernels/nn/embedding.js';
import type { Init, Param, ParamArena } from '../params.js';
import type { Runtime } from '../runtime.js';

export interface EmbeddingOptions {
  /** default N(0, 0.01²) (He et al. 2017's initialisation for NeuMF) */
  init?: Init;
  /** default true: Adam updates only the touched rows */
  lazy?: boolean;
}

export class Embedding {
  readonly table: Param;
  private ids: Int32Array | null = null;

  constructor(private readonly rt: Runtime, arena: ParamArena, name: string, readonly vocab: number, readonly dim: number, opts: EmbeddingOptions = {}) {
    this.table = arena.add({ name: `${name}.table`, rows: vocab, cols: dim, init: opts.init ?? { kind: 'normal', std: 0.01 }, lazy: opts.lazy ?? true });
  }

  async forward(ids: Int32Array): Promise<Dense> {
    this.ids = ids;
    return this.rt.run('embeddingGather', { table: this.table.dense, ids }, `${this.table.name}.rows`);
  }

  /** Adds the touched rows' gradient (dy: ids.length × dim) to the table. */
  async backward(dy: Dense): Promise<void> {
    const ids = this.ids;
    if (!ids) throw new Error(`${this.table.name}: backward before forward`);
    if (dy.rows !== ids.length || dy.cols !== this.dim) throw new RangeError(`${this.table.name}: gradient is ${dy.rows}×${dy.cols}, expected ${ids.length}×${this.dim}`);
    const g = groupByIndex(ids, this.vocab);
    if (g.rows.length === 0) return;
    const values = await this.rt.run('segmentSum', { src: dy, offsets: g.offsets, positions: g.positions }, `${this.table.name}.rowGrad`);
    this.table.sparse.push({ rows: g.rows, values: values.data });
  }
}
