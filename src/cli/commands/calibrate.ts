/** `affinity calibrate`: time every available backend on each kernel at a few sizes, cache the table, print it. */
import type { Command } from 'commander';
import type { CliEdge } from '../edge.js';
import { calibrate, calibrationPath, type CalibrationTable } from '../../engine/calibration.js';

function fmt(v: number): string {
  if (!Number.isFinite(v)) return '';
  if (v >= 1e6) return v.toExponential(2);
  if (v >= 100) return v.toFixed(0);
  return Number(v.toPrecision(3)).toString();
}

function formatCalibration(t: CalibrationTable): string {
  const lines = [
    `calibration of ${t.key.cpuModel}, ${t.key.cores} cores, gpu ${t.key.gpu ?? 'none'}, affinity ${t.key.version} (${fmt(t.seconds)} s)`,
    `${'kernel'.padEnd(22)} ${'size'.padEnd(30)} ${'backend'.padEnd(8)} ${'GFLOP/s'.padStart(9)} ${'rows/s'.padStart(10)}  timed`,
  ];
  const groups = new Map<string, typeof t.entries>();
  for (const e of t.entries) {
    const k = `${e.kernel}\u0000${e.size}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(e);
  }
  for (const es of groups.values()) {
    for (const e of [...es].sort((a, b) => b.gflops - a.gflops)) {
      const timed = `${e.timedRows < e.rows ? `${e.timedRows} of ${e.rows} rows` : `${e.rows} rows`}, ${e.repeats}× ${fmt(e.seconds * 1000)} ms`;
      lines.push(`${e.kernel.padEnd(22)} ${e.size.padEnd(30)} ${e.backend.padEnd(8)} ${fmt(e.gflops).padStart(9)} ${fmt(e.rowsPerSecond).padStart(10)}  ${timed}`);
    }
  }
  for (const f of t.failures) lines.push(`failed: ${f.kernel} ${f.size} on ${f.backend}: ${f.error}`);
  return lines.join('\n');
}

const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);

export function register(program: Command, edge: CliEdge): void {
  program
    .command('calibrate')
    .description('time every available backend on each kernel at a few sizes; cache the table that dispatch ranks backends by')
    .option('--json', 'print the table as one JSON object')
    .option('--kernels <names>', 'comma-separated kernels (default: every kernel two or more backends implement)', list)
    .option('--backends <names>', 'comma-separated backends to measure (default: every available one)', list)
    .action(async (opts: { json?: boolean; kernels?: string[]; backends?: string[] }) => {
      const table = await calibrate({
        engine: edge.context().engine,
        kernels: opts.kernels,
        backends: opts.backends,
        onProgress: (msg) => process.stderr.write(`  ${msg}\n`),
      });
      if (opts.json) {
        process.stdout.write(JSON.stringify(table, null, 2) + '\n');
        return;
      }
      console.log(formatCalibration(table));
      console.log(`written to ${calibrationPath()}`);
    });
}
