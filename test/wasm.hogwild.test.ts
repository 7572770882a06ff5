/**
 * Hogwild bprEpoch and sgdEpoch 'svd' on the `wasm` backend (src/backends/wasm/hogwild.ts): `parallel: true` calls
 * run as one task per pool worker on one shared WebAssembly.Memory.
 *
 *   one worker    — exact: the step arithmetic is the sequential kernel's, so bprEpoch equals the reference run
 *                   from worker 0's stream (hogwildStreams) and sgdEpoch the sequential pass, bit for bit;
 *   two workers   — with learning rate 0 the steps do not interact, so the summed counters equal the sum of the
 *                   reference over each worker's stream and share (the shares cover the samples); with training,
 *                   the work runs in the pool workers (not on this thread), the factors change, and the loss after
 *                   some epochs is within a few percent of the sequential kernel's (Hogwild's interleaving makes
 *                   the exact values differ run to run);
 *   the seeding   — the native core's rule: with one thread, native and wasm draw the same samples (same skips,
 *                   same advanced rng) where the native addon is built;
 *   bad input     — refused before any task runs, the caller's arrays and rng untouched.
 * Skipped, with the reason printed, when affinity-hogwild.wasm is missing or cannot run here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Engine } from '../src/engine/engine.js';
import { loadHogwildWasm, wasmBackend } from '../src/backends/wasm/index.js';
import { hogwildTasksRunHere } from '../src/backends/wasm/hogwild.js';
import { loadNativeAddon } from '../src/backends/native/index.js';
import { allocateBprEpoch, bprEpochReference, type BprEpochArgs } from '../src/kernels/bprEpoch.js';
import { allocateSgdEpoch, sgdEpochReference, type SgdEpochArgs } from '../src/kernels/sgdEpoch.js';
import { hogwildStreams, xoshiroNext, xoshiroState } from '../src/data/xoshiro128.js';
import { csrFromTriplets } from '../src/data/matrix.js';
import { cloneTyped, sgdArgs, sgdProblem, bprArgs } from './helpers/epochs.js';
import { skip } from './helpers/skip.js';

const hw = loadHogwildWasm();

function sameArray(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  assert.is(got.length, want.length, `${name}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) assert.unreachable(`${name}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

const meanLoss = (out: Float64Array, steps: number): number => out[2] / (steps - out[1]);

test('hogwildStreams: distinct seeded streams, the caller\'s state advanced by four draws', () => {
  const s = xoshiroState(7), t = xoshiroState(7);
  const a = hogwildStreams(s, 3), b = hogwildStreams(t, 3);
  assert.equal(a.map((x) => Array.from(x)), b.map((x) => Array.from(x)), 'a function of the state');
  assert.is(new Set(a.map((x) => x.join(','))).size, 3, 'one stream per thread');
  const four = xoshiroState(7);
  for (let k = 0; k < 4; k++) xoshiroNext(four);
  sameArray('advanced state', s, four);
});

if (hw instanceof Error) {
  skip(test, 'wasm Hogwild', hw.message);
} else {
  const one = new Engine({ threads: 1 });
  const two = new Engine({ threads: 2 });
  test.after(async () => { await one.close(); await two.close(); });

  const bprVariants: Array<[string, Partial<BprEpochArgs>]> = [
    ['all, popularity negatives', {}],
    ['users only', { update: 'users' }],
    ['positive only', { update: 'positive' }],
    ['table negatives, no verification', { negatives: 'table', negativeCdf: Float64Array.from({ length: 90 }, (_, i) => (i + 1) / 90), verifyNegative: false }],
  ];

  test('bprEpoch, one worker: the reference run from worker 0\'s stream, bit for bit', async () => {
    for (const [what, extra] of bprVariants) {
      const a = bprArgs(120, 90, 3000, 12, 5, extra);
      const x = cloneTyped(a), r = cloneTyped(a);
      const out = await one.run('bprEpoch', { ...x, parallel: true }, { backend: 'wasm' });
      const ref = allocateBprEpoch();
      bprEpochReference({ ...r, rng: hogwildStreams(r.rng, 1)[0] }, ref, 0, a.samples);
      sameArray(`${what}: out`, out, ref);
      sameArray(`${what}: userFactors`, x.userFactors, r.userFactors);
      sameArray(`${what}: itemFactors`, x.itemFactors, r.itemFactors);
      sameArray(`${what}: rng`, x.rng, r.rng);
    }
  });

  test('bprEpoch, one worker: a separate seen matrix and popularity items', async () => {
    const a = bprArgs(80, 60, 1500, 8, 11);
    const seen = csrFromTriplets(80, 60, [0, 1, 2, 3], [5, 6, 7, 8], [1, 1, 1, 1]);
    const popularityItems = Int32Array.from({ length: 500 }, (_, i) => (i * 7) % 60);
    const x = cloneTyped(a), r = cloneTyped(a);
    const out = await one.run('bprEpoch', { ...x, seen, popularityItems, parallel: true }, { backend: 'wasm' });
    const ref = allocateBprEpoch();
    bprEpochReference({ ...r, seen, popularityItems, rng: hogwildStreams(r.rng, 1)[0] }, ref, 0, a.samples);
    sameArray('out', out, ref);
    sameArray('itemFactors', x.itemFactors, r.itemFactors);
  });

  test("sgdEpoch 'svd', one worker: the sequential pass, bit for bit", async () => {
    const p = sgdProblem(150, 80, 4000, 3);
    const variants: Array<[string, Partial<SgdEpochArgs>]> = [
      ['biased', {}], ['unbiased', { biased: false }], ['weighted', { weight: p.weight }], ['users only', { update: 'users' }],
    ];
    for (const [what, extra] of variants) {
      const a = sgdArgs(p, 'svd', 10, 4, extra);
      const x = cloneTyped(a), r = cloneTyped(a);
      const out = await one.run('sgdEpoch', { ...x, parallel: true }, { backend: 'wasm' });
      const ref = allocateSgdEpoch();
      sgdEpochReference(r, ref, 0, a.order.length);
      sameArray(`${what}: out`, out, ref);
      for (const k of ['bu', 'bi', 'pu', 'qi'] as const) sameArray(`${what}: ${k}`, x[k], r[k]);
    }
  });

  test('bprEpoch, two workers, learning rate 0: the counters are the sum over the workers\' streams and shares', async () => {
    const a = bprArgs(300, 120, 9001, 8, 17, { learningRate: 0 });
    const plan = wasmBackend.poolParallel!.bprEpoch!.plan({ ...cloneTyped(a), parallel: true }, allocateBprEpoch(), 0, a.samples, 2)!;
    const ranges = plan.tasks.map((t) => [t.rowStart, t.rowEnd]);
    plan.release();
    assert.equal(ranges, [[0, 4501], [4501, 9001]], 'the shares cover the samples');
    const x = cloneTyped(a);
    const before = hogwildTasksRunHere();
    const out = await two.run('bprEpoch', { ...x, parallel: true }, { backend: 'wasm' });
    assert.is(hogwildTasksRunHere(), before, 'ran in the pool workers');
    const r = cloneTyped(a);
    const streams = hogwildStreams(r.rng, 2);
    const ref = allocateBprEpoch();
    bprEpochReference({ ...r, rng: streams[0] }, ref, 0, 4501);
    bprEpochReference({ ...r, rng: streams[1] }, ref, 0, 4500);
    assert.is(out[0], ref[0], 'correct');
    assert.is(out[1], ref[1], 'skipped');
    assert.ok(Math.abs(out[2] - ref[2]) <= 1e-9 * ref[2], `loss ${out[2]} vs ${ref[2]}`);
    assert.ok(out[0] + out[1] <= a.samples && out[0] > 0 && out[1] > 0);
    sameArray('rng', x.rng, r.rng);
  });

  test('bprEpoch, two workers: trains in the workers as well as the sequential kernel', async () => {
    const a = bprArgs(400, 150, 12000, 16, 21);
    const run = async (parallel: boolean, epochs: number): Promise<{ loss: number; x: BprEpochArgs }> => {
      const x = cloneTyped(a);
      let loss = 0;
      for (let e = 0; e < epochs; e++) loss = meanLoss(await two.run('bprEpoch', { ...x, parallel }, { backend: 'wasm' }), a.samples);
      return { loss, x };
    };
    const before = hogwildTasksRunHere();
    const first = await run(true, 1);
    assert.is(hogwildTasksRunHere(), before, 'ran in the pool workers');
    let changed = 0;
    for (let i = 0; i < a.itemFactors.length; i++) if (first.x.itemFactors[i] !== a.itemFactors[i]) changed++;
    assert.ok(changed > 0.9 * a.itemFactors.length, `factors changed: ${changed} of ${a.itemFactors.length}`);
    const seq = await run(false, 20), par = await run(true, 20);
    assert.ok(seq.loss < 0.7 * first.loss, `the problem is learnable: ${first.loss} → ${seq.loss}`);
    assert.ok(Math.abs(par.loss - seq.loss) <= 0.05 * seq.loss, `loss after 20 epochs: Hogwild ${par.loss} vs sequential ${seq.loss}`);
  });

  test("sgdEpoch 'svd', two workers: every example visited once, the sequential pass's error reached", async () => {
    const p = sgdProblem(500, 200, 20000, 31);
    const a = sgdArgs(p, 'svd', 20, 32);
    const run = async (parallel: boolean, epochs: number): Promise<{ out: Float64Array; x: SgdEpochArgs }> => {
      const x = cloneTyped(a);
      let out = allocateSgdEpoch();
      for (let e = 0; e < epochs; e++) out = await two.run('sgdEpoch', { ...x, parallel }, { backend: 'wasm' });
      return { out, x };
    };
    const before = hogwildTasksRunHere();
    const first = await run(true, 1);
    assert.is(hogwildTasksRunHere(), before, 'ran in the pool workers');
    assert.is(first.out[1], a.order.length, 'examples counted');
    let changed = 0;
    for (let i = 0; i < a.pu.length; i++) if (first.x.pu[i] !== a.pu[i]) changed++;
    assert.ok(changed > 0.9 * a.pu.length, `factors changed: ${changed} of ${a.pu.length}`);
    const seq = await run(false, 10), par = await run(true, 10);
    assert.ok(Math.abs(par.out[0] - seq.out[0]) <= 0.02 * seq.out[0], `sse after 10 epochs: Hogwild ${par.out[0]} vs sequential ${seq.out[0]}`);
  });

  test('bad input is refused before any task runs; the caller\'s arrays and rng are untouched', async () => {
    const isRange = (re: RegExp) => (e: Error) => e instanceof RangeError && re.test(e.message);
    const plan = <K extends 'bprEpoch' | 'sgdEpoch'>(k: K, args: unknown) => () =>
      (wasmBackend.poolParallel![k]!.plan as (a: unknown, o: Float64Array, r0: number, r1: number, w: number) => unknown)(args, new Float64Array(3), 0, 100, 2);
    const a = bprArgs(50, 40, 600, 8, 2);
    const badUser = a.entryUser.slice(); badUser[3] = 50;
    const badItem = a.userItems.indices.slice(); badItem[0] = 40;
    const x = cloneTyped(a);
    const rng0 = Array.from(x.rng), y0 = x.itemFactors.slice();
    assert.throws(plan('bprEpoch', { ...x, entryUser: badUser, parallel: true }), isRange(/entryUser\[3\] = 50/));
    assert.throws(plan('bprEpoch', { ...x, userItems: { ...x.userItems, indices: badItem }, parallel: true }), isRange(/item index 40/));
    assert.throws(plan('bprEpoch', { ...x, rng: new Uint32Array(3), parallel: true }), isRange(/rng/));
    assert.throws(plan('bprEpoch', { ...x, userFactors: new Float32Array(7), parallel: true }), isRange(/userFactors/));
    const seen = csrFromTriplets(50, 40, [1], [39], [1]);
    seen.indices[0] = 41;
    assert.throws(plan('bprEpoch', { ...x, seen, parallel: true }), isRange(/seen item index 41/));
    sameArray('rng', x.rng, rng0);
    sameArray('itemFactors', x.itemFactors, y0);
    // through the engine: refused, nothing ran here or in a worker (the factors and rng are the caller's)
    const before = hogwildTasksRunHere();
    let err: unknown = null;
    try { await two.run('bprEpoch', { ...x, entryUser: badUser, parallel: true }, { backend: 'wasm' }); } catch (e) { err = e; }
    assert.ok(err instanceof Error && /entryUser\[3\] = 50/.test(err.message), String(err));
    assert.is(hogwildTasksRunHere(), before);
    sameArray('rng after the engine call', x.rng, rng0);
    sameArray('itemFactors after the engine call', x.itemFactors, y0);

    const p = sgdProblem(30, 20, 100, 9);
    const s = sgdArgs(p, 'svd', 4, 1);
    const badOrder = s.order.slice(); badOrder[7] = 100;
    assert.throws(plan('sgdEpoch', { ...s, order: badOrder, parallel: true }), isRange(/order\[7\] = 100/));
    assert.throws(plan('sgdEpoch', { ...sgdArgs(p, 'svdpp', 4, 1), parallel: true }), isRange(/'svd' only/));
    assert.throws(plan('sgdEpoch', { ...s, pu: new Float32Array(3), parallel: true }), isRange(/pu has length 3/));
  });

  const native = loadNativeAddon();
  if ('error' in native) {
    skip(test, 'wasm Hogwild draws the native core\'s streams', `native addon unavailable: ${String(native.error)}`);
  } else {
    test('wasm Hogwild draws the native core\'s streams: one thread, the same skips and advanced rng, factors within float32 rounding', async () => {
      const a = bprArgs(400, 150, 12000, 16, 21);
      const x = cloneTyped(a), y = cloneTyped(a);
      const w = await one.run('bprEpoch', { ...x, parallel: true }, { backend: 'wasm' });
      const n = await one.run('bprEpoch', { ...y, parallel: true }, { backend: 'native' });
      assert.is(w[1], n[1], 'skipped: the same negatives drawn');
      sameArray('rng', x.rng, y.rng);
      let worst = 0;
      for (let i = 0; i < x.itemFactors.length; i++) worst = Math.max(worst, Math.abs(x.itemFactors[i] - y.itemFactors[i]));
      assert.ok(worst < 1e-5, `max |Δ itemFactors| ${worst}`);
    });
  }
}

test.run();
