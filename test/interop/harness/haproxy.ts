/** A private HAProxy (Debian's 2.6): one foreground process, its config in a temp dir. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from './ports.ts';
import { asServer, type ServerHandle, startServerProcess } from './server-process.ts';

export const HAPROXY_BIN = process.env.HAPROXY_BIN ?? 'haproxy';

/** `global` + `defaults` for TCP-mode tests; append `frontend`/`backend`/`listen` sections. */
export function haproxyTcpConf(sections: string): string {
  return `global
  maxconn 4096
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
${sections}
`;
}

/**
 * Run `haproxy -db -f FILE` (foreground, no daemon) and wait until `port` accepts.
 * `stop()` sends SIGUSR1 (soft stop), then SIGKILL after 5 s.
 */
export async function startHaproxy(
  conf: string,
  opts: { port: number; host?: string; waitMs?: number },
): Promise<ServerHandle> {
  const dir = tmpDir('haproxy');
  const confPath = join(dir, 'haproxy.cfg');
  writeFileSync(confPath, conf);
  const host = opts.host ?? '127.0.0.1';
  const p = await startServerProcess('haproxy', HAPROXY_BIN, ['-db', '-f', confPath], {
    cwd: dir,
    stopSignal: 'SIGUSR1',
    ready: { port: opts.port, host },
    waitMs: opts.waitMs,
  });
  return asServer(p, { host, port: opts.port, dir });
}
