#!/usr/bin/env node
// Browser smoke test of the wasm backend's core: serves test/browser/index.html, the compiled core
// (dist/src/backends/wasm/core.js, a plain ES module, and the sibling modules it imports), build/wasm/affinity.wasm
// and, under /src/, the compiled reference kernels (dist/src/**/*.js: the page checks sparseSimilarityTopK,
// alsHalfStep and gemm against them) on
// 127.0.0.1, opens the page in headless Chromium, and reads PASS/FAIL from the POST the page sends to /result
// when it is done. Exit 0 on PASS, 1 on FAIL; `SKIP browser: …` and exit 0 when Chromium or the build
// outputs are missing.
//   node test/browser/smoke.mjs   (CHROMIUM=/path/to/chrome for another binary, AFFINITY_WASM=/path/to.wasm for another build)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
const files = {
  '/': { file: path.join(here, 'index.html'), type: 'text/html; charset=utf-8' },
  '/core.js': { file: path.join(root, 'dist', 'src', 'backends', 'wasm', 'core.js'), type: 'text/javascript; charset=utf-8' },
  '/affinity.wasm': { file: process.env.AFFINITY_WASM || path.join(root, 'build', 'wasm', 'affinity.wasm'), type: 'application/wasm' },
};

if (!existsSync(chromium)) {
  console.log(`SKIP browser: chromium not found at ${chromium} (install Debian's chromium package, or set CHROMIUM=/path/to/chrome)`);
  process.exit(0);
}
for (const [url, { file }] of Object.entries(files)) {
  if (!existsSync(file)) {
    console.log(`SKIP browser: ${path.relative(root, file)} (served as ${url}) is missing; run \`npm run build:ts && npm run build:wasm\``);
    process.exit(0);
  }
}

// The page POSTs `PASS|FAIL\n<detail>` to /result when it is done; Chromium is stopped then. (Waiting for
// that, rather than dumping the DOM after a virtual-time budget, keeps a slow, loaded machine from
// reading the page before the wasm module has even compiled.)
let resolvePosted;
const postedPromise = new Promise((resolve) => { resolvePosted = resolve; });
const server = http.createServer((req, res) => {
  const url = (req.url || '/').split('?')[0];
  if (req.method === 'POST' && url === '/result') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { res.writeHead(204).end(); resolvePosted(body); });
    return;
  }
  // /src/… → dist/src/… (compiled ES modules only; no way out of dist/src)
  if (url.startsWith('/src/') && url.endsWith('.js') && !url.includes('..')) {
    const file = path.join(root, 'dist', url);
    if (existsSync(file)) { res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(readFileSync(file)); return; }
  }
  // /<name>.js → the wasm core's sibling modules (dist/src/backends/wasm/<name>.js, which core.js imports)
  const sibling = /^\/[A-Za-z]+\.js$/.test(url) && path.join(root, 'dist', 'src', 'backends', 'wasm', url.slice(1));
  if (sibling && !files[url] && existsSync(sibling)) { res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(readFileSync(sibling)); return; }
  const entry = files[url];
  if (!entry) { res.writeHead(404).end('not found'); return; }
  res.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-store' }).end(readFileSync(entry.file));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const TIMEOUT_MS = 120_000;
const profile = mkdtempSync(path.join(os.tmpdir(), 'affinity-chromium-'));
const args = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', `--user-data-dir=${profile}`, url,
];
const child = spawn(chromium, args, { stdio: ['ignore', 'ignore', 'pipe'] });
let errText = '';
child.stderr.on('data', (b) => { errText += b; });
const exited = new Promise((resolve) => child.on('close', (code) => resolve({ exited: code })));
let timer;
const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve({ timedOut: true }), TIMEOUT_MS); });
const outcome = await Promise.race([postedPromise.then((body) => ({ body })), exited, timedOut]);
clearTimeout(timer);
child.kill('SIGKILL');
await exited;
server.close();
rmSync(profile, { recursive: true, force: true });

const body = outcome.body ?? '';
const verdict = /^(PASS|FAIL)/.exec(body)?.[1] ?? null;
const detail = body.replace(/^(PASS|FAIL)\n?/, '');
if (verdict === 'PASS') {
  console.log(`browser: PASS (${path.basename(chromium)})\n${detail}`);
  process.exit(0);
}
const why = verdict ? 'page says FAIL' : outcome.timedOut ? `no result from the page within ${TIMEOUT_MS / 1000} s` : `chromium exited (${outcome.exited}) before the page reported`;
console.log(`browser: FAIL (${why})\n${detail}`);
if (!verdict) console.log(errText.split('\n').slice(-15).join('\n'));
process.exit(1);
