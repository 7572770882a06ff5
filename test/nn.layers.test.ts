/**
 * The nn layers' backward passes against central finite differences of their forward passes
 * (loss L = Σ g ⊙ forward(x) in float64), for the input and every parameter, on the js backend:
 * Linear (each activation, with and without bias), Embedding (sparse rows, padding ids),
 * LayerNorm, Dropout, multi-head self-attention (1 and 2 heads, causal and padding masks; with a
 * separate keys/values input) and a Transformer block with dropout in both layouts ('pre-ln' and
 * 'sasrec-code', the latter also against its formula composed from the separate layers). Also the
 * optimizer's merging of sparse gradients.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine/engine.js';
import { Rng } from '../src/data/random.js';
import { denseFrom, type Dense } from '../src/data/matrix.js';
import { Runtime } from '../src/nn/runtime.js';
import { ParamArena, type Param } from '../src/nn/params.js';
import { Linear } from '../src/nn/layers/linear.js';
import { Embedding } from '../src/nn/layers/embedding.js';
import { LayerNorm } from '../src/nn/layers/layerNorm.js';
import { Dropout } from '../src/nn/layers/dropout.js';
import { MultiHeadSelfAttention } from '../src/nn/layers/attention.js';
import { TransformerBlock } from '../src/nn/layers/transformer.js';
import { Adam } from '../src/nn/optimizer.js';
import { runReference, gridDense, weightedSum } from './helpers/nnCheck.js';

const engine = new Engine({ threads: 2, backend: 'js' });
const H = 2 ** -8;

function runtime(seed = 7): Runtime {
  return new Runtime({ engine }, seed);
}

/** Dense gradient of p after a backward pass (sparse rows scattered). */
function gradOf(p: Param): Float64Array {
  const g = new Float64Array(p.size);
  if (p.grad) g.set(p.grad);
  for (const s of p.sparse) s.rows.forEach((row, r) => { for (let j = 0; j < p.cols; j++) g[row * p.cols + j] += s.values[r * p.cols + j]; });
  return g;
}

/**
 * Checks ∂L/∂x and ∂L/∂θ for every parameter θ of the arena by central differences, where
 * L = Σ g ⊙ forward(). `forward` must be deterministic (dropout seeds are replayed from `rt`).
 */
async function checkLayer(label: string, rt: Runtime, arena: ParamArena, x: Float32Array | null, forward: () => Promise<Dense>, backward: (g: Dense) => Promise<Dense | null | void>, tol = 3e-3): Promise<void> {
  const rngState = rt.rng.state.slice();
  const run = async (): Promise<Dense> => { rt.rng.state.set(rngState); return forward(); };
  const y = await run();
  const g = gridDense(y.rows, y.cols, 99);
  const loss = async () => weightedSum(g.data, (await run()).data);
  arena.clearGrads();
  await run();
  const dx = await backward(g);
  const targets: Array<[string, Float32Array, ArrayLike<number>]> = [];
  if (x && dx) targets.push(['x', x, dx.data]);
  for (const p of arena.params) targets.push([p.name, p.value, gradOf(p)]);
  for (const [name, values, analytic] of targets) {
    const step = Math.max(1, Math.floor(values.length / 40));
    for (let i = 0; i < values.length; i += step) {
      const v0 = values[i];
      values[i] = v0 + H;
      const up = await loss();
      values[i] = v0 - H;
      const down = await loss();
      values[i] = v0;
      const num = (up - down) / (2 * H), ana = analytic[i];
      if (!(Math.abs(num - ana) <= tol * (1 + Math.abs(ana)))) assert.unreachable(`${label}: ∂L/∂${name}[${i}] analytic ${ana}, finite difference ${num}`);
    }
  }
}

test('Linear: input, weight and bias gradients for every activation', async () => {
  for (const activation of ['identity', 'relu', 'sigmoid', 'tanh', 'gelu'] as const) {
    for (const bias of [true, false]) {
      const rt = runtime(), arena = new ParamArena();
      const layer = new Linear(rt, arena, 'fc', 5, 3, { activation, bias });
      arena.allocate(new Rng(1));
      const x = gridDense(4, 5, 3, -1, 1, 0.05);
      await checkLayer(`linear ${activation} bias=${bias}`, rt, arena, x.data, () => layer.forward(x), (g) => layer.backward(g));
    }
  }
});

test('Embedding: the touched rows get the summed gradient (repeated and padding ids)', async () => {
  const rt = runtime(), arena = new ParamArena();
  const emb = new Embedding(rt, arena, 'items', 7, 3, { init: { kind: 'normal', std: 0.5 } });
  arena.allocate(new Rng(2));
  const ids = new Int32Array([3, 1, 3, -1, 6, 3]);
  await checkLayer('embedding', rt, arena, null, () => emb.forward(ids), async (g) => { await emb.backward(g); });
  assert.equal([...emb.table.sparse[0].rows], [1, 3, 6]);
});

test('LayerNorm: input, γ and β gradients', async () => {
  const rt = runtime(), arena = new ParamArena();
  const ln = new LayerNorm(rt, arena, 'ln', 6);
  arena.allocate(new Rng(3));
  ln.gamma.value.set([1.5, 0.5, 1, 2, 0.75, 1.25]);
  ln.beta.value.set([0.1, -0.2, 0, 0.3, 0, -0.1]);
  const x = gridDense(3, 6, 4, -2, 2);
  await checkLayer('layernorm', rt, arena, x.data, () => ln.forward(x), (g) => ln.backward(g));
});

test('Dropout: identity outside training; while training the backward uses the forward mask', async () => {
  const rt = runtime(), arena = new ParamArena();
  arena.allocate(new Rng(4));
  const drop = new Dropout(rt, 0.4);
  const x = gridDense(5, 8, 5);
  assert.is(await drop.forward(x), x);
  rt.training = true;
  const y = await drop.forward(x);
  assert.ok(y.data.some((v) => v === 0) && y.data.some((v) => v !== 0));
  await checkLayer('dropout', rt, arena, x.data, () => drop.forward(x), (g) => drop.backward(g));
});

test('multi-head self-attention: gradients with 1 and 2 heads, causal and padding masks', async () => {
  for (const heads of [1, 2]) {
    for (const causal of [true, false]) {
      const rt = runtime(), arena = new ParamArena();
      const att = new MultiHeadSelfAttention(rt, arena, 'att', 4, { heads, causal });
      arena.allocate(new Rng(5));
      const x = gridDense(2 * 3, 4, 6);
      const batch = { sequences: 2, length: 3, keyValid: new Uint8Array([0, 1, 1, 1, 1, 1]) };
      await checkLayer(`attention heads=${heads} causal=${causal}`, rt, arena, x.data, () => att.forward(x, batch), (g) => att.backward(g), 5e-3);
    }
  }
});

test('attention with a separate keys/values input: gradients of the queries input and of the keys/values input', async () => {
  for (const heads of [1, 2]) {
    const batch = { sequences: 2, length: 3, keyValid: new Uint8Array([0, 1, 1, 1, 1, 1]) };
    const x = gridDense(2 * 3, 4, 16), kv = gridDense(2 * 3, 4, 17);
    for (const which of ['queries', 'keysValues'] as const) {
      const rt = runtime(), arena = new ParamArena();
      const att = new MultiHeadSelfAttention(rt, arena, 'att', 4, { heads, causal: true });
      arena.allocate(new Rng(5));
      await checkLayer(`attention heads=${heads} (${which})`, rt, arena, which === 'queries' ? x.data : kv.data, () => att.forward(x, batch, kv), async (g) => (await att.backwardInputs(g))[which], 5e-3);
    }
  }
  // without a keys/values input, backwardInputs' two parts sum to backward's ∂L/∂x
  const rt = runtime(), arena = new ParamArena();
  const att = new MultiHeadSelfAttention(rt, arena, 'att', 4, { heads: 2 });
  arena.allocate(new Rng(5));
  const x = gridDense(2 * 3, 4, 18), g = gridDense(2 * 3, 4, 19), batch = { sequences: 2, length: 3 };
  await att.forward(x, batch);
  const split = await att.backwardInputs(g);
  await att.forward(x, batch);
  const whole = await att.backward(g);
  whole.data.forEach((v, i) => assert.ok(Math.abs(v - (split.queries.data[i] + split.keysValues.data[i])) < 1e-5, `∂L/∂x[${i}]`));
});

test("Transformer block, layout 'sasrec-code' (GELU, dropout while training): input and every parameter gradient", async () => {
  const rt = runtime(), arena = new ParamArena();
  const block = new TransformerBlock(rt, arena, 'block', 4, { heads: 2, hidden: 6, activation: 'gelu', dropout: 0.2, layout: 'sasrec-code' });
  arena.allocate(new Rng(6));
  rt.training = true;
  const x = gridDense(2 * 3, 4, 7);
  await checkLayer('transformer sasrec-code', rt, arena, x.data, () => block.forward(x, { sequences: 2, length: 3, keyValid: new Uint8Array([0, 1, 1, 1, 1, 1]) }), (g) => block.backward(g), 5e-3);
});

test("Transformer block, layout 'sasrec-code': the forward is q = LN₁(x), h = q + Attn(q; x), u = LN₂(h), u + FFN(u), unlike 'pre-ln'", async () => {
  const batch = { sequences: 2, length: 3, keyValid: new Uint8Array([0, 1, 1, 1, 1, 1]) };
  const x = gridDense(2 * 3, 4, 8, -2, 2);
  const make = (layout: 'pre-ln' | 'sasrec-code') => {
    const rt = runtime(), arena = new ParamArena();
    const block = new TransformerBlock(rt, arena, 'block', 4, { heads: 2, hidden: 6, activation: 'relu', layout });
    arena.allocate(new Rng(6));
    // non-trivial layer norm parameters, so that LN(x) and x differ in scale and shift
    for (const p of arena.params) if (p.name.endsWith('.gamma') || p.name.endsWith('.beta')) p.value.set(gridDense(1, 4, p.name.length).data);
    return { block, arena };
  };
  const code = make('sasrec-code');
  const y = await code.block.forward(x, batch);
  // the same parameters in separate layers (declared in the block's order), composed by the formula
  const rt = runtime(), arena = new ParamArena();
  const ln1 = new LayerNorm(rt, arena, 'ln1', 4);
  const att = new MultiHeadSelfAttention(rt, arena, 'att', 4, { heads: 2 });
  const ln2 = new LayerNorm(rt, arena, 'ln2', 4);
  const ff1 = new Linear(rt, arena, 'ff1', 4, 6, { activation: 'relu' });
  const ff2 = new Linear(rt, arena, 'ff2', 6, 4);
  arena.allocate(new Rng(0));
  assert.is(arena.data!.length, code.arena.data!.length);
  arena.data!.set(code.arena.data!);
  const add = (a: Dense, b: Dense): Float64Array => Float64Array.from(a.data, (v, i) => v + b.data[i]);
  const q = await ln1.forward(x);
  const h = add(q, await att.forward(q, batch, x));
  const u = await ln2.forward({ rows: 6, cols: 4, data: Float32Array.from(h) });
  const want = add(u, await ff2.forward(await ff1.forward(u)));
  y.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `out[${i}] ${v} ≠ ${want[i]}`));
  const pre = make('pre-ln');
  const yPre = await pre.block.forward(x, batch);
  assert.ok(yPre.data.some((v, i) => Math.abs(v - y.data[i]) > 1e-3), 'the two layouts give different outputs');
  assert.throws(() => new TransformerBlock(runtime(), new ParamArena(), 'b', 4, { layout: 'post-ln' as never }), /layout must be one of pre-ln, sasrec-code, got 'post-ln'/);
});

test('Transformer block (pre-LN, GELU, dropout while training): input and every parameter gradient', async () => {
  const rt = runtime(), arena = new ParamArena();
  const block = new TransformerBlock(rt, arena, 'block', 4, { heads: 2, hidden: 6, activation: 'gelu', dropout: 0.2 });
  arena.allocate(new Rng(6));
  rt.training = true;
  const x = gridDense(2 * 3, 4, 7);
  await checkLayer('transformer', rt, arena, x.data, () => block.forward(x, { sequences: 2, length: 3 }), (g) => block.backward(g), 5e-3);
});

test('Adam merges the lookups of one lazy table in a step, and scatters them into a dense gradient when there is one', async () => {
  const rt = runtime(), arena = new ParamArena();
  const emb = new Embedding(rt, arena, 'e', 5, 2);
  arena.allocate(new Rng(8));
  const adam = new Adam(rt, arena, { lr: 0.1 });
  await emb.forward(new Int32Array([1, 3]));
  await emb.backward(denseFrom(2, 2, [1, 1, 1, 1]));
  await emb.forward(new Int32Array([3, 4]));
  await emb.backward(denseFrom(2, 2, [1, 1, 1, 1]));
  const before = emb.table.value.slice();
  await adam.step();
  // Adam's first step moves every touched element by lr·sign(g); rows 0 and 2 untouched
  for (const row of [1, 3, 4]) for (let j = 0; j < 2; j++) assert.ok(Math.abs(emb.table.value[row * 2 + j] - (before[row * 2 + j] - 0.1)) < 1e-6, `row ${row}`);
  for (const row of [0, 2]) assert.equal([...emb.table.value.subarray(row * 2, row * 2 + 2)], [...before.subarray(row * 2, row * 2 + 2)]);
  // the summed gradient of row 3 is 2: the first moment is 0.1·2 (lazy rows in the moments too)
  const { m } = adam.state();
  assert.ok(Math.abs(m[3 * 2] - 0.2) < 1e-6 && Math.abs(m[1 * 2] - 0.1) < 1e-6 && m[0] === 0);
  // a dense contribution as well: every row is updated
  await emb.forward(new Int32Array([0]));
  await emb.backward(denseFrom(1, 2, [1, 1]));
  emb.table.grad = new Float32Array(10).fill(0.5);
  const mid = emb.table.value.slice();
  await adam.step();
  assert.ok(emb.table.value.every((v, i) => v !== mid[i]), 'dense step moves every row');
});

test('Adam clips the global gradient norm: the update equals the kernel with gradScale = c/‖g‖', async () => {
  const rt = runtime(), arena = new ParamArena();
  const a = arena.add({ name: 'a', rows: 1, cols: 3, init: { kind: 'ones' } });
  const b = arena.add({ name: 'b', rows: 1, cols: 1, init: { kind: 'zeros' } });
  arena.allocate(new Rng(9));
  const adam = new Adam(rt, arena, { lr: 0.01, clipNorm: 0.5, weightDecay: 0.1 });
  a.grad = new Float32Array([3, 0, 0]);
  b.grad = new Float32Array([4]);
  const report = await adam.step();
  assert.ok(Math.abs(report.gradNorm - 5) < 1e-9);
  const p = new Float32Array([1, 1, 1]);
  runReference('adamUpdate', { params: p, grads: new Float32Array([3, 0, 0]), m: new Float32Array(3), v: new Float32Array(3), dim: 3, step: 1, lr: 0.01, weightDecay: 0.1, gradScale: 0.1 });
  assert.equal([...a.value], [...p]);
});

test.after(() => engine.close());
test.run();
