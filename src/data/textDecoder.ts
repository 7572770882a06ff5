/**
 * Bytes → text for the readers, chunk by chunk, with a declared encoding:
 *
 *   'utf8'   (default) strict: a byte sequence that is not UTF-8 is an error naming the line,
 *            never a U+FFFD (which would merge distinct ids such as 'caf\xe9' and 'caf\xe8').
 *   'latin1' every byte is one character (MovieLens u.item, movies.dat and other old files).
 *   'auto'   decided by the first line that holds a non-ASCII byte: UTF-8 if that line is valid
 *            UTF-8 (and then strict, so a later Latin-1 line is an error), else Latin-1. The lines
 *            before it are ASCII, which both encodings read alike, so one pass suffices.
 *
 * The decoder cuts the byte stream after its last line feed: 0x0a never occurs inside a UTF-8
 * multi-byte sequence, so each block it decodes is whole characters however the chunks fell,
 * and an invalid sequence is found on its line. A byte order mark is kept (the parser drops it).
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { DataFormatError } from './errors.js';

export type TextEncoding = 'utf8' | 'latin1' | 'auto';

const LF = 0x0a;

/** Start of the first line (LF-terminated, or the rest) of `block` for which `bad` holds, or -1. */
function firstLineWhere(block: Buffer, bad: (line: Buffer) => boolean): number {
  for (let start = 0; start < block.length; ) {
    const lf = block.indexOf(LF, start);
    const end = lf < 0 ? block.length : lf + 1;
    if (bad(block.subarray(start, end))) return start;
    start = end;
  }
  return -1;
}

function countLf(b: Buffer): number {
  let n = 0;
  for (let k = b.indexOf(LF); k >= 0; k = b.indexOf(LF, k + 1)) n++;
  return n;
}

/** A line of bytes for an error message: ASCII as is, other bytes as \xHH, at most 80 characters. */
function escapeBytes(line: Buffer): string {
  let s = '';
  for (const b of line) {
    if (b === LF || b === 0x0d) continue;
    s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '\\x' + b.toString(16).padStart(2, '0');
    if (s.length > 80) return s.slice(0, 77) + '...';
  }
  return s;
}

/** The error for invalid UTF-8 on `line` (its bytes, line feed included or not), as the file's encoding was declared. */
export function invalidUtf8Error(file: string, line: number, bytes: Uint8Array, declared: TextEncoding): DataFormatError {
  const value = escapeBytes(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const hint = declared === 'auto'
    ? 'the file mixes encodings (an earlier line is UTF-8)'
    : `pass encoding: 'latin1' (CLI: --encoding latin1) if the file is Latin-1 (as MovieLens files are), or 'auto'`;
  return new DataFormatError(`${file}:${line}: invalid UTF-8 in '${value}'; ${hint}`, file, line, value);
}

export class LineDecoder {
  private readonly declared: TextEncoding;
  /** 'auto' until a non-ASCII line decides */
  private mode: TextEncoding;
  private tail: Buffer[] = [];
  private lines = 0;
  private failure: DataFormatError | null = null;

  constructor(encoding: TextEncoding | undefined, private readonly file: string) {
    const e = encoding ?? 'utf8';
    if (e !== 'utf8' && e !== 'latin1' && e !== 'auto') throw new RangeError(`encoding must be utf8, latin1 or auto, got '${String(e)}'`);
    this.declared = this.mode = e;
  }

  /**
   * Text of the complete lines so far. On invalid UTF-8 it returns the lines before the bad one
   * and keeps the error for check(): rows before it are parsed (and fail) first, and a read that
   * stops at its limit before that line never sees it.
   */
  write(chunk: Buffer): string {
    if (this.failure) return '';
    const lf = chunk.lastIndexOf(LF);
    if (lf < 0) {
      if (chunk.length > 0) this.tail.push(chunk);
      return '';
    }
    const block = this.tail.length > 0 ? Buffer.concat([...this.tail, chunk.subarray(0, lf + 1)]) : chunk.subarray(0, lf + 1);
    this.tail = lf + 1 < chunk.length ? [chunk.subarray(lf + 1)] : [];
    return this.decode(block);
  }

  /** Text of the last line (the bytes after the final line feed). */
  end(): string {
    if (this.failure) return '';
    const block = Buffer.concat(this.tail);
    this.tail = [];
    return this.decode(block);
  }

  /** The encoding in force: the declared one, or for 'auto' what the first non-ASCII line decided ('auto' until then). */
  get encoding(): TextEncoding { return this.mode; }

  /** Throws the encoding error found by write() or end(), if any. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  private decode(block: Buffer): string {
    if (this.mode === 'auto' && !isAscii(block)) {
      const first = firstLineWhere(block, (l) => !isAscii(l));
      const lf = block.indexOf(LF, first);
      this.mode = isUtf8(block.subarray(first, lf < 0 ? block.length : lf + 1)) ? 'utf8' : 'latin1';
    }
    if (this.mode === 'latin1') return block.toString('latin1');
    if (!isUtf8(block)) {
      const bad = firstLineWhere(block, (l) => !isUtf8(l));
      const lf = block.indexOf(LF, bad);
      const line = this.lines + countLf(block.subarray(0, bad)) + 1;
      this.failure = invalidUtf8Error(this.file, line, block.subarray(bad, lf < 0 ? block.length : lf + 1), this.declared);
      return block.toString('utf8', 0, bad);
    }
    this.lines += countLf(block);
    return block.toString('utf8');
  }
}

/** A whole buffer as text (small files read at once), with the same checks as LineDecoder. */
export function decodeText(buf: Buffer, encoding: TextEncoding | undefined, file: string): string {
  const d = new LineDecoder(encoding, file);
  const text = d.write(buf) + d.end();
  d.check();
  return text;
}
