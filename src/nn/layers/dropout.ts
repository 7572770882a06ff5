/**
 * Inverted dropout while training (the runtime's `training` flag), the identity otherwise. Each
 * forward draws a fresh seed from the runtime's generator; backward applies the same mask (the
 * dropout kernel with the same seed). With a name, its outputs are workspace slots (Runtime).
 */
import type { Dense } from '../../data/matrix.js';
import type { Runtime } from '../runtime.js';

export class Dropout {
  private seed: number | null = null;

  constructor(private readonly rt: Runtime, readonly rate: number, readonly name?: string) {
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
  }

  async forward(x: Dense): Promise<Dense> {
    if (!this.rt.training || this.rate === 0) {
      this.seed = null;
      return x;
    }
    this.seed = this.rt.rng.nextU32();
    return { rows: x.rows, cols: x.cols, data: await this.rt.run('dropout', { x: x.data, rate: this.rate, seed: this.seed }, this.name === undefined ? undefined : `${this.name}.out`) };
  }

  async backward(dy: Dense): Promise<Dense> {
    if (this.seed === null) return dy;
    return { rows: dy.rows, cols: dy.cols, data: await this.rt.run('dropout', { x: dy.data, rate: this.rate, seed: this.seed }, this.name === undefined ? undefined : `${this.name}.dx`) };
  }
}
