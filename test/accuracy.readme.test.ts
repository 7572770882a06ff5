/**
 * The README's MovieLens-100K examples on the real ML-100k ($AFFINITY_DATA_DIR/ml-100k, gzipped
 * u.data, u.item, u.user; u1..u5 made from u.data as its mku.sh makes them), run as written in a
 * scratch project (helpers/readme.ts). Each must exit 0; the outputs are printed for the record.
 * Skipped, saying so, when the data is absent (readme.test.ts runs them on a synthetic fixture).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeCommands, realMl100k, runCommand, scratchProject } from './helpers/readme.js';
import { testOrSkip } from './helpers/skip.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const source = path.join(process.env.AFFINITY_DATA_DIR ?? path.join(root, '..', 'shared', 'data'), 'ml-100k');
const present = ['u.data.gz', 'u.item.gz', 'u.user.gz'].every((f) => existsSync(path.join(source, f)));
const withData = testOrSkip(test, present ? null : `${source}/u.data.gz, u.item.gz or u.user.gz not found (set AFFINITY_DATA_DIR)`);
const commands = readmeCommands(readFileSync(path.join(root, 'README.md'), 'utf8')).filter((c) => c.command.includes('ml-100k/'));

let project = '';
if (present) {
  test.before(() => {
    project = mkdtempSync(path.join(tmpdir(), 'affinity-readme-ml100k-'));
    scratchProject(project, root);
    realMl100k(project, source);
  });
  test.after(() => rmSync(project, { recursive: true, force: true }));
}

test('the README has MovieLens-100K examples', () => {
  assert.ok(commands.length >= 3, `${commands.length} found`);
});

for (const { command } of commands) {
  withData(`README on ML-100k: ${command}`, () => {
    const r = runCommand(command, { project, root });
    assert.is(r.status, 0, `${command}\nexit ${r.status}\n${r.stderr}`);
    console.log(`  $ ${command}   [${r.seconds.toFixed(1)} s]\n${r.stdout.trim().split('\n').map((l) => `    ${l}`).join('\n')}`);
    if (command.includes('--train')) assert.match(r.stdout, /given splits u1\.base\|u1\.test, .*u5\.base\|u5\.test/);
  });
}

test.run();
