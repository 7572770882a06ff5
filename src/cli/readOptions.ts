/**
 * The reader options of every command that reads an interaction file (precompute, similarity,
 * eval, replay): --encoding (utf8 | latin1 | auto, as ReadOptions.encoding: strict UTF-8 by
 * default, so a Latin-1 file is an error naming file:line rather than ids merged into U+FFFD) and
 * --extra-columns (error | ignore, as ReadOptions.extraColumns). Without them a command line had
 * no way to read a Latin-1 file or rows wider than their header, which the reader's errors
 * suggest.
 */
import type { Command } from 'commander';
import type { ReadOptions } from '../data/readers.js';
import type { TextEncoding } from '../data/textDecoder.js';
import { UsageError } from './args.js';

const ENCODINGS: readonly TextEncoding[] = ['utf8', 'latin1', 'auto'];
const EXTRA_COLUMNS = ['error', 'ignore'] as const;

export interface ReadCliOptions {
  encoding?: string;
  extraColumns?: string;
}

export function addReadOptions(cmd: Command): Command {
  return cmd
    .option('--encoding <e>', "text encoding of --input: utf8 (strict: invalid UTF-8 is an error; default), latin1 (MovieLens files), or auto (by the first non-ASCII line)")
    .option('--extra-columns <m>', "a row with more or fewer fields than the header (or first row): error (default) or ignore (read the known columns)");
}

/** The ReadOptions the flags ask for (only those given); a value outside the lists is a usage error. */
export function readOptionsOf(o: ReadCliOptions): Pick<ReadOptions, 'encoding' | 'extraColumns'> {
  const out: Pick<ReadOptions, 'encoding' | 'extraColumns'> = {};
  if (o.encoding !== undefined) {
    if (!(ENCODINGS as readonly string[]).includes(o.encoding)) throw new UsageError(`--encoding must be one of ${ENCODINGS.join(', ')}, got '${o.encoding}'`);
    out.encoding = o.encoding as TextEncoding;
  }
  if (o.extraColumns !== undefined) {
    if (!(EXTRA_COLUMNS as readonly string[]).includes(o.extraColumns)) throw new UsageError(`--extra-columns must be one of ${EXTRA_COLUMNS.join(', ')}, got '${o.extraColumns}'`);
    out.extraColumns = o.extraColumns as 'error' | 'ignore';
  }
  return out;
}
