/**
 * indicesInRange (src/kernels/indexRange.ts), the kernels' index check: the JavaScript loop and the
 * native addon's int32InRange (native/addon/index_range_args.h, registered by the native backend's
 * probe) give the same answer on the same arrays — values at and around the bounds, one bad value
 * at the start, middle or end of arrays above the size where the native scan takes over, fractional
 * limits — and sgdEpoch's / bprEpoch's validation reports the same error either way. The addon's
 * own argument checks are tested too. Without a built addon the native half prints SKIP.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { indicesInRange, useNativeIndexRangeCheck, NATIVE_RANGE_CHECK_MIN, type IndexRangeCheck } from '../src/kernels/indexRange.js';
import { nativeBackend, loadNativeAddon } from '../src/backends/native/index.js';
import { validateSgdEpoch } from '../src/kernels/sgdEpoch.js';
import { validateBprEpoch } from '../src/kernels/bprEpoch.js';
import { xoshiroState } from '../src/data/xoshiro128.js';
import { skip } from './helpers/skip.js';

function js(v: ArrayLike<number>, limit: number): boolean {
  for (let k = 0; k < v.length; k++) if (!(v[k] >= 0 && v[k] < limit)) return false;
  return true;
}

/** Arrays of n values in [0, limit) with `bad` written at `at` (when given). */
function array(n: number, limit: number, at?: number, bad?: number): Int32Array {
  const v = new Int32Array(n);
  for (let k = 0; k < n; k++) v[k] = (k * 2654435761) % limit >>> 0;
  if (at !== undefined) v[at] = bad!;
  return v;
}

const big = NATIVE_RANGE_CHECK_MIN + 12345;

test('indicesInRange without a registered scan is the JavaScript check', () => {
  useNativeIndexRangeCheck(null);
  for (const [v, limit, want] of [
    [new Int32Array(0), 0, true], [Int32Array.of(0), 0, false], [Int32Array.of(0), 0.5, true], [Int32Array.of(0, 4), 5, true],
    [Int32Array.of(0, 5), 5, false], [Int32Array.of(-1, 2), 5, false], [Int32Array.of(2147483647), 2147483648, true],
    [Int32Array.of(-2147483648), 10, false], [[1, 2.5, 3], 4, true], [[1, NaN], 4, false],
  ] as Array<[ArrayLike<number>, number, boolean]>) assert.is(indicesInRange(v, limit), want, `${Array.from(v)} < ${limit}`);
});

const r = loadNativeAddon();
const loaded = 'error' in r ? r.error : typeof r.addon.int32InRange !== 'function' ? 'the built addon has no int32InRange (rebuild it)' : r.addon;
if (typeof loaded === 'string') {
  skip(test, 'native int32InRange', loaded);
} else {
  const addon = loaded;
  const native: IndexRangeCheck = (v, limit) => addon.int32InRange!(v, limit);

  test('int32InRange agrees with the JavaScript check around the bounds and on large arrays', () => {
    const limit = 138000;
    const cases: Array<[Int32Array, number]> = [];
    for (const n of [0, 1, 17, 1000, big]) cases.push([array(n, limit), limit]);
    for (const at of [0, big >> 1, big - 1]) {
      for (const bad of [-1, limit, limit + 1, -2147483648, 2147483647]) cases.push([array(big, limit, at, bad), limit]);
      cases.push([array(big, limit, at, limit - 1), limit]);
    }
    for (const limit2 of [0, 0.25, limit - 0.5, limit + 0.5, 2 ** 31, 2 ** 40]) cases.push([array(big, limit), limit2]);
    let bad = 0;
    for (const [v, l] of cases) {
      const want = js(v, l);
      bad += want ? 0 : 1;
      assert.is(native(v, l), want, `native, ${v.length} values < ${l}`);
    }
    assert.ok(bad > 0 && bad < cases.length, 'cases both in and out of range');
  });

  test('int32InRange rejects what it cannot check', () => {
    assert.throws(() => addon.int32InRange!(new Float32Array(3) as unknown as Int32Array, 4), (e: unknown) => e instanceof TypeError && /Int32Array/.test((e as Error).message));
    assert.throws(() => (addon.int32InRange as unknown as (v: unknown) => boolean)(new Int32Array(3)), (e: unknown) => e instanceof TypeError && /limit/.test((e as Error).message));
    for (const limit of [NaN, -1, Infinity]) assert.throws(() => addon.int32InRange!(new Int32Array(3), limit), (e: unknown) => e instanceof RangeError && /limit/.test((e as Error).message), String(limit));
  });

  test('the native backend registers the scan; sgdEpoch and bprEpoch report the same errors with it', () => {
    useNativeIndexRangeCheck(null);
    nativeBackend.probe();
    const n = big, nu = 1000, ni = 300, F = 2;
    const sgd = (badAt?: number) => ({
      algorithm: 'svd' as const, factors: F, user: array(n, nu, badAt, nu), item: array(n, ni), rating: new Float32Array(n), order: array(n, n), globalMean: 0, biased: true,
      lr: { bu: 0.01, bi: 0.01, pu: 0.01, qi: 0.01, yj: 0.01 }, reg: { bu: 0.01, bi: 0.01, pu: 0.01, qi: 0.01, yj: 0.01 },
      bu: new Float32Array(nu), bi: new Float32Array(ni), pu: new Float32Array(nu * F), qi: new Float32Array(ni * F),
    });
    const message = (f: () => void): string => { try { f(); return 'no error'; } catch (e) { return (e as Error).message; } };
    const withNative = [message(() => validateSgdEpoch(sgd())), message(() => validateSgdEpoch(sgd(n - 1)))];
    // the same rows, per user, for bprEpoch: a bad item at the very end
    const indptr = new Int32Array(nu + 1);
    for (let u = 0; u <= nu; u++) indptr[u] = Math.floor((n * u) / nu);
    const entryUser = new Int32Array(n);
    for (let u = 0; u < nu; u++) entryUser.fill(u, indptr[u], indptr[u + 1]);
    const bpr = (bad: boolean) => ({
      userItems: { rows: nu, cols: ni, indptr, indices: array(n, ni, bad ? n - 1 : undefined, ni), data: new Float32Array(n) }, entryUser,
      userFactors: new Float32Array(nu * (F + 1)), itemFactors: new Float32Array(ni * (F + 1)), factors: F, learningRate: 0.01, regularization: 0.01,
      verifyNegative: false, negatives: 'popularity' as const, samples: 10, rng: xoshiroState(1), popularityItems: array(n, ni, bad ? 7 : undefined, -3),
    });
    withNative.push(message(() => validateBprEpoch(bpr(false))), message(() => validateBprEpoch(bpr(true))));
    useNativeIndexRangeCheck(null);
    const withJs = [message(() => validateSgdEpoch(sgd())), message(() => validateSgdEpoch(sgd(n - 1))), message(() => validateBprEpoch(bpr(false))), message(() => validateBprEpoch(bpr(true)))];
    assert.equal(withNative, withJs);
    assert.is(withJs[0], 'no error');
    assert.match(withJs[1], /user index 1000/);
    assert.is(withJs[2], 'no error');
    assert.match(withJs[3], /item index 300 out of range/);
  });
}

test.run();
