/**
 * The training loop: a tiny MLP learns XOR; an MLP fits a synthetic regression to a stated loss;
 * training is bit-for-bit deterministic with a seed (one thread); a NaN batch or a shape error
 * stops training naming the epoch and batch with the parameters of the last good step; early
 * stopping restores the best epoch; an AbortSignal stops between batches.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine/engine.js';
import { Rng } from '../src/data/random.js';
import { denseFrom, type Dense } from '../src/data/matrix.js';
import { Runtime } from '../src/nn/runtime.js';
import { ParamArena } from '../src/nn/params.js';
import { Linear } from '../src/nn/layers/linear.js';
import { Adam } from '../src/nn/optimizer.js';
import { shuffledBatches, trainLoop, TrainingError } from '../src/nn/train.js';

const engine = new Engine({ threads: 1, backend: 'js' });

/** A two-layer perceptron with a scalar output. */
function mlp(rt: Runtime, inputs: number, hidden: number, activation: 'tanh' | 'relu' | 'gelu', seed: number) {
  const arena = new ParamArena();
  const l1 = new Linear(rt, arena, 'l1', inputs, hidden, { activation });
  const l2 = new Linear(rt, arena, 'l2', hidden, 1);
  arena.allocate(new Rng(seed));
  return {
    arena,
    forward: async (x: Dense) => l2.forward(await l1.forward(x)),
    backward: async (dy: Dense) => { await l1.backward((await l2.backward(dy))!, false); },
  };
}

function rows(x: Dense, idx: Int32Array): Dense {
  const out = denseFrom(idx.length, x.cols);
  idx.forEach((r, i) => out.data.set(x.data.subarray(r * x.cols, (r + 1) * x.cols), i * x.cols));
  return out;
}

test('a tiny MLP learns XOR with binary cross-entropy and Adam', async () => {
  const rt = new Runtime({ engine }, 1);
  const net = mlp(rt, 2, 8, 'tanh', 3);
  const x = denseFrom(4, 2, [0, 0, 0, 1, 1, 0, 1, 1]);
  const y = new Float32Array([0, 1, 1, 0]);
  const adam = new Adam(rt, net.arena, { lr: 0.05 });
  const result = await trainLoop({
    epochs: 300, runtime: rt, arena: net.arena, optimizer: adam,
    batches: () => [0],
    step: async () => {
      const logits = await net.forward(x);
      const ce = await rt.run('sigmoidCrossEntropy', { logits: logits.data, targets: y, gradScale: 1 / 4 });
      await net.backward({ rows: 4, cols: 1, data: ce.grad });
      return ce.loss.reduce((s, v) => s + v, 0) / 4;
    },
  });
  const last = result.history[result.history.length - 1].loss;
  assert.ok(last < 0.05, `final loss ${last}`);
  const logits = await net.forward(x);
  assert.equal([...logits.data].map((z) => (z > 0 ? 1 : 0)), [0, 1, 1, 0]);
});

/** y = sin(2x₁) + x₂², 512 seeded points in [−1, 1]²; mean squared error with gradient 2(ŷ − y)/n. */
async function fitRegression(seed: number, epochs = 100, reuseOutputs = true): Promise<{ mse: number; params: Float32Array }> {
  const rng = new Rng(11);
  const n = 512, x = denseFrom(n, 2), y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = 2 * rng.next() - 1, b = 2 * rng.next() - 1;
    x.data[2 * i] = a; x.data[2 * i + 1] = b; y[i] = Math.sin(2 * a) + b * b;
  }
  const rt = new Runtime({ engine }, seed);
  // without steps the workspace never reuses an output
  if (!reuseOutputs) rt.beginStep = () => {};
  const net = mlp(rt, 2, 32, 'gelu', seed);
  const adam = new Adam(rt, net.arena, { lr: 0.01 });
  await trainLoop({
    epochs, runtime: rt, arena: net.arena, optimizer: adam, seed,
    batches: (_e, r) => shuffledBatches(n, 32, r),
    step: async (idx) => {
      const pred = await net.forward(rows(x, idx));
      const target = new Float32Array(idx.length);
      idx.forEach((r, i) => { target[i] = y[r]; });
      const m = idx.length;
      const grad = await rt.run('elementwise', { op: 'axpby', x: pred.data, y: target, alpha: 2 / m, beta: -2 / m });
      await net.backward({ rows: m, cols: 1, data: grad });
      let se = 0;
      for (let i = 0; i < m; i++) se += (pred.data[i] - target[i]) ** 2;
      return se / m;
    },
  });
  const pred = await net.forward(x);
  let se = 0;
  for (let i = 0; i < n; i++) se += (pred.data[i] - y[i]) ** 2;
  return { mse: se / n, params: net.arena.snapshot() };
}

test('an MLP fits a synthetic regression to MSE < 0.01 (the targets have variance ≈ 0.37)', async () => {
  const { mse } = await fitRegression(5);
  assert.ok(mse < 0.01, `mse ${mse}`);
});

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test('training is deterministic with a seed on one thread; another seed gives other parameters; reused outputs change nothing', async () => {
  const a = await fitRegression(5, 3), b = await fitRegression(5, 3), c = await fitRegression(6, 3);
  assert.equal(bytes(a.params), bytes(b.params));
  assert.ok(a.params.some((v, i) => v !== c.params[i]));
  const fresh = await fitRegression(5, 3, false);
  assert.equal(bytes(fresh.params), bytes(a.params));
});

test('the runtime reuses a slot\'s output from an earlier step, once per step, only when the shape fits', async () => {
  const rt = new Runtime({ engine }, 1);
  const x = new Float32Array([1, 2, 3]);
  const outside = await rt.add(x, x, 's');
  assert.ok(outside !== await rt.add(x, x, 's'), 'no reuse before the first step');
  rt.beginStep();
  const first = await rt.add(x, x, 's');
  rt.beginStep();
  const again = await rt.add(x, x, 's');
  assert.ok(again === first, 'reused in the next step');
  assert.equal([...again], [2, 4, 6]);
  const twice = await rt.add(x, x, 's');
  assert.ok(twice !== again, 'a second use in one step gets fresh memory');
  rt.beginStep();
  const longer = await rt.add(new Float32Array(4), new Float32Array(4), 's');
  assert.is(longer.length, 4);
  assert.ok(await rt.add(x, x) !== await rt.add(x, x), 'no slot, no reuse');
});

test('a NaN in a batch stops training at that epoch and batch; the parameters are those of the last good step', async () => {
  const rt = new Runtime({ engine }, 1);
  const net = mlp(rt, 2, 4, 'relu', 2);
  const adam = new Adam(rt, net.arena, { lr: 0.01 });
  const good = denseFrom(2, 2, [0.5, -0.5, 0.25, 1]);
  const bad = denseFrom(2, 2, [0.5, NaN, 0.25, 1]);
  let before: Float32Array | null = null;
  const err = await trainLoop({
    epochs: 3, runtime: rt, arena: net.arena, optimizer: adam,
    batches: (epoch) => [good, epoch === 2 ? bad : good, good],
    step: async (x) => {
      before = net.arena.snapshot();
      const out = await net.forward(x);
      const ce = await rt.run('sigmoidCrossEntropy', { logits: out.data, targets: new Float32Array([1, 0]) });
      await net.backward({ rows: 2, cols: 1, data: ce.grad });
      return ce.loss[0] + ce.loss[1];
    },
  }).then(() => null, (e: unknown) => e);
  assert.instance(err, TrainingError);
  // relu may turn NaN into 0 in the forward pass; then the weight gradient carries it
  assert.match((err as Error).message, /epoch 2, batch 2: (the loss is NaN|the gradient of 'l1\.weight' is not finite)/);
  assert.equal([...net.arena.data!], [...before!]);
  // a shape error inside a step is named the same way
  const err2 = await trainLoop({
    epochs: 1, runtime: rt, arena: net.arena, optimizer: adam, batches: () => [denseFrom(1, 3)],
    step: async (x) => { await net.forward(x); return 0; },
  }).then(() => null, (e: unknown) => e);
  assert.match((err2 as Error).message, /epoch 1, batch 1: l1.weight: input has 3 columns, the layer takes 2/);
});

test('early stopping keeps the best epoch\'s parameters; an AbortSignal stops between batches', async () => {
  const rt = new Runtime({ engine }, 1);
  const net = mlp(rt, 2, 3, 'tanh', 4);
  const adam = new Adam(rt, net.arena, { lr: 0.1 });
  const x = denseFrom(2, 2, [1, 0, 0, 1]);
  const metrics = [0.1, 0.3, 0.2, 0.25, 0.5];
  const snapshots: Float32Array[] = [];
  const step = async () => {
    const out = await net.forward(x);
    const ce = await rt.run('sigmoidCrossEntropy', { logits: out.data, targets: new Float32Array([1, 0]) });
    await net.backward({ rows: 2, cols: 1, data: ce.grad });
    return ce.loss[0];
  };
  const r = await trainLoop({
    epochs: 5, patience: 2, runtime: rt, arena: net.arena, optimizer: adam, batches: () => [0], step,
    validate: async (e) => metrics[e - 1],
    onEpoch: () => { snapshots.push(net.arena.snapshot()); },
  });
  assert.is(r.epochs, 4);
  assert.is(r.bestEpoch, 2);
  assert.ok(r.stoppedEarly);
  assert.is(r.bestMetric, 0.3);
  assert.equal([...net.arena.data!], [...snapshots[1]]);
  const ac = new AbortController();
  const aborted = await trainLoop({
    epochs: 5, runtime: rt, arena: net.arena, optimizer: adam, batches: () => [0, 0], step, signal: ac.signal,
    onEpoch: (rep) => { if (rep.epoch === 1) ac.abort(new Error('stop here')); },
  }).then(() => null, (e: unknown) => e);
  assert.match((aborted as Error).message, /stop here/);
});

test.after(() => engine.close());
test.run();
