/** Ports, sockets and temporary directories for tests: loopback only. */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A port that was free a moment ago on `host` (listen on port 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port'))));
    });
  });
}

function tryConnect(target: { port: number; host: string } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitFor(
  what: string,
  target: { port: number; host: string } | { path: string },
  timeoutMs: number,
  abort?: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tryConnect(target)) return;
    const reason = abort?.();
    if (reason !== undefined) throw new Error(`${what}: ${reason}`);
    if (Date.now() > deadline)
      throw new Error(`${what}: nothing accepted connections within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * Resolve once `host:port` accepts a TCP connection; reject after `timeoutMs`, or as soon as
 * `abort()` returns a reason (e.g. the process that should listen has exited).
 */
export function waitForPort(
  port: number,
  host = '127.0.0.1',
  timeoutMs = 10000,
  abort?: () => string | undefined,
): Promise<void> {
  return waitFor(`waitForPort ${host}:${port}`, { port, host }, timeoutMs, abort);
}

/** Resolve once the unix stream socket at `path` accepts a connection. */
export function waitForUnixSocket(
  path: string,
  timeoutMs = 10000,
  abort?: () => string | undefined,
): Promise<void> {
  return waitFor(`waitForUnixSocket ${path}`, { path }, timeoutMs, abort);
}

const dirs = new Set<string>();

/** A fresh directory under the OS temp dir, removed when this process exits. */
export function tmpDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `uwr-${prefix.replace(/[^\w.-]/g, '_')}-`));
  dirs.add(dir);
  return dir;
}

/** Remove a directory made by `tmpDir` now rather than at exit. */
export function removeTmpDir(dir: string): void {
  dirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

process.on('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
