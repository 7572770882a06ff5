/**
 * The binary file a factorization model is saved to (see docs/model-format.md):
 *
 *   offset  size  field
 *   0       4     magic "AFFM"
 *   4       4     u32 format version (1)
 *   8       4     u32 K = byte length of the model kind
 *   12      K     model kind, UTF-8 ('svd', 'svdpp', 'nmf', 'als', 'als-explicit', 'bpr')
 *   12+K    4     u32 J = byte length of the JSON header
 *   16+K    J     JSON header, UTF-8: { name, dims, params, meta, userIds, itemIds, arrays }
 *   …             zero padding to a multiple of 4 bytes
 *   …             the arrays listed in header.arrays, in that order, little-endian,
 *                 `length` elements each of their dtype ('f32' | 'i32')
 *   end−4   4     u32 CRC-32 (IEEE 802.3) of every byte before it
 *
 * All integers are little-endian. Every problem reading a file — too short, wrong magic,
 * newer version, lengths that do not add up, bad JSON, checksum mismatch — is an Error
 * that names the file and the problem.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';

export const MODEL_MAGIC = 'AFFM';
export const MODEL_FORMAT_VERSION = 1;

export type ModelArray = Float32Array | Int32Array;

export interface ArrayEntry { name: string; dtype: 'f32' | 'i32'; length: number }

export interface ModelFileHeader {
  name: string;
  dims: { users: number; items: number; factors: number };
  params: Record<string, unknown>;
  meta: Record<string, unknown>;
  userIds: Array<string | number>;
  itemIds: Array<string | number>;
  arrays: ArrayEntry[];
}

export interface ModelFile {
  kind: string;
  version: number;
  header: ModelFileHeader;
  arrays: Record<string, ModelArray>;
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

function crc32(bytes: Uint8Array, end = bytes.length): number {
  let c = -1;
  for (let i = 0; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function encodeModelFile(kind: string, header: Omit<ModelFileHeader, 'arrays'>, arrays: Record<string, ModelArray>): Uint8Array {
  const entries: ArrayEntry[] = Object.entries(arrays).map(([name, a]) => ({ name, dtype: a instanceof Int32Array ? 'i32' : 'f32', length: a.length }));
  const kindBytes = Buffer.from(kind, 'utf8');
  const json = Buffer.from(JSON.stringify({ ...header, arrays: entries }), 'utf8');
  let off = 12 + kindBytes.length + 4 + json.length;
  const dataStart = (off + 3) & ~3;
  const dataBytes = entries.reduce((s, e) => s + e.length * 4, 0);
  const total = dataStart + dataBytes + 4;
  const buf = new Uint8Array(total);
  const dv = new DataView(buf.buffer);
  buf.set(Buffer.from(MODEL_MAGIC, 'ascii'), 0);
  dv.setUint32(4, MODEL_FORMAT_VERSION, true);
  dv.setUint32(8, kindBytes.length, true);
  buf.set(kindBytes, 12);
  dv.setUint32(12 + kindBytes.length, json.length, true);
  buf.set(json, 16 + kindBytes.length);
  off = dataStart;
  for (const e of entries) {
    const a = arrays[e.name];
    if (e.dtype === 'f32') for (let i = 0; i < a.length; i++, off += 4) dv.setFloat32(off, a[i], true);
    else for (let i = 0; i < a.length; i++, off += 4) dv.setInt32(off, a[i], true);
  }
  dv.setUint32(off, crc32(buf, off), true);
  return buf;
}

export function writeModelFile(path: string, kind: string, header: Omit<ModelFileHeader, 'arrays'>, arrays: Record<string, ModelArray>): void {
  writeFileSync(path, encodeModelFile(kind, header, arrays));
}

export function decodeModelFile(buf: Uint8Array, path = '<buffer>'): ModelFile {
  const bad = (why: string): Error => new Error(`affinity: cannot load model '${path}': ${why}`);
  if (buf.length < 4 || Buffer.from(buf.subarray(0, 4)).toString('latin1') !== MODEL_MAGIC) {
    throw bad(`not an affinity model file (expected magic '${MODEL_MAGIC}' at offset 0${buf.length < 4 ? `, file has only ${buf.length} bytes` : `, found ${JSON.stringify(Buffer.from(buf.subarray(0, 4)).toString('latin1'))}`})`);
  }
  if (buf.length < 20) throw bad(`file is truncated (${buf.length} bytes, a header needs at least 20)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint32(4, true);
  if (version < 1 || version > MODEL_FORMAT_VERSION) throw bad(`format version ${version} is not supported (this build reads versions 1..${MODEL_FORMAT_VERSION})`);
  const klen = dv.getUint32(8, true);
  if (12 + klen + 4 > buf.length) throw bad(`file is truncated (model kind of ${klen} bytes runs past the end at ${buf.length} bytes)`);
  const kind = Buffer.from(buf.subarray(12, 12 + klen)).toString('utf8');
  const jlen = dv.getUint32(12 + klen, true);
  const jstart = 16 + klen;
  if (jstart + jlen > buf.length) throw bad(`file is truncated (JSON header of ${jlen} bytes runs past the end at ${buf.length} bytes)`);
  let header: ModelFileHeader;
  try {
    header = JSON.parse(Buffer.from(buf.subarray(jstart, jstart + jlen)).toString('utf8')) as ModelFileHeader;
  } catch (e) {
    throw bad(`the JSON header is corrupt (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || !Array.isArray(header.arrays) || !header.dims) throw bad('the JSON header lacks dims/arrays');
  const dataStart = (jstart + jlen + 3) & ~3;
  let need = dataStart + 4;
  for (const e of header.arrays) {
    if (!e || typeof e.name !== 'string' || (e.dtype !== 'f32' && e.dtype !== 'i32') || !Number.isInteger(e.length) || e.length < 0) throw bad(`the JSON header has a bad array entry ${JSON.stringify(e)}`);
    need += e.length * 4;
  }
  if (buf.length < need) throw bad(`file is truncated (${buf.length} bytes, the header describes ${need})`);
  if (buf.length > need) throw bad(`file has ${buf.length - need} unexpected trailing bytes (the header describes ${need})`);
  const stored = dv.getUint32(need - 4, true);
  const actual = crc32(buf, need - 4);
  if (stored !== actual) throw bad(`checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)}): the file is corrupt`);
  const arrays: Record<string, ModelArray> = {};
  let off = dataStart;
  for (const e of header.arrays) {
    const a = e.dtype === 'f32' ? new Float32Array(e.length) : new Int32Array(e.length);
    if (e.dtype === 'f32') for (let i = 0; i < e.length; i++, off += 4) a[i] = dv.getFloat32(off, true);
    else for (let i = 0; i < e.length; i++, off += 4) a[i] = dv.getInt32(off, true);
    arrays[e.name] = a;
  }
  return { kind, version, header, arrays };
}

export function readModelFile(path: string): ModelFile {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`affinity: cannot load model '${path}': ${(e as Error).message}`, { cause: e });
  }
  return decodeModelFile(buf, path);
}

/**
 * The kind, version and JSON header of a model file, read without its arrays: what a
 * coordinator needs (the queued precompute's enqueuer) without holding the whole model in
 * memory. Checks the magic, the version, that the header parses and that the file's size is the
 * one the header describes; the checksum is checked when the file is loaded (readModelFile).
 */
export function readModelHeader(path: string): { kind: string; version: number; header: ModelFileHeader } {
  const bad = (why: string): Error => new Error(`affinity: cannot load model '${path}': ${why}`);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`affinity: cannot load model '${path}': ${(e as Error).message}`, { cause: e });
  }
  try {
    const size = fstatSync(fd).size;
    const read = (pos: number, len: number): Buffer => {
      const b = Buffer.alloc(len);
      let off = 0;
      while (off < len) {
        const n = readSync(fd, b, off, len - off, pos + off);
        if (n === 0) break;
        off += n;
      }
      return b.subarray(0, off);
    };
    const head = read(0, 12);
    if (head.length < 4 || head.toString('latin1', 0, 4) !== MODEL_MAGIC) throw bad(`not an affinity model file (expected magic '${MODEL_MAGIC}' at offset 0)`);
    if (size < 20) throw bad(`file is truncated (${size} bytes, a header needs at least 20)`);
    const version = head.readUInt32LE(4);
    if (version < 1 || version > MODEL_FORMAT_VERSION) throw bad(`format version ${version} is not supported (this build reads versions 1..${MODEL_FORMAT_VERSION})`);
    const klen = head.readUInt32LE(8);
    if (12 + klen + 4 > size) throw bad(`file is truncated (model kind of ${klen} bytes runs past the end at ${size} bytes)`);
    const kindAndLen = read(12, klen + 4);
    const kind = kindAndLen.toString('utf8', 0, klen);
    const jlen = kindAndLen.readUInt32LE(klen);
    const jstart = 16 + klen;
    if (jstart + jlen > size) throw bad(`file is truncated (JSON header of ${jlen} bytes runs past the end at ${size} bytes)`);
    let header: ModelFileHeader;
    try {
      header = JSON.parse(read(jstart, jlen).toString('utf8')) as ModelFileHeader;
    } catch (e) {
      throw bad(`the JSON header is corrupt (${(e as Error).message})`);
    }
    if (!header || typeof header !== 'object' || !Array.isArray(header.arrays) || !header.dims) throw bad('the JSON header lacks dims/arrays');
    let need = ((jstart + jlen + 3) & ~3) + 4;
    for (const e of header.arrays) {
      if (!e || typeof e.name !== 'string' || (e.dtype !== 'f32' && e.dtype !== 'i32') || !Number.isInteger(e.length) || e.length < 0) throw bad(`the JSON header has a bad array entry ${JSON.stringify(e)}`);
      need += e.length * 4;
    }
    if (size < need) throw bad(`file is truncated (${size} bytes, the header describes ${need})`);
    if (size > need) throw bad(`file has ${size - need} unexpected trailing bytes (the header describes ${need})`);
    return { kind, version, header };
  } finally {
    closeSync(fd);
  }
}
