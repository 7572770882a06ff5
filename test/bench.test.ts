import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize, markdownTable, measure, type BenchRecord } from '../bench/harness.js';
import { barChart, lineChart } from '../bench/svg.js';
import { compareRecords, compareMarkdown, parseResults, geometricMeanRatio, inputOf, machineDifferences } from '../bench/compare.js';
import { annotate, anchorsMarkdown } from '../bench/anchors.js';
import { replaceSection, START, END } from '../bench/readme.js';
import { reportBody, reportMarkdown } from '../bench/report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');

function rec(kernel: string, backend: string, size: string, median: number, extra: Partial<BenchRecord> = {}): BenchRecord {
  return { kernel, backend, size, threads: 2, medianSeconds: median, minSeconds: median * 0.9, maxSeconds: median * 1.2, repeats: 3, ...extra };
}

const sample: BenchRecord[] = [
  rec('denseScoreTopK', 'native', '20000x64', 0.5, { gflops: 100, throughput: 100, throughputUnit: 'GFLOP/s', anchor: 'dense-20k' }),
  rec('denseScoreTopK', 'wasm', '20000x64', 2, { gflops: 25, throughput: 25, throughputUnit: 'GFLOP/s', anchor: 'dense-20k' }),
  rec('denseScoreTopK', 'js', '20000x64', 2.5, { gflops: 1, throughput: 1, throughputUnit: 'GFLOP/s', anchor: 'dense-20k', estimatedFullSeconds: 50, note: '1000 of 20000 query rows timed' }),
  rec('denseScoreTopK', 'native', '2000x64', 0.01, { gflops: 50, throughput: 50, throughputUnit: 'GFLOP/s' }),
  rec('denseScoreTopK', 'js', '2000x64', 0.5, { gflops: 1, throughput: 1, throughputUnit: 'GFLOP/s' }),
  rec('fit:svd', 'auto', 'ml100k', 0.4, { kind: 'fit', throughput: 1.25e6, throughputUnit: 'interactions/s', note: 'a <b> & "c" | d' }),
  rec('fit:svd 5-fold', 'auto', 'ml100k', 14.4, { kind: 'fit', throughput: 5.5e5, throughputUnit: 'interactions/s', anchor: 'svd-cv' }),
];

/** Tags of an XML-ish string, checked for balance; returns the element names in order. */
function xmlElements(s: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const body = s.replace(/<!--[\s\S]*?-->/g, '');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (close) {
      assert.is(stack.pop(), name, `closing </${name}> matches its opening tag`);
    } else {
      names.push(name);
      if (!self) stack.push(name);
    }
  }
  assert.equal(stack, [], 'every tag is closed');
  // no stray < or & outside tags and entities
  const text = body.replace(/<[^>]*>/g, '');
  assert.not.match(text, /<|&(?!amp;|lt;|gt;|quot;|#\d+;)/, 'text is escaped');
  return names;
}

test('summarize: median, min and max of known arrays', () => {
  assert.equal(summarize([3, 1, 2]), { medianSeconds: 2, minSeconds: 1, maxSeconds: 3 });
  assert.equal(summarize([4, 1, 3, 2]), { medianSeconds: 2.5, minSeconds: 1, maxSeconds: 4 });
  assert.equal(summarize([7]), { medianSeconds: 7, minSeconds: 7, maxSeconds: 7 });
  assert.equal(summarize([5, 5, 1, 9, 5]), { medianSeconds: 5, minSeconds: 1, maxSeconds: 9 });
  const input = [0.3, 0.1, 0.2];
  summarize(input);
  assert.equal(input, [0.3, 0.1, 0.2], 'input left unsorted');
  assert.throws(() => summarize([]), /no timings/);
});

test('measure: warm-up calls untimed, one timing per repeat, before() before every call', async () => {
  let calls = 0, resets = 0;
  const m = await measure(async () => { calls++; }, { repeats: 4, warmup: 2, before: () => { resets++; } });
  assert.is(m.times.length, 4);
  assert.is(m.cpuTimes.length, 4);
  assert.ok(m.cpuTimes.every((t) => t >= 0));
  assert.is(calls, 6);
  assert.is(resets, 6);
  assert.ok(m.peakRssBytes > 0);
  for (const t of m.times) assert.ok(t >= 0);
});

test('measure: the CPU time of each timed call, busy work counted, waiting not', async () => {
  // a fixed amount of work (a few tens of ms of CPU however loaded the machine is)
  const busy = async () => { let x = 0; for (let i = 0; i < 3e7; i++) x += Math.sqrt(x + i); return x; };
  const m = await measure(busy, { repeats: 2, warmup: 0 });
  assert.is(m.cpuTimes.length, 2);
  for (const c of m.cpuTimes) assert.ok(c >= 0.005, `3e7 square roots took ${c} s of CPU`);
  const idle = await measure(() => new Promise((r) => setTimeout(r, 100)), { repeats: 1, warmup: 0 });
  assert.ok(idle.cpuTimes[0] < idle.times[0], `sleeping 100 ms: cpu ${idle.cpuTimes[0]} s, wall ${idle.times[0]} s`);
});

test('markdown table: header, separator, one row per record, pipes escaped', () => {
  const md = markdownTable(sample);
  const lines = md.trimEnd().split('\n');
  assert.is(lines.length, sample.length + 2);
  const cols = (l: string) => l.replace(/\\\|/g, '').split('|').length;
  for (const l of lines) {
    assert.ok(l.startsWith('| ') && l.endsWith(' |'), l);
    assert.is(cols(l), cols(lines[0]), `same number of cells: ${l}`);
  }
  assert.match(md, /100 GFLOP\/s/);
  assert.match(md, /1\.25 M interactions\/s/);
  assert.match(md, /a <b> & "c" \\\| d/);
  assert.match(md, /full ≈ 50/);
});

test('annotate: ratios vs js in the same run and vs the anchor and target', () => {
  const rs = annotate(sample.map((r) => ({ ...r })));
  const native = rs.find((r) => r.backend === 'native' && r.size === '20000x64')!;
  assert.is(native.vsJs, 100);
  assert.is(native.vsAnchor, 100 / 6);
  assert.is(native.vsTarget, 1);
  const wasm = rs.find((r) => r.backend === 'wasm')!;
  assert.is(wasm.vsTarget, 25 / 2 / 12, 'wasm target is per thread');
  const js = rs.find((r) => r.backend === 'js' && r.size === '20000x64')!;
  assert.is(js.vsJs, 1);
  const cv = rs.find((r) => r.kernel === 'fit:svd 5-fold')!;
  assert.is(cv.vsAnchor, 7.2 / 14.4);
  assert.is(cv.vsJs, undefined);
  const table = anchorsMarkdown(rs);
  assert.match(table, /tfjs-wasm 6 GFLOP\/s/);
  assert.match(table, /100 GFLOP\/s \(native\)/);
  assert.match(table, /implicit 12\.5 s \| ≤ 6 s \| not run/);
});

test('annotate: a per-thread anchor (gemm vs tfjs-wasm on one thread) compares GFLOP/s per thread', () => {
  const rs = annotate([
    rec('gemm', 'wasm', '4096x256·256x256, reused out', 0.01, { gflops: 58, throughput: 58, throughputUnit: 'GFLOP/s', anchor: 'gemm-4096x256' }),
    rec('gemm', 'native', '4096x256·256x256, reused out', 0.005, { gflops: 116, throughput: 116, throughputUnit: 'GFLOP/s', anchor: 'gemm-4096x256' }),
  ]);
  const [wasm, native] = rs;
  assert.is(wasm.vsAnchor, 58 / 2 / 29, 'wasm: 29 GFLOP/s per thread = the anchor');
  assert.is(wasm.vsTarget, 58 / 2 / 87, 'wasm target: 3× the anchor per thread');
  assert.is(native.vsAnchor, 116 / 2 / 29);
  assert.is(native.vsTarget, 116 / 160, 'native target: total GFLOP/s');
  const table = anchorsMarkdown(rs);
  assert.match(table, /tfjs-backend-wasm matMul, 1 thread: 29 GFLOP\/s \| native ≥ 160 GFLOP\/s, wasm ≥ 87 GFLOP\/s\/thread \| 58 GFLOP\/s per thread \(native, 2 threads\) \| 2×/);
});

test('bar chart: well-formed SVG with one bar per record', () => {
  const svg = barChart(sample);
  assert.ok(svg.startsWith('<svg'), 'starts with <svg');
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  xmlElements(svg);
  assert.is((svg.match(/<rect class="bar"/g) ?? []).length, sample.length);
  assert.match(svg, /a &lt;b&gt;|fit:svd/);
  assert.is(xmlElements(barChart([])).filter((n) => n === 'rect').length, 1, 'empty: background only');
});

test('line chart: well-formed SVG, one line per (kernel, backend) with two sizes', () => {
  const svg = lineChart(sample);
  assert.ok(svg.startsWith('<svg'));
  xmlElements(svg);
  // denseScoreTopK·native and denseScoreTopK·js have two sizes each; wasm and the fits one
  assert.is((svg.match(/<polyline class="series"/g) ?? []).length, 2);
  // units on both axes; the legend names each backend (colour) and each kernel (line style) once
  assert.match(svg, /problem size: GFLOP per call \(log scale\)/);
  assert.match(svg, /throughput: GFLOP\/s \(log scale\)/);
  assert.is((svg.match(/class="legend-backend"/g) ?? []).length, 2);
  assert.is((svg.match(/class="legend-kernel"/g) ?? []).length, 1);
  // a case in another unit (interactions/s) never shares the GFLOP/s axes, even at two sizes
  const fits = [rec('fit:svd', 'auto', 'a', 1, { throughput: 1e6, throughputUnit: 'interactions/s' }), rec('fit:svd', 'auto', 'b', 2, { throughput: 2e6, throughputUnit: 'interactions/s' })];
  const mixed = lineChart([...sample, ...fits]);
  assert.is((mixed.match(/<polyline class="series"/g) ?? []).length, 2);
  assert.match(mixed, /fit\/job record\(s\) in other units: see the table/);
  const empty = lineChart([sample[0]]);
  xmlElements(empty);
  assert.match(empty, /no case was run at two or more sizes/);
});

test('compare: ratios B/A on two hand-made result files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'affinity-bench-'));
  try {
    const a = { date: '2026-01-01T00:00:00Z', records: [
      rec('denseScoreTopK', 'native', '20000x64', 1, { gflops: 50 }),
      rec('denseScoreTopK', 'js', '20000x64', 4, { gflops: 1 }),
      rec('sgdEpoch', 'js', 'ml100k', 0.05, { throughput: 2e6, throughputUnit: 'interactions/s' }),
      rec('bprEpoch', 'js', 'ml100k', 0.04),
    ] };
    const b = [
      rec('denseScoreTopK', 'native', '20000x64', 0.5, { gflops: 100 }),
      rec('denseScoreTopK', 'js', '20000x64', 4, { gflops: 1 }),
      rec('sgdEpoch', 'js', 'ml100k', 0.1, { throughput: 1e6, throughputUnit: 'interactions/s' }),
      rec('alsHalfStep', 'js', 'ml100k', 0.2),
    ];
    writeFileSync(path.join(dir, 'A.json'), JSON.stringify(a));
    writeFileSync(path.join(dir, 'B.json'), JSON.stringify(b));
    const rows = compareRecords(parseResults(JSON.stringify(a)).records, parseResults(JSON.stringify(b)).records);
    const find = (k: string, be: string) => rows.find((r) => r.kernel === k && r.backend === be)!;
    assert.is(find('denseScoreTopK', 'native').timeRatio, 0.5);
    assert.is(find('denseScoreTopK', 'native').gflopsRatio, 2);
    assert.is(find('denseScoreTopK', 'js').timeRatio, 1);
    assert.is(find('sgdEpoch', 'js').timeRatio, 2);
    assert.is(find('sgdEpoch', 'js').throughputRatio, 0.5);
    assert.is(find('bprEpoch', 'js').onlyIn, 'A');
    assert.is(find('alsHalfStep', 'js').onlyIn, 'B');
    assert.ok(Math.abs(geometricMeanRatio(rows)! - 1) < 1e-12, 'geomean of 0.5, 1, 2 is 1');
    const md = compareMarkdown(rows);
    assert.match(md, /\| denseScoreTopK \| native \| 20000x64 \| 1 \| 0\.5 \| 0\.5 \| 2 \| faster \|/);
    assert.match(md, /\| sgdEpoch \| js \| ml100k \| 0\.05 \| 0\.1 \| 2 \| 0\.5 \| slower \|/);

    const r = spawnSync(process.execPath, [cli, 'bench', 'compare', path.join(dir, 'A.json'), path.join(dir, 'B.json'), '--json'], { encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 0, r.stderr);
    const cliRows = JSON.parse(r.stdout);
    assert.is(cliRows.find((x: { kernel: string; backend: string }) => x.kernel === 'denseScoreTopK' && x.backend === 'native').timeRatio, 0.5);
    const t = spawnSync(process.execPath, [cli, 'bench', 'compare', path.join(dir, 'A.json'), path.join(dir, 'B.json')], { encoding: 'utf8', timeout: 60_000 });
    assert.is(t.status, 0, t.stderr);
    assert.match(t.stdout, /time B\/A/);
    const bad = spawnSync(process.execPath, [cli, 'bench', 'compare', path.join(dir, 'A.json')], { encoding: 'utf8', timeout: 60_000 });
    assert.is.not(bad.status, 0);
    assert.match(bad.stderr, /two result files/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => parseResults('{"x": 1}', 'f.json'), /no records/);
  assert.throws(() => parseResults('[{"kernel": "a"}]', 'f.json'), /record 0/);
});

test('compare: a case whose input differs (ML-100k vs its synthetic stand-in) is flagged, not compared; other machines are warned about', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'affinity-bench-'));
  try {
    const real = 'svd (biased), 100 factors, one epoch in shuffled order; ML-100k u.data';
    const fake = 'svd (biased), 100 factors, one epoch in shuffled order; synthetic ML-100k stand-in (no /x/ml-100k/u.data.gz)';
    const a = { machine: { cpuModel: 'AMD EPYC', cores: 2, simd: 'avx512', gpu: null }, records: [
      rec('sgdEpoch', 'native', 'ml100k f100', 0.02, { note: real }), rec('denseScoreTopK', 'native', '2000x64', 0.01),
    ] };
    const b = { machine: { cpuModel: 'Intel Xeon', cores: 2, simd: 'avx512', gpu: null }, records: [
      rec('sgdEpoch', 'native', 'ml100k f100', 0.01, { note: fake }), rec('denseScoreTopK', 'native', '2000x64', 0.02),
    ] };
    assert.is(inputOf(a.records[0]), 'ML-100k u.data');
    assert.is(inputOf(a.records[1]), '', 'a generated case: its size says it all');
    const rows = compareRecords(a.records, b.records);
    const sgd = rows.find((r) => r.kernel === 'sgdEpoch')!;
    assert.equal(sgd.inputsDiffer, { a: 'ML-100k u.data', b: 'synthetic ML-100k stand-in (no /x/ml-100k/u.data.gz)' });
    assert.is(sgd.timeRatio, undefined);
    assert.is(geometricMeanRatio(rows), 2, 'only the comparable case counts');
    assert.match(compareMarkdown(rows), /\| sgdEpoch \| native \| ml100k f100 \| .* \*\*inputs differ, not comparable\*\*: A ML-100k u\.data, B synthetic ML-100k stand-in/);
    assert.equal(machineDifferences(a, b), ['A and B ran on different machines: cpuModel "AMD EPYC" vs "Intel Xeon"; the ratios mix the machines with the code']);
    writeFileSync(path.join(dir, 'A.json'), JSON.stringify(a));
    writeFileSync(path.join(dir, 'B.json'), JSON.stringify(b));
    const t = spawnSync(process.execPath, [cli, 'bench', 'compare', path.join(dir, 'A.json'), path.join(dir, 'B.json')], { encoding: 'utf8', timeout: 60_000 });
    assert.is(t.status, 0, t.stderr);
    assert.match(t.stderr, /affinity: warning: A and B ran on different machines: cpuModel/);
    assert.match(t.stderr, /affinity: warning: 1 case\(s\) timed different inputs in A and B \(e\.g\. sgdEpoch ml100k f100: ML-100k u\.data vs synthetic ML-100k stand-in/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a report on the synthetic stand-in says so at the top', () => {
  const body = reportBody({ suite: 'quick', date: '2026-01-01T00:00:00Z', machine: { cpuModel: 'x', cores: 2, memoryGiB: 1, simd: 'avx2', platform: 'linux', arch: 'x64', node: 'v20', gpu: null },
    records: [rec('sgdEpoch', 'js', 'ml100k f100', 0.05, { note: 'x; synthetic ML-100k stand-in (no /d/u.data.gz)' })] });
  assert.match(body.split('\n')[2], /^\*\*⚠ ML-100k was not found/);
});

test('README section: markers added once under ## Benchmarks, replaced in place after', () => {
  const readme = '# affinity\n\nintro\n';
  const once = replaceSection(readme, 'first');
  assert.ok(once.startsWith(readme), 'the rest is untouched');
  assert.match(once, /\n## Benchmarks\n\n<!-- bench:start -->\nfirst\n<!-- bench:end -->\n$/);
  const twice = replaceSection(once + '\n## After\n', 'second');
  assert.is(twice.split(START).length, 2);
  assert.is(twice.split('## Benchmarks').length, 2);
  assert.match(twice, /<!-- bench:start -->\nsecond\n<!-- bench:end -->\n\n## After\n$/);
  assert.throws(() => replaceSection(`x\n${END}\n`, 'y'), /only one of the markers/);
});

test('report markdown holds the speed targets, the table and the charts', () => {
  const md = reportMarkdown({ suite: 'quick', date: '2026-01-02T03:04:05.000Z', machine: { platform: 'linux', arch: 'x64', cpuModel: 'CPU', cores: 2, memoryGiB: 8, simd: 'avx2', node: 'v20', gpu: null }, records: annotate(sample.map((r) => ({ ...r }))) });
  assert.match(md, /^# affinity bench \(quick\)/);
  assert.match(md, /Run 2026-01-02/);
  assert.match(md, /Surprise 7\.2 s/);
  assert.match(md, /!\[throughput per backend\]\(quick-throughput\.svg\)/);
});

test('affinity bench --json prints one parsable JSON array with the required keys', () => {
  const r = spawnSync(process.execPath, [cli, 'bench', '--suite', 'quick', '--kernel', 'denseScoreTopK', '--size', '200x8', '--repeats', '1', '--json'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  const records = JSON.parse(r.stdout);
  assert.ok(Array.isArray(records) && records.length >= 1);
  const backends = new Set<string>();
  for (const x of records) {
    for (const key of ['kernel', 'backend', 'size', 'threads', 'medianSeconds', 'minSeconds', 'maxSeconds']) assert.ok(key in x, `record has ${key}`);
    assert.is(x.kernel, 'denseScoreTopK');
    assert.is(x.size, '200x8');
    assert.type(x.medianSeconds, 'number');
    assert.ok(x.minSeconds <= x.medianSeconds && x.medianSeconds <= x.maxSeconds);
    assert.type(x.gflops, 'number');
    backends.add(x.backend);
  }
  assert.ok(backends.has('js'), 'the js backend is always there');
});

test('affinity bench prints each anchored case against its anchor and target (gemm: also per busy core)', () => {
  const r = spawnSync(process.execPath, [cli, 'bench', '--suite', 'quick', '--kernel', 'gemm', '--backend', 'js', '--repeats', '1'], { encoding: 'utf8', timeout: 300_000 });
  assert.is(r.status, 0, r.stderr);
  const at = r.stdout.indexOf('against the anchors and targets');
  assert.ok(at > 0, r.stdout);
  const standing = r.stdout.slice(at).split('\n').filter((l) => l.startsWith('gemm'));
  // the quick suite's anchored gemm cases: 4096×256 and the attention shape, each with a fresh and a reused output
  assert.is(standing.length, 4, standing.join('\n'));
  for (const l of standing) {
    assert.match(l, /× anchor [\d.e+-]+×, [\d.e+-]+× on GFLOP\/s per busy core, × target — {2}\(tfjs-backend-wasm/);
  }
});

test('affinity bench without ML-100k warns loudly, before and after, that the ML-100k cases ran on the synthetic stand-in', () => {
  const r = spawnSync(process.execPath, [cli, 'bench', '--kernel', 'bprEpoch', '--repeats', '1', '--backend', 'js', '--json'],
    { encoding: 'utf8', timeout: 120_000, env: { ...process.env, AFFINITY_DATA_DIR: path.join(tmpdir(), 'no-such-data-dir') } });
  assert.is(r.status, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => /WARNING: .*no-such-data-dir.* not found .*SYNTHETIC STAND-IN/.test(l));
  assert.is(warnings.length, 2, r.stderr);
  const records = JSON.parse(r.stdout) as BenchRecord[];
  assert.ok(records.some((x) => /synthetic ML-100k stand-in/.test(inputOf(x))));
});

test('affinity bench --out writes JSON, Markdown and SVG charts', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'affinity-bench-out-'));
  try {
    const r = spawnSync(process.execPath, [cli, 'bench', '--kernel', 'denseScoreTopK', '--size', '100x4', '--repeats', '1', '--out', dir], { encoding: 'utf8', timeout: 120_000 });
    assert.is(r.status, 0, r.stderr);
    const result = JSON.parse(readFileSync(path.join(dir, 'quick.json'), 'utf8'));
    assert.type(result.date, 'string');
    assert.ok(result.records.length >= 1);
    assert.match(readFileSync(path.join(dir, 'quick.md'), 'utf8'), /\| denseScoreTopK \| js \| 100x4 \|/);
    const svg = readFileSync(path.join(dir, 'quick-throughput.svg'), 'utf8');
    xmlElements(svg);
    assert.is((svg.match(/<rect class="bar"/g) ?? []).length, result.records.length);
    xmlElements(readFileSync(path.join(dir, 'quick-scaling.svg'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
