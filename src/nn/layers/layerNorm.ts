/**
 * Layer normalization over the features of each row, y = γ ⊙ (x − μ)/σ + β (the layerNorm
 * kernels document the formulas); γ starts at 1, β at 0.
 */
import type { Dense } from '../../data/matrix.js';
import { addDenseGrad, type Param, type ParamArena } from '../params.js';
import type { Runtime } from '../runtime.js';

export class LayerNorm {
  readonly gamma: Param;
  readonly beta: Param;
  private saved: { x: Dense; mean: Float32Array; rstd: Float32Array } | null = null;

  constructor(private readonly rt: Runtime, arena: ParamArena, readonly name: string, readonly dim: number, private readonly eps = 1e-5) {
    this.gamma = arena.add({ name: `${name}.gamma`, rows: 1, cols: dim, init: { kind: 'ones' } });
    this.beta = arena.add({ name: `${name}.beta`, rows: 1, cols: dim, init: { kind: 'zeros' } });
  }

  async forward(x: Dense): Promise<Dense> {
    const out = await this.rt.run('layerNorm', { x, gamma: this.gamma.value, beta: this.beta.value, eps: this.eps }, `${this.name}.out`);
    this.saved = { x, mean: out.mean, rstd: out.rstd };
    return out.y;
  }

  async backward(dy: Dense): Promise<Dense> {
    const s = this.saved;
    if (!s) throw new Error(`${this.gamma.name}: backward before forward`);
    const dx = await this.rt.run('layerNormBackward', { x: s.x, gamma: this.gamma.value, mean: s.mean, rstd: s.rstd, gradOut: dy }, `${this.name}.dx`);
    const pg = await this.rt.run('layerNormParamGrad', { x: s.x, mean: s.mean, rstd: s.rstd, gradOut: dy }, `${this.name}.paramGrad`);
    await addDenseGrad(this.rt, this.gamma, pg.gradGamma);
    await addDenseGrad(this.rt, this.beta, pg.gradBeta);
    return dx;
  }
}
