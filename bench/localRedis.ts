/**
 * A throwaway redis-server (Debian's `redis-server` package) on a free loopback port with its
 * files in a temporary directory: what the queue tests and the queue benchmark run against.
 * `stop()` ends it (SIGTERM: it writes its append-only file first); `start()` again brings it
 * back on the same port and directory, which is how the tests restart Redis under a running job.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The redis-server executable on PATH, or null. */
export function findRedisServer(): string | null {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!d) continue;
    const p = path.join(d, 'redis-server');
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

/** Why there is no usable redis-server here, or null when there is one. */
export function redisServerUnavailable(): string | null {
  const bin = findRedisServer();
  if (!bin) return 'redis-server not found (install the redis-server package: apt-get install redis-server)';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return `redis-server --version failed: ${(r.stderr || r.error?.message || '').trim()}`;
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface LocalRedisOptions {
  /** append-only file with fsync on every write, so a restart keeps the queue (default true) */
  persistence?: boolean;
  /** requirepass */
  password?: string;
  /** TLS only (no plain port): PEM files of the server's certificate and key, and the CA */
  tls?: { cert: string; key: string; ca: string };
}

export class LocalRedis {
  readonly dir: string;
  port = 0;
  private proc: ChildProcess | null = null;
  log = '';

  constructor(private readonly o: LocalRedisOptions = {}) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'affinity-redis-'));
  }

  /** redis:// (or rediss://) URL of db 0, with the password when `withPassword`. */
  url(withPassword = false): string {
    const auth = withPassword && this.o.password ? `:${encodeURIComponent(this.o.password)}@` : '';
    return `${this.o.tls ? 'rediss' : 'redis'}://${auth}${this.o.tls ? 'localhost' : '127.0.0.1'}:${this.port}/0`;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  /** Start (on a free port the first time, the same port after that); resolves when it accepts connections. */
  async start(): Promise<void> {
    if (this.proc) return;
    const bin = findRedisServer();
    if (!bin) throw new Error('redis-server not found');
    for (let tries = 0; ; tries++) {
      const fresh = this.port === 0;
      if (fresh) this.port = await freePort();
      try {
        await this.launch(bin);
        return;
      } catch (e) {
        if (!fresh || tries >= 4) throw e;
        this.port = 0; // the port was taken meanwhile: pick another
      }
    }
  }

  private launch(bin: string): Promise<void> {
    const persist = this.o.persistence !== false;
    const args = [
      '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--daemonize', 'no', '--loglevel', 'notice',
      '--appendonly', persist ? 'yes' : 'no', '--appendfsync', 'always',
    ];
    if (this.o.tls) {
      args.push('--port', '0', '--tls-port', String(this.port), '--tls-cert-file', this.o.tls.cert, '--tls-key-file', this.o.tls.key,
        '--tls-ca-cert-file', this.o.tls.ca, '--tls-auth-clients', 'no');
    } else args.push('--port', String(this.port));
    if (this.o.password) args.push('--requirepass', this.o.password);
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    let out = ''; // this launch's output (the log keeps every launch's)
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`redis-server did not start in 15 s:\n${out.slice(-2000)}`)); }, 15_000);
      const onData = (b: Buffer): void => {
        this.log += b.toString();
        out += b.toString();
        if (/Ready to accept connections/.test(out)) { clearTimeout(timer); resolve(); }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        if (this.proc === proc) this.proc = null;
        reject(new Error(`redis-server exited with code ${code}:\n${out.slice(-2000)}`));
      });
    });
  }

  /** Stop it (SIGTERM: a clean shutdown that flushes the append-only file; SIGKILL: a crash). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
    this.proc = null;
  }

  /** Stop it and remove its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
