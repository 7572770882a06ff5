/** Errors of the data layer: malformed input (file:line) and files that cannot be opened. */

export class DataFormatError extends Error {
  constructor(message: string, readonly file: string, readonly line: number, readonly value: string) {
    super(message);
    this.name = 'DataFormatError';
  }
}

/**
 * A failure to open or read `path` as one line naming it: a bare ENOENT/EISDIR from the
 * file system does not say which of a command's paths was wrong.
 */
export function fileError(path: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOENT' ? 'no such file'
    : err.code === 'EISDIR' ? 'is a directory, expected a file'
    : err.code === 'EACCES' ? 'permission denied'
    : err.message;
  return new Error(`${path}: ${why}`, { cause: e });
}
