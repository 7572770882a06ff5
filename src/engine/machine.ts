/** What this machine is: cores, CPU model, SIMD level, GPU. Used by `affinity info` and the calibration cache key. */
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface MachineInfo {
  platform: string;
  arch: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  /** best SIMD level the CPU reports: avx512, avx2, sse4, neon or none */
  simd: string;
  node: string;
  gpu: string | null;
}

function cpuFlags(): Set<string> {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('flags') || l.startsWith('Features'));
    return new Set((line?.split(':')[1] ?? '').trim().split(/\s+/));
  } catch {
    return new Set();
  }
}

function simdLevel(): string {
  if (process.arch === 'arm64') return 'neon';
  const f = cpuFlags();
  if (f.has('avx512f')) return 'avx512';
  if (f.has('avx2') && f.has('fma')) return 'avx2';
  if (f.has('sse4_2')) return 'sse4';
  return f.size ? 'none' : 'unknown';
}

let gpuCache: string | null | undefined;
function detectGpu(): string | null {
  if (gpuCache !== undefined) return gpuCache;
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader'], { timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] });
    gpuCache = out.toString().trim().split('\n')[0] || null;
  } catch {
    gpuCache = null;
  }
  return gpuCache;
}

export function machineInfo(): MachineInfo {
  return {
    platform: process.platform,
    arch: process.arch,
    cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    simd: simdLevel(),
    node: process.version,
    gpu: detectGpu(),
  };
}
