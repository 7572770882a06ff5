/**
 * A dense layer y = act(x·W + b) on row batches x (n × inputs), W: inputs × outputs.
 *
 * Backward, with z = x·W and dz = dy ⊙ act'(z + b):
 *   ∂L/∂W = xᵀ·dz,   ∂L/∂b = Σ_rows dz,   ∂L/∂x = dz·Wᵀ
 */
import type { Dense } from '../../data/matrix.js';
import type { Activation } from '../../kernels/nn/activation.js';
import { addDenseGrad, type Init, type Param, type ParamArena } from '../params.js';
import type { Runtime } from '../runtime.js';

export interface LinearOptions {
  /** default true */
  bias?: boolean;
  /** default 'identity' */
  activation?: Activation;
  /** of W; default Glorot uniform */
  init?: Init;
}

export class Linear {
  readonly weight: Param;
  readonly bias: Param | null;
  readonly activation: Activation;
  private x: Dense | null = null;
  private z: Dense | null = null;

  constructor(private readonly rt: Runtime, arena: ParamArena, readonly name: string, readonly inputs: number, readonly outputs: number, opts: LinearOptions = {}) {
    this.weight = arena.add({ name: `${name}.weight`, rows: inputs, cols: outputs, init: opts.init ?? { kind: 'glorot' } });
    this.bias = opts.bias === false ? null : arena.add({ name: `${name}.bias`, rows: 1, cols: outputs, init: { kind: 'zeros' } });
    this.activation = opts.activation ?? 'identity';
  }

  async forward(x: Dense): Promise<Dense> {
    if (x.cols !== this.inputs) throw new RangeError(`${this.weight.name}: input has ${x.cols} columns, the layer takes ${this.inputs}`);
    const z = await this.rt.matmul(x, this.weight.dense, {}, `${this.name}.z`);
    this.x = x;
    this.z = z;
    if (!this.bias && this.activation === 'identity') return z;
    return this.rt.run('biasActivation', { x: z, bias: this.bias?.value, activation: this.activation }, `${this.name}.y`);
  }

  /** Adds ∂L/∂W and ∂L/∂b to the parameters; returns ∂L/∂x (null when `inputGrad` is false: the input is data). */
  async backward(dy: Dense, inputGrad = true): Promise<Dense | null> {
    const x = this.x, z = this.z;
    if (!x || !z) throw new Error(`${this.weight.name}: backward before forward`);
    const dz = this.activation === 'identity' ? dy : await this.rt.run('activationBackward', { x: z, bias: this.bias?.value, activation: this.activation, gradOut: dy }, `${this.name}.dz`);
    await addDenseGrad(this.rt, this.weight, (await this.rt.matmul(x, dz, { transA: true }, `${this.weight.name}.grad`)).data);
    if (this.bias) await addDenseGrad(this.rt, this.bias, await this.rt.run('columnSums', { x: dz }, `${this.bias.name}.grad`));
    return inputGrad ? this.rt.matmul(dz, this.weight.dense, { transB: true }, `${this.name}.dx`) : null;
  }
}
