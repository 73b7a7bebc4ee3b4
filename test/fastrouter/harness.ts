/**
 * A fastrouter started in the test process (createFastrouter) in front of fake uwsgi nodes,
 * closed after the file's tests; raw uwsgi requests.
 */
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.ts';
import type { CoreRouter } from '../../src/corerouter/router.ts';
import { createFastrouter } from '../../src/fastrouter/index.ts';
import { encodePacket } from '../../src/protocol/uwsgi.ts';
import type { RequestLog } from '../../src/request-log.ts';
import { type FakeNode, startFakeNode } from '../corerouter/fake-node.ts';
import { captureLogger, type LogRecord } from '../log-capture.ts';

export const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

export interface Started {
  router: CoreRouter;
  port: number;
  lines: string[];
  records: LogRecord[];
}

export async function startRouter(args: string[], requestLog?: RequestLog): Promise<Started> {
  const { config } = loadConfig(['--fastrouter', '127.0.0.1:0', ...args], {});
  const { log, lines, records } = captureLogger();
  const router = createFastrouter(config, log, { version: 'test', ...(requestLog ? { requestLog } : {}) });
  await router.start();
  cleanup.push(() => router.close());
  const a = router.listeners[0].server.address();
  return { router, port: typeof a === 'object' && a ? a.port : 0, lines, records };
}

export async function node(o: Parameters<typeof startFakeNode>[0] = {}): Promise<FakeNode> {
  const n = await startFakeNode(o);
  cleanup.push(() => n.close());
  return n;
}

export function request(vars: [string, string][], body = '', m1 = 0, m2 = 0): Buffer {
  const r = encodePacket(m1, vars, m2);
  assert.ok(r.ok);
  return Buffer.concat([r.packet, Buffer.from(body)]);
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(10);
  }
}

/** Connections open on the node's side right now (the router's backend sockets to it). */
export function openConnections(n: FakeNode): Promise<number> {
  return new Promise((resolve, reject) =>
    n.server.getConnections((e, count) => (e ? reject(e) : resolve(count))),
  );
}

export const GET: [string, string][] = [
  ['REQUEST_METHOD', 'GET'],
  ['HTTP_HOST', 'example.com'],
];
