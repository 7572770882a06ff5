/**
 * Parameters in one arena: every trainable matrix of a model is a named view into one
 * Float32Array on shared memory, so the optimizer's moments, save/load and the worker pool see
 * one buffer, and a snapshot (early stopping's best epoch) is one copy.
 *
 * A parameter's gradient for the current step is kept beside it: dense contributions (a layer's
 * weight gradient from a gemm) are summed into `grad`; sparse ones (an embedding lookup's touched
 * rows) are listed in `sparse` and merged by the optimizer.
 */
import { sharedFloat32 } from '../data/matrix.js';
import type { Rng } from '../data/random.js';
import type { Runtime } from './runtime.js';

export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'normal'; std: number }
  /** Glorot & Bengio 2010: U(−a, a), a = √(6/(fanIn + fanOut)), with fanIn = rows, fanOut = cols */
  | { kind: 'glorot' };

export interface ParamSpec {
  name: string;
  rows: number;
  cols: number;
  init: Init;
  /** an embedding table updated only in the rows a batch touched (lazy Adam) */
  lazy?: boolean;
}

export interface SparseGrad {
  /** table rows (may repeat across contributions) */
  rows: Int32Array;
  /** rows.length × cols */
  values: Float32Array;
}

export class Param {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  readonly init: Init;
  readonly lazy: boolean;
  /** offset of this parameter in the arena (elements) */
  offset = -1;
  /** the arena's view (set when the arena is allocated) */
  value!: Float32Array;
  /** dense gradient of the current step, or null */
  grad: Float32Array | null = null;
  sparse: SparseGrad[] = [];

  constructor(spec: ParamSpec) {
    this.name = spec.name;
    this.rows = spec.rows;
    this.cols = spec.cols;
    this.init = spec.init;
    this.lazy = spec.lazy === true;
  }

  get size(): number {
    return this.rows * this.cols;
  }

  /** {rows, cols, data} over the value, for kernels that take a Dense */
  get dense(): { rows: number; cols: number; data: Float32Array } {
    return { rows: this.rows, cols: this.cols, data: this.value };
  }

  clearGrad(): void {
    this.grad = null;
    this.sparse = [];
  }
}

/** Layout of an arena, as saved beside its data. */
export interface ArenaLayout {
  name: string;
  rows: number;
  cols: number;
  offset: number;
}

/** Largest arena: a Float32Array on one SharedArrayBuffer. */
const MAX_ARENA_ELEMENTS = 2 ** 31 - 1;

export class ParamArena {
  private readonly list: Param[] = [];
  private readonly byName = new Map<string, Param>();
  data: Float32Array | null = null;

  /** Declare a parameter (before allocate). Names are unique. */
  add(spec: ParamSpec): Param {
    if (this.data) throw new Error(`parameter '${spec.name}' declared after the arena was allocated`);
    if (this.byName.has(spec.name)) throw new Error(`parameter '${spec.name}' declared twice`);
    if (!Number.isInteger(spec.rows) || spec.rows < 0 || !Number.isInteger(spec.cols) || spec.cols < 0) {
      throw new RangeError(`parameter '${spec.name}' has a bad shape ${spec.rows}×${spec.cols}`);
    }
    const p = new Param(spec);
    this.list.push(p);
    this.byName.set(p.name, p);
    return p;
  }

  get params(): readonly Param[] {
    return this.list;
  }

  get(name: string): Param {
    const p = this.byName.get(name);
    if (!p) throw new RangeError(`no parameter '${name}'`);
    return p;
  }

  get size(): number {
    return this.list.reduce((s, p) => s + p.size, 0);
  }

  /** Allocate the arena and initialise every parameter from `rng` (in declaration order). */
  allocate(rng: Rng): void {
    const total = this.size;
    if (total > MAX_ARENA_ELEMENTS) {
      throw new RangeError(`the model's ${total.toLocaleString('en')} parameters (${(total * 4 / 2 ** 30).toFixed(1)} GiB) exceed one arena's ${MAX_ARENA_ELEMENTS.toLocaleString('en')} float32 values; use fewer factors, hidden units or items`);
    }
    const data = sharedFloat32(total);
    let offset = 0;
    for (const p of this.list) {
      p.offset = offset;
      p.value = data.subarray(offset, offset + p.size);
      initialise(p, rng);
      offset += p.size;
    }
    this.data = data;
  }

  layout(): ArenaLayout[] {
    return this.list.map((p) => ({ name: p.name, rows: p.rows, cols: p.cols, offset: p.offset }));
  }

  /** A copy of every parameter value (restore with `restore`). */
  snapshot(): Float32Array {
    return this.requireData().slice();
  }

  restore(values: Float32Array): void {
    const data = this.requireData();
    if (values.length !== data.length) throw new RangeError(`restore: ${values.length} values for an arena of ${data.length}`);
    data.set(values);
  }

  /** Load saved values: the layout must name the same parameters with the same shapes. */
  load(layout: readonly ArenaLayout[], values: Float32Array): void {
    const data = this.requireData();
    if (layout.length !== this.list.length) throw new RangeError(`saved parameters: ${layout.length} entries, the model has ${this.list.length}`);
    layout.forEach((l, i) => {
      const p = this.list[i];
      if (l.name !== p.name || l.rows !== p.rows || l.cols !== p.cols || l.offset !== p.offset) {
        throw new RangeError(`saved parameter ${i} is '${l.name}' ${l.rows}×${l.cols} at ${l.offset}, the model has '${p.name}' ${p.rows}×${p.cols} at ${p.offset}`);
      }
    });
    if (values.length !== data.length) throw new RangeError(`saved parameters hold ${values.length} values, the model ${data.length}`);
    data.set(values);
  }

  clearGrads(): void {
    for (const p of this.list) p.clearGrad();
  }

  private requireData(): Float32Array {
    if (!this.data) throw new Error('the parameter arena is not allocated yet');
    return this.data;
  }
}

function initialise(p: Param, rng: Rng): void {
  const v = p.value, init = p.init;
  switch (init.kind) {
    case 'zeros': return;
    case 'ones': v.fill(1); return;
    case 'normal': for (let i = 0; i < v.length; i++) v[i] = init.std * rng.normal(); return;
    case 'glorot': {
      const a = Math.sqrt(6 / Math.max(1, p.rows + p.cols));
      for (let i = 0; i < v.length; i++) v[i] = a * (2 * rng.next() - 1);
    }
  }
}

/** Add a dense gradient contribution to p (the first one is taken as is, without a copy). */
export async function addDenseGrad(rt: Runtime, p: Param, g: Float32Array): Promise<void> {
  if (g.length !== p.size) throw new RangeError(`gradient of '${p.name}' has ${g.length} values, expected ${p.size}`);
  p.grad = p.grad === null ? g : await rt.add(p.grad, g, `${p.name}.gradSum`);
}
