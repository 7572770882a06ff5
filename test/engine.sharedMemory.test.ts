/**
 * Shared buffers no longer referenced are freed by releaseSharedMemory (V8 counts them as no
 * memory pressure, so without a requested full collection they stay); and a worker's references
 * to the buffers of its tasks are dropped by releaseReceivedMemory, so the main thread can free them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { releaseSharedMemory } from '../src/engine/sharedMemory.js';

const MiB = 2 ** 20;

/** The array buffers counted once V8's sweeper, which frees buffers concurrently after a collection, is done (polled up to 5 s). */
async function settledArrayBuffers(atMost: number): Promise<number> {
  let v = process.memoryUsage().arrayBuffers;
  for (let t = 0; t < 100 && v > atMost; t++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    v = process.memoryUsage().arrayBuffers;
  }
  return v;
}

test('releaseSharedMemory frees unreachable SharedArrayBuffers once they grew past the threshold', async () => {
  releaseSharedMemory(0);
  const before = process.memoryUsage().arrayBuffers;
  let keep: Float32Array | null = null;
  for (let i = 0; i < 16; i++) keep = new Float32Array(new SharedArrayBuffer(32 * MiB));
  assert.ok(process.memoryUsage().arrayBuffers - before >= 15 * 32 * MiB, 'the unreachable buffers are still counted before a collection');
  releaseSharedMemory(1024 * MiB); // below the threshold: nothing happens
  assert.ok(process.memoryUsage().arrayBuffers - before >= 15 * 32 * MiB);
  releaseSharedMemory(256 * MiB);
  const after = (await settledArrayBuffers(before + 2 * 32 * MiB)) - before;
  assert.ok(after <= 2 * 32 * MiB, `${after / MiB} MiB left (only the one still referenced should be)`);
  assert.is(keep!.length, 8 * MiB);
});

test('a worker that calls releaseReceivedMemory lets the main thread free the buffers it received', async () => {
  const url = new URL('../src/engine/sharedMemory.js', import.meta.url).href;
  const w = new Worker(`
    import { parentPort } from 'node:worker_threads';
    const { releaseReceivedMemory } = await import(${JSON.stringify(url)});
    const seen = [];
    parentPort.on('message', (m) => { seen.push(m.x.length); releaseReceivedMemory(m.x.byteLength, 128 * 2 ** 20); parentPort.postMessage(seen.length); });
  `, { eval: true, type: 'module' } as never);
  releaseSharedMemory(0);
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 12; i++) {
    w.postMessage({ x: new Float32Array(new SharedArrayBuffer(32 * MiB)) });
    await new Promise<void>((resolve) => w.once('message', () => resolve()));
  }
  releaseSharedMemory(0);
  const after = (await settledArrayBuffers(before + 4 * 32 * MiB)) - before;
  await w.terminate();
  // the worker collected after every 4 buffers: at most the last few can still be alive
  assert.ok(after <= 4 * 32 * MiB, `${after / MiB} MiB of 384 still alive`);
});

test.run();
