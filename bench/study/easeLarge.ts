/**
 * EASE's fit on a large catalogue (issue 19: "EASE fit on 27,000 items reported (time, memory)"):
 * the full suite's fit:ease case (bench/suites.ts, synthetic users × items × interactions, Zipf
 * item popularity, seed 27) fitted once, with the wall time, the process's CPU time (user + system,
 * every thread: the engine's pool and the native addon's threads included), the peak RSS and the
 * backend each kernel ran on. CPU time is the figure to compare on a shared machine.
 *
 *   npm run build:ts && node dist/bench/study/easeLarge.js [--users 138000] [--items 27000] [--interactions 20000000] [--backend auto]
 *
 * Prints one JSON object. The model refuses (with the memory it would need) before generating the
 * data when 16 bytes × items² exceed its memory limit.
 */
import { performance } from 'node:perf_hooks';
import { getEngine } from '../../src/engine/processEngine.js';
import type { RunRecord } from '../../src/engine/engine.js';
import { EASE } from '../../src/models/ease.js';
import { syntheticData } from '../data.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
}
const users = Number(arg('--users', '138000')), items = Number(arg('--items', '27000')), interactions = Number(arg('--interactions', '20000000'));
const backend = arg('--backend', 'auto');
const GiB = 2 ** 30;

const cpu = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const rssGiB = (): number => process.resourceUsage().maxRSS * 1024 / GiB;

new EASE().checkCatalogueFits(items);
let t = performance.now(), c = cpu();
const data = syntheticData(users, items, interactions, 27);
const gen = { wallS: (performance.now() - t) / 1000, cpuS: cpu() - c, peakRssGiB: rssGiB() };

const engine = getEngine();
const used = new Map<string, Set<string>>();
const stop = engine.observe((r: RunRecord) => { const s = used.get(r.kernel) ?? new Set(); s.add(r.backend); used.set(r.kernel, s); });
const model = new EASE({ lambda: 500 });
t = performance.now(); c = cpu();
await model.fit(data.x, { backend });
const fit = { wallS: (performance.now() - t) / 1000, cpuS: cpu() - c, peakRssGiB: rssGiB() };
stop();
console.log(JSON.stringify({
  data: data.source, items, lambda: 500, backend,
  memoryEstimateGiB: 16 * items * items / GiB,
  generate: gen, fit,
  engineUsed: Object.fromEntries([...used].map(([k, v]) => [k, [...v]])),
}, null, 1));
await engine.close();
