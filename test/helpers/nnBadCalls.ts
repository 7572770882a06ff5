/**
 * Bad calls of the neural-network kernels' options objects (native/addon/nn_args.h), each with the
 * error it must throw on the JS thread before a worker is queued: shared by the native addon's
 * test (native.nn.test.ts) and the CUDA module's (cuda.nn.test.ts), which parse and validate with
 * the same code.
 */
import * as assert from 'uvu/assert';
import { NATIVE_ONLY_NN_KERNELS } from '../../src/backends/native/nnCalls.js';

/** Kernels that only the native module binds (not in AFFINITY_NN_KERNELS). */
const NATIVE_ONLY = new Set<string>(NATIVE_ONLY_NN_KERNELS);

type NnBadCall = [kernel: string, options: Record<string, unknown>, type: 'TypeError' | 'RangeError', message: RegExp];

function nnBadCalls(): NnBadCall[] {
  const f = (n: number) => new Float32Array(n);
  const base = { rows: 6, cols: 10, x: f(60), activation: 'relu', out: f(60) };
  const shared = f(120);
  return [
    ['biasActivation', { ...base, x: new Float64Array(60) }, 'TypeError', /^biasActivation: x must be a Float32Array$/],
    ['biasActivation', { ...base, x: f(59) }, 'RangeError', /x has length 59, expected rows\*cols = 60/],
    ['biasActivation', { ...base, bias: f(3) }, 'RangeError', /bias has length 3, expected cols = 10/],
    ['biasActivation', { ...base, bias: f(0) }, 'RangeError', /bias has length 0, expected cols = 10/],
    ['biasActivation', { ...base, activation: 'swish' }, 'RangeError', /unknown activation 'swish'/],
    ['biasActivation', { ...base, x: shared.subarray(0, 60), out: shared.subarray(30, 90) }, 'RangeError', /out overlaps x/],
    ['biasActivation', { ...base, rowEnd: 7 }, 'RangeError', /row range \[0, 7\) is not inside \[0, rows = 6\]/],
    ['biasActivation', { ...base, threads: 0 }, 'RangeError', /threads must be in \[1, /],
    ['biasActivation', { ...base, rows: -1 }, 'RangeError', /rows must be in \[0, /],
    ['activationBackward', { ...base, gradOut: f(12) }, 'RangeError', /gradOut has length 12, expected rows\*cols = 60/],
    ['columnSums', { rows: 6, cols: 10, x: f(60), out: f(10), rowEnd: 11 }, 'RangeError', /not inside \[0, cols = 10\]/],
    ['layerNorm', { rows: 6, cols: 10, x: f(60), gamma: f(10), beta: f(10), eps: 0, y: f(60), mean: f(6), rstd: f(6) }, 'RangeError', /eps must be > 0/],
    ['layerNormParamGrad', { rows: 6, cols: 10, x: f(60), mean: f(6), rstd: f(6), gradOut: f(60), gradGamma: shared.subarray(0, 10), gradBeta: shared.subarray(5, 15) }, 'RangeError', /gradBeta overlaps gradGamma/],
    ['maskedSoftmax', { rows: 6, cols: 10, scores: f(60), queries: 4, out: f(60) }, 'RangeError', /scores has 6 rows, not a multiple of queries = 4/],
    ['maskedSoftmax', { rows: 6, cols: 10, scores: f(60), keyValid: new Int8Array(10), out: f(60) }, 'TypeError', /keyValid must be a Uint8Array/],
    ['maskedSoftmax', { rows: 6, cols: 10, scores: f(60), keyValid: new Uint8Array(15), out: f(60) }, 'RangeError', /keyValid has length 15, not a positive multiple of the 10 keys/],
    ['softmaxCrossEntropy', { rows: 2, cols: 10, logits: f(20), targets: new Int32Array([1, 2]), targetWeights: f(20), loss: f(2), grad: f(20) }, 'TypeError', /give exactly one of targets and targetWeights/],
    ['softmaxCrossEntropy', { rows: 2, cols: 10, logits: f(20), targets: new Int32Array([1, 10]), loss: f(2), grad: f(20) }, 'RangeError', /targets\[1\] = 10 is outside \[-1, 10\)/],
    ['softmaxCrossEntropy', { rows: 2, cols: 10, logits: f(20), targetWeights: Float32Array.from({ length: 20 }, (_, i) => (i === 7 ? -1 : 0)), loss: f(2), grad: f(20) }, 'RangeError', /targetWeights\[7\] = -1 is not a finite weight/],
    ['sigmoidCrossEntropy', { logits: f(4), targets: Float32Array.of(2, 0, 0, 0), loss: f(4), grad: f(4) }, 'RangeError', /targets\[0\] = 2 is outside \[0, 1\]/],
    ['embeddingGather', { vocab: 10, dim: 6, table: f(60), ids: new Float32Array(3), out: f(18) }, 'TypeError', /ids must be an Int32Array/],
    ['embeddingGather', { vocab: 10, dim: 6, table: f(60), ids: Int32Array.of(0, 3, 10), out: f(18) }, 'RangeError', /ids\[2\] = 10 is outside \[-1, 10\)/],
    ['embeddingGather', { vocab: 10, dim: 6, table: f(60), ids: Int32Array.of(-2), out: f(6) }, 'RangeError', /ids\[0\] = -2 is outside \[-1, 10\)/],
    ['segmentSum', { rows: 10, dim: 6, src: f(60), offsets: Int32Array.of(0, 3, 2), positions: Int32Array.of(0, 1, 2), out: f(12) }, 'RangeError', /offsets decrease at 2 \(3 → 2\)/],
    ['segmentSum', { rows: 10, dim: 6, src: f(60), offsets: Int32Array.of(0, 2, 3), positions: Int32Array.of(0, 1, 2, 3), out: f(12) }, 'RangeError', /offsets end at 3, expected positions.length = 4/],
    ['segmentSum', { rows: 10, dim: 6, src: f(60), offsets: Int32Array.of(0, 2), positions: Int32Array.of(0, -2), out: f(6) }, 'RangeError', /positions\[1\] = -2 is outside \[-1, 10\)/],
    ['dropout', { x: f(8), rate: 1, seed: 1, out: f(8) }, 'RangeError', /rate must be in \[0, 1\), got 1/],
    ['dropout', { x: f(8), rate: 0.5, seed: -1, out: f(8) }, 'RangeError', /seed must be in \[0, 4294967295\], got -1/],
    ['adamUpdate', { dim: 2, params: f(8), grads: f(6), m: f(8), v: f(8), rowIds: Int32Array.of(1, 0, 1), step: 1, lr: 0.1 }, 'RangeError', /rowIds\[2\] = 1 repeats an earlier row/],
    ['adamUpdate', { dim: 2, params: f(8), grads: f(4), m: f(8), v: f(8), rowIds: Int32Array.of(1, 4), step: 1, lr: 0.1 }, 'RangeError', /rowIds\[1\] = 4 is outside \[0, 4\)/],
    ['adamUpdate', { dim: 2, params: shared.subarray(0, 8), grads: f(8), m: shared.subarray(0, 8), v: f(8), step: 1, lr: 0.1 }, 'RangeError', /m overlaps params/],
    ['adamUpdate', { dim: 2, params: f(8), grads: f(7), m: f(8), v: f(8), step: 1, lr: 0.1 }, 'RangeError', /grads has length 7, expected length = 8/],
    ['adamUpdate', { dim: 2, params: f(8), grads: f(8), m: f(8), v: f(8), step: 0, lr: 0.1 }, 'RangeError', /step must be in \[1, /],
    ['spdSolve', { n: 4, a: f(15), out: f(16) }, 'RangeError', /a has length 15, expected n\*n = 16/],
    ['spdSolve', { n: 4, a: f(16), out: f(16), rowEnd: 2 }, 'RangeError', /solves all 4 rows in one call, got rows \[0, 2\)/],
    ['spdSolve', { n: 4, a: f(16), b: f(8), r: 3, out: f(12) }, 'RangeError', /b has length 8, expected n\*r = 12/],
    ['elementwise', { op: 'div', x: f(4), out: f(4) }, 'RangeError', /op must be 'axpby' or 'mul', got 'div'/],
    ['elementwise', { op: 'mul', x: f(4), out: f(4) }, 'TypeError', /y must be a Float32Array for op 'mul'/],
    ['elementwise', { op: 'axpby', x: f(4), alpha: Number.NaN, out: f(4) }, 'RangeError', /alpha must be a finite number/],
    ...outputLayerBadCalls(),
  ];
}

/** softmaxOutputLayer: the native module only (NATIVE_ONLY). */
function outputLayerBadCalls(): NnBadCall[] {
  const f = (n: number) => new Float32Array(n);
  const base = { rows: 3, items: 5, dim: 4, hidden: f(12), table: f(20), targets: Int32Array.of(0, -1, 4), loss: f(3), gradHidden: f(12), gradTable: f(20) };
  const shared = f(40);
  return [
    ['softmaxOutputLayer', { ...base, targets: Int32Array.of(0, 5, 1) }, 'RangeError', /targets\[1\] = 5 is outside \[-1, 5\)/],
    ['softmaxOutputLayer', { ...base, targets: new Float32Array(3) }, 'TypeError', /targets must be an Int32Array/],
    ['softmaxOutputLayer', { ...base, table: f(19) }, 'RangeError', /table has length 19, expected items\*dim = 20/],
    ['softmaxOutputLayer', { ...base, items: 0, table: f(0), gradTable: f(0) }, 'RangeError', /items must be >= 1/],
    ['softmaxOutputLayer', { ...base, weights: Float32Array.of(1, -1, 1) }, 'RangeError', /weights\[1\] = -1 is not a finite weight/],
    ['softmaxOutputLayer', { ...base, weights: f(2) }, 'RangeError', /weights has length 2, expected rows = 3/],
    ['softmaxOutputLayer', { ...base, gradTable: shared.subarray(0, 20), gradHidden: shared.subarray(10, 22) }, 'RangeError', /overlaps/],
    ['softmaxOutputLayer', { ...base, rowEnd: 2 }, 'RangeError', /computes all 3 rows in one call, got rows \[0, 2\)/],
  ];
}

/** The error `call` throws synchronously (the addon validates before it queues a worker). */
export function thrown(call: () => unknown): Error {
  let result: unknown;
  try {
    result = call();
  } catch (e) {
    return e as Error;
  }
  if (result instanceof Promise) result.catch(() => undefined);
  return assert.unreachable('expected the call to throw before queuing its worker') as never;
}


/** Every bad call of nnBadCalls() on `module` throws its error, naming the kernel; so does a call without an options object. */
export function expectBadNnCallsRefused(module: Record<string, (o: unknown) => Promise<void>>): void {
  for (const [kernel, options, type, message] of nnBadCalls()) {
    if (NATIVE_ONLY.has(kernel) && typeof module[kernel] !== 'function') continue;  // a CUDA module lacks it
    const e = thrown(() => module[kernel](options));
    assert.is(e.constructor.name, type, `${kernel} ${message}: ${e.constructor.name}: ${e.message}`);
    assert.match(e.message, message, `${kernel}: ${e.message}`);
    assert.ok(e.message.startsWith(`${kernel}: `), `${kernel}: the message names the kernel (${e.message})`);
  }
  assert.match(thrown(() => module.layerNorm(42)).message, /expects one options object/);
}
