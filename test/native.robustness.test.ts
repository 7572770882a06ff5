/**
 * The native backend under the conditions of a service: a call cancelled while it runs (the
 * AbortSignal sets the addon's cancellation flag; native/core/include/affinity/cancel.h), and
 * calls from several Piscina workers at once, each loading the addon in its own thread.
 * Results are compared with the reference (src/kernels/*.ts) within the tolerances of
 * native.test.ts and native.kernels.test.ts.
 *
 * Without a built addon the file prints `SKIP native robustness: <reason>` and runs one test on it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Piscina } from 'piscina';
import { nativeBackend, withCancelFlag } from '../src/backends/native/index.js';
import { allocateDenseScoreTopK, denseScoreTopKReference, type DenseScoreTopKArgs } from '../src/kernels/denseScoreTopK.js';
import { allocateSparseSimilarityTopK, withPreparedSimilarity, type SparseSimilarityTopKArgs } from '../src/kernels/sparseSimilarityTopK.js';
import { Engine } from '../src/engine/engine.js';
import { shareArgs } from '../src/engine/sharedArgs.js';
import type { WorkerTask } from '../src/engine/worker.js';
import { randomDense } from './helpers/random.js';
import { compareSimilarity, randomCsr, ratings } from './helpers/similarity.js';
import { skip } from './helpers/skip.js';

const probe = await nativeBackend.probe();

/** Expects `p` to reject with an AbortError. */
async function rejectsAborted(p: unknown, label: string): Promise<void> {
  let err: unknown = null;
  try { await p; } catch (e) { err = e; }
  assert.ok(err instanceof Error && err.name === 'AbortError', `${label}: expected an AbortError, got ${String(err)}`);
}

/** Every score of the top-k within 1e-4 of the reference's (ids may differ only at near ties, checked by score). */
function sameScores(a: DenseScoreTopKArgs, got: { scores: Float32Array }, label: string): void {
  const want = allocateDenseScoreTopK(a);
  denseScoreTopKReference(a, want, 0, a.queries.rows);
  for (let i = 0; i < want.scores.length; i++) {
    assert.ok(Math.abs(got.scores[i] - want.scores[i]) <= 1e-4 * Math.max(1, Math.abs(want.scores[i])), `${label}: slot ${i} ${got.scores[i]} vs ${want.scores[i]}`);
  }
}

if (!probe.available) {
  skip(test, 'native robustness', probe.reason);
  test('native robustness: the skip reason says what is missing', () => { assert.ok(probe.reason.length > 0); });
} else {
  const kernel = nativeBackend.kernels.denseScoreTopK!;

  test('withCancelFlag: an abort stores 1 into the flag the addon reads, and the call rejects with the AbortError', async () => {
    const ac = new AbortController();
    let seen = -1;
    await rejectsAborted(withCancelFlag(ac.signal, async (flag) => {
      assert.ok(flag && flag.buffer instanceof SharedArrayBuffer && Atomics.load(flag, 0) === 0);
      ac.abort();
      seen = Atomics.load(flag!, 0);
      throw new Error('kernel: cancelled');
    }), 'fake call');
    assert.is(seen, 1);
    assert.is(await withCancelFlag(undefined, async (flag) => flag), null);
  });

  test('native: a denseScoreTopK call aborted while it runs stops part-way and rejects with the AbortError', async () => {
    // 20000² × 64 (~50 GFLOP, hundreds of row blocks): abort as soon as the first rows are written
    const big: DenseScoreTopKArgs = { queries: randomDense(20000, 64, 1), keys: randomDense(20000, 64, 2), k: 10, metric: 'dot' };
    const out = allocateDenseScoreTopK(big);
    const ac = new AbortController();
    const rowsWritten = () => { let n = 0; for (let r = 0; r < 20000; r++) if (out.ids[r * 10] >= 0) n++; return n; };
    const poll = setInterval(() => { if (rowsWritten() > 0) ac.abort(); }, 1);
    try {
      await rejectsAborted(kernel(big, out, 0, 20000, { threads: 2, signal: ac.signal }), 'aborted mid-call');
    } finally {
      clearInterval(poll);
    }
    const written = rowsWritten();
    assert.ok(written > 0 && written < 20000, `rows written before the cancellation took effect: ${written} of 20000`);
    // aborted right after the call was queued, before its worker started
    const ac2 = new AbortController();
    const pending = kernel(big, allocateDenseScoreTopK(big), 0, 20000, { threads: 2, signal: ac2.signal });
    ac2.abort();
    await rejectsAborted(pending, 'aborted once queued');
    // an already aborted signal: rejected before the addon is called
    await rejectsAborted(kernel(big, allocateDenseScoreTopK(big), 0, 20000, { signal: AbortSignal.abort() }), 'aborted before');
    const small: DenseScoreTopKArgs = { queries: randomDense(200, 16, 3), keys: randomDense(300, 16, 4), k: 7, metric: 'cosine' };
    const smallOut = allocateDenseScoreTopK(small);
    await kernel(small, smallOut, 0, 200, { threads: 2, signal: new AbortController().signal });
    sameScores(small, smallOut, 'after the aborted calls');
  });

  test('native: sparseSimilarityTopK through the engine honours an abort mid-call', async () => {
    const engine = new Engine();
    try {
      const matrix = randomCsr(3000, 2000, 0.05, 9, ratings);
      const args: SparseSimilarityTopKArgs = { matrix, metric: 'cosine', k: 20 };
      const ac = new AbortController();
      const running = engine.run('sparseSimilarityTopK', args, { backend: 'native', signal: ac.signal });
      setTimeout(() => ac.abort(), 5);
      await rejectsAborted(running, 'sparseSimilarityTopK');
      const small: SparseSimilarityTopKArgs = { matrix: randomCsr(120, 40, 0.2, 10, ratings), metric: 'cosine', k: 5 };
      const out = await engine.run('sparseSimilarityTopK', small, { backend: 'native' });
      compareSimilarity('native', withPreparedSimilarity(small), out, 0, 120, false, 'after the abort');
    } finally {
      await engine.close();
    }
  });

  test('native: calls from several Piscina workers at once match the reference', async () => {
    const pool = new Piscina({ filename: new URL('../src/engine/worker.js', import.meta.url).href, minThreads: 3, maxThreads: 3 });
    try {
      const dense = shareArgs<DenseScoreTopKArgs>({ queries: randomDense(900, 24, 5), keys: randomDense(700, 24, 6), k: 8, metric: 'cosine' });
      const sparse = shareArgs<SparseSimilarityTopKArgs>({ matrix: randomCsr(600, 80, 0.08, 12, ratings), metric: 'cosine', k: 6 });
      const denseOut = allocateDenseScoreTopK(dense), sparseOut = allocateSparseSimilarityTopK(sparse);
      const tasks: WorkerTask[] = [];
      for (let r = 0; r < 900; r += 150) tasks.push({ backend: 'native', kernel: 'denseScoreTopK', args: dense, out: denseOut, rowStart: r, rowEnd: r + 150 });
      for (let r = 0; r < 600; r += 200) tasks.push({ backend: 'native', kernel: 'sparseSimilarityTopK', args: sparse, out: sparseOut, rowStart: r, rowEnd: r + 200 });
      await Promise.all(tasks.map((t) => pool.run(t)));
      assert.ok(pool.threads.length >= 2, `expected several workers, got ${pool.threads.length}`);
      sameScores(dense, denseOut, 'workers dense');
      compareSimilarity('native', withPreparedSimilarity(sparse), sparseOut, 0, 600, false, 'workers sparse');
    } finally {
      await pool.destroy();
    }
  });
}

test.run();
