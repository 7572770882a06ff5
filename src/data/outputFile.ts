/**
 * Output files that are never half-written, never written by two runs at once, and never the
 * input they are computed from:
 *
 * - `writeFileAtomically(out, write)`: the data goes to `.NAME.PID.tmp` in out's directory (same
 *   file system, so the final rename is atomic) and is renamed to `out` only when complete and
 *   flushed; on an error the temporary file is removed. Temporaries left by killed runs (their
 *   PID is no longer running) are removed by the next write to the same path. A symlink is
 *   followed (its target is replaced, not the link); a device or pipe (/dev/stdout) is written in
 *   place (`resolveOutput`).
 * - `writeBytesAtomically(out, bytes)`: the same for bytes in memory, synchronously (model files).
 * - `lockOutput(out)`: an exclusive lock `OUT.lock` (created with O_EXCL; it holds the owner's
 *   pid, host, start time and the process's start tick on Linux). A second run gets an error
 *   naming the owner; a lock whose owner is dead (no such pid on this host, or the pid now
 *   belongs to a process started later) is stale and taken over. Released by the owner.
 * - `refuseInputAsOutput(outputs, inputs)`: an output that is one of the inputs (the same path,
 *   through a symlink, a relative path or a hard link) is refused before anything is written.
 * - `namedFileError(e, file)`: an I/O error (ENOSPC, EISDIR, EACCES, …) as one line naming the file.
 */
import {
  closeSync, existsSync, fdatasyncSync, linkSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A file-system error `e` (one with an errno code: ENOSPC, EISDIR, …) from writing or reading
 * `file` as one line that names the file, the original as its cause; any other error as it is.
 */
export function namedFileError(e: unknown, file: string, verb = 'write'): unknown {
  const err = e as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof err.code !== 'string' || err.message.startsWith(`cannot ${verb} ${file}:`)) return e;
  const why = err.code === 'ENOSPC' ? 'no space left on device'
    : err.code === 'EDQUOT' ? 'disk quota exceeded'
    : err.code === 'EISDIR' ? 'is a directory, expected a file'
    : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied'
    : err.code === 'ENOENT' ? 'no such file or directory'
    : err.code === 'EROFS' ? 'read-only file system'
    : err instanceof Error ? err.message : String(e);
  return new Error(`cannot ${verb} ${file}: ${why}`, { cause: e });
}

// ---------------------------------------------------------------------------------------------
// processes

/** Whether a process with this pid runs on this machine (EPERM: it does, owned by another user). */
function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's start time in clock ticks since boot (Linux /proc/PID/stat field 22), or null where there is no /proc. */
function processStartTick(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: count from after it
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// temporaries

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** This process's temporary file for `out`: `.NAME.PID.tmp` in out's directory. */
function temporaryOutputPath(out: string): string {
  return path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.tmp`);
}

/**
 * Remove the temporaries (`.NAME.PID.tmp`, and `.NAME.PID.tmp.gz` of older versions) that runs
 * writing `out` left behind when they were killed: those whose PID no longer runs here. Returns
 * the paths removed.
 */
function removeStaleTemporaries(out: string): string[] {
  const dir = path.dirname(out);
  const pattern = new RegExp(`^\\.${escapeRegExp(path.basename(out))}\\.(\\d+)\\.tmp(\\.gz)?$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidRunning(pid)) continue;
    const p = path.join(dir, name);
    rmSync(p, { force: true });
    removed.push(p);
  }
  return removed;
}

/**
 * Where and how `out` is written. `file`: a regular file or a new path, written through a
 * temporary file and a rename; `path` is the file itself (a symlink's target, resolved, so the
 * rename replaces the file the link points to, never the link, and never a device behind a link
 * such as /dev/stdout redirected to a file). `stream`: an existing device, FIFO or socket
 * (/dev/stdout on a pipe, /dev/null): written in place, since a rename would replace the device
 * itself. Throws, naming the path, for a directory or a missing parent directory.
 */
export function resolveOutput(out: string): { path: string; kind: 'file' | 'stream' } {
  let st;
  try {
    st = statSync(out);
  } catch {
    st = null;
  }
  if (st === null) {
    // a new file, or a dangling symlink: its target is what gets created
    let target = out;
    try {
      if (lstatSync(out).isSymbolicLink()) target = path.resolve(path.dirname(out), readlinkSync(out));
    } catch { /* no such path */ }
    const dir = path.dirname(path.resolve(target));
    if (!existsSync(dir)) throw new Error(`cannot write ${out}: directory ${dir} does not exist`);
    return { path: target, kind: 'file' };
  }
  if (st.isDirectory()) throw new Error(`cannot write ${out}: it is a directory, expected a file path`);
  if (!st.isFile()) return { path: out, kind: 'stream' };
  return { path: realpathSync(out), kind: 'file' };
}

/**
 * Write `out` through a temporary file (see the file comment): `write(tmp)` writes the whole
 * content to tmp; it is flushed to disk and renamed to `out` (to the file it links to, when it
 * is a symlink). The output is locked for the duration (lockOutput). Errors name `out`; nothing
 * is left at `out` or in the temporary on an error. An `out` that is a device or a pipe
 * (/dev/stdout, /dev/null) is written in place, unlocked.
 */
export async function writeFileAtomically(out: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const target = resolveOutput(out);
  if (target.kind === 'stream') {
    try {
      await write(out);
    } catch (e) {
      throw namedFileError(e, out);
    }
    return;
  }
  const r = startReplacement(target.path, out);
  try {
    await write(r.tmp);
    const fd = openSync(r.tmp, 'r+');
    try { fdatasyncSync(fd); } finally { closeSync(fd); }
  } catch (e) {
    throw r.abort(e);
  }
  r.commit();
}

/**
 * writeFileAtomically for content already in memory, synchronously (model files): the bytes go
 * to the temporary file, are flushed, and the temporary is renamed to `out`, so a run killed
 * while saving leaves the previous file at `out` whole.
 */
export function writeBytesAtomically(out: string, bytes: Uint8Array): void {
  const target = resolveOutput(out);
  const writeAll = (file: string, flags: string): void => {
    const fd = openSync(file, flags);
    try {
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
      if (flags === 'w') fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  };
  if (target.kind === 'stream') {
    try { writeAll(out, 'a'); } catch (e) { throw namedFileError(e, out); }
    return;
  }
  const r = startReplacement(target.path, out);
  try {
    writeAll(r.tmp, 'w');
  } catch (e) {
    throw r.abort(e);
  }
  r.commit();
}

/**
 * What both atomic writers do around writing: lock `file` and remove the temporaries of killed
 * runs; then `commit` renames the written temporary onto `file`, or `abort(e)` removes it and
 * returns e named after `out`. Either releases the lock (a failed rename aborts).
 */
function startReplacement(file: string, out: string): { tmp: string; commit(): void; abort(e: unknown): unknown } {
  const lock = lockOutput(file);
  const tmp = temporaryOutputPath(file);
  const abort = (e: unknown): unknown => {
    try {
      rmSync(tmp, { force: true });
      return namedFileError(e, out);
    } finally {
      lock.release();
    }
  };
  try {
    removeStaleTemporaries(file);
  } catch (e) {
    throw abort(e);
  }
  const commit = (): void => {
    try {
      renameSync(tmp, file);
    } catch (e) {
      throw abort(e);
    }
    lock.release();
  };
  return { tmp, commit, abort };
}

// ---------------------------------------------------------------------------------------------
// locks

export interface OutputLock {
  /** the lock file, OUT.lock */
  readonly file: string;
  /** remove the lock (only while it is still this process's) */
  release(): void;
}

interface LockOwner { pid: number; host: string; since: string; startTick: string | null }

function readOwner(file: string): LockOwner | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string') return { pid: o.pid, host: o.host, since: String(o.since ?? '?'), startTick: typeof o.startTick === 'string' ? o.startTick : null };
  } catch { /* being written, or not a lock of ours */ }
  return 'unreadable';
}

/** Why the lock's owner is gone (so the lock is stale), or null while it may still run. */
function staleReason(owner: LockOwner): string | null {
  if (owner.host !== os.hostname()) return null; // another machine's process: cannot tell
  if (!pidRunning(owner.pid)) return `its process ${owner.pid} is no longer running`;
  const tick = processStartTick(owner.pid);
  if (owner.startTick !== null && tick !== null && tick !== owner.startTick) return `pid ${owner.pid} now belongs to another process`;
  return null;
}

/** A lock file younger than this with no readable owner is taken to be in the middle of being written. */
const UNREADABLE_LOCK_GRACE_MS = 10_000;

/** The new file's descriptor, or null when it exists already. */
function createExclusive(file: string): number | null {
  try {
    return openSync(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw namedFileError(e, file, 'create the lock');
  }
}

/**
 * The lock file exists: throw naming its owner while that may still run; when the owner is
 * dead, remove the lock (moved aside first, atomically, and checked to be the lock just read,
 * not one a third run took meanwhile, which is put back) so the caller can try again.
 */
function takeOverIfStale(out: string, file: string, me: LockOwner, onNote?: (message: string) => void): void {
  const owner = readOwner(file);
  if (owner === 'missing') return; // released meanwhile
  if (owner === 'unreadable') {
    let age: number;
    try { age = Date.now() - statSync(file).mtimeMs; } catch { return; }
    if (age < UNREADABLE_LOCK_GRACE_MS) throw new Error(`${out} is being written by another run (lock ${file} is being created); wait for it to finish`);
    throw new Error(`${out} is locked by ${file}, which holds no owner this version can read; delete it if no other run writes ${out}`);
  }
  const why = staleReason(owner);
  if (why === null) {
    const where = owner.host === me.host ? '' : ` on ${owner.host}`;
    throw new Error(`${out} is being written by another run (pid ${owner.pid}${where}, since ${owner.since}; lock ${file}); wait for it to finish, or delete ${file} if that run is gone`);
  }
  const aside = `${file}.${process.pid}.stale`;
  try { renameSync(file, aside); } catch { return; }
  const moved = readOwner(aside);
  if (typeof moved === 'object' && moved.pid === owner.pid && moved.since === owner.since) {
    rmSync(aside, { force: true });
    onNote?.(`removed the stale lock ${file} (${why})`);
    return;
  }
  // link, not rename: it fails instead of replacing a lock created meanwhile
  try { linkSync(aside, file); } catch { /* a newer lock is in place */ }
  rmSync(aside, { force: true });
}

/** Locks this process holds (by lock file), with how many holders: a command that locks its output and then writes it through writeFileAtomically takes it twice. */
const held = new Map<string, { owner: LockOwner; holders: number }>();

function heldLock(file: string, key: string): OutputLock {
  let released = false;
  return {
    file,
    release(): void {
      if (released) return;
      released = true;
      const h = held.get(key);
      if (!h || --h.holders > 0) return;
      held.delete(key);
      const owner = readOwner(file);
      if (typeof owner === 'object' && owner.pid === h.owner.pid && owner.since === h.owner.since) rmSync(file, { force: true });
    },
  };
}

/**
 * Take the exclusive lock of output `out` (`OUT.lock`, beside the file a symlink `out` points
 * to), or throw naming its owner. `onNote` hears about a stale lock taken over. Within one
 * process the lock is counted, not exclusive. A device or pipe (/dev/stdout) is not locked.
 */
export function lockOutput(out: string, onNote?: (message: string) => void): OutputLock {
  // the file written is what is locked: a symlink's target; a device or pipe is not locked
  const target = resolveOutput(out);
  if (target.kind === 'stream') return { file: '', release: () => undefined };
  const file = `${target.path}.lock`;
  const key = canonicalPath(file);
  const mine = held.get(key);
  if (mine) {
    mine.holders++;
    return heldLock(file, key);
  }
  const me: LockOwner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), startTick: processStartTick(process.pid) };
  const text = JSON.stringify(me) + '\n';
  for (let attempt = 0; attempt < 10; attempt++) {
    const fd = createExclusive(file);
    if (fd === null) {
      takeOverIfStale(out, file, me, onNote);
      continue;
    }
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    held.set(key, { owner: me, holders: 1 });
    return heldLock(file, key);
  }
  throw new Error(`could not take the lock ${file} of ${out}: other runs keep changing it`);
}

// ---------------------------------------------------------------------------------------------
// outputs that are inputs

/** The canonical path `p` has or would have: symlinks and `..` of its existing part resolved. */
function canonicalPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    try {
      return path.join(realpathSync(path.dirname(path.resolve(p))), path.basename(p));
    } catch {
      return path.resolve(p);
    }
  }
}

/** Whether two paths name the same file: the same canonical path, or (both existing) the same device and inode. */
function sameFile(a: string, b: string): boolean {
  if (canonicalPath(a) === canonicalPath(b)) return true;
  try {
    const sa = statSync(a), sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * Throw when one of `outputs` is one of `inputs` ({what, path}; stdin '-' and absent inputs are
 * skipped): writing it would destroy the data it is computed from.
 */
export function refuseInputAsOutput(outputs: readonly string[], inputs: ReadonlyArray<{ what: string; path: string | undefined }>): void {
  for (const input of inputs) {
    if (input.path === undefined || input.path === '-') continue;
    for (const out of outputs) {
      if (sameFile(out, input.path)) {
        const via = path.resolve(out) === path.resolve(input.path) ? '' : ` (${out} and ${input.path} are the same file)`;
        throw new Error(`output ${out} is the ${input.what} ${input.path}${via}; writing it would destroy the ${input.what}: choose another output path`);
      }
    }
  }
}
