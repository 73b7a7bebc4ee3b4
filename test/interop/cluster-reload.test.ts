/**
 * Reload (issue 10 part 4): SIGHUP or --touch-reload re-reads the configuration and applies
 * it next to the running one. Under wrk load, a reload that adds a node loses nothing (0
 * non-2xx, 0 socket errors) and the new node serves afterwards; a websocket opened before
 * it keeps working (its old worker finishes it); an invalid configuration is one error line
 * and changes nothing; a listener whose address stays keeps its socket, a removed one closes,
 * a new one is bound; the subscription table survives (nodes need not re-announce).
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { runWrk } from '../../bench/lib/wrk.ts';
import { encodeSubscription } from '../../src/protocol/subscription.ts';
import {
  freePort,
  httpGet,
  pollUntil,
  readStatsJson,
  type ServerHandle,
  startUwrouter,
  startUwsgiNode,
  tmpDir,
} from './harness/index.ts';

const wsNode = await startUwsgiNode({ app: 'ws_echo.py', name: 'ws', processes: 4 });
const added = await startUwsgiNode({ app: 'whoami.py', name: 'added', processes: 2 });
after(() => Promise.all([wsNode.stop(), added.stop()]));

function ini(lines: string[]): string {
  return `[uwsgi]\n${lines.join('\n')}\n`;
}

async function body(port: number, host = 'x'): Promise<string> {
  const r = await httpGet(`http://127.0.0.1:${port}/`, { headers: { host }, timeoutMs: 5000 });
  return `${r.status} ${r.text}`;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

function served(r: ServerHandle, generation: number): Promise<true> {
  return pollUntil(
    `generation ${generation}`,
    () => (new RegExp(`generation ${generation} serving`).test(r.logs()) ? true : undefined),
    { timeoutMs: 20_000 },
  );
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  const got = new Promise<string>((resolve, reject) => {
    ws.once('message', (d) => resolve(String(d)));
    ws.once('close', () => reject(new Error('the websocket closed')));
  });
  ws.send(text);
  return got;
}

test('SIGHUP under wrk load adds a node: 0 failed requests, the node serves after, an open websocket survives', {
  timeout: 120_000,
}, async () => {
  const dir = tmpDir('reload');
  const file = join(dir, 'router.ini');
  const [port, stats] = await Promise.all([freePort(), freePort()]);
  const base = [
    `http = 127.0.0.1:${port}`,
    'http-processes = 2',
    'http-websockets = true',
    `http-stats = 127.0.0.1:${stats}`,
    `http-to = ${wsNode.address}`,
  ];
  writeFileSync(file, ini(base));
  const r = await startUwrouter(['--ini', file], { readyPattern: /generation 1 serving/ });
  after(() => r.stop());
  assert.equal(await body(port), '200 websocket endpoint');
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  assert.equal(await echo(ws, 'before'), 'before');

  const load = runWrk(`http://127.0.0.1:${port}/`, { threads: 1, conns: 8, seconds: 5 });
  await sleep(1500);
  writeFileSync(file, ini([...base, `http-to = ${added.address}`]));
  process.kill(r.pid, 'SIGHUP');
  await served(r, 2);
  const wrk = await load;
  assert.ok(wrk.requests > 200, `wrk: ${wrk.requests} requests`);
  assert.deepEqual(wrk.errors, { connect: 0, read: 0, write: 0, timeout: 0, non2xx3xx: 0 }, wrk.raw);

  const seen = new Set<string>();
  for (let i = 0; i < 8; i++) seen.add(await body(port));
  assert.ok(seen.has('200 added'), `the new node serves: ${[...seen]}`);
  assert.equal(await echo(ws, 'after the reload'), 'after the reload', 'the websocket survived');
  // its old worker still runs (draining) for it; the socket was kept, not bound again
  assert.equal((r.logs().match(/uWSGI http bound on/g) ?? []).length, 1);
  ws.close();
  await pollUntil('the old generation gone once its websocket closed', async () => {
    const s = await readStatsJson<{ uwrouter: { processes: Array<{ generation: number }> } }>(stats);
    return s.uwrouter.processes.every((p) => p.generation === 2) ? true : undefined;
  });

  // an invalid configuration: one error line, generation 2 goes on
  writeFileSync(file, ini([...base, 'http-tooo = 1']));
  process.kill(r.pid, 'SIGHUP');
  await pollUntil('the refusal', () => (/reload refused/.test(r.logs()) ? true : undefined));
  assert.match(
    r.logs(),
    /\[uwrouter\] reload refused, still running the previous configuration: .*unknown option "--http-tooo"; did you mean "--http-to"\?/,
  );
  assert.doesNotMatch(r.logs(), /generation 3/);
  const again = new Set<string>();
  for (let i = 0; i < 6; i++) again.add(await body(port));
  assert.ok(again.has('200 added'));
});

test('reload: kept listener, removed listener refused, new listener bound; the subscription table survives', {
  timeout: 120_000,
}, async () => {
  const dir = tmpDir('reload-listeners');
  const file = join(dir, 'router.ini');
  const [a, b, c, sub] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const common = [`http-subscription-server = 127.0.0.1:${sub}`, 'subscription-tolerance = 3600'];
  writeFileSync(file, ini([`http = 127.0.0.1:${a}`, `http = 127.0.0.1:${b}`, ...common]));
  const r = await startUwrouter(['--ini', file, '--touch-reload', file], {
    readyPattern: /generation 1 serving/,
  });
  after(() => r.stop());
  // one announce only: it must still route after the reload
  const p = encodeSubscription('subscribe', { key: 'kept.example', address: added.address });
  assert.ok(p.ok);
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.send(p.packet, sub, '127.0.0.1', () => resolve()));
  udp.close();
  await pollUntil('routed', async () => ((await body(a, 'kept.example')) === '200 added' ? true : undefined));
  writeFileSync(file, ini([`http = 127.0.0.1:${a}`, `http = 127.0.0.1:${c}`, ...common]));
  // --touch-reload: the write changed the file's modification time
  utimesSync(file, new Date(), new Date(Date.now() + 2000));
  await served(r, 2);
  assert.match(r.logs(), /router\.ini was touched: reloading the configuration/);
  await pollUntil('the removed listener closes', async () => ((await refused(b)) ? true : undefined), {
    timeoutMs: 5000,
  });
  assert.equal(await body(a, 'kept.example'), '200 added', 'the kept listener, the table as it was');
  assert.equal(await body(c, 'kept.example'), '200 added', 'the new listener');
  const bound = r.logs().match(/uWSGI http bound on [^\n]+/g) ?? [];
  assert.deepEqual(
    bound.map((l) => l.replace(/ fd \d+$/, '')),
    [
      `uWSGI http bound on 127.0.0.1:${a}`,
      `uWSGI http bound on 127.0.0.1:${b}`,
      `uWSGI http bound on 127.0.0.1:${c}`,
    ],
  );
  // a listener that cannot be bound (another process has the port): the reload fails, nothing changes
  const busy = added.port as number;
  writeFileSync(file, ini([`http = 127.0.0.1:${a}`, `http = 127.0.0.1:${busy}`, ...common]));
  utimesSync(file, new Date(), new Date(Date.now() + 4000));
  await pollUntil('the failed reload', () => (/reload failed/.test(r.logs()) ? true : undefined), {
    timeoutMs: 10_000,
  });
  assert.match(
    r.logs(),
    new RegExp(
      `\\[uwrouter\\] reload failed, still running the previous configuration: cannot listen on "127\\.0\\.0\\.1:${busy}": EADDRINUSE`,
    ),
  );
  assert.doesNotMatch(r.logs(), /generation 3/);
  assert.equal(await body(c, 'kept.example'), '200 added', 'the previous configuration still serves');
  // the subscription server leaves the configuration: its UDP socket is closed
  writeFileSync(file, ini([`http = 127.0.0.1:${a}`, `http-to = ${added.address}`]));
  utimesSync(file, new Date(), new Date(Date.now() + 6000));
  await served(r, 3);
  const probe = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.bind(sub, '127.0.0.1', () => resolve());
  });
  probe.close();
});

test('with --http-keepalive, two reloads under wrk lose nothing: keepalive connections move to the new workers', {
  timeout: 120_000,
}, async () => {
  const dir = tmpDir('reload-keepalive');
  const file = join(dir, 'router.ini');
  const [port, stats] = await Promise.all([freePort(), freePort()]);
  writeFileSync(
    file,
    ini([
      `http = 127.0.0.1:${port}`,
      'http-processes = 2',
      'http-keepalive = true',
      `http-stats = 127.0.0.1:${stats}`,
      `http-to = ${added.address}`,
    ]),
  );
  const r = await startUwrouter(['--ini', file], { readyPattern: /generation 1 serving/ });
  after(() => r.stop());
  let wrkDone = false;
  const load = runWrk(`http://127.0.0.1:${port}/`, { threads: 1, conns: 8, seconds: 5 }).finally(() => {
    wrkDone = true;
  });
  await sleep(1000);
  process.kill(r.pid, 'SIGHUP');
  await served(r, 2);
  // wrk's connections leave the old workers after their current request: they exit while wrk runs
  await pollUntil(
    'only generation 2 left',
    async () => {
      const s = await readStatsJson<{ uwrouter: { processes: Array<{ generation: number }> } }>(stats);
      return s.uwrouter.processes.every((p) => p.generation === 2) ? true : undefined;
    },
    { timeoutMs: 10_000 },
  );
  assert.equal(wrkDone, false, 'the old workers lasted as long as the load (keepalive connections stayed)');
  process.kill(r.pid, 'SIGHUP');
  await served(r, 3);
  const wrk = await load;
  assert.ok(wrk.requests > 200, `wrk: ${wrk.requests} requests`);
  assert.deepEqual(wrk.errors, { connect: 0, read: 0, write: 0, timeout: 0, non2xx3xx: 0 }, wrk.raw);
});
