/**
 * Hand-written SVG charts of bench records, no dependency:
 * - barChart: throughput of every record, one panel per kernel (its own linear scale), one
 *   bar (`<rect class="bar">`) per record, coloured by backend;
 * - lineChart: scaling with size — throughput against the problem's work (log–log), one line
 *   per (kernel, backend) that was run at two or more sizes.
 */
import { formatThroughput, type BenchRecord } from './harness.js';

const COLORS: Record<string, string> = {
  js: '#8c8c8c', wasm: '#7b4fbf', native: '#1f6fc5', cuda: '#2e9e44', gpujs: '#d08c1f', auto: '#d9534f',
};
const EXTRA = ['#17becf', '#bcbd22', '#e377c2', '#8c564b'];

function colorOf(backend: string, seen: Map<string, string>): string {
  const known = COLORS[backend];
  if (known) return known;
  if (!seen.has(backend)) seen.set(backend, EXTRA[seen.size % EXTRA.length]);
  return seen.get(backend)!;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function throughputOf(r: BenchRecord): number {
  return r.throughput ?? r.gflops ?? 0;
}

const FONT = 'font-family="system-ui, sans-serif" font-size="12"';

/** Throughput per backend per kernel: one bar per record. */
export function barChart(records: BenchRecord[], title = 'affinity bench: throughput per backend'): string {
  const labelW = 40 + 7 * Math.max(20, ...records.map((r) => r.size.length + r.backend.length + 5));
  const barW = 400, width = labelW + barW + 180, rowH = 20, panelHead = 26, top = 36;
  const groups = new Map<string, BenchRecord[]>();
  for (const r of records) {
    const g = groups.get(r.kernel) ?? [];
    g.push(r);
    groups.set(r.kernel, g);
  }
  const extra = new Map<string, string>();
  const body: string[] = [];
  let y = top;
  for (const [kernel, rs] of groups) {
    const unit = rs[0].throughputUnit ?? 'GFLOP/s';
    const max = Math.max(...rs.map(throughputOf), 1e-12);
    body.push(`<text x="10" y="${y + 17}" font-weight="bold">${escapeXml(kernel)} <tspan font-weight="normal" fill="#555">(${escapeXml(unit)})</tspan></text>`);
    y += panelHead;
    for (const r of rs) {
      const v = throughputOf(r);
      const w = Math.max(1, (v / max) * barW);
      const label = `${r.size} · ${r.backend}${r.estimatedFullSeconds !== undefined ? ' *' : ''}`;
      body.push(`<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${escapeXml(label)}</text>`);
      body.push(`<rect class="bar" x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 5}" fill="${colorOf(r.backend, extra)}"><title>${escapeXml(`${r.kernel} ${r.size} ${r.backend}: ${formatThroughput(r)}, median ${r.medianSeconds.toFixed(4)} s`)}</title></rect>`);
      body.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 14}" fill="#333">${escapeXml(formatThroughput(r) || '—')}</text>`);
      y += rowH;
    }
    y += 8;
  }
  const height = y + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    `<text x="10" y="${height - 8}" fill="#777">* only a sample of the rows was timed (see the note in the table)</text>`,
    '</svg>',
  ].join('\n') + '\n';
}

/** The y of the scaling chart: GFLOP/s where the case counts flops, else its own throughput. */
function rateOf(r: BenchRecord): number {
  return r.gflops ?? r.throughput ?? 0;
}

/** Work of the whole problem, the x of the scaling chart: GFLOP, or interactions for fits. */
function workOf(r: BenchRecord): number | undefined {
  const t = rateOf(r);
  if (!(t > 0)) return undefined;
  return t * (r.estimatedFullSeconds ?? r.medianSeconds);
}

function niceLog(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(e);
  return out;
}

function pow10Label(e: number): string {
  return e >= -2 && e <= 4 ? String(10 ** e).replace(/^0\./, '0.') : `1e${e}`;
}

/** Throughput against problem size (log–log): one polyline per (kernel, backend) with ≥ 2 sizes. */
/**
 * Throughput against problem size, one line per (kernel, backend) measured at two or more sizes,
 * log-log. Only the kernel cases (GFLOP/s) share these axes — fits and jobs have other units and
 * are in the table. Colour = backend, line style = kernel; the legend lists each once.
 */
export function lineChart(records: BenchRecord[], title = 'affinity bench: scaling with size'): string {
  const series = new Map<string, Array<{ x: number; y: number; r: BenchRecord }>>();
  let otherUnits = 0;
  for (const r of records) {
    if (r.gflops === undefined) { otherUnits++; continue; }
    const x = workOf(r), y = rateOf(r);
    if (x === undefined || !(y > 0)) continue;
    const key = `${r.kernel} · ${r.backend}`;
    const s = series.get(key) ?? [];
    if (!s.some((p) => p.r.size === r.size)) s.push({ x, y, r });
    series.set(key, s);
  }
  const lines = [...series.entries()].filter(([, s]) => s.length >= 2);
  const backends = [...new Set(lines.map(([, s]) => s[0].r.backend))];
  const kernels = [...new Set(lines.map(([, s]) => s[0].r.kernel))];
  const rowH = 18, legendRows = 2 + backends.length + kernels.length + 1;
  const width = 980, left = 70, right = 300, top = 40, bottom = 50;
  const height = Math.max(480, top + legendRows * rowH + bottom);
  const head = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  if (!lines.length) {
    return [...head, `<text x="${left}" y="${top + 40}" fill="#555">no case was run at two or more sizes</text>`, '</svg>'].join('\n') + '\n';
  }
  const pts = lines.flatMap(([, s]) => s);
  const xs = niceLog(Math.min(...pts.map((p) => p.x)), Math.max(...pts.map((p) => p.x)));
  const ys = niceLog(Math.min(...pts.map((p) => p.y)), Math.max(...pts.map((p) => p.y)));
  const x0 = xs[0], x1 = Math.max(xs[xs.length - 1], x0 + 1), y0 = ys[0], y1 = Math.max(ys[ys.length - 1], y0 + 1);
  const pw = width - left - right, ph = height - top - bottom;
  const px = (v: number): number => left + ((Math.log10(v) - x0) / (x1 - x0)) * pw;
  const py = (v: number): number => top + ph - ((Math.log10(v) - y0) / (y1 - y0)) * ph;
  const body: string[] = [];
  for (let e = x0; e <= x1; e++) {
    const x = left + ((e - x0) / (x1 - x0)) * pw;
    body.push(`<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${top + ph}" stroke="#eee"/>`);
    body.push(`<text x="${x.toFixed(1)}" y="${top + ph + 16}" text-anchor="middle" fill="#555">${pow10Label(e)}</text>`);
  }
  for (let e = y0; e <= y1; e++) {
    const y = top + ph - ((e - y0) / (y1 - y0)) * ph;
    body.push(`<line x1="${left}" y1="${y.toFixed(1)}" x2="${left + pw}" y2="${y.toFixed(1)}" stroke="#eee"/>`);
    body.push(`<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#555">${pow10Label(e)}</text>`);
  }
  body.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  body.push(`<text class="axis" x="${left + pw / 2}" y="${height - 12}" text-anchor="middle">problem size: GFLOP per call (log scale)</text>`);
  body.push(`<text class="axis" x="16" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + ph / 2})">throughput: GFLOP/s (log scale)</text>`);
  const extra = new Map<string, string>();
  const dashes = ['', '6 3', '2 3', '8 3 2 3', '12 4'];
  const dashOf = (kernel: string): string => dashes[kernels.indexOf(kernel) % dashes.length];
  for (const [key, s] of lines) {
    s.sort((a, b) => a.x - b.x);
    const color = colorOf(s[0].r.backend, extra), dash = dashOf(s[0].r.kernel);
    const d = s.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    body.push(`<polyline class="series" points="${d}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    for (const p of s) body.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${color}"><title>${escapeXml(`${key} ${p.r.size}: ${formatThroughput(p.r)}`)}</title></circle>`);
  }
  // legend: colour = backend, line style = kernel, each listed once
  const lx = left + pw + 16;
  let ly = top + 10;
  body.push(`<text x="${lx}" y="${ly + 4}" font-weight="bold">backend (colour)</text>`);
  for (const b of backends) {
    ly += rowH;
    body.push(`<line class="legend-backend" x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${colorOf(b, extra)}" stroke-width="4"/>`);
    body.push(`<text x="${lx + 32}" y="${ly + 4}">${escapeXml(b)}</text>`);
  }
  ly += rowH * 1.5;
  body.push(`<text x="${lx}" y="${ly + 4}" font-weight="bold">kernel (line style)</text>`);
  for (const k of kernels) {
    ly += rowH;
    const dash = dashOf(k);
    body.push(`<line class="legend-kernel" x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="#333" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    body.push(`<text x="${lx + 32}" y="${ly + 4}">${escapeXml(k)}</text>`);
  }
  if (otherUnits) {
    ly += rowH * 1.5;
    body.push(`<text x="${lx}" y="${ly + 4}" fill="#555">${otherUnits} fit/job record(s) in other units: see the table</text>`);
  }
  return [...head, ...body, '</svg>'].join('\n') + '\n';
}
