/**
 * Running the built CLI (dist/src/cli/main.js) from a test: to completion (affinity), or killed
 * mid-run when a condition holds (runAndKill), for the crash and resume tests.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// compiled to dist/test/helpers/: the repo root is three levels up
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');

/** `affinity ARGS` to its end (2 min at most): exit code, stdout, stderr. */
export function affinity(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts `args` (the CLI unless `script`), SIGKILLs it when `when()` holds (polled every 2 ms; a
 * throw, e.g. reading a file being replaced, means not yet); resolves whether it was killed.
 */
export function runAndKill(args: string[], when: () => boolean, script = cli): Promise<{ killed: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b) => { stderr += b; });
    let killed = false;
    const poll = setInterval(() => {
      try {
        if (!killed && when()) { killed = true; child.kill('SIGKILL'); }
      } catch { /* a file being replaced: next time */ }
    }, 2);
    child.on('error', (e) => { clearInterval(poll); reject(e); });
    child.on('exit', (_code, signal) => { clearInterval(poll); resolve({ killed: signal === 'SIGKILL', stderr }); });
  });
}
