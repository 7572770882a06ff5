/**
 * Every shell example of README.md, run as written in README order (helpers/readme.ts): in a
 * scratch project that has this package as a dependency, with ml-100k/ a small synthetic dataset
 * in MovieLens-100K's own files and formats (the real one: accuracy.readme.test.ts). Each must
 * exit 0, and the checks below hold what the README says each prints or writes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NOT_RUN_HERE, readmeCommands, runCommand, scratchProject, syntheticMl100k, type CommandRun } from './helpers/readme.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const commands = readmeCommands(readme);
const runnable = (c: string): boolean => (/^npx (-- )?affinity\b/.test(c) || c === 'npm start') && !(c in NOT_RUN_HERE);
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;

const project = mkdtempSync(path.join(tmpdir(), 'affinity-readme-'));
scratchProject(project, root);
syntheticMl100k(project);
const env = { AFFINITY_CACHE_DIR: path.join(project, 'cache') };

/** What each command must print or write, beyond exiting 0 (by the command's first words). */
const checks: Array<[RegExp, (r: CommandRun) => void]> = [
  [/^npx -- affinity --version$/, (r) => assert.is(r.stdout, `${version}\n`)],
  [/^npx affinity info$/, (r) => assert.match(r.stdout, /^affinity-recsys \S+ \(.*\)\nmachine /)],
  [/^npx affinity generate /, () => assert.is(readFileSync(path.join(project, 'data.csv'), 'utf8').trim().split('\n').length, 20001)],
  [/^npx affinity similarity /, () => assert.equal(Object.keys(JSON.parse(readFileSync(path.join(project, 'sims.jsonl'), 'utf8').split('\n')[0]) as object), ['item', 'items', 'scores'])],
  [/^npx affinity eval --input (data\.csv|ml-100k\/u\.data) --model svd,als,item-knn /, (r) => {
    // the example: rating metrics n/a for the ranking models, said once
    assert.match(r.stdout, /^als\b.*\bn\/a\s+n\/a\s+\d\.\d{4} ± /m);
    assert.match(r.stdout, /^item-knn\s+n\/a\s+n\/a\s+\d\.\d{4} ± /m);
    assert.is(r.stderr.split('\n').filter((l) => /do not apply to als, item-knn/.test(l)).length, 1);
  }],
  [/^npx affinity fit /, () => assert.ok(existsSync(path.join(project, 'als.affm')))],
  [/^npx affinity recommend /, (r) => assert.is(r.stdout.trim().split('\n').length, 11, r.stdout)],
  [/^npx affinity precompute --input /, () => { for (const f of ['recs.parquet', 'recs.similar.parquet']) assert.ok(existsSync(path.join(project, f)), f); }],
  [/^npx affinity precompute --model-file /, () => assert.is(readFileSync(path.join(project, 'recs.jsonl'), 'utf8').trim().split('\n').length, 1000)],
  [/^npx affinity replay /, (r) => assert.match(r.stdout, /matched \d+ of \d+ events \(/)],
  [/^npx affinity calibrate /, () => assert.ok(existsSync(path.join(project, 'cache', 'calibration.json')))],
  [/^npx affinity bench --kernel /, () => assert.ok(existsSync(path.join(project, 'bench-out', 'quick.json')))],
  [/^npx affinity bench compare /, (r) => assert.match(r.stdout, /same \(±5%\)/)],
  [/^npx affinity demo$|^npm start$/, (r) => assert.match(r.stdout, /precompute demo: model 'als'/)],
  [/^npx affinity eval --train ml-100k\/u1\.base/, (r) => assert.match(r.stdout, /^2 models, given splits u1\.base\|u1\.test, .* 5 fold\(s\) each/)],
  [/^npx affinity eval .*--cold-start user/, (r) => assert.match(r.stdout, /hybrid: cold start by user/)],
];

test('every README command is run here or says where it is run instead', () => {
  assert.ok(commands.length >= 20, `${commands.length} commands found`);
  const unknown = commands.filter((c) => !runnable(c.command) && !(c.command in NOT_RUN_HERE)).map((c) => c.command);
  assert.equal(unknown, [], 'README commands neither run by this test nor listed in NOT_RUN_HERE');
  const stale = Object.keys(NOT_RUN_HERE).filter((c) => !commands.some((x) => x.command === c));
  assert.equal(stale, [], 'NOT_RUN_HERE lists commands the README no longer has');
  for (const c of commands.filter((x) => runnable(x.command))) assert.ok(checks.some(([re]) => re.test(c.command)), `no check for: ${c.command}`);
});

for (const { command } of commands.filter((c) => runnable(c.command))) {
  test(`README: ${command}`, () => {
    const r = runCommand(command, { project, root, env });
    assert.is(r.status, 0, `${command}\nexit ${r.status}\n${r.stderr}`);
    for (const [re, check] of checks) if (re.test(command)) check(r);
  });
}

test.after(() => rmSync(project, { recursive: true, force: true }));

test.run();
