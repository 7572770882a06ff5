/**
 * Calibration: time every available backend on every kernel at a few representative sizes,
 * cache the table per machine, and rank backends by it.
 *
 * - `calibrate()` measures (through the engine, with the backend pinned, so a pool backend is
 *   timed the way dispatch will run it) and writes the table to the cache.
 * - `loadCalibration()` reads the cached table when its key (CPU model, cores, GPU, package
 *   version) matches this machine, else null.
 * - `calibratedRanker(table)` is a BackendRanker for `Engine.setRanker`: per kernel, the
 *   measured size class nearest to the call's work (in log scale) orders the candidates by
 *   measured throughput — the highest-priority measured backend keeps the lead unless another
 *   measured SWITCH_MARGIN times faster (so load noise does not flip dispatch), and such a switch is
 *   confirmed when calibrating by re-measuring both backends in back-to-back pairs (the median of
 *   three paired ratios; see confirmSwitch); backends with no measurement follow, by priority. Calls below
 *   SMALL_WORK with no small measurement prefer 'js' (inline on the calling thread).
 * - `useCalibration(engine)` loads the table and sets the ranker when there is one (sync).
 *
 * Cache: `$AFFINITY_CACHE_DIR`, else `$XDG_CACHE_HOME/affinity`, else `~/.cache/affinity`;
 * one file, calibration.json.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import '../kernels/index.js';
import { getKernel, isKernelName, type KernelArgs, type KernelName } from '../kernels/contract.js';
import { backendNames, probeBackend, type BackendStatus } from '../backends/registry.js';
import { machineInfo } from './machine.js';
import type { BackendRanker, Engine } from './engine.js';
import { calibrationCases, type CalibrationCase, type SizeClass } from './calibrationCases.js';

const CALIBRATION_FORMAT = 1;
/** Below this much work (flops) a call is "small": a pool round trip or a GPU transfer does not pay. */
export const SMALL_WORK = 2e6;
/** A measured backend must be this many times faster than the higher-priority one to lead dispatch. */
export const SWITCH_MARGIN = 1.25;

export interface CalibrationKey {
  cpuModel: string;
  cores: number;
  gpu: string | null;
  version: string;
}

export interface CalibrationEntry {
  kernel: string;
  backend: string;
  sizeClass: SizeClass;
  size: string;
  /** flops of the full problem of this size class (what the ranker compares call sizes with) */
  work: number;
  /** rows of the full problem */
  rows: number;
  /** rows actually timed per call (< rows when a slow backend timed a sample) */
  timedRows: number;
  /** median seconds of one timed call */
  seconds: number;
  repeats: number;
  gflops: number;
  rowsPerSecond: number;
}

export interface CalibrationFailure { kernel: string; backend: string; size: string; error: string }

export interface CalibrationTable {
  format: number;
  key: CalibrationKey;
  createdAt: string;
  /** seconds the whole calibration took */
  seconds: number;
  /** backends available when the table was made, with their kernels and probe details */
  backends: Array<{ name: string; priority: number; kernels: string[]; details?: Record<string, unknown> }>;
  entries: CalibrationEntry[];
  failures: CalibrationFailure[];
}

// ---------------------------------------------------------------------------------------------
// key and cache

let pkgVersion: string | undefined;
function packageVersion(): string {
  if (pkgVersion === undefined) {
    try {
      // dist/src/engine/calibration.js → package root
      pkgVersion = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
    } catch {
      pkgVersion = 'unknown';
    }
  }
  return pkgVersion;
}

export function calibrationKey(): CalibrationKey {
  const m = machineInfo();
  return { cpuModel: m.cpuModel, cores: m.cores, gpu: m.gpu, version: packageVersion() };
}

function cacheDir(): string {
  if (process.env.AFFINITY_CACHE_DIR) return process.env.AFFINITY_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME;
  return xdg ? path.join(xdg, 'affinity') : path.join(os.homedir(), '.cache', 'affinity');
}

export function calibrationPath(): string {
  return path.join(cacheDir(), 'calibration.json');
}

function sameKey(a: CalibrationKey, b: CalibrationKey): boolean {
  return a.cpuModel === b.cpuModel && a.cores === b.cores && (a.gpu ?? null) === (b.gpu ?? null) && a.version === b.version;
}

/** The cached table when it exists, parses, and was made on this machine by this version; else null. */
export function loadCalibration(opts: { key?: CalibrationKey; file?: string } = {}): CalibrationTable | null {
  let table: CalibrationTable;
  try {
    table = JSON.parse(readFileSync(opts.file ?? calibrationPath(), 'utf8')) as CalibrationTable;
  } catch {
    return null;
  }
  if (!table || table.format !== CALIBRATION_FORMAT || !table.key || !Array.isArray(table.entries)) return null;
  if (!sameKey(table.key, opts.key ?? calibrationKey())) return null;
  return table;
}

/** Write the table (atomically: temp file + rename); returns the path. */
export function saveCalibration(table: CalibrationTable, file = calibrationPath()): string {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(table, null, 2) + '\n');
  renameSync(tmp, file);
  return file;
}

// ---------------------------------------------------------------------------------------------
// measuring

export interface CalibrateOptions {
  /** kernels to calibrate (default: every kernel with a case that ≥ 2 available backends implement) */
  kernels?: string[];
  /** backends to measure (default: every available one) */
  backends?: string[];
  /** size classes to measure (default: small and medium) */
  sizes?: SizeClass[];
  onProgress?: (msg: string, entry?: CalibrationEntry) => void;
  /** the engine to time through (the one whose dispatch the table is for) */
  engine: Engine;
  /** write the table to the cache (default true) */
  write?: boolean;
  /** aim for timed calls of about this long (default 0.2 s) */
  targetSeconds?: number;
  /** stop repeating a measurement after this long (default 1.5 s) */
  maxSeconds?: number;
  /** the cases (default: calibrationCases()) */
  cases?: CalibrationCase[];
}

/** Work of the first timed call of a sampled problem (about 10 ms on the js reference). */
const PROBE_WORK = 1e7;

async function timeCall<K extends KernelName>(engine: Engine, kernel: K, args: KernelArgs<K>, backend: string): Promise<number> {
  const t0 = performance.now();
  const r = await engine.runDetailed(kernel, args, { backend });
  const s = (performance.now() - t0) / 1000;
  if (r.backend !== backend) throw new Error(`ran on '${r.backend}' instead`);
  return s;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function measureCase<K extends KernelName>(engine: Engine, c: CalibrationCase<K>, backend: string, target: number, maxSeconds: number): Promise<CalibrationEntry> {
  const kernel = getKernel(c.kernel);
  const problem = c.build();
  const flopsOf = (a: KernelArgs<K>): number => (kernel.flops ? kernel.flops(a) : kernel.rows(a) * 1e4);
  const work = flopsOf(problem.args);
  let args = problem.args, timedRows = problem.rows;
  const started = performance.now();
  // 1. a first call (warm-up: compiles, spawns workers) — on a sample when the problem is big
  if (problem.firstRows && work > PROBE_WORK) {
    const n0 = Math.max(1, Math.min(problem.rows, Math.round(problem.rows * PROBE_WORK / work)));
    const a0 = problem.firstRows(n0);
    await timeCall(engine, c.kernel, a0, backend); // cold
    const t0 = await timeCall(engine, c.kernel, a0, backend);
    // 2. rows for a call of about `target` seconds at the rate just seen
    const rate = flopsOf(a0) / Math.max(t0, 1e-6);
    const n = Math.max(n0, Math.min(problem.rows, Math.round(problem.rows * (target * rate) / work)));
    if (n === n0) {
      args = a0; timedRows = n0;
    } else {
      if (n < problem.rows) { args = problem.firstRows(n); timedRows = n; }
      await timeCall(engine, c.kernel, args, backend); // warm at this size
    }
  } else {
    await timeCall(engine, c.kernel, args, backend);
  }
  // 3. repeat: at least 3 calls, until `target`·3 seconds of calls, at most 30, time-boxed
  const times: number[] = [];
  let total = 0;
  while (times.length < 30) {
    const s = await timeCall(engine, c.kernel, args, backend);
    times.push(s); total += s;
    if (times.length >= 3 && total >= target * 3) break;
    if ((performance.now() - started) / 1000 > maxSeconds) break;
  }
  const seconds = median(times);
  const timedWork = flopsOf(args);
  return {
    kernel: c.kernel, backend, sizeClass: c.sizeClass, size: c.size, work, rows: problem.rows, timedRows,
    seconds, repeats: times.length, gflops: timedWork / seconds / 1e9, rowsPerSecond: timedRows / seconds,
  };
}

/** Measurements of a challenger against the preferred backend when a switch is proposed: 2 more pairs, back to back. */
const CONFIRM_ROUNDS = 2;

/**
 * Load noise must not send a kernel to a slower backend. When the fastest measured backend of a case
 * is not the preferred one (the highest priority, e.g. native) and measured at least SWITCH_MARGIN
 * times faster — i.e. dispatch would leave the preferred backend — the pair is measured
 * CONFIRM_ROUNDS more times, back to back (challenger, then preferred), so a burst of load hits both
 * members of a pair alike. The challenger's speed relative to the preferred backend is then the
 * median of the three paired ratios (the first measurement's and the rounds'), and the preferred
 * backend's throughput the median of its three measurements; the ranker's margin applies to these.
 */
async function confirmSwitch(engine: Engine, c: CalibrationCase, measured: Array<{ entry: CalibrationEntry; status: BackendStatus }>,
  target: number, maxSeconds: number, onProgress?: CalibrateOptions['onProgress']): Promise<void> {
  if (measured.length < 2) return;
  const preferred = [...measured].sort((a, b) => b.status.priority - a.status.priority)[0];
  const fastest = [...measured].sort((a, b) => b.entry.gflops - a.entry.gflops)[0];
  if (fastest === preferred || fastest.entry.gflops < SWITCH_MARGIN * preferred.entry.gflops) return;
  const ratios = [fastest.entry.gflops / preferred.entry.gflops];
  const preferredRates = [preferred.entry.gflops];
  for (let round = 0; round < CONFIRM_ROUNDS; round++) {
    const a = await measureCase(engine, c, fastest.status.name, target, maxSeconds);
    const b = await measureCase(engine, c, preferred.status.name, target, maxSeconds);
    ratios.push(a.gflops / b.gflops);
    preferredRates.push(b.gflops);
    fastest.entry.repeats += a.repeats;
    preferred.entry.repeats += b.repeats;
  }
  const setRate = (e: CalibrationEntry, gflops: number): void => {
    const scale = e.gflops / gflops; // same timed work: seconds scale inversely with the rate
    e.gflops = gflops; e.seconds *= scale; e.rowsPerSecond = e.timedRows / e.seconds;
  };
  setRate(preferred.entry, median(preferredRates));
  setRate(fastest.entry, preferred.entry.gflops * median(ratios));
  const kept = fastest.entry.gflops >= SWITCH_MARGIN * preferred.entry.gflops;
  onProgress?.(`${c.kernel} ${c.size}: ${fastest.status.name} over ${preferred.status.name} re-measured (median of 3 paired ratios): ` +
    `${median(ratios).toPrecision(3)}×, ${kept ? 'the switch stands' : `within the ${SWITCH_MARGIN}× margin: ${preferred.status.name} keeps it`}`);
}

/** Measure every (kernel, size, backend) and return the table (written to the cache unless write: false). */
export async function calibrate(opts: CalibrateOptions): Promise<CalibrationTable> {
  const t0 = performance.now();
  const engine = opts.engine;
  const statuses = await Promise.all(backendNames().map(probeBackend));
  const available = statuses.filter((s) => s.available && (!opts.backends || opts.backends.includes(s.name)));
  if (opts.backends) {
    for (const name of opts.backends) {
      const st = statuses.find((s) => s.name === name);
      if (!st) throw new RangeError(`unknown backend '${name}' (known: ${statuses.map((s) => s.name).join(', ')})`);
      if (!st.available) opts.onProgress?.(`skipping ${name}: ${st.reason}`);
    }
  }
  const sizes = opts.sizes ?? ['small', 'medium'];
  const cases = (opts.cases ?? calibrationCases()).filter((c) => sizes.includes(c.sizeClass));
  const implementers = (k: KernelName): BackendStatus[] => available.filter((s) => s.kernels.includes(k));
  for (const k of opts.kernels ?? []) getKernel(k); // unknown kernel → RangeError naming it
  const kernels = opts.kernels?.filter(isKernelName) ?? [...new Set(cases.map((c) => c.kernel))].filter((k) => implementers(k).length >= 2 || opts.backends !== undefined);
  const entries: CalibrationEntry[] = [];
  const failures: CalibrationFailure[] = [];
  const target = opts.targetSeconds ?? 0.2, maxSeconds = opts.maxSeconds ?? 1.5;
  for (const k of kernels) {
    const ks = cases.filter((c) => c.kernel === k);
    if (!ks.length) { opts.onProgress?.(`no calibration case for kernel '${k}'`); continue; }
    for (const c of ks) {
      const measured: Array<{ entry: CalibrationEntry; status: BackendStatus }> = [];
      for (const b of implementers(k)) {
        try {
          const e = await measureCase(engine, c, b.name, target, maxSeconds);
          entries.push(e);
          measured.push({ entry: e, status: b });
          opts.onProgress?.(`${k} ${c.size} on ${b.name}: ${e.gflops.toPrecision(3)} GFLOP/s`, e);
        } catch (err) {
          const error = err instanceof Error ? err.message.split('\n')[0] : String(err);
          failures.push({ kernel: k, backend: b.name, size: c.size, error });
          opts.onProgress?.(`${k} ${c.size} on ${b.name} failed: ${error}`);
        }
      }
      await confirmSwitch(engine, c, measured, target, maxSeconds, opts.onProgress);
    }
  }
  const table: CalibrationTable = {
    format: CALIBRATION_FORMAT,
    key: calibrationKey(),
    createdAt: new Date().toISOString(),
    seconds: (performance.now() - t0) / 1000,
    backends: available.map((s) => ({ name: s.name, priority: s.priority, kernels: s.kernels, ...(s.details ? { details: s.details } : {}) })),
    entries,
    failures,
  };
  if (opts.write !== false) saveCalibration(table);
  return table;
}

// ---------------------------------------------------------------------------------------------
// ranking

const byPriority = (c: BackendStatus[]): BackendStatus[] => [...c].sort((a, b) => b.priority - a.priority);

/** The measured size classes of a kernel: class → full-problem work. */
function classesOf(entries: CalibrationEntry[]): Map<SizeClass, number> {
  const m = new Map<SizeClass, number>();
  for (const e of entries) m.set(e.sizeClass, e.work);
  return m;
}

/** A ranker for Engine.setRanker that orders candidates by the table's measured throughput. */
export function calibratedRanker(table: CalibrationTable): BackendRanker {
  const perKernel = new Map<string, CalibrationEntry[]>();
  for (const e of table.entries) {
    if (!perKernel.has(e.kernel)) perKernel.set(e.kernel, []);
    perKernel.get(e.kernel)!.push(e);
  }
  return (kernel, size, candidates) => {
    const entries = perKernel.get(kernel) ?? [];
    const classes = classesOf(entries);
    const small = size < SMALL_WORK;
    if (!classes.size || (small && ![...classes.values()].some((w) => w < SMALL_WORK))) {
      const order = byPriority(candidates);
      if (!small) return order;
      // small and nothing measured there: the reference inline beats a pool round trip or a transfer
      const js = order.findIndex((c) => c.name === 'js');
      return js <= 0 ? order : [order[js], ...order.slice(0, js), ...order.slice(js + 1)];
    }
    // the measured size class nearest to this call's work, in log scale
    const logSize = Math.log(Math.max(size, 1));
    let best: SizeClass | null = null, bestDist = Infinity;
    for (const [cls, w] of classes) {
      const dist = Math.abs(Math.log(Math.max(w, 1)) - logSize);
      if (dist < bestDist) { best = cls; bestDist = dist; }
    }
    const rate = new Map<string, number>();
    for (const e of entries) if (e.sizeClass === best) rate.set(e.backend, e.gflops);
    const order = [...candidates].sort((a, b) => {
      const ra = rate.get(a.name), rb = rate.get(b.name);
      if (ra !== undefined && rb !== undefined) return rb - ra || b.priority - a.priority;
      if (ra !== undefined) return -1;
      if (rb !== undefined) return 1;
      return b.priority - a.priority;
    });
    // load noise must not move a kernel off the backend its priority prefers: another one leads only
    // when it was measured at least SWITCH_MARGIN times faster
    const measured = order.filter((c) => rate.has(c.name));
    const preferred = [...measured].sort((a, b) => b.priority - a.priority)[0];
    if (preferred && order[0] !== preferred && rate.get(order[0].name)! < SWITCH_MARGIN * rate.get(preferred.name)!) {
      return [preferred, ...order.filter((c) => c !== preferred)];
    }
    return order;
  };
}

/** Load the cached table for this machine and, when there is one, make `engine` rank by it. Returns the table or null. */
export function useCalibration(engine: Engine): CalibrationTable | null {
  const table = loadCalibration();
  if (table) engine.setRanker(calibratedRanker(table));
  return table;
}

/** What `affinity info` shows: the cached table in brief (per kernel and size, backends fastest first), or null. */
export function calibrationSummary(): object | null {
  const table = loadCalibration();
  if (!table) return null;
  const groups = new Map<string, CalibrationEntry[]>();
  for (const e of table.entries) {
    const k = `${e.kernel}\u0000${e.size}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(e);
  }
  return {
    file: calibrationPath(),
    createdAt: table.createdAt,
    key: table.key,
    kernels: [...groups.values()].map((es) => ({
      kernel: es[0].kernel,
      sizeClass: es[0].sizeClass,
      size: es[0].size,
      ranking: [...es].sort((a, b) => b.gflops - a.gflops).map((e) => ({ backend: e.backend, gflops: round3(e.gflops), rowsPerSecond: round3(e.rowsPerSecond) })),
    })),
    ...(table.failures.length ? { failures: table.failures } : {}),
  };
}

function round3(v: number): number {
  return Number(v.toPrecision(3));
}
