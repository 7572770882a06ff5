/**
 * The native backend's sgdEpoch and bprEpoch against their references (src/kernels/sgdEpoch.ts,
 * src/kernels/bprEpoch.ts).
 *
 * sgdEpoch: bit for bit — the same float64 expressions on the same float32 parameters in the same
 * order (native/core/src/sgd_epoch.cpp, compiled without FMA contraction), so parameters and
 * [sse, count] must be identical (Object.is).
 * bprEpoch: the xoshiro128** stream is ported exactly, so the rng state after every epoch and the
 * skipped count must be identical; exp/log1p are the C library's rather than V8's, which may
 * differ in the last bit, so factors are compared within 1e-5·max(1, |reference|), the loss
 * within 1e-9 relative and the correct count within 0.5% of the steps (a z at exactly 0.5 may
 * tip either way). The file reports whether a run happened to be bit-identical.
 *
 * Without a built addon (or one without these kernels) it prints `SKIP native epochs: <reason>`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nativeBackend, loadNativeAddon, callSgdEpoch, callBprEpoch, type NativeAddon, type NativeSgdEpochCall, type NativeBprEpochCall } from '../src/backends/native/index.js';
import { allocateSgdEpoch, sgdEpochReference, validateSgdEpoch, type SgdEpochArgs } from '../src/kernels/sgdEpoch.js';
import { allocateBprEpoch, bprEpochReference, validateBprEpoch, type BprEpochArgs } from '../src/kernels/bprEpoch.js';
import { xoshiroState } from '../src/data/xoshiro128.js';
import type { Csr } from '../src/data/matrix.js';
import { cloneTyped, sgdArgs, sgdProblem, bprArgs } from './helpers/epochs.js';
import { skip } from './helpers/skip.js';
import { Engine } from '../src/engine/engine.js';

const engine = new Engine({ threads: 2 });

function sameArray(x: ArrayLike<number>, y: ArrayLike<number>, label: string): void {
  assert.is(x.length, y.length, `${label}: length`);
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i])) assert.unreachable(`${label}[${i}]: native ${x[i]} vs reference ${y[i]}`);
  }
}

function closeArray(x: ArrayLike<number>, y: ArrayLike<number>, label: string, rel = 1e-5): void {
  assert.is(x.length, y.length, `${label}: length`);
  for (let i = 0; i < x.length; i++) {
    if (!(Math.abs(x[i] - y[i]) <= rel * Math.max(1, Math.abs(y[i])))) assert.unreachable(`${label}[${i}]: native ${x[i]} vs reference ${y[i]}`);
  }
}

const probe = await nativeBackend.probe();
const loaded = loadNativeAddon();
const addon = ('addon' in loaded ? loaded.addon : null) as NativeAddon | null;

if (!probe.available || !addon || typeof addon.sgdEpoch !== 'function' || typeof addon.bprEpoch !== 'function') {
  const reason = !probe.available || !addon ? probe.reason : 'the built affinity_native.node has no sgdEpoch/bprEpoch (rebuild: npx affinity build)';
  skip(test, 'native epochs', reason);
  test('native epochs: the skip reason says what is missing', () => {
    assert.ok(reason.length > 0);
  });
} else {
  /** `epochs` passes (each over [r0, r1) of order) on the reference and natively, compared exactly. */
  const conformSgd = async (a: SgdEpochArgs, label: string, epochs = 3, range?: [number, number]): Promise<void> => {
    validateSgdEpoch(a);
    const ref = cloneTyped(a), got = cloneTyped(a);
    const outR = allocateSgdEpoch(), outN = allocateSgdEpoch();
    const [r0, r1] = range ?? [0, a.order.length];
    for (let e = 0; e < epochs; e++) {
      const sseR = sgdEpochReference(ref, outR, r0, r1);
      const sseN = await callSgdEpoch(addon, got, outN, r0, r1);
      assert.ok(Object.is(sseN, sseR), `${label} epoch ${e}: sse ${sseN} vs ${sseR}`);
      sameArray(outN, outR, `${label} epoch ${e} out`);
    }
    for (const k of ['bu', 'bi', 'pu', 'qi', 'yj'] as const) {
      if (ref[k]) sameArray(got[k]!, ref[k]!, `${label} ${k}`);
    }
    assert.ok(outR[0] > 0 && Number.isFinite(outR[0]), `${label}: a finite, positive sse`);
    const changed = ref.pu.some((v, i) => v !== a.pu[i]);
    assert.ok(changed || r0 === r1, `${label}: the passes changed pu`);
  };

  let bprRuns = 0, bprBitIdentical = 0;
  const conformBpr = async (a: BprEpochArgs, label: string, epochs = 3): Promise<void> => {
    validateBprEpoch(a);
    const ref = cloneTyped(a), got = cloneTyped(a);
    const outR = allocateBprEpoch(), outN = allocateBprEpoch();
    for (let e = 0; e < epochs; e++) {
      bprEpochReference(ref, outR, 0, a.samples);
      await callBprEpoch(addon, got, outN, 0, a.samples);
      sameArray(got.rng, ref.rng, `${label} epoch ${e} rng`);
      assert.is(outN[1], outR[1], `${label} epoch ${e} skipped`);
      assert.ok(Math.abs(outN[0] - outR[0]) <= 0.005 * a.samples * (e + 1), `${label} epoch ${e} correct ${outN[0]} vs ${outR[0]}`);
      assert.ok(Math.abs(outN[2] - outR[2]) <= 1e-9 * Math.abs(outR[2]) + 1e-12, `${label} epoch ${e} loss ${outN[2]} vs ${outR[2]}`);
    }
    closeArray(got.userFactors, ref.userFactors, `${label} userFactors`);
    closeArray(got.itemFactors, ref.itemFactors, `${label} itemFactors`);
    bprRuns++;
    if ([...got.userFactors].every((v, i) => Object.is(v, ref.userFactors[i])) && [...got.itemFactors].every((v, i) => Object.is(v, ref.itemFactors[i]))) bprBitIdentical++;
    assert.ok(outR[0] > 0 && outR[2] > 0, `${label}: some correct steps and some loss`);
    assert.not.equal([...ref.rng], [...a.rng], `${label}: the rng advanced`);
  };

  test('native sgdEpoch / bprEpoch: listed by the backend', () => {
    assert.type(nativeBackend.kernels.sgdEpoch, 'function');
    assert.type(nativeBackend.kernels.bprEpoch, 'function');
  });

  test('native sgdEpoch: svd (biased, unbiased, weighted, users-only, sub-range) equals the reference bit for bit', async () => {
    const p = sgdProblem(40, 30, 300, 200);
    for (const F of [1, 5, 16]) {
      await conformSgd(sgdArgs(p, 'svd', F, 201), `svd F=${F}`);
      await conformSgd(sgdArgs(p, 'svd', F, 202, { biased: false }), `svd unbiased F=${F}`);
      await conformSgd(sgdArgs(p, 'svd', F, 203, { weight: p.weight }), `svd weighted F=${F}`);
      await conformSgd(sgdArgs(p, 'svd', F, 204, { update: 'users' }), `svd users F=${F}`);
      await conformSgd(sgdArgs(p, 'svd', F, 205), `svd range F=${F}`, 2, [50, 200]);
    }
  });

  test('native sgdEpoch: svdpp (grouped and shuffled orders, users-only) and nmf equal the reference bit for bit', async () => {
    const p = sgdProblem(35, 25, 250, 210);
    for (const F of [1, 4, 7]) {
      await conformSgd(sgdArgs(p, 'svdpp', F, 211), `svdpp F=${F}`);
      await conformSgd(sgdArgs(p, 'svdpp', F, 212, { weight: p.weight }), `svdpp weighted F=${F}`);
      const shuffled = sgdArgs(p, 'svd', F, 213);
      await conformSgd({ ...sgdArgs(p, 'svdpp', F, 213), order: shuffled.order }, `svdpp shuffled F=${F}`);
      await conformSgd(sgdArgs(p, 'svdpp', F, 214, { update: 'users' }), `svdpp users F=${F}`);
      await conformSgd(sgdArgs(p, 'nmf', F, 215), `nmf F=${F}`);
      await conformSgd(sgdArgs(p, 'nmf', F, 216, { biased: true }), `nmf biased F=${F}`);
      await conformSgd(sgdArgs(p, 'nmf', F, 217, { update: 'users' }), `nmf users F=${F}`);
    }
    const empty = sgdArgs(p, 'svdpp', 3, 218);
    const noN: Csr = { ...p.seen, indptr: new Int32Array(p.nu + 1), indices: new Int32Array(0), data: new Float32Array(0) };
    await conformSgd({ ...empty, implicitItems: noN }, 'svdpp empty N(u)');
  });

  test('native bprEpoch: the xoshiro128** stream and skips exactly, factors and loss within tolerance', async () => {
    for (const F of [1, 8, 13]) {
      await conformBpr(bprArgs(30, 25, 200, F, 300 + F), `bpr F=${F}`);
      await conformBpr(bprArgs(30, 25, 200, F, 310 + F, { verifyNegative: false }), `bpr no verify F=${F}`);
      const t = bprArgs(30, 25, 200, F, 320 + F);
      const cdf = new Float64Array(25);
      for (let i = 0, acc = 0; i < 25; i++) { acc += 1 + (i % 4); cdf[i] = acc; }
      for (let i = 0; i < 25; i++) cdf[i] /= cdf[24];
      await conformBpr({ ...t, negatives: 'table', negativeCdf: cdf }, `bpr table F=${F}`);
      const uniform = Float64Array.from({ length: 25 }, (_, i) => (i + 1) / 25);
      await conformBpr({ ...bprArgs(30, 25, 200, F, 370 + F), negatives: 'table', negativeCdf: uniform }, `bpr uniform F=${F}`);
      await conformBpr(bprArgs(30, 25, 200, F, 330 + F, { update: 'users' }), `bpr users F=${F}`);
      await conformBpr(bprArgs(30, 25, 200, F, 340 + F, { update: 'positive' }), `bpr positive F=${F}`);
      const s = bprArgs(30, 25, 200, F, 350 + F);
      const more = sgdProblem(30, 25, 320, 360 + F).seen;
      await conformBpr({ ...s, seen: more, popularityItems: more.indices }, `bpr seen/popularity F=${F}`);
    }
    // larger: 2000 users × 500 items, 20k interactions, 5 epochs
    await conformBpr(bprArgs(2000, 500, 20000, 32, 999), 'bpr 2000x500x20k F=32', 5);
    console.log(`  bprEpoch: ${bprBitIdentical} of ${bprRuns} runs bit-identical to the reference`);
  });

  test('native sgdEpoch / bprEpoch through the engine update the caller\'s arrays', async () => {
    const { getEngine } = await import('../src/engine/processEngine.js');
    const p = sgdProblem(20, 15, 120, 400);
    const a = sgdArgs(p, 'svd', 6, 401);
    const ref = cloneTyped(a);
    const outR = allocateSgdEpoch();
    sgdEpochReference(ref, outR, 0, a.order.length);
    const r = await getEngine().runDetailed('sgdEpoch', a, { backend: 'native' });
    assert.is(r.backend, 'native');
    sameArray(r.out, outR, 'engine sgd out');
    sameArray(a.pu, ref.pu, 'engine sgd pu');
    const b = bprArgs(20, 15, 120, 4, 402);
    const refB = cloneTyped(b);
    bprEpochReference(refB, allocateBprEpoch(), 0, b.samples);
    const rb = await getEngine().runDetailed('bprEpoch', b, { backend: 'native' });
    assert.is(rb.backend, 'native');
    sameArray(b.rng, refB.rng, 'engine bpr rng');
    closeArray(b.itemFactors, refB.itemFactors, 'engine bpr itemFactors');
  });

  test('native sgdEpoch / bprEpoch: the addon validates every argument before running', () => {
    const p = sgdProblem(6, 5, 12, 7);
    const F = 2;
    const goodSgd = (): NativeSgdEpochCall => ({
      algorithm: 'svd', factors: F, user: p.user.slice(), item: p.item.slice(), rating: p.rating.slice(), order: Int32Array.from({ length: 12 }, (_, i) => i),
      globalMean: 3, biased: true, lr: { bu: 0.01, bi: 0.01, pu: 0.01, qi: 0.01, yj: 0.01 }, reg: { bu: 0.02, bi: 0.02, pu: 0.02, qi: 0.02, yj: 0.02 },
      bu: new Float32Array(6), bi: new Float32Array(5), pu: new Float32Array(12), qi: new Float32Array(10),
      update: 'all', rowStart: 0, rowEnd: 12, out: new Float64Array(2),
    });
    const sgd = (over: Record<string, unknown>) => addon.sgdEpoch!({ ...goodSgd(), ...over } as NativeSgdEpochCall);
    const isRange = (re?: RegExp) => (e: Error) => e instanceof RangeError && (!re || re.test(e.message));
    const isType = (re?: RegExp) => (e: Error) => e instanceof TypeError && (!re || re.test(e.message));
    const badUser = p.user.slice(); badUser[3] = 6;
    const badItem = p.item.slice(); badItem[5] = -1;
    assert.throws(() => sgd({ user: badUser }), isRange(/user index 6/));
    assert.throws(() => sgd({ item: badItem }), isRange(/item index -1/));
    assert.throws(() => sgd({ order: Int32Array.from({ length: 12 }, (_, i) => (i === 4 ? 12 : i)) }), isRange(/order\[4\] = 12/));
    assert.throws(() => sgd({ rating: new Float32Array(11) }), isRange(/rating has length 11/));
    assert.throws(() => sgd({ pu: new Float32Array(11) }), isRange(/pu has length 11/));
    assert.throws(() => sgd({ qi: new Float32Array(11) }), isRange(/qi has length 11/));
    assert.throws(() => sgd({ weight: new Float32Array(3) }), isRange(/weight has length 3/));
    assert.throws(() => sgd({ rowEnd: 13 }), isRange(/rowEnd/));
    assert.throws(() => sgd({ algorithm: 'als' }), isRange(/unknown algorithm/));
    assert.throws(() => sgd({ algorithm: 'svdpp' }), isType(/yj/));
    assert.throws(() => sgd({ update: 'items' }), isRange(/unknown update/));
    assert.throws(() => sgd({ lr: { bu: 0.1 } }), isType(/lr\.bi/));
    assert.throws(() => sgd({ out: new Float64Array(1) }), isRange(/out/));
    assert.throws(() => sgd({ pu: new Float64Array(12) }), isType(/pu must be a Float32Array/));
    const shared = new Float32Array(20);
    assert.throws(() => sgd({ pu: shared.subarray(0, 12), qi: shared.subarray(10, 20) }), isRange(/overlap/));
    const nBad = Int32Array.from(p.seen.indices); nBad[0] = 9;
    assert.throws(() => sgd({ algorithm: 'svdpp', yj: new Float32Array(10), nIndptr: Int32Array.from(p.seen.indptr), nIndices: nBad }), isRange(/implicitItems index 9/));

    const b = bprArgs(6, 5, 12, F, 8);
    const goodBpr = (): NativeBprEpochCall => ({
      factors: F, users: 6, items: 5, indptr: Int32Array.from(b.userItems.indptr), indices: b.userItems.indices.slice(), entryUser: b.entryUser.slice(),
      userFactors: b.userFactors.slice(), itemFactors: b.itemFactors.slice(), learningRate: 0.05, regularization: 0.01,
      verifyNegative: true, update: 'all', rng: xoshiroState(1), steps: 10, out: new Float64Array(3),
    });
    const bpr = (over: Record<string, unknown>) => addon.bprEpoch!({ ...goodBpr(), ...over } as NativeBprEpochCall);
    const badIdx = b.userItems.indices.slice(); badIdx[2] = 5;
    const badEu = b.entryUser.slice(); badEu[1] = 6;
    assert.throws(() => bpr({ indices: badIdx }), isRange(/item index 5/));
    assert.throws(() => bpr({ entryUser: badEu }), isRange(/entryUser 6/));
    assert.throws(() => bpr({ entryUser: new Int32Array(3) }), isRange(/entryUser has length 3/));
    assert.throws(() => bpr({ indptr: new Int32Array(6) }), isRange(/indptr has length 6/));
    assert.throws(() => bpr({ userFactors: new Float32Array(5) }), isRange(/userFactors/));
    assert.throws(() => bpr({ itemFactors: new Float32Array(5) }), isRange(/itemFactors/));
    assert.throws(() => bpr({ rng: new Uint32Array(3) }), isRange(/rng/));
    assert.throws(() => bpr({ rng: new Int32Array(4) }), isType(/rng/));
    assert.throws(() => bpr({ negativeCdf: new Float64Array(4) }), isRange(/negativeCdf/));
    assert.throws(() => bpr({ popularityItems: Int32Array.from([0, 7]) }), isRange(/popularityItems/));
    assert.throws(() => bpr({ popularityItems: new Int32Array(0) }), isRange(/popularityItems is empty/));
    assert.throws(() => bpr({ seenIndptr: new Int32Array(7) }), isType(/both/));
    assert.throws(() => bpr({ update: 'items' }), isRange(/unknown update/));
    assert.throws(() => bpr({ indptr: new Int32Array(7) }), isRange(/no interactions/));
    assert.throws(() => sgd({ algorithm: 'nmf', parallel: true }), isRange(/'svd' only/));
  });

  // ---- parallel (Hogwild) epochs: not bit-exact (float32, own streams), so compared by what they learn
  const meanLoss = (out: Float64Array, steps: number): number => out[2] / (steps - out[1]);

  test('parallel bprEpoch: one thread repeats itself; two threads train as well as the sequential kernel', async () => {
    const a = bprArgs(400, 150, 12000, 16, 21);
    const run = async (parallel: boolean, threads: number, epochs: number): Promise<number> => {
      const x = cloneTyped(a);
      let loss = 0;
      for (let e = 0; e < epochs; e++) {
        const out = allocateBprEpoch();
        await callBprEpoch(addon, { ...x, parallel }, out, 0, a.samples, undefined, threads);
        loss = meanLoss(out, a.samples);
      }
      return loss;
    };
    const seq = await run(false, 1, 20), first = await run(false, 1, 1);
    assert.ok(seq < 0.7 * first, `the problem is learnable: ${first} → ${seq}`);
    assert.is(await run(true, 1, 3), await run(true, 1, 3), 'one Hogwild thread is reproducible');
    for (const threads of [1, 2]) {
      const par = await run(true, threads, 20);
      assert.ok(Math.abs(par - seq) <= 0.05 * seq, `${threads} thread(s): loss after 20 epochs ${par} vs sequential ${seq}`);
    }
    // the engine hands the kernel its threads; the reference runs a parallel call sequentially
    const x = cloneTyped(a), y = cloneTyped(a);
    const outE = await engine.run('bprEpoch', { ...x, parallel: true }, { backend: 'native' });
    const outJ = await engine.run('bprEpoch', { ...y, parallel: true }, { backend: 'js' });
    assert.ok(Math.abs(meanLoss(outE, a.samples) - meanLoss(outJ, a.samples)) < 0.02, `engine: native ${meanLoss(outE, a.samples)} vs js ${meanLoss(outJ, a.samples)}`);
  });

  test("parallel sgdEpoch 'svd': one thread follows the sequential pass within float32 rounding; two threads reach its error", async () => {
    const p = sgdProblem(500, 200, 20000, 31);
    const a = sgdArgs(p, 'svd', 20, 32);
    const run = async (parallel: boolean, threads: number, epochs: number): Promise<{ sse: number; pu: Float32Array }> => {
      const x = cloneTyped(a);
      let sse = 0;
      for (let e = 0; e < epochs; e++) sse = await callSgdEpoch(addon, { ...x, parallel }, allocateSgdEpoch(), 0, a.order.length, undefined, threads);
      return { sse, pu: x.pu };
    };
    const seq = await run(false, 1, 10), one = await run(true, 1, 10), two = await run(true, 2, 10);
    let worst = 0;
    for (let i = 0; i < seq.pu.length; i++) worst = Math.max(worst, Math.abs(seq.pu[i] - one.pu[i]));
    assert.ok(worst < 1e-4, `one thread: max |Δpu| ${worst}`);
    assert.ok(Math.abs(one.sse - seq.sse) <= 1e-4 * seq.sse, `one thread: sse ${one.sse} vs ${seq.sse}`);
    assert.ok(Math.abs(two.sse - seq.sse) <= 0.02 * seq.sse, `two threads: sse ${two.sse} vs ${seq.sse}`);
  });
}

test.after(() => engine.close());

test.run();
