import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parseBackendAddress } from '../../src/corerouter/address.ts';
import { BackendAttempt, type GiveUpCode, type RouteContext } from '../../src/corerouter/connect.ts';
import { IdleSweep } from '../../src/corerouter/idle-sweep.ts';
import { StaticMapper } from '../../src/corerouter/static-nodes.ts';
import type { BackendAddress, KeyMapper } from '../../src/corerouter/types.ts';
import { silentLogger } from '../../src/logger.ts';
import { captureLogger } from '../log-capture.ts';
import { deadPort, type FakeNode, startFakeNode } from './fake-node.ts';
import { type StalledListener, startStalledListener } from './stalled-listener.ts';

const nodes: FakeNode[] = [];
const stalled: StalledListener[] = [];
after(async () => {
  await Promise.all([...nodes, ...stalled].map((n) => n.close()));
});

async function stalledListener(): Promise<StalledListener> {
  const l = await startStalledListener();
  stalled.push(l);
  return l;
}

const addr = (t: string): BackendAddress => {
  const r = parseBackendAddress(t);
  assert.ok(r.ok);
  return r.value;
};

function ctx(
  mapper: KeyMapper | null,
  over: Partial<RouteContext> = {},
): RouteContext & { lines: string[]; codes: string[] } {
  const codes: string[] = [];
  const { log, lines } = captureLogger();
  return {
    mapper,
    fallbacks: [],
    fallbackOnNoKey: false,
    maxRetries: 3,
    connectTimeoutMs: 2000,
    quiet: false,
    log,
    logPrefix: 'uwsgi-fastrouter',
    count: (c: string) => codes.push(c),
    lines,
    codes,
    ...over,
  };
}

function run(
  c: RouteContext,
  key = 'k',
  sweep: IdleSweep | null = null,
): Promise<{ ok: true; name: string; retries: number } | { ok: false; code: GiveUpCode; retries: number }> {
  return new Promise((resolve) => {
    new BackendAttempt(
      c,
      key,
      { address: '127.0.0.1', port: 9 },
      {
        connected(s, lease, a) {
          s.destroy();
          lease.release(0, 0);
          resolve({ ok: true, name: lease.address.name, retries: a.retries });
        },
        gaveUp(code, _d, a) {
          resolve({ ok: false, code, retries: a.retries });
        },
      },
      sweep,
    ).start();
  });
}

test('a refused node is logged as uWSGI does, marked failed, and the next node is tried', async () => {
  const live = await startFakeNode();
  nodes.push(live);
  const dead = `127.0.0.1:${await deadPort()}`;
  const m = new StaticMapper([addr(dead), addr(live.address)], 30, 'fastrouter', silentLogger());
  const c = ctx(m);
  const r = await run(c);
  assert.deepEqual(r, { ok: true, name: live.address, retries: 1 });
  assert.ok(
    c.lines.includes(
      `[uwsgi-fastrouter] unable to connect() to node "${dead}" (0 retries): Connection refused`,
    ),
  );
  assert.deepEqual(c.codes, ['node_connect_failures']);
  // the dead node is now in its grace period: the next request goes straight to the live one
  const r2 = await run(c);
  assert.deepEqual(r2, { ok: true, name: live.address, retries: 0 });
});

test('quiet hides the connect lines, not the outcome', async () => {
  const dead = `127.0.0.1:${await deadPort()}`;
  const m = new StaticMapper([addr(dead)], 30, 'fastrouter', silentLogger());
  const c = ctx(m, { quiet: true });
  const r = await run(c);
  assert.equal(r.ok, false);
  assert.equal(c.lines.filter((l) => l.includes('unable to connect')).length, 0);
});

test('retries stop at max-retries and give up with the last error', async () => {
  const dead = addr(`127.0.0.1:${await deadPort()}`);
  let picks = 0;
  const always: KeyMapper = {
    kind: 'static',
    pick: () => {
      picks++;
      return { address: dead, modifier1: 0, modifier2: 0, connected() {}, failed() {}, release() {} };
    },
  };
  const r = await run(ctx(always, { maxRetries: 2 }));
  assert.deepEqual(r, { ok: false, code: 'UWR_ERR_CONNECT', retries: 2 });
  assert.equal(picks, 3);
});

test('with fallbacks, retry n goes to fallback n', async () => {
  const live = await startFakeNode();
  nodes.push(live);
  const dead1 = addr(`127.0.0.1:${await deadPort()}`);
  const dead2 = addr(`127.0.0.1:${await deadPort()}`);
  const m = new StaticMapper([dead1], 30, 'fastrouter', silentLogger());
  const r = await run(ctx(m, { fallbacks: [dead2, addr(live.address)] }));
  assert.deepEqual(r, { ok: true, name: live.address, retries: 2 });
});

test('an unmapped key gives up at once, or goes to fallbacks with fallback-on-no-key', async () => {
  const live = await startFakeNode();
  nodes.push(live);
  const none: KeyMapper = { kind: 'static', pick: () => null };
  assert.deepEqual(await run(ctx(none)), { ok: false, code: 'UWR_ERR_NO_NODE', retries: 0 });
  assert.deepEqual(await run(ctx(none, { fallbacks: [addr(live.address)], fallbackOnNoKey: true })), {
    ok: true,
    name: live.address,
    retries: 1,
  });
});

test('a connect that hangs times out on its own timer, is logged and counted, and the next node is tried', async () => {
  const stalled = await stalledListener();
  const live = await startFakeNode();
  nodes.push(live);
  const m = new StaticMapper([addr(stalled.address), addr(live.address)], 30, 'fastrouter', silentLogger());
  const c = ctx(m, { connectTimeoutMs: 300, maxRetries: 1 });
  const t0 = performance.now();
  const r = await run(c);
  const waited = performance.now() - t0;
  assert.deepEqual(r, { ok: true, name: live.address, retries: 1 });
  // the attempt ended by the timer, not earlier (50 ms: the timer starts from the event
  // loop's cached clock, which may be a little behind t0)
  assert.ok(waited >= 300 - 50, `gave up on the hanging node after ${waited} ms`);
  assert.deepEqual(c.lines, [
    `[uwsgi-fastrouter] unable to connect() to node "${stalled.address}" (0 retries): timeout`,
  ]);
  assert.deepEqual(c.codes, ['node_connect_failures']);
  // marked failed like a refused node: the next request goes straight to the live one
  assert.deepEqual(await run(c), { ok: true, name: live.address, retries: 0 });
});

test('a connect timeout with no retry left gives up with UWR_ERR_CONNECT_TIMEOUT', async () => {
  const stalled = await stalledListener();
  const m = new StaticMapper([addr(stalled.address)], 30, 'fastrouter', silentLogger());
  const c = ctx(m, { connectTimeoutMs: 200, maxRetries: 0 });
  assert.deepEqual(await run(c), { ok: false, code: 'UWR_ERR_CONNECT_TIMEOUT', retries: 0 });
  assert.deepEqual(c.lines, [
    `[uwsgi-fastrouter] unable to connect() to node "${stalled.address}" (0 retries): timeout`,
  ]);
  assert.deepEqual(c.codes, ['node_connect_failures']);
});

test("with the routers' shared sweep (no timer per attempt) a hanging connect times out too", async () => {
  const stalled = await stalledListener();
  const live = await startFakeNode();
  nodes.push(live);
  const m = new StaticMapper([addr(stalled.address), addr(live.address)], 30, 'fastrouter', silentLogger());
  const c = ctx(m, { connectTimeoutMs: 200, maxRetries: 1 });
  const sweep = new IdleSweep(IdleSweep.intervalFor(200));
  assert.deepEqual(await run(c, 'k', sweep), { ok: true, name: live.address, retries: 1 });
  assert.deepEqual(c.lines, [
    `[uwsgi-fastrouter] unable to connect() to node "${stalled.address}" (0 retries): timeout`,
  ]);
  assert.equal(sweep.size, 0, 'nothing left watched');
});

test('UNIX socket nodes: a missing path is "No such file or directory"', async () => {
  const m = new StaticMapper([addr('/tmp/uwrouter-test-nonexistent.sock')], 30, 'fastrouter', silentLogger());
  const c = ctx(m, { maxRetries: 0 });
  const r = await run(c);
  assert.equal(r.ok, false);
  assert.ok(c.lines.some((l) => l.endsWith('No such file or directory')));
});
