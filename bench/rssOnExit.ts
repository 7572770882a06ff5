/**
 * Preloaded (`node --import`) into a CLI process a bench case runs: at exit, writes the process's
 * peak resident set size (KiB, process.resourceUsage().maxRSS) to AFFINITY_BENCH_RSS_FILE, so the
 * case reports the command's own peak, not the bench process's.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.AFFINITY_BENCH_RSS_FILE;
if (file) process.on('exit', () => { writeFileSync(file, String(process.resourceUsage().maxRSS)); });
