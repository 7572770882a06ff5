/**
 * SparseLinear (src/nn/layers/sparseLinear.ts): its forward equals a dense Linear on the densified
 * input with the same weights, and its weight and bias gradients equal central finite differences
 * of L = Σ g ⊙ forward(x) (js backend), with repeated columns and an empty row in the batch; only
 * the touched rows of W get a (sparse) gradient.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine/engine.js';
import { Rng } from '../src/data/random.js';
import { csrToDense, type Csr } from '../src/data/matrix.js';
import { Runtime } from '../src/nn/runtime.js';
import { ParamArena, type Param } from '../src/nn/params.js';
import { Linear } from '../src/nn/layers/linear.js';
import { SparseLinear } from '../src/nn/layers/sparseLinear.js';
import { gridDense, weightedSum } from './helpers/nnCheck.js';

const engine = new Engine({ threads: 1, backend: 'js' });
const H = 2 ** -8;

/** 4 rows × 7 inputs: row 1 empty, row 2 touches input 3 twice. */
function batch(): Csr {
  return {
    rows: 4, cols: 7,
    indptr: Int32Array.of(0, 3, 3, 6, 8),
    indices: Int32Array.of(0, 3, 5, 1, 3, 3, 2, 6),
    data: Float32Array.of(0.5, 1, -0.75, 0.25, 1.5, -0.5, 1, 0.125),
  };
}

function gradOf(p: Param): Float64Array {
  const g = new Float64Array(p.size);
  if (p.grad) g.set(p.grad);
  for (const s of p.sparse) s.rows.forEach((row, r) => { for (let j = 0; j < p.cols; j++) g[row * p.cols + j] += s.values[r * p.cols + j]; });
  return g;
}

for (const activation of ['identity', 'tanh', 'relu'] as const) {
  for (const bias of [true, false]) {
    test(`SparseLinear ${activation} bias=${bias}: forward equals Linear on the dense input; gradients match finite differences`, async () => {
      const rt = new Runtime({ engine }, 1), arena = new ParamArena(), denseArena = new ParamArena();
      const layer = new SparseLinear(rt, arena, 'enc', 7, 3, { activation, bias });
      const ref = new Linear(rt, denseArena, 'enc', 7, 3, { activation, bias });
      arena.allocate(new Rng(4));
      denseArena.allocate(new Rng(4));
      // a non-zero bias keeps the empty row off relu's kink at 0
      if (bias) { layer.bias!.value.set([0.1, -0.2, 0.3]); ref.bias!.value.set([0.1, -0.2, 0.3]); }
      // duplicates in a row are summed, as csrToDense assigns: densify by summing
      const x = batch(), xd = csrToDense({ ...x, indptr: Int32Array.of(0, 3, 3, 5, 7), indices: Int32Array.of(0, 3, 5, 1, 3, 2, 6), data: Float32Array.of(0.5, 1, -0.75, 0.25, 1, 1, 0.125) });
      const y = await layer.forward(x), yd = await ref.forward(xd);
      for (let i = 0; i < y.data.length; i++) assert.ok(Math.abs(y.data[i] - yd.data[i]) <= 1e-6, `y[${i}] ${y.data[i]} vs ${yd.data[i]}`);
      const g = gridDense(y.rows, y.cols, 99);
      const loss = async () => weightedSum(g.data, (await layer.forward(x)).data);
      arena.clearGrads();
      await layer.forward(x);
      await layer.backward(g);
      assert.equal([...layer.weight.sparse[0].rows], [0, 1, 2, 3, 5, 6]);
      for (const p of arena.params) {
        const analytic = gradOf(p);
        for (let i = 0; i < p.value.length; i++) {
          const v0 = p.value[i];
          p.value[i] = v0 + H; const up = await loss();
          p.value[i] = v0 - H; const down = await loss();
          p.value[i] = v0;
          const num = (up - down) / (2 * H);
          assert.ok(Math.abs(num - analytic[i]) <= 3e-3 * (1 + Math.abs(analytic[i])), `${p.name}[${i}]: analytic ${analytic[i]}, finite difference ${num}`);
        }
      }
      // input 4 is never touched: no gradient row
      for (let j = 0; j < 3; j++) assert.is(gradOf(layer.weight)[4 * 3 + j], 0);
    });
  }
}

test('SparseLinear: a wrong input width and backward before forward are clear errors', async () => {
  const rt = new Runtime({ engine }, 1), arena = new ParamArena();
  const layer = new SparseLinear(rt, arena, 'enc', 5, 2);
  arena.allocate(new Rng(1));
  try { await layer.forward(batch()); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /enc\.weight: input has 7 columns, the layer takes 5/); }
  try { await layer.backward({ rows: 1, cols: 2, data: new Float32Array(2) }); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /backward before forward/); }
});

test.after(() => engine.close());
test.run();
