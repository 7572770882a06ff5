/**
 * Shared by the partitioned-precompute tests (dataset.test.ts, queue.test.ts): a saved model
 * fitted on synthetic data, the single-machine output to compare with, and a CLI runner.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateInteractions } from '../../src/data/synthetic.js';
import { ALS } from '../../src/models/factorization/index.js';
import { precomputeToFile } from '../../src/pipeline/precompute.js';

// compiled to dist/test/helpers/: the repo root is three levels up
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');

/** Fit a small ALS model on seeded synthetic implicit data and save it to `file`. */
export async function savedAlsModel(file: string, size: { users: number; items: number; interactions: number }): Promise<void> {
  const data = generateInteractions({ ...size, explicit: false, zipf: 1.0, seed: 3 });
  const m = new ALS({ factors: 16, iterations: 3, seed: 1 });
  await m.fit(data, { backend: 'js' });
  m.save(file);
}

/** The single-machine precompute of a saved model (recommendations and, with `similar`, similar items). */
export async function singleMachine(modelFile: string, out: string, o: { k: number; similar?: number }): Promise<void> {
  await precomputeToFile({ modelFile, k: o.k, similarItems: o.similar, out, format: 'jsonl' });
}

/** The lines of some text files, sorted (byte order): equal multisets of rows compare equal. */
export function sortedLines(files: string[]): string[] {
  const lines: string[] = [];
  for (const f of files) for (const l of readFileSync(f, 'utf8').split('\n')) if (l.length > 0) lines.push(l);
  return lines.sort();
}

/** The part files of a dataset directory (recommendations, or similar items). */
export function partFiles(dir: string, similar = false): string[] {
  return readdirSync(dir).filter((n) => /^part-\d+\./.test(n) && n.includes('.similar.') === similar).sort().map((n) => path.join(dir, n));
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Run the CLI to completion. */
export function affinity(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 120_000): CliResult {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Run the CLI in the background; `done` resolves with its exit code and output. */
export function affinityAsync(args: string[], env: Record<string, string | undefined> = {}): { pid: number; kill: (s?: NodeJS.Signals) => void; output: () => string; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { pid: child.pid!, kill: (s = 'SIGTERM') => { child.kill(s); }, output: () => stdout + stderr, done };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `f` every `every` ms until it returns a value other than undefined/false, or throw after `ms`. */
export async function waitFor<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 60_000, every = 20): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** Await `f()`, which must reject, and check its error: a RegExp on the message, or a predicate. */
export async function rejects(f: () => Promise<unknown>, check: RegExp | ((e: unknown) => boolean)): Promise<Error> {
  try {
    await f();
  } catch (e) {
    const ok = check instanceof RegExp ? check.test((e as Error).message) : check(e);
    if (!ok) throw new Error(`rejected with an unexpected error: ${(e as Error).message}`, { cause: e });
    return e as Error;
  }
  throw new Error('expected a rejection; it resolved');
}
