#!/usr/bin/env node
// The package as a consumer gets it: `npm pack` this checkout (built: dist/ and build/wasm must
// exist), install the tarball into a scratch project in a temporary folder, and check there that
//   - the install built the native addon (build-native.mjs resolves cmake-js and node-addon-api
//     from the package, wherever npm put them), and `npx affinity info --json` reports it available;
//   - `npx affinity build` (the fix `affinity info` names) rebuilds the addon there;
//   - `npx -- affinity --version` is this package's version (the bin is linked as `affinity`;
//     without `--`, npx takes --version as its own);
//   - the library imports by its package name and runs a kernel on the native backend;
//   - the README's library example runs as written.
// Run by CI (.ci/run), not by `npm test`: it takes minutes (the install compiles the addon, and
// gpu.js's optional gl tries to) and needs the npm registry or a warm npm cache. Exits non-zero on
// the first failed check, printing why; prints `SKIP pack check: …` and exits 0 only when the
// registry cannot be reached (then nothing about the package can be checked).
//
//   AFFINITY_PACK_KEEP=1   keep the scratch folder (its path is printed)
//   AFFINITY_CUDA          passed through to the install (default 0 here: the CUDA module is not
//                          what this checks, and nvcc builds take minutes)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const scratch = mkdtempSync(path.join(os.tmpdir(), 'affinity-pack-'));
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

function fail(msg) {
  console.error(`check-pack: FAIL: ${msg}`);
  console.error(`check-pack: scratch project kept at ${scratch}`);
  process.exit(1);
}

function run(cmd, args, cwd, env = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  if (r.error) fail(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

function must(r, what) {
  if (r.status !== 0) fail(`${what} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

for (const need of [path.join(root, 'dist', 'src', 'index.js'), path.join(root, 'build', 'wasm', 'affinity.wasm')]) {
  try { readFileSync(need); } catch { fail(`${need} is missing: build the checkout first (npm install / npm run build)`); }
}

// 1. pack
const packDir = path.join(scratch, 'pack');
mkdirSync(packDir);
must(run('npm', ['pack', '--pack-destination', packDir, '--silent'], root), 'npm pack');
const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
if (!tarball) fail('npm pack produced no tarball');
console.log(`check-pack: packed ${tarball} (${elapsed()})`);

// 2. install into a scratch project (no audit, cache first)
const project = path.join(scratch, 'consumer');
mkdirSync(project);
writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'affinity-pack-check', version: '1.0.0', private: true, type: 'module' }, null, 2));
const install = run('npm', ['install', path.join(packDir, tarball), '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'], project,
  { AFFINITY_CUDA: process.env.AFFINITY_CUDA ?? '0' });
if (install.status !== 0 && /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH)\b/.test(install.stderr)) {
  // the dependencies cannot be fetched here: nothing about the package can be checked
  console.log(`SKIP pack check: npm install cannot reach the registry (${/\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH)\b/.exec(install.stderr)[1]}) and the npm cache lacks a dependency`);
  rmSync(scratch, { recursive: true, force: true });
  process.exit(0);
}
must(install, 'npm install of the tarball');
const installed = path.join(project, 'node_modules', pkg.name);
const nativeLine = `${install.stdout}${install.stderr}`.split('\n').find((l) => /affinity: native addon/.test(l));
console.log(`check-pack: installed into ${project} (${elapsed()})${nativeLine ? `; the install said: ${nativeLine.trim()}` : ''}`);

// 3. the bin, as a consumer runs it
const env = { npm_config_yes: 'false' }; // npx must never fetch a package named `affinity` from the registry
const version = must(run('npx', ['--no', '--', 'affinity', '--version'], project, env), 'npx -- affinity --version').stdout.trim();
if (version !== pkg.version) fail(`npx affinity --version printed '${version}', expected ${pkg.version}`);
const infoRun = must(run('npx', ['--no', 'affinity', 'info', '--json'], project, env), 'npx affinity info --json');
let info;
try { info = JSON.parse(infoRun.stdout); } catch (e) { fail(`affinity info --json is not JSON (${e.message}):\n${infoRun.stdout}`); }
if (info.package?.name !== pkg.name || path.resolve(info.package.root) !== path.resolve(installed)) {
  fail(`affinity info reports package ${JSON.stringify(info.package)}, expected ${pkg.name} at ${installed}`);
}
const native = info.backends.find((b) => b.name === 'native');
if (!native?.available) fail(`the native backend is not available in the consumer: ${native?.reason ?? 'not listed'}`);
console.log(`check-pack: npx affinity info: native ${native.reason} (${elapsed()})`);

// 3b. `npx affinity build` (what affinity info names when the addon is missing) rebuilds it in the consumer
const rebuild = must(run('npx', ['--no', 'affinity', 'build', '--no-cuda'], project, env), 'npx affinity build --no-cuda');
if (!/native addon ready/.test(rebuild.stderr)) fail(`npx affinity build did not say the addon is ready:\n${rebuild.stdout}${rebuild.stderr}`);
const again = JSON.parse(must(run('npx', ['--no', 'affinity', 'info', '--json'], project, env), 'npx affinity info --json').stdout);
if (!again.backends.find((b) => b.name === 'native')?.available) fail('the native backend is not available after npx affinity build');
console.log(`check-pack: npx affinity build rebuilt the addon in the consumer (${elapsed()})`);

// 4. the library by its package name, on the native backend
const lib = `import { getEngine, denseFrom } from '${pkg.name}';
const items = denseFrom(3, 2, [1, 0, 0.9, 0.1, 0, 1]);
const r = await getEngine().runDetailed('denseScoreTopK', { queries: items, keys: items, k: 1, metric: 'cosine', excludeSelf: true }, { backend: 'native' });
if (r.backend !== 'native') throw new Error('ran on ' + r.backend);
if (Array.from(r.out.ids).join() !== '1,0,1') throw new Error('wrong neighbours ' + Array.from(r.out.ids).join());
await getEngine().close();
console.log('library ok on ' + r.backend);
`;
writeFileSync(path.join(project, 'library.mjs'), lib);
const libRun = must(run(process.execPath, ['library.mjs'], project), 'the library import');
if (!/library ok on native/.test(libRun.stdout)) fail(`library check printed:\n${libRun.stdout}${libRun.stderr}`);

// 5. the README's library example, as written
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const example = /## Library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
if (!example) fail("README.md has no ```ts block under '## Library'");
writeFileSync(path.join(project, 'readme-example.mjs'), `${example}\nawait (await import('${pkg.name}')).getEngine().close();\n`);
const printed = must(run(process.execPath, ['readme-example.mjs'], project), "the README's library example").stdout.trim();
const promised = /console\.log\(.*\); \/\/ (.*)$/m.exec(example)?.[1].trim();
if (promised !== undefined && printed !== promised) fail(`the README's library example printed '${printed}', its comment says '${promised}'`);
console.log(`check-pack: the library imports as '${pkg.name}' and runs on native; the README example runs (${elapsed()})`);

if (process.env.AFFINITY_PACK_KEEP === '1') console.log(`check-pack: kept ${scratch}`);
else rmSync(scratch, { recursive: true, force: true });
console.log(`check-pack: PASS (${elapsed()})`);
