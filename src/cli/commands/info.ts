/**
 * `affinity info`: what this install can run. By default a short readable summary — the package,
 * the machine, every backend (available or not, and why, with the command that fixes it), and
 * which backend dispatch picks per kernel from the cached calibration. `--verbose` adds each
 * backend's kernels and the whole calibration ranking; `--json` prints all of it as one object.
 */
import type { Command } from 'commander';
import { createRequire } from 'node:module';
import { machineInfo } from '../../engine/machine.js';
import { probeAll, type BackendStatus } from '../../backends/registry.js';
import { packageRoot } from '../../backends/native/index.js';
import { calibratedRanker, calibrationPath, calibrationSummary, loadCalibration, type CalibrationTable } from '../../engine/calibration.js';
import { isKernelName } from '../../kernels/contract.js';

const pkg = createRequire(import.meta.url)('../../../../package.json') as { name: string; version: string };

/** Per calibrated kernel and size: the backend dispatch picks (the calibrated ranker's first), and the measured rates. */
function dispatchPicks(table: CalibrationTable, backends: BackendStatus[]) {
  const rank = calibratedRanker(table);
  const seen = new Map<string, { kernel: string; sizeClass: string; size: string; work: number; rates: Record<string, number> }>();
  for (const e of table.entries) {
    const key = `${e.kernel}\u0000${e.sizeClass}`;
    if (!seen.has(key)) seen.set(key, { kernel: e.kernel, sizeClass: e.sizeClass, size: e.size, work: e.work, rates: {} });
    seen.get(key)!.rates[e.backend] = Number(e.gflops.toPrecision(3));
  }
  const out = [];
  for (const s of seen.values()) {
    const kernel = s.kernel;
    if (!isKernelName(kernel)) continue;
    const candidates = backends.filter((b) => b.available && b.kernels.includes(kernel));
    const picked = candidates.length ? rank(kernel, s.work, candidates)[0].name : null;
    out.push({ kernel: s.kernel, sizeClass: s.sizeClass, size: s.size, picked, gflops: s.rates });
  }
  return out;
}

async function infoObject() {
  const backends = await probeAll();
  const table = loadCalibration();
  return {
    package: { name: pkg.name, version: pkg.version, root: packageRoot },
    machine: machineInfo(),
    backends: backends.map((b) => ({ name: b.name, available: b.available, reason: b.reason, kernels: b.kernels, ...(b.details ? { details: b.details } : {}) })),
    dispatch: table ? dispatchPicks(table, backends) : null,
    calibration: calibrationSummary(),
  };
}

type Info = Awaited<ReturnType<typeof infoObject>>;

function readable(info: Info, verbose: boolean): string {
  const m = info.machine;
  const lines = [
    `${info.package.name} ${info.package.version} (${info.package.root})`,
    `machine  ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, SIMD ${m.simd}, ${m.platform}-${m.arch}, node ${m.node}`,
    `gpu      ${m.gpu ?? 'none found (nvidia-smi absent or no device)'}`,
    'backends',
  ];
  for (const b of info.backends) {
    lines.push(`  ${b.name.padEnd(7)} ${b.available ? 'yes' : 'no '}  ${b.reason}`);
    if (verbose && b.kernels.length) lines.push(`${' '.repeat(14)}kernels: ${b.kernels.join(', ')}`);
  }
  if (!info.dispatch) {
    lines.push(`dispatch by backend priority (no calibration cached for this machine and version; \`npx affinity calibrate\` measures one, about a minute)`);
  } else {
    const c = info.calibration as { createdAt: string } | null;
    lines.push(`dispatch by calibration of ${c?.createdAt.slice(0, 10) ?? '?'} (${calibrationPath()}):`);
    const width = Math.max(...info.dispatch.map((d) => d.kernel.length));
    for (const d of info.dispatch) {
      const rates = Object.entries(d.gflops).sort((a, b) => b[1] - a[1]).map(([b, g]) => `${b} ${g}`).join(', ');
      lines.push(`  ${d.kernel.padEnd(width)} ${d.sizeClass.padEnd(6)} → ${d.picked ?? '(none available)'}${verbose ? `   GFLOP/s: ${rates}  [${d.size}]` : ''}`);
    }
  }
  if (!verbose) lines.push('(--verbose: kernels per backend and measured rates; --json: everything)');
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('info')
    .description('what this install can run: machine, every backend (available or not, why, and how to fix it), and what dispatch picks')
    .option('--verbose', 'also list each backend\'s kernels and the calibration\'s measured rates')
    .option('--json', 'print one JSON object {package, machine, backends, dispatch, calibration}')
    .action(async (opts: { json?: boolean; verbose?: boolean }) => {
      const info = await infoObject();
      if (opts.json) process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      else process.stdout.write(readable(info, opts.verbose === true));
    });
}
