/**
 * Side information: item and user features read from catalogue files, for the content-based
 * and feature-based models (ContentKNN, FeatureMF) and for cold-start users/items.
 *
 * One shape for both kinds:
 *
 *   SideInfo {
 *     kind:     'item' | 'user'
 *     ids:      external ids in file order (strings, like the interaction readers produce)
 *     features: id → categorical tokens 'field=value', deduplicated, in file order
 *               (e.g. 'genre=Comedy', 'decade=1990s', 'age=25-34', 'gender=F', 'occupation=writer')
 *     text:     id → free text (e.g. a movie title without its year); '' when the format has none
 *   }
 *
 * Ids are joined to an Interactions' IdMap by `String(idMap.external(index))`; ids in the file
 * but not in the IdMap are ignored by the models, and indices without a row get no features.
 *
 * Formats (the file may be gzip-compressed; the whole file is read at once: catalogues are small):
 *   items
 *     'movielens-100k-item'  u.item: id|title|release date|video release date|IMDb URL|19 genre flags (0/1),
 *                            latin-1. features: genre=<name> per flag set, decade=<YYYY0s> from the
 *                            title's "(1995)" (or the release date); text: title without the year.
 *     'movielens-dat'        movies.dat (ML-1M/10M): id::title::genres, genres split by '|', latin-1.
 *     'movies-csv'           movies.csv (ML-20M/25M/latest): header movieId,title,genres; RFC 4180 quotes; utf-8.
 *     'csv'                  any delimited file: idColumn, textColumns, categoricalColumns (values split by
 *                            listSeparator), delimiter, header.
 *   users
 *     'movielens-100k-user'  u.user: id|age|gender|occupation|zip. features: age=<bucket> (ML-1M buckets
 *                            <18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+), gender=<M|F>,
 *                            occupation=<name>, zip=<first character> (a coarse region).
 *     'movielens-dat-user'   users.dat (ML-1M): id::gender::age code::occupation code::zip (same tokens;
 *                            the age code is already a bucket start, occupation stays a code).
 *     'csv'                  as for items.
 *   'auto' (default) picks from the file name: u.item → movielens-100k-item, u.user → movielens-100k-user,
 *   users.dat → movielens-dat-user, *.dat → movielens-dat, a .csv whose header has movieId,title,genres →
 *   movies-csv, anything else → csv (which then needs the column options).
 *
 * Every malformed line throws a DataFormatError `file:line: what is wrong`.
 */
import { promises as fsp } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataFormatError, fileError } from './errors.js';
import { splitRecord } from './csvLine.js';
import { decodeText, type TextEncoding } from './textDecoder.js';

export interface SideInfo {
  kind: 'item' | 'user';
  ids: string[];
  features: Map<string, string[]>;
  text: Map<string, string>;
}

export type ItemFeatureFormat = 'auto' | 'movielens-100k-item' | 'movielens-dat' | 'movies-csv' | 'csv';
export type UserFeatureFormat = 'auto' | 'movielens-100k-user' | 'movielens-dat-user' | 'csv';
/** 'utf8' is strict (invalid UTF-8 is an error naming the line); 'auto' as for the interaction readers (textDecoder.ts) */
export type Encoding = TextEncoding;

export interface SideInfoOptions<F extends string> {
  format?: F;
  /** 'csv' format: id column by header name or 0-based position (default 0) */
  idColumn?: string | number;
  /** 'csv' format: columns joined (space-separated) into the free text */
  textColumns?: Array<string | number>;
  /** 'csv' format: columns whose values become 'column=value' tokens */
  categoricalColumns?: Array<string | number>;
  /** 'csv' format: separator of multi-valued categorical fields (default '|'); '' = never split */
  listSeparator?: string;
  /** 'csv' format: field delimiter (default ',') */
  delimiter?: string;
  /** 'csv' format: first line is a header (default true) */
  header?: boolean;
  /** text encoding; default latin1 for the MovieLens 100k/.dat formats, utf8 (strict) otherwise */
  encoding?: Encoding;
  /** name used in error messages for string input (and for 'auto' detection) */
  name?: string;
}

export type ItemFeatureOptions = SideInfoOptions<ItemFeatureFormat>;
export type UserFeatureOptions = SideInfoOptions<UserFeatureFormat>;

/** The 19 genre columns of MovieLens 100k's u.item, in column order (from the dataset's README / u.genre). */
export const ML100K_GENRES: readonly string[] = [
  'unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy',
  'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western',
];

/** MovieLens-1M age buckets, used for u.user's raw ages too. */
export function ageBucket(age: number): string {
  if (age < 18) return '<18';
  if (age < 25) return '18-24';
  if (age < 35) return '25-34';
  if (age < 45) return '35-44';
  if (age < 50) return '45-49';
  if (age < 56) return '50-55';
  return '56+';
}

/** users.dat age codes (1, 18, 25, 35, 45, 50, 56) → the same bucket labels. */
const ML1M_AGE: Record<string, string> = { '1': '<18', '18': '18-24', '25': '25-34', '35': '35-44', '45': '45-49', '50': '50-55', '56': '56+' };

function baseName(name: string): string {
  const b = name.replace(/^.*[\\/]/, '').toLowerCase();
  return b.endsWith('.gz') ? b.slice(0, -3) : b;
}

async function readText(path: string, encoding: Encoding | undefined, defaultEncoding: Encoding): Promise<string> {
  let buf = await fsp.readFile(path).catch((e: unknown) => { throw fileError(path, e); });
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new Error(`${path}: gzip data is corrupt (${(e as Error).message})`, { cause: e });
    }
  }
  return decodeText(buf, encoding ?? defaultEncoding, path);
}

function physicalLines(text: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.split(/\r?\n/);
}

function detectItemFormat(name: string, text: string): Exclude<ItemFeatureFormat, 'auto'> {
  const b = baseName(name);
  if (b === 'u.item' || b.endsWith('.item')) return 'movielens-100k-item';
  if (b.endsWith('.dat')) return 'movielens-dat';
  const first = physicalLines(text.slice(0, 4096))[0] ?? '';
  const head = first.split(',').map((s) => s.trim().toLowerCase());
  if (head.includes('movieid') && head.includes('genres')) return 'movies-csv';
  if (first.split('|').length >= 24 && /^\d+\|/.test(first)) return 'movielens-100k-item';
  if (/^\d+::[^:]*::/.test(first)) return 'movielens-dat';
  return 'csv';
}

function detectUserFormat(name: string, text: string): Exclude<UserFeatureFormat, 'auto'> {
  const b = baseName(name);
  if (b === 'u.user' || b.endsWith('.user')) return 'movielens-100k-user';
  if (b.endsWith('.dat')) return 'movielens-dat-user';
  const first = physicalLines(text.slice(0, 4096))[0] ?? '';
  if (/^\d+\|\d+\|[MF]\|/.test(first)) return 'movielens-100k-user';
  if (/^\d+::[MF]::\d+::/.test(first)) return 'movielens-dat-user';
  return 'csv';
}

class Builder {
  readonly info: SideInfo;
  constructor(kind: 'item' | 'user', private readonly file: string) {
    this.info = { kind, ids: [], features: new Map(), text: new Map() };
  }
  error(line: number, value: string, detail: string): DataFormatError {
    return new DataFormatError(`${this.file}:${line}: ${detail}`, this.file, line, value);
  }
  add(id: string, features: string[], text: string, line: number): void {
    id = id.trim();
    if (id === '') throw this.error(line, id, `empty ${this.info.kind} id`);
    if (this.info.features.has(id)) throw this.error(line, id, `duplicate ${this.info.kind} id '${id}'`);
    this.info.ids.push(id);
    this.info.features.set(id, [...new Set(features)]);
    this.info.text.set(id, text);
  }
  done(): SideInfo {
    if (this.info.ids.length === 0) throw new DataFormatError(`${this.file}: no ${this.info.kind} rows`, this.file, 0, '');
    return this.info;
  }
}

/** "Toy Story (1995)" → { title: 'Toy Story', year: 1995 } */
function splitTitleYear(title: string): { title: string; year?: number } {
  const m = /^(.*?)\s*\((\d{4})(?:[–-]\d{0,4})?\)\s*$/.exec(title);
  return m ? { title: m[1], year: Number(m[2]) } : { title: title.trim() };
}

function decadeToken(year: number | undefined): string[] {
  return year !== undefined && year > 1000 ? [`decade=${Math.floor(year / 10) * 10}s`] : [];
}

function parseMl100kItem(lines: string[], b: Builder): void {
  lines.forEach((raw, k) => {
    if (raw.trim() === '') return;
    const line = k + 1;
    const f = raw.split('|');
    if (f.length < 5 + ML100K_GENRES.length) throw b.error(line, raw, `expected ${5 + ML100K_GENRES.length} '|'-separated fields (id|title|date|video date|url|19 genre flags), got ${f.length}`);
    const { title, year } = splitTitleYear(f[1]);
    let y = year;
    if (y === undefined) { const m = /(\d{4})\s*$/.exec(f[2]); if (m) y = Number(m[1]); }
    const features: string[] = [];
    for (let g = 0; g < ML100K_GENRES.length; g++) {
      const flag = f[5 + g].trim();
      if (flag === '1') features.push(`genre=${ML100K_GENRES[g]}`);
      else if (flag !== '0') throw b.error(line, flag, `genre flag '${flag}' (column ${6 + g}) is not 0 or 1`);
    }
    features.push(...decadeToken(y));
    b.add(f[0], features, title, line);
  });
}

function genreTokens(s: string): string[] {
  return s.split('|').map((g) => g.trim()).filter((g) => g !== '' && g !== '(no genres listed)').map((g) => `genre=${g}`);
}

function parseMovielensDat(lines: string[], b: Builder): void {
  lines.forEach((raw, k) => {
    if (raw.trim() === '') return;
    const line = k + 1;
    const f = raw.split('::');
    if (f.length < 3) throw b.error(line, raw, `expected id::title::genres, got ${f.length} field(s)`);
    const { title, year } = splitTitleYear(f[1]);
    b.add(f[0], [...genreTokens(f[2]), ...decadeToken(year)], title, line);
  });
}

/** Records of a delimited text with RFC 4180 quoting (quoted fields may span lines). */
function* records(lines: string[], delimiter: string, b: Builder): Generator<{ fields: string[]; line: number }> {
  let pending: string | null = null, pendingLine = 0;
  for (let k = 0; k < lines.length; k++) {
    const raw = lines[k];
    const text: string = pending !== null ? pending + '\n' + raw : raw;
    if (pending === null && raw.trim() === '') continue;
    const fields = splitRecord(text, delimiter, true);
    if (fields === null) {
      if (pending === null) pendingLine = k + 1;
      pending = text;
      continue;
    }
    const line = pending !== null ? pendingLine : k + 1;
    pending = null;
    yield { fields, line };
  }
  if (pending !== null) throw b.error(pendingLine, pending.slice(0, 80), 'quoted field is not closed before the end of the input');
}

function parseMoviesCsv(lines: string[], b: Builder): void {
  let cols: { id: number; title: number; genres: number } | null = null;
  for (const { fields, line } of records(lines, ',', b)) {
    if (cols === null) {
      const names = fields.map((s) => s.trim().toLowerCase());
      cols = { id: names.indexOf('movieid'), title: names.indexOf('title'), genres: names.indexOf('genres') };
      if (cols.id < 0 || cols.title < 0 || cols.genres < 0) throw b.error(line, fields.join(','), `movies.csv header must name movieId, title and genres, got '${fields.join(',')}'`);
      continue;
    }
    const need = Math.max(cols.id, cols.title, cols.genres) + 1;
    if (fields.length < need) throw b.error(line, fields.join(','), `expected ${need} fields, got ${fields.length}`);
    const { title, year } = splitTitleYear(fields[cols.title]);
    b.add(fields[cols.id], [...genreTokens(fields[cols.genres]), ...decadeToken(year)], title, line);
  }
}

function parseMl100kUser(lines: string[], b: Builder): void {
  lines.forEach((raw, k) => {
    if (raw.trim() === '') return;
    const line = k + 1;
    const f = raw.split('|');
    if (f.length < 4) throw b.error(line, raw, `expected id|age|gender|occupation|zip, got ${f.length} field(s)`);
    const age = Number(f[1]);
    if (f[1].trim() === '' || !Number.isFinite(age)) throw b.error(line, f[1], `age '${f[1]}' is not a number`);
    const features = [`age=${ageBucket(age)}`, `gender=${f[2].trim()}`, `occupation=${f[3].trim()}`];
    if (f[4] !== undefined && f[4].trim() !== '') features.push(`zip=${f[4].trim()[0].toUpperCase()}`);
    b.add(f[0], features, '', line);
  });
}

function parseMlDatUser(lines: string[], b: Builder): void {
  lines.forEach((raw, k) => {
    if (raw.trim() === '') return;
    const line = k + 1;
    const f = raw.split('::');
    if (f.length < 4) throw b.error(line, raw, `expected id::gender::age::occupation::zip, got ${f.length} field(s)`);
    const age = ML1M_AGE[f[2].trim()] ?? (Number.isFinite(Number(f[2])) && f[2].trim() !== '' ? ageBucket(Number(f[2])) : undefined);
    if (age === undefined) throw b.error(line, f[2], `age '${f[2]}' is not a number`);
    const features = [`gender=${f[1].trim()}`, `age=${age}`, `occupation=${f[3].trim()}`];
    if (f[4] !== undefined && f[4].trim() !== '') features.push(`zip=${f[4].trim()[0].toUpperCase()}`);
    b.add(f[0], features, '', line);
  });
}

function parseGeneric<F extends string>(lines: string[], b: Builder, o: SideInfoOptions<F>): void {
  const delimiter = o.delimiter ?? ',';
  if (delimiter === '') throw new RangeError('delimiter must not be empty');
  const header = o.header ?? true;
  const sep = o.listSeparator ?? '|';
  const textCols = o.textColumns ?? [];
  const catCols = o.categoricalColumns ?? [];
  if (!header) {
    for (const c of [o.idColumn ?? 0, ...textCols, ...catCols]) if (typeof c !== 'number') throw new RangeError(`column '${c}' is given by name but header is false`);
  }
  let names: string[] | null = null;
  let pos: { id: number; text: number[]; cat: number[] } | null = null;
  const resolve = (c: string | number, hdr: string[] | null, line: number): number => {
    if (typeof c === 'number') {
      if (!Number.isInteger(c) || c < 0) throw new RangeError(`column position must be an integer ≥ 0, got ${c}`);
      return c;
    }
    const k = hdr ? hdr.findIndex((n) => n === c || n.toLowerCase() === c.toLowerCase()) : -1;
    if (k < 0) throw b.error(line, c, `column '${c}' not found in header '${(hdr ?? []).join(delimiter)}'`);
    return k;
  };
  for (const { fields, line } of records(lines, delimiter, b)) {
    if (pos === null) {
      if (header) names = fields.map((s) => s.trim());
      pos = { id: resolve(o.idColumn ?? 0, names, line), text: textCols.map((c) => resolve(c, names, line)), cat: catCols.map((c) => resolve(c, names, line)) };
      if (header) continue;
    }
    const need = Math.max(pos.id, ...pos.text, ...pos.cat) + 1;
    if (fields.length < need) throw b.error(line, fields.join(delimiter), `expected at least ${need} fields, got ${fields.length}`);
    const features: string[] = [];
    pos.cat.forEach((c, j) => {
      const col = names ? names[c] : String(catCols[j]);
      const values = sep === '' ? [fields[c]] : fields[c].split(sep);
      for (const v of values) if (v.trim() !== '') features.push(`${col}=${v.trim()}`);
    });
    const text = pos.text.map((c) => fields[c].trim()).filter((s) => s !== '').join(' ');
    b.add(fields[pos.id], features, text, line);
  }
}

/** Item side information from text already in memory (see the module comment for formats). */
export function parseItemFeatures(text: string, o: ItemFeatureOptions = {}): SideInfo {
  const name = o.name ?? '<string>';
  const format = !o.format || o.format === 'auto' ? detectItemFormat(name, text) : o.format;
  const b = new Builder('item', name);
  const lines = physicalLines(text);
  switch (format) {
    case 'movielens-100k-item': parseMl100kItem(lines, b); break;
    case 'movielens-dat': parseMovielensDat(lines, b); break;
    case 'movies-csv': parseMoviesCsv(lines, b); break;
    case 'csv':
      if (o.textColumns === undefined && o.categoricalColumns === undefined) throw new RangeError(`${name}: format 'csv' needs textColumns and/or categoricalColumns`);
      parseGeneric(lines, b, o);
      break;
    default: throw new RangeError(`unknown item feature format '${String(format)}' (movielens-100k-item|movielens-dat|movies-csv|csv)`);
  }
  return b.done();
}

/** User side information from text already in memory. */
export function parseUserFeatures(text: string, o: UserFeatureOptions = {}): SideInfo {
  const name = o.name ?? '<string>';
  const format = !o.format || o.format === 'auto' ? detectUserFormat(name, text) : o.format;
  const b = new Builder('user', name);
  const lines = physicalLines(text);
  switch (format) {
    case 'movielens-100k-user': parseMl100kUser(lines, b); break;
    case 'movielens-dat-user': parseMlDatUser(lines, b); break;
    case 'csv':
      if (o.textColumns === undefined && o.categoricalColumns === undefined) throw new RangeError(`${name}: format 'csv' needs textColumns and/or categoricalColumns`);
      parseGeneric(lines, b, o);
      break;
    default: throw new RangeError(`unknown user feature format '${String(format)}' (movielens-100k-user|movielens-dat-user|csv)`);
  }
  return b.done();
}

function defaultEncoding(format: string | undefined, path: string, kind: 'item' | 'user'): Encoding {
  const b = baseName(path);
  const f = !format || format === 'auto'
    ? (kind === 'item' ? (b === 'u.item' || b.endsWith('.item') ? 'movielens-100k-item' : b.endsWith('.dat') ? 'movielens-dat' : 'csv')
      : (b === 'u.user' || b.endsWith('.user') ? 'movielens-100k-user' : b.endsWith('.dat') ? 'movielens-dat-user' : 'csv'))
    : format;
  return f === 'movielens-100k-item' || f === 'movielens-dat' || f === 'movielens-100k-user' || f === 'movielens-dat-user' ? 'latin1' : 'utf8';
}

/** Read item side information from a file (optionally gzip-compressed). */
export async function readItemFeatures(path: string, o: ItemFeatureOptions = {}): Promise<SideInfo> {
  const text = await readText(path, o.encoding, defaultEncoding(o.format, path, 'item'));
  return parseItemFeatures(text, { ...o, name: o.name ?? path });
}

/** Read user side information (u.user, users.dat, or a csv) from a file (optionally gzip-compressed). */
export async function readUserFeatures(path: string, o: UserFeatureOptions = {}): Promise<SideInfo> {
  const text = await readText(path, o.encoding, defaultEncoding(o.format, path, 'user'));
  return parseUserFeatures(text, { ...o, name: o.name ?? path });
}

const STOP_WORDS = new Set(['the', 'a', 'an', 'of', 'and', 'in', 'on', 'to', 'for', 'with', 'at', 'by', 'from', 'is', 'it', 'its', 'or', 'as']);

/** Lower-cased word tokens of free text: letters/digits runs of length ≥ 2, a few English stop words dropped. */
function textWords(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    const w = m[0];
    if (w.length >= 2 && !STOP_WORDS.has(w)) out.push(w);
  }
  return out;
}

/**
 * The tokens of one id: its categorical features, then (with `text`, default true) 'word=<w>' per
 * word of its text, repeats kept (term frequency). [] when the id has no row.
 */
export function sideTokens(info: SideInfo, id: string, o: { text?: boolean } = {}): string[] {
  const f = info.features.get(id);
  if (f === undefined) return [];
  if (o.text === false) return f.slice();
  return [...f, ...textWords(info.text.get(id) ?? '').map((w) => `word=${w}`)];
}
