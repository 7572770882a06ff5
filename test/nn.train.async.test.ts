/**
 * trainLoop's batches may be an async iterable (choosing them can need kernel calls, e.g. a
 * curriculum that ranks examples by their current loss): the batches it yields are trained in
 * order, and an error it throws stops training.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine/engine.js';
import { Rng } from '../src/data/random.js';
import { Runtime } from '../src/nn/runtime.js';
import { ParamArena } from '../src/nn/params.js';
import { Adam } from '../src/nn/optimizer.js';
import { trainLoop } from '../src/nn/train.js';
import { addDenseGrad } from '../src/nn/params.js';

const engine = new Engine({ threads: 1, backend: 'js' });

test('async batches are trained in order, and their errors stop training', async () => {
  const rt = new Runtime({ engine }, 1);
  const arena = new ParamArena();
  const w = arena.add({ name: 'w', rows: 1, cols: 1, init: { kind: 'zeros' } });
  arena.allocate(new Rng(1));
  const adam = new Adam(rt, arena, { lr: 0.1 });
  const seen: number[] = [];
  const r = await trainLoop<number>({
    epochs: 2, runtime: rt, arena, optimizer: adam,
    async *batches(epoch) {
      const scale = (await rt.run('elementwise', { op: 'axpby', x: Float32Array.of(epoch), alpha: 10 }))[0];
      yield scale + 1;
      yield scale + 2;
    },
    step: async (b) => {
      seen.push(b);
      // loss (w − 1)², gradient 2(w − 1)
      await addDenseGrad(rt, w, Float32Array.of(2 * (w.value[0] - 1)));
      return (w.value[0] - 1) ** 2;
    },
  });
  assert.equal(seen, [11, 12, 21, 22]);
  assert.is(r.history[1].batches, 2);
  assert.ok(w.value[0] > 0.3, `w = ${w.value[0]}`);
  const failed = await trainLoop<number>({
    epochs: 1, runtime: rt, arena, optimizer: adam,
    // eslint-disable-next-line require-yield -- fails before its first batch
    async *batches() { throw new RangeError('no batches today'); },
    step: async () => 0,
  }).then(() => null, (e: unknown) => e);
  assert.match((failed as Error).message, /no batches today/);
});

test.after(() => engine.close());
test.run();
