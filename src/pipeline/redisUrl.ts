/**
 * Redis URLs for the precompute queue, and keeping their credentials out of sight.
 *
 *   redis://HOST[:PORT][/DB]                  plain TCP (port 6379, db 0 by default)
 *   redis://[USER]:PASSWORD@HOST[:PORT][/DB]  AUTH with a password (and an ACL user)
 *   rediss://…                                TLS (the server's certificate is verified against
 *                                             the system CAs, or the PEM file in AFFINITY_REDIS_CA)
 *
 * A password may instead come from the environment (AFFINITY_REDIS_PASSWORD), so it appears in
 * neither the command line (visible to `ps`) nor a Kubernetes manifest. Anything printed shows
 * the URL as `display` (password replaced by ***), and `scrub` removes the password from any
 * text (an error message from the client, a log line) before it is printed. Errors about a
 * bad URL never repeat the URL.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { RedisOptions } from 'bullmq';

export interface RedisTarget {
  /** connection options as BullMQ takes them (for its ioredis clients) */
  options: RedisOptions;
  /** the URL without its password, for messages */
  display: string;
  /** strings that must never be printed (the password, raw and percent-encoded) */
  secrets: string[];
}

export interface RedisEnv {
  /** password when the URL has none (AFFINITY_REDIS_PASSWORD) */
  password?: string;
  /** PEM file of the CA that signed the server's certificate, for rediss:// (AFFINITY_REDIS_CA) */
  caFile?: string;
}

/** The Redis settings the process environment gives (read here, at the caller's edge). */
export function redisEnv(env: NodeJS.ProcessEnv): RedisEnv {
  return {
    ...(env.AFFINITY_REDIS_PASSWORD ? { password: env.AFFINITY_REDIS_PASSWORD } : {}),
    ...(env.AFFINITY_REDIS_CA ? { caFile: env.AFFINITY_REDIS_CA } : {}),
  };
}

/** Parse a redis:// or rediss:// URL; see the file comment. Throws a RangeError that does not repeat the URL. */
export function parseRedisUrl(url: string, env: RedisEnv = {}): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError('the queue must be a URL like redis://HOST:PORT/DB or rediss://HOST:PORT/DB (the value given is not a URL; it is not repeated here in case it holds a password)');
  }
  const tls = u.protocol === 'rediss:';
  if (!tls && u.protocol !== 'redis:') throw new RangeError(`the queue URL must start with redis:// or rediss://, not ${u.protocol}//`);
  if (!u.hostname) throw new RangeError('the queue URL has no host');
  if (u.search || u.hash) throw new RangeError('the queue URL must not have ?parameters or a #fragment (give the password in the URL or in AFFINITY_REDIS_PASSWORD, the CA in AFFINITY_REDIS_CA)');
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw new RangeError('the queue URL\'s path must be a database number (e.g. /0)');
  const db = dbText === '' ? 0 : Number(dbText);
  const username = decodeURIComponent(u.username);
  const password = u.password !== '' ? decodeURIComponent(u.password) : env.password;
  // the URL parser keeps IPv6 literals in brackets; the socket wants them bare
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const options: RedisOptions = { host, port, db };
  if (username) options.username = username;
  if (password) options.password = password;
  if (tls) {
    options.tls = {
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(env.caFile ? { ca: readCaFile(env.caFile) } : {}),
    };
  }
  const auth = password ? `${username ? `${username}:` : ''}***@` : username ? `${username}@` : '';
  const display = `${u.protocol}//${auth}${u.host}/${db}`;
  const secrets = password ? [...new Set([password, encodeURIComponent(password), u.password].filter((s) => s.length > 0))] : [];
  return { options, display, secrets };
}

function readCaFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read the Redis CA file ${file} (AFFINITY_REDIS_CA): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

/** `text` with every secret replaced by ***. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}
