import type { Command } from 'commander';
import { machineInfo } from '../../engine/machine.js';
import { probeAll } from '../../backends/registry.js';
import { calibrationSummary } from '../../engine/calibration.js';

async function infoObject() {
  const backends = await probeAll();
  return {
    machine: machineInfo(),
    calibration: calibrationSummary(),
    backends: backends.map((b) => ({ name: b.name, available: b.available, reason: b.reason, kernels: b.kernels, ...(b.details ? { details: b.details } : {}) })),
  };
}

export function register(program: Command): void {
  program
    .command('info')
    .description('print the machine and every backend: available or not, and why')
    .option('--json', 'print one JSON object {machine, backends}')
    .action(async (opts: { json?: boolean }) => {
      const info = await infoObject();
      if (opts.json) {
        process.stdout.write(JSON.stringify(info, null, 2) + '\n');
        return;
      }
      const m = info.machine;
      console.log(`machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, SIMD ${m.simd}, ${m.platform}-${m.arch}, node ${m.node}`);
      console.log(`gpu:     ${m.gpu ?? 'none found (nvidia-smi absent or no device)'}`);
      console.log('backends:');
      for (const b of info.backends) {
        const mark = b.available ? 'available  ' : 'unavailable';
        console.log(`  ${b.name.padEnd(8)} ${mark} ${b.reason}${b.kernels.length ? ` [${b.kernels.join(', ')}]` : ''}`);
      }
      console.log(info.calibration
        ? `calibration (fastest first):\n${JSON.stringify(info.calibration, null, 2).split('\n').map((l) => `  ${l}`).join('\n')}`
        : 'calibration: none cached — run `affinity calibrate` (dispatch uses backend priority until then)');
    });
}
