/**
 * Bandit re-rankers over a model's candidate list. An arm is an item index; each policy keeps
 * per-item statistics (shared across users: the model personalises the candidate list, the
 * bandit learns which candidates actually get rewarded). `select(candidates)` returns one item of
 * the list (given best first by the model; ties between arms are broken by that order, i.e. the
 * earlier candidate wins), and `update(item, reward)` feeds back a reward in [0, 1].
 *
 *   greedy      argmax_i  mean(i)                     (unplayed arms have mean 0, so before any reward
 *                                                       it follows the model's order)
 *   egreedy     with probability ε a uniformly random candidate, else greedy        (epsilon, default 0.1)
 *   ucb1        an unplayed candidate first (model order), else
 *               argmax_i  mean(i) + c·√(2 ln t / n_i),  t = total updates          (c, default 1)
 *   thompson    argmax_i  θ_i ~ Beta(a + s_i, b + n_i − s_i)   (Beta–Bernoulli; prior_a, prior_b default 1)
 *   linucb      context x_i = [item factor vector of i, 1]; one ridge model for the policy:
 *               A = λI + Σ x xᵀ (d×d),  b = Σ r x,  θ = A⁻¹ b  (A⁻¹ kept by Sherman–Morrison)
 *               argmax_i  θ·x_i + α √(x_iᵀ A⁻¹ x_i)                                (alpha 1, lambda 1)
 *   random      a uniformly random candidate (the baseline)
 * n_i = updates of arm i, s_i = their summed reward. Random draws come from the seeded generator
 * (`seed`), so a run is reproducible.
 */
import { Rng } from '../data/random.js';

export interface BanditPolicy {
  readonly name: string;
  /** one item of `candidates` (non-empty; best first by the model) */
  select(candidates: ArrayLike<number>): number;
  /** the reward (in [0, 1]) observed for `item` */
  update(item: number, reward: number): void;
}

export const POLICY_NAMES = ['greedy', 'egreedy', 'ucb1', 'thompson', 'linucb', 'random'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

function checkCandidates(c: ArrayLike<number>): void {
  if (c.length === 0) throw new RangeError('select: the candidate list is empty');
}

function checkReward(r: number): void {
  if (!(r >= 0 && r <= 1)) throw new RangeError(`reward must be in [0, 1], got ${r}`);
}

/** Per-arm counts and reward sums. */
class ArmStats {
  readonly n = new Map<number, number>();
  readonly s = new Map<number, number>();
  total = 0;
  pulls(i: number): number { return this.n.get(i) ?? 0; }
  mean(i: number): number { const n = this.n.get(i); return n ? this.s.get(i)! / n : 0; }
  add(i: number, r: number): void {
    checkReward(r);
    this.n.set(i, this.pulls(i) + 1);
    this.s.set(i, (this.s.get(i) ?? 0) + r);
    this.total++;
  }
}

/** The first candidate with the highest value (ties: earlier in the list). */
function argmax(c: ArrayLike<number>, value: (item: number) => number): number {
  let best = c[0], bv = value(c[0]);
  for (let j = 1; j < c.length; j++) {
    const v = value(c[j]);
    if (v > bv) { bv = v; best = c[j]; }
  }
  return best;
}

export class GreedyPolicy implements BanditPolicy {
  readonly name: string = 'greedy';
  protected readonly stats = new ArmStats();
  select(c: ArrayLike<number>): number {
    checkCandidates(c);
    return argmax(c, (i) => this.stats.mean(i));
  }
  update(item: number, reward: number): void { this.stats.add(item, reward); }
  /** empirical mean reward of an item (0 when never updated) */
  mean(item: number): number { return this.stats.mean(item); }
  pulls(item: number): number { return this.stats.pulls(item); }
}

export class EpsilonGreedyPolicy extends GreedyPolicy {
  override readonly name = 'egreedy';
  private readonly rng: Rng;
  constructor(readonly epsilon = 0.1, seed = 42) {
    super();
    if (!(epsilon >= 0 && epsilon <= 1)) throw new RangeError(`epsilon must be in [0, 1], got ${epsilon}`);
    this.rng = new Rng(seed);
  }
  override select(c: ArrayLike<number>): number {
    checkCandidates(c);
    if (this.epsilon > 0 && this.rng.next() < this.epsilon) return c[this.rng.int(c.length)];
    return super.select(c);
  }
}

export class Ucb1Policy extends GreedyPolicy {
  override readonly name = 'ucb1';
  constructor(readonly c = 1) {
    super();
    if (!(c >= 0) || !Number.isFinite(c)) throw new RangeError(`c must be ≥ 0, got ${c}`);
  }
  override select(cands: ArrayLike<number>): number {
    checkCandidates(cands);
    for (let j = 0; j < cands.length; j++) if (this.stats.pulls(cands[j]) === 0) return cands[j];
    const lt = Math.log(Math.max(this.stats.total, 1));
    return argmax(cands, (i) => this.stats.mean(i) + this.c * Math.sqrt((2 * lt) / this.stats.pulls(i)));
  }
}

/** Gamma(shape, 1) by Marsaglia & Tsang (shape < 1 via the U^(1/shape) boost). */
export function sampleGamma(rng: Rng, shape: number): number {
  if (!(shape > 0)) throw new RangeError(`gamma shape must be > 0, got ${shape}`);
  if (shape < 1) return sampleGamma(rng, shape + 1) * Math.pow(rng.nextOpen(), 1 / shape);
  const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do { x = rng.normal(); v = 1 + c * x; } while (v <= 0);
    v = v * v * v;
    const u = rng.nextOpen();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, b) = X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a), y = sampleGamma(rng, b);
  return x / (x + y);
}

export class ThompsonPolicy extends GreedyPolicy {
  override readonly name = 'thompson';
  private readonly rng: Rng;
  constructor(readonly priorA = 1, readonly priorB = 1, seed = 42) {
    super();
    if (!(priorA > 0) || !(priorB > 0)) throw new RangeError(`Beta prior parameters must be > 0, got ${priorA}, ${priorB}`);
    this.rng = new Rng(seed);
  }
  override select(c: ArrayLike<number>): number {
    checkCandidates(c);
    return argmax(c, (i) => {
      const n = this.stats.pulls(i), s = n ? this.stats.mean(i) * n : 0;
      return sampleBeta(this.rng, this.priorA + s, this.priorB + n - s);
    });
  }
}

export class RandomPolicy implements BanditPolicy {
  readonly name = 'random';
  private readonly rng: Rng;
  constructor(seed = 42) { this.rng = new Rng(seed); }
  select(c: ArrayLike<number>): number {
    checkCandidates(c);
    return c[this.rng.int(c.length)];
  }
  update(_item: number, reward: number): void { checkReward(reward); }
}

/** Item vectors for LinUCB: a row-major items × d matrix (e.g. a model's itemFactors). */
export interface ItemVectors {
  rows: number;
  cols: number;
  data: ArrayLike<number>;
}

export class LinUcbPolicy implements BanditPolicy {
  readonly name = 'linucb';
  /** context dimension (factors + 1 bias) */
  readonly d: number;
  private readonly Ainv: Float64Array;
  private readonly b: Float64Array;
  private readonly theta: Float64Array;
  private readonly x: Float64Array;
  private readonly Ax: Float64Array;

  constructor(private readonly vectors: ItemVectors, readonly alpha = 1, readonly lambda = 1) {
    if (!(vectors.rows > 0 && vectors.cols > 0) || vectors.data.length !== vectors.rows * vectors.cols) throw new RangeError(`linucb: item vectors must be a non-empty rows×cols matrix, got ${vectors.rows}×${vectors.cols} with ${vectors.data.length} values`);
    if (!(alpha >= 0) || !Number.isFinite(alpha)) throw new RangeError(`alpha must be ≥ 0, got ${alpha}`);
    if (!(lambda > 0) || !Number.isFinite(lambda)) throw new RangeError(`lambda must be > 0, got ${lambda}`);
    const d = (this.d = vectors.cols + 1);
    this.Ainv = new Float64Array(d * d);
    for (let f = 0; f < d; f++) this.Ainv[f * d + f] = 1 / lambda;
    this.b = new Float64Array(d);
    this.theta = new Float64Array(d);
    this.x = new Float64Array(d);
    this.Ax = new Float64Array(d);
  }

  private context(item: number): Float64Array {
    const v = this.vectors;
    if (!(item >= 0 && item < v.rows)) throw new RangeError(`linucb: item ${item} has no vector (${v.rows} rows)`);
    const c = v.cols;
    for (let f = 0; f < c; f++) this.x[f] = v.data[item * c + f];
    this.x[c] = 1;
    return this.x;
  }

  /** θ·x + α √(xᵀ A⁻¹ x) of one item */
  upperBound(item: number): number {
    const x = this.context(item), d = this.d, A = this.Ainv;
    let mean = 0, quad = 0;
    for (let r = 0; r < d; r++) {
      mean += this.theta[r] * x[r];
      let s = 0;
      for (let c = 0; c < d; c++) s += A[r * d + c] * x[c];
      quad += x[r] * s;
    }
    return mean + this.alpha * Math.sqrt(Math.max(quad, 0));
  }

  select(c: ArrayLike<number>): number {
    checkCandidates(c);
    return argmax(c, (i) => this.upperBound(i));
  }

  update(item: number, reward: number): void {
    checkReward(reward);
    const x = this.context(item), d = this.d, A = this.Ainv, Ax = this.Ax;
    // Sherman–Morrison: (A + x xᵀ)⁻¹ = A⁻¹ − (A⁻¹x)(A⁻¹x)ᵀ / (1 + xᵀA⁻¹x)   (A⁻¹ symmetric)
    let den = 1;
    for (let r = 0; r < d; r++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += A[r * d + c] * x[c];
      Ax[r] = s;
      den += x[r] * s;
    }
    for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) A[r * d + c] -= (Ax[r] * Ax[c]) / den;
    for (let r = 0; r < d; r++) this.b[r] += reward * x[r];
    for (let r = 0; r < d; r++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += A[r * d + c] * this.b[c];
      this.theta[r] = s;
    }
  }
}

export interface PolicyOptions {
  epsilon?: number;
  c?: number;
  alpha?: number;
  lambda?: number;
  priorA?: number;
  priorB?: number;
  seed?: number;
  /** linucb: item vectors (e.g. a factorization model's itemFactors) */
  itemVectors?: ItemVectors;
}

/** A policy by name. Params also accept the CLI spellings prior_a / prior_b. */
export function createPolicy(name: string, o: PolicyOptions & Record<string, unknown> = {}): BanditPolicy {
  const known = new Set(['epsilon', 'c', 'alpha', 'lambda', 'priorA', 'priorB', 'prior_a', 'prior_b', 'seed', 'itemVectors']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new RangeError(`unknown policy parameter '${k}' (epsilon, c, alpha, lambda, prior_a, prior_b, seed)`);
  const num = (k: string, def: number): number => {
    const v = o[k];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`policy parameter ${k} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const seed = num('seed', 42);
  switch (name) {
    case 'greedy': return new GreedyPolicy();
    case 'egreedy': return new EpsilonGreedyPolicy(num('epsilon', 0.1), seed);
    case 'ucb1': return new Ucb1Policy(num('c', 1));
    case 'thompson': return new ThompsonPolicy(num('priorA', num('prior_a', 1)), num('priorB', num('prior_b', 1)), seed);
    case 'random': return new RandomPolicy(seed);
    case 'linucb':
      if (!o.itemVectors) throw new RangeError('linucb needs item vectors (a model with itemFactors, e.g. feature-mf or a factorization model)');
      return new LinUcbPolicy(o.itemVectors, num('alpha', 1), num('lambda', 1));
    default: throw new RangeError(`unknown policy '${name}' (${POLICY_NAMES.join('|')})`);
  }
}
