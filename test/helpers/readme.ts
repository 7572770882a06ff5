/**
 * Runs the shell examples of README.md as a new user would type them, so the documentation and
 * the behaviour cannot drift apart (test/readme.test.ts on a small synthetic MovieLens-shaped
 * fixture; test/accuracy.readme.test.ts on the real ML-100k).
 *
 * Every command of every ```sh block is either run — `npx affinity …` in a scratch project whose
 * node_modules links this package as a dependency would (npx then finds the `affinity` bin, and
 * npm_config_yes=false forbids fetching anything), `npm start` in the checkout — or listed in
 * NOT_RUN_HERE with the reason and the place that runs it instead. A README command in neither is
 * a test failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { generateInteractions } from '../../src/data/synthetic.js';
import { ML100K_GENRES } from '../../src/data/sideInfo.js';

/** README commands this test does not run, each with why and what runs it instead. */
export const NOT_RUN_HERE: Record<string, string> = {
  'npm install': 'installs and builds the checkout: CI runs it (npm ci); scripts/check-pack.mjs installs the packed package',
  'npm test': 'this test is part of it',
  'npm run test:accuracy': 'the accuracy suite (CI runs it); it runs the ML-100k examples in accuracy.readme.test.ts',
  'cmake -S . -B build/ctest -DAFFINITY_BUILD_TESTS=ON -DAFFINITY_SANITIZE=ON -DAFFINITY_BUILD_ADDON=OFF': 'the C++ tests: CI runs them',
  'cmake --build build/ctest -j && ctest --test-dir build/ctest --output-on-failure': 'the C++ tests: CI runs them',
  './scripts/test-arm64.sh': 'the C++ tests on arm64: CI runs them',
  './scripts/gpu-check-bundle.sh': 'packs node and the built tree for a GPU machine; only useful where one is lent (none in CI)',
  'OUT=/tmp/gpu-check ./scripts/gpu-check.sh': 'needs an NVIDIA GPU: run on a GPU machine (none in CI)',
  'npm link': 'links the command for the whole machine; scripts/check-pack.mjs checks the bin as a dependency gets it',
  'npm install affinity-recsys': 'fetches the published package; scripts/check-pack.mjs installs the packed one the same way',
  'npx affinity worker --queue redis://127.0.0.1:6379/0': 'needs a Redis server and runs until stopped: test/queue.test.ts runs workers on its own redis-server',
  'npx affinity precompute --model-file als.affm --k 20 --shards 4 --queue redis://127.0.0.1:6379/0 --out recs-sharded': 'needs a Redis server and workers: test/queue.test.ts enqueues shards on its own redis-server',
  'npx affinity verify recs-sharded': "checks the queued precompute's output: test/queue.test.ts and test/dataset.test.ts verify partitioned datasets",
  'npx affinity build': 'rebuilds the native addon in place while other test files load it; scripts/check-pack.mjs runs it in its scratch project',
};

export interface ReadmeCommand {
  /** the command as written (continuation lines joined, the trailing comment dropped) */
  command: string;
  /** the ```sh block it is in (0-based) */
  block: number;
}

/** Every command of every ```sh block. */
export function readmeCommands(text: string): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  blocks.forEach((body, block) => {
    const joined = body.replace(/\\\n\s*/g, '');
    for (const raw of joined.split('\n')) {
      const command = raw.replace(/\s+#.*$/, '').trim();
      if (command && !command.startsWith('#')) out.push({ command, block });
    }
  });
  return out;
}

/**
 * The words of a command line (the README's commands use no quotes, variables or globs; a
 * command that does is refused, so the README stays copy-pasteable in any shell).
 */
export function words(command: string): string[] {
  if (/["'`$*?;|<>(){}]/.test(command.replace(/ && /g, ' '))) throw new Error(`README command uses shell syntax this test does not run: ${command}`);
  return command.split(/\s+/);
}

/** A scratch project that has this package as a dependency (a link, as npm would install it). */
export function scratchProject(dir: string, root: string): void {
  mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'readme-check', private: true, dependencies: { [pkg.name]: '*' } }));
  symlinkSync(root, path.join(dir, 'node_modules', pkg.name), 'dir');
  for (const [bin, rel] of Object.entries(pkg.bin)) symlinkSync(path.join('..', pkg.name, rel), path.join(dir, 'node_modules', '.bin', bin));
}

/** MovieLens-100K's u1..u5 splits, as its mku.sh makes them: u.data in 5 consecutive fifths, each file sorted by user, item. */
function mkuSplits(lines: string[], folder: string): void {
  const n = lines.length, part = Math.floor(n / 5);
  const sorted = (rows: string[]) => rows.map((l) => l.split('\t')).sort((a, b) => Number(a[0]) - Number(b[0]) || Number(a[1]) - Number(b[1])).map((f) => f.join('\t'));
  for (let k = 1; k <= 5; k++) {
    const test = lines.slice((k - 1) * part, k * part);
    const base = [...lines.slice(0, (k - 1) * part), ...lines.slice(k * part)];
    writeFileSync(path.join(folder, `u${k}.test`), sorted(test).join('\n') + '\n');
    writeFileSync(path.join(folder, `u${k}.base`), sorted(base).join('\n') + '\n');
  }
}

/** `dir/ml-100k` from the real data (the gzipped u.data, u.item, u.user in `source`), with u1..u5 made as mku.sh does. */
export function realMl100k(dir: string, source: string): void {
  const folder = path.join(dir, 'ml-100k');
  mkdirSync(folder, { recursive: true });
  for (const f of ['u.data', 'u.item', 'u.user']) writeFileSync(path.join(folder, f), gunzipSync(readFileSync(path.join(source, `${f}.gz`))));
  mkuSplits(readFileSync(path.join(folder, 'u.data'), 'utf8').trim().split('\n'), folder);
}

/** `dir/ml-100k` with the real files' formats and names, on a small synthetic dataset (150 users × 120 items × 4,000 ratings). */
export function syntheticMl100k(dir: string): void {
  const folder = path.join(dir, 'ml-100k');
  mkdirSync(folder, { recursive: true });
  const x = generateInteractions({ users: 150, items: 120, interactions: 4000, seed: 16, explicit: true });
  const lines: string[] = [];
  for (let t = 0; t < x.user.length; t++) lines.push(`${x.user[t] + 1}\t${x.item[t] + 1}\t${x.rating[t]}\t${x.timestamp ? Math.round(x.timestamp[t]) : 880000000 + t}`);
  // u.data is in random order, as the real one is
  for (let t = lines.length - 1; t > 0; t--) { const j = (t * 7919) % (t + 1); [lines[t], lines[j]] = [lines[j], lines[t]]; }
  writeFileSync(path.join(folder, 'u.data'), lines.join('\n') + '\n');
  const items = Array.from({ length: x.items.size }, (_, k) => {
    const flags = ML100K_GENRES.map((_, g) => (g === 1 + (k % 7) || g === 8 + (k % 5) ? '1' : '0'));
    return `${k + 1}|Film ${k} (19${70 + (k % 30)})|01-Jan-19${70 + (k % 30)}||http://example.org/${k}|${flags.join('|')}`;
  });
  writeFileSync(path.join(folder, 'u.item'), Buffer.from(items.join('\n') + '\n', 'latin1'));
  const occupations = ['writer', 'student', 'engineer', 'artist'];
  writeFileSync(path.join(folder, 'u.user'), Array.from({ length: x.users.size }, (_, k) => `${k + 1}|${18 + (k % 50)}|${k % 2 ? 'F' : 'M'}|${occupations[k % 4]}|${10000 + k}`).join('\n') + '\n');
  mkuSplits(lines, folder);
}

export interface CommandRun { command: string; status: number | null; stdout: string; stderr: string; seconds: number }

/**
 * Run one README command as written: `npx affinity …` in `project` (the scratch project), `npm start`
 * in the checkout. `env` is added to the environment (AFFINITY_CACHE_DIR for calibrate, …).
 */
export function runCommand(command: string, o: { project: string; root: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): CommandRun {
  const argv = words(command);
  const cwd = argv[0] === 'npm' ? o.root : o.project;
  const t0 = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd, encoding: 'utf8', timeout: o.timeoutMs ?? 300_000, maxBuffer: 64 << 20,
    env: { ...process.env, npm_config_yes: 'false', npm_config_update_notifier: 'false', ...o.env },
  });
  return { command, status: r.error ? null : r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`, seconds: (performance.now() - t0) / 1000 };
}
