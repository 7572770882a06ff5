/**
 * affinity's WASM gemm against @tensorflow/tfjs-backend-wasm's matMul, one thread each, in one
 * process, at the gemm shapes of bench/suites.ts and of SASRec's and NeuMF's training steps
 * (issue 18's goal: WASM ≥ 3× tfjs-wasm per thread).
 *
 *   npm i --no-save @tensorflow/tfjs-core @tensorflow/tfjs-backend-wasm
 *   npm run build:ts && node dist/bench/study/tfjsGemm.js [--repeats 7] [--only NAME-FILTER]
 *
 * tfjs is not a dependency of affinity: it is loaded with a dynamic import and, when absent, the
 * study prints a skip line with the install command above and exits 0.
 *
 * Both sides run on the calling thread: tfjs with `setThreadsCount(1)` (its SIMD build; the study
 * stops if WASM_HAS_SIMD_SUPPORT is false), affinity's wasm instance called directly
 * (loadAffinityWasm().gemm over all rows, what one pool worker does for its row range). The
 * operands are made once per shape; tfjs's live in its wasm heap as tensors, so its time is the
 * matMul kernel alone (the output tensor disposed, never read back), while affinity's includes
 * copying A and B into linear memory and C out (its contract: JS arrays in, a JS array out), so the
 * comparison is, if anything, tilted toward tfjs. After one warm-up call per side, the two sides
 * alternate sample by sample (ABAB…), so that load from other processes falls on both alike; a
 * sample times enough calls to last about 20 ms (one call for all but the smallest shapes).
 *
 * Each line gives the median wall time [min–max] and the median process CPU time of a call, and the
 * GFLOP/s of each (2·batch·m·n·k FLOP). On a machine shared with other processes the wall figure
 * swings and the CPU one less (though a busy sibling hyperthread slows a core down, so the ceiling
 * below is measured in the same run): the ratio is taken on CPU time (and given on wall time too).
 *
 * It also measures the ceiling: the f32x4 mul + add throughput of one core in this V8 (no relaxed
 * SIMD FMA in Node 20 by default), from a register-only loop of 10 independent accumulators compiled
 * here with the AssemblyScript compiler (a dev dependency; skipped when absent). 3× a tfjs figure
 * above that ceiling cannot be reached by any wasm SIMD128 code on this core.
 */
import { loadAffinityWasm } from '../../src/backends/wasm/index.js';
import type { GemmArgs, Transpose } from '../../src/kernels/gemm.js';
import { randomFloat32 } from '../random.js';
import { arg } from './studyKit.js';

interface Shape { name: string; m: number; n: number; k: number; batch: number; transA: Transpose; transB: Transpose }

const shape = (name: string, m: number, n: number, k: number, batch = 1, transA: Transpose = 'N', transB: Transpose = 'N'): Shape =>
  ({ name, m, n, k, batch, transA, transB });

/** bench/suites.ts's three gemm shapes, then the training steps' (SASRec: 128 sequences × 200 positions × 64; NeuMF defaults). */
const SHAPES: Shape[] = [
  shape('bench 4096x256·256x256', 4096, 256, 256),
  shape('bench 8192x64·64x3400 output layer', 8192, 3400, 64),
  shape('bench 200x(200x64·(200x64)ᵀ) attention', 200, 200, 64, 200, 'N', 'T'),
  shape('SASRec Linear forward 25600x64·64x64', 25600, 64, 64),
  shape('SASRec Linear dX 25600x64·(64x64)ᵀ', 25600, 64, 64, 1, 'N', 'T'),
  shape('SASRec Linear dW (25600x64)ᵀ·25600x64', 64, 64, 25600, 1, 'T', 'N'),
  shape('SASRec attention P·V 128x(200x200·200x64)', 200, 64, 200, 128),
  shape('SASRec attention dK 128x((200x200)ᵀ·200x64)', 200, 64, 200, 128, 'T', 'N'),
  shape('SASRec CE logits 4096x64·(3706x64)ᵀ', 4096, 3706, 64, 1, 'N', 'T'),
  shape('SASRec CE dH 4096x3706·3706x64', 4096, 64, 3706),
  shape('SASRec CE dE (4096x3706)ᵀ·4096x64', 3706, 64, 4096, 1, 'T', 'N'),
  shape('NeuMF MLP layer 1280x32·32x32', 1280, 32, 32),
];

type TfCore = typeof import('@tensorflow/tfjs-core');
type TfWasm = typeof import('@tensorflow/tfjs-backend-wasm');

const INSTALL = 'npm i --no-save @tensorflow/tfjs-core @tensorflow/tfjs-backend-wasm';

async function loadTfjs(): Promise<{ tf: TfCore; wasm: TfWasm } | string> {
  // types: ./tfjsModules.d.ts (tfjs is not a dependency)
  try {
    const tf = await import('@tensorflow/tfjs-core');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    return { tf, wasm };
  } catch (e) {
    return e instanceof Error ? e.message.split('\n')[0] : String(e);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function cpuSeconds(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}

interface Timing { wall: number[]; cpu: number[] }

/** Times fn (`calls` calls of the case) and records the time of one call. */
function timeOnce(t: Timing, fn: () => void, calls = 1): void {
  const c0 = cpuSeconds(), t0 = performance.now();
  fn();
  t.wall.push((performance.now() - t0) / 1000 / calls);
  t.cpu.push((cpuSeconds() - c0) / calls);
}

interface Summary { wallGflops: number; cpuGflops: number; text: string }

function summary(t: Timing, flops: number): Summary {
  const w = median(t.wall), c = median(t.cpu);
  const g = (s: number) => flops / s / 1e9;
  const ms = (s: number) => (s * 1e3).toFixed(1);
  return {
    wallGflops: g(w), cpuGflops: g(c),
    text: `${g(w).toFixed(1)} GFLOP/s wall (${ms(w)} ms [${ms(Math.min(...t.wall))}–${ms(Math.max(...t.wall))}]), `
      + `${g(c).toFixed(1)} per busy core (cpu ${ms(c)} ms [${ms(Math.min(...t.cpu))}–${ms(Math.max(...t.cpu))}])`,
  };
}

/** f32x4 mul + add GFLOP/s of one core (CPU time), or why it could not be measured. */
async function simdCeiling(): Promise<{ wall: number; cpu: number } | string> {
  const src = `export function peak(iters: i32, s: f32): f32 {
  const y = f32x4.splat(s * 0.5);
  let x = f32x4.splat(s);
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0;
  for (let i = 0; i < iters; i++) {
    c0 = f32x4.add(c0, f32x4.mul(x, y)); c1 = f32x4.add(c1, f32x4.mul(x, y));
    c2 = f32x4.add(c2, f32x4.mul(x, y)); c3 = f32x4.add(c3, f32x4.mul(x, y));
    c4 = f32x4.add(c4, f32x4.mul(x, y)); c5 = f32x4.add(c5, f32x4.mul(x, y));
    c6 = f32x4.add(c6, f32x4.mul(x, y)); c7 = f32x4.add(c7, f32x4.mul(x, y));
    c8 = f32x4.add(c8, f32x4.mul(x, y)); c9 = f32x4.add(c9, f32x4.mul(x, y));
    x = f32x4.add(x, y);
  }
  const a = f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), b = f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7));
  return f32x4.extract_lane(f32x4.add(f32x4.add(a, b), f32x4.add(c8, c9)), 0);
}`;
  let asc: typeof import('assemblyscript/asc');
  try {
    asc = await import('assemblyscript/asc');
  } catch (e) {
    return `no AssemblyScript compiler (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
  let bin: Uint8Array | null = null, err = '';
  const { error } = await asc.main(['peak.ts', '--outFile', 'peak.wasm', '-O3', '--runtime', 'stub', '--enable', 'simd', '--noAssert'], {
    readFile: (f: string) => (f === 'peak.ts' ? src : null),
    writeFile: (f: string, c: string | Uint8Array) => { if (f.endsWith('.wasm') && typeof c !== 'string') bin = c; },
    listFiles: () => [],
    stderr: { write: (s: string) => { err += s; return true; } },
  });
  if (error || !bin) return `asc failed: ${err.trim().split('\n')[0] ?? error?.message}`;
  interface WasmApi { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }> }
  const { instance } = await (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly.instantiate(bin as Uint8Array, {});
  const peak = instance.exports.peak as (iters: number, s: number) => number;
  const iters = 20_000_000, flops = iters * 10 * 8;
  const t: Timing = { wall: [], cpu: [] };
  peak(iters, 1e-9);
  for (let r = 0; r < 5; r++) timeOnce(t, () => peak(iters, 1e-9));
  return { wall: flops / Math.min(...t.wall) / 1e9, cpu: flops / median(t.cpu) / 1e9 };
}

async function main(): Promise<void> {
  const repeats = Math.max(1, Number(arg('--repeats') ?? 7) || 7);
  const only = arg('--only') ?? '';
  const loaded = await loadTfjs();
  if (typeof loaded === 'string') {
    console.log(`SKIP tfjsGemm: @tensorflow/tfjs-backend-wasm is not installed (${loaded}); install it without saving: ${INSTALL}`);
    return;
  }
  const { tf, wasm } = loaded;
  wasm.setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialise');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threaded = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  if (simd !== true) throw new Error('tfjs-backend-wasm reports no SIMD support: the comparison would not be fair');
  const mine = loadAffinityWasm();
  if (mine instanceof Error) throw mine;

  console.log(`tfjs-core ${tf.version_core ?? '?'}, tfjs-backend-wasm ${wasm.version_wasm ?? '?'}: backend ${tf.getBackend()}, SIMD ${simd}, `
    + `multithread build ${threaded}, threads ${wasm.getThreadsCount()}; affinity build/wasm/affinity.wasm on the calling thread; `
    + `Node ${process.version}; median of ${repeats} alternating samples per side after one warm-up call each`);
  const ceiling = await simdCeiling();
  const ceilingCpu = typeof ceiling === 'string' ? undefined : ceiling.cpu;
  console.log(typeof ceiling === 'string'
    ? `f32x4 mul+add ceiling: not measured (${ceiling})`
    : `f32x4 mul+add ceiling of one core in this V8: ${ceiling.cpu.toFixed(1)} GFLOP/s per busy core (median CPU time), ${ceiling.wall.toFixed(1)} best wall`);

  const rows: string[][] = [];
  for (const s of SHAPES.filter((x) => x.name.includes(only))) {
    const { m, n, k, batch, transA, transB } = s;
    const flops = 2 * batch * m * n * k;
    const aRows = transA === 'T' ? k : m, aCols = transA === 'T' ? m : k;
    const bRows = transB === 'T' ? n : k, bCols = transB === 'T' ? k : n;
    const a = randomFloat32(batch * aRows * aCols, 61), b = randomFloat32(batch * bRows * bCols, 62);
    const args: GemmArgs = { m, n, k, batch, transA, transB, a, b };
    const out = { data: new Float32Array(batch * m * n) };
    const dims = (r: number, c: number) => (batch > 1 ? [batch, r, c] : [r, c]);
    const ta = tf.tensor(a, dims(aRows, aCols), 'float32'), tb = tf.tensor(b, dims(bRows, bCols), 'float32');
    const runTf = () => tf.matMul(ta, tb, transA === 'T', transB === 'T').dispose();
    const runMine = () => mine.gemm(args, out, 0, batch * m);
    // warm-up; a sample is `calls` calls of ≥ 20 ms together (small shapes run in a fraction of a millisecond)
    const w0 = performance.now();
    runTf();
    runMine();
    const calls = Math.max(1, Math.ceil(0.04 / ((performance.now() - w0) / 1000)));
    const tT: Timing = { wall: [], cpu: [] }, tM: Timing = { wall: [], cpu: [] };
    for (let r = 0; r < repeats; r++) {
      timeOnce(tT, () => { for (let c = 0; c < calls; c++) runTf(); }, calls);
      timeOnce(tM, () => { for (let c = 0; c < calls; c++) runMine(); }, calls);
    }
    ta.dispose();
    tb.dispose();
    const st = summary(tT, flops), sm = summary(tM, flops);
    const ratio = sm.cpuGflops / st.cpuGflops, ratioWall = sm.wallGflops / st.wallGflops;
    const bound = 3 * st.cpuGflops;
    const verdict = ratio >= 3 ? 'yes' : ceilingCpu !== undefined && bound > ceilingCpu ? `no (3× = ${bound.toFixed(0)} > ceiling ${ceilingCpu.toFixed(0)})` : 'no';
    console.log(`${s.name} (${(flops / 1e9).toFixed(3)} GFLOP)\n  tfjs-wasm matMul  ${st.text}\n  affinity wasm     ${sm.text}\n  ratio ${ratio.toFixed(2)}× on CPU time, ${ratioWall.toFixed(2)}× on wall; 3× per thread: ${verdict}`);
    rows.push([s.name, st.cpuGflops.toFixed(1), sm.cpuGflops.toFixed(1), `${ratio.toFixed(2)}×`, `${ratioWall.toFixed(2)}×`, verdict]);
  }
  console.log('\n| shape | tfjs-wasm GFLOP/s per core | affinity wasm GFLOP/s per core | × (cpu) | × (wall) | ≥ 3× |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
