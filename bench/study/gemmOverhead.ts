/**
 * Where the time of a native gemm call goes between Node and the kernel (issue 18's speed goal), at
 * the bench's three shapes: the addon called directly into a reused C (1 and 2 threads) and into a
 * fresh one, engine.run with a fresh output and with a caller-provided one ({ out }), and the cost
 * of the fresh output's page faults alone (a new SharedArrayBuffer of C's size, one float written
 * per 4 KB page). Every line gives the median wall time and the median process CPU time (all
 * threads, page faults included) of a call, and GFLOP/s of both: on a machine shared with other
 * processes the wall figure swings, the CPU one hardly.
 *
 *   npm run build:ts && node dist/bench/study/gemmOverhead.js [repeats=7] [shape filter]
 *
 * Prints to stdout only; needs the native addon (`npm run build:native`).
 */
import { getEngine } from '../../src/engine/processEngine.js';
import { loadNativeAddon } from '../../src/backends/native/index.js';
import { sharedFloat32, type Dense } from '../../src/data/matrix.js';
import type { GemmArgs, Transpose } from '../../src/kernels/gemm.js';
import { randomFloat32 } from '../random.js';

interface Shape { name: string; m: number; n: number; k: number; batch: number; transB: Transpose }

const SHAPES: Shape[] = [
  { name: '4096x256·256x256', m: 4096, n: 256, k: 256, batch: 1, transB: 'N' },
  { name: '8192x64·64x3400 output layer', m: 8192, n: 3400, k: 64, batch: 1, transB: 'N' },
  { name: '200 x (200x64·(200x64)ᵀ) attention', m: 200, n: 200, k: 64, batch: 200, transB: 'T' },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function time(label: string, flops: number, repeats: number, fn: () => Promise<unknown> | void): Promise<void> {
  await fn(); // warm-up: pool threads, the reused output's pages
  const wall: number[] = [], cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    await fn();
    wall.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  const w = median(wall), c = median(cpu);
  const ms = (s: number) => (s * 1e3).toFixed(2);
  const rate = (s: number, what: string) => (flops ? ` ${(flops / s / 1e9).toFixed(1).padStart(6)} GFLOP/s${what}` : '');
  console.log(`  ${label.padEnd(46)} wall ${ms(w).padStart(7)} ms [${ms(Math.min(...wall))}–${ms(Math.max(...wall))}]${rate(w, '')}`
    + ` | cpu ${ms(c).padStart(7)} ms${rate(c, ' per busy core')}`);
}

async function main(): Promise<void> {
  const repeats = Math.max(1, Number(process.argv[2] ?? 7) || 7);
  const filter = process.argv[3] ?? '';
  const loaded = loadNativeAddon();
  if (!('addon' in loaded) || !loaded.addon) throw new Error(`native addon unavailable: ${'error' in loaded ? loaded.error : 'unknown'}`);
  const addon = loaded.addon;
  if (!addon.gemm) throw new Error('this affinity_native.node has no gemm; rebuild it (`npm run build:native`)');
  const gemm = addon.gemm.bind(addon);
  const probe = addon.probe();
  console.log(`native addon: ${probe.simd}, ${probe.threads} hardware threads; median of ${repeats} calls after one warm-up`);
  for (const s of SHAPES.filter((x) => x.name.includes(filter))) {
    const { m, n, k, batch, transB } = s;
    const flops = 2 * batch * m * n * k, cFloats = batch * m * n;
    const a = randomFloat32(batch * m * k, 61), b = randomFloat32(batch * k * n, 62);
    const reused = sharedFloat32(cFloats);
    const call = (c: Float32Array, threads: number) => gemm({
      transA: 'N', transB, m, n, k, batch, alpha: 1, beta: 0,
      a, lda: k, strideA: m * k, b, ldb: transB === 'T' ? k : n, strideB: k * n,
      c, ldc: n, strideC: m * n, rowStart: 0, rowEnd: batch * m, threads, cancel: null,
    });
    console.log(`${s.name}: ${(flops / 1e9).toFixed(2)} GFLOP, C ${(cFloats * 4 / 2 ** 20).toFixed(0)} MiB`);
    await time('fresh C page faults alone (1 float per 4 KB)', 0, repeats, () => {
      const c = sharedFloat32(cFloats);
      for (let i = 0; i < cFloats; i += 1024) c[i] = 1;
    });
    await time('addon.gemm into a reused C, 1 thread', flops, repeats, () => call(reused, 1));
    await time('addon.gemm into a reused C, 2 threads', flops, repeats, () => call(reused, 2));
    await time('addon.gemm into a fresh C, 2 threads', flops, repeats, () => call(sharedFloat32(cFloats), 2));
    const args: GemmArgs = { m, n, k, batch, transB, a, b };
    const out: Dense = { rows: batch * m, cols: n, data: reused };
    await time('engine.run native, fresh output', flops, repeats, () => getEngine().run('gemm', args, { backend: 'native' }));
    await time('engine.run native, { out } reused', flops, repeats, () => getEngine().run('gemm', args, { backend: 'native', out }));
  }
  await getEngine().close();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
