/** A real redis-server (Debian's redis-server, installed by scripts/install-peers.sh) on 127.0.0.1. */
import { freePort, tmpDir } from './ports.ts';
import { asServer, type ServerHandle, startServerProcess } from './server-process.ts';

export const REDIS_BIN = process.env.REDIS_BIN ?? 'redis-server';

/**
 * `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no` in a temp dir, ready
 * when it accepts; `stop()` is SIGTERM. Give `port` to restart one on the same address.
 */
export async function startRedis(port?: number): Promise<ServerHandle> {
  const p = port ?? (await freePort());
  const dir = tmpDir('redis');
  const proc = await startServerProcess(
    'redis-server',
    REDIS_BIN,
    ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { cwd: dir, stopSignal: 'SIGTERM', ready: { port: p } },
  );
  return asServer(proc, { port: p, dir });
}
