/**
 * `affinity build`: build the native C++ addon (and the CUDA module where nvcc is found) for this
 * install, with the compiler output shown. The install script runs the same build
 * (scripts/build-native.mjs) but never fails the install and npm 11 hides its output; this is the
 * command `affinity info` names when the native backend is missing. Exits non-zero when the
 * addon is not built, with the build's reason.
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../backends/native/index.js';

export function register(program: Command): void {
  program
    .command('build')
    .description('build the native addon (and the CUDA module where nvcc is found) for this install, showing the compiler output')
    .option('--no-cuda', 'do not build the CUDA module, even where nvcc is found')
    .action((o: { cuda: boolean }) => {
      const script = path.join(packageRoot, 'scripts', 'build-native.mjs');
      if (!existsSync(script)) throw new Error(`${script} is missing: this install of the package is incomplete; reinstall it`);
      const env: NodeJS.ProcessEnv = { ...process.env, AFFINITY_NATIVE_VERBOSE: '1' };
      delete env.AFFINITY_SKIP_NATIVE;
      if (!o.cuda) env.AFFINITY_CUDA = '0';
      const r = spawnSync(process.execPath, [script], { cwd: packageRoot, env, stdio: 'inherit' });
      if (r.error) throw new Error(`cannot run ${script}: ${r.error.message}`);
      let status: { ok?: boolean; reason?: string } = {};
      try {
        status = JSON.parse(readFileSync(path.join(packageRoot, 'build', 'native-build.json'), 'utf8')) as typeof status;
      } catch { /* reported below */ }
      if (status.ok !== true) throw new Error(`the native addon was not built: ${status.reason ?? 'see the output above'}`);
      process.stderr.write('native addon ready; `npx affinity info` lists the backends\n');
    });
}
