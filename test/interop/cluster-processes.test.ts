/**
 * Router worker processes (issue 10 part 2): `--http-processes N` runs N workers accepting on
 * the primary's sockets, each with a replica of the subscription table the primary keeps —
 * signed subscriptions included: uWSGI's siblings refuse a signed packet forwarded to them
 * (spec README item 10); here the primary verifies it once and every worker routes it. A
 * worker killed under load is respawned while the others go on serving; harakiri replaces a
 * worker whose event loop stopped (SIGSTOP stands in for a stuck loop).
 */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runWrk } from '../../bench/lib/wrk.ts';
import {
  freePort,
  httpGet,
  isProcessGone,
  pollUntil,
  REPO_ROOT,
  readStatsJson,
  type ServerHandle,
  startUwrouter,
  startUwsgiNode,
  tmpDir,
} from './harness/index.ts';

const KEYS = resolve(REPO_ROOT, 'test/fixtures/keys');
/** ready once the primary says its workers serve (its stats socket is up by then) */
const SERVING = { readyPattern: /generation 1 serving/ };

interface Process {
  name: string;
  pid: number;
  state: string;
  accepted: number;
  active_sessions: number;
}
interface Stats {
  pid: number;
  subscriptions: Array<{ key: string; nodes: Array<{ name: string; requests: number }> }>;
  subscription_packets: { rejected: Record<string, number> };
  uwrouter: { processes: Process[] };
}

/**
 * A uWSGI whoami node answering `NAME` (with `nodeProcesses` processes) behind the `uwrouter`
 * command's HTTP router with `extra` options and its stats; both stopped after the test.
 */
async function whoamiBehindHttpRouter(
  name: string,
  nodeProcesses: number,
  extra: string[],
): Promise<{ port: number; stats: number; router: ServerHandle }> {
  const node = await startUwsgiNode({ app: 'whoami.py', name, processes: nodeProcesses });
  after(() => node.stop());
  const [port, stats] = await Promise.all([freePort(), freePort()]);
  const router = await startUwrouter(
    [
      '--http',
      `127.0.0.1:${port}`,
      '--http-to',
      node.address,
      ...extra,
      '--http-stats',
      `127.0.0.1:${stats}`,
    ],
    SERVING,
  );
  after(() => router.stop());
  return { port, stats, router };
}

async function get(port: number, host: string): Promise<string> {
  const r = await httpGet(`http://127.0.0.1:${port}/`, { headers: { host }, timeoutMs: 5000 });
  return `${r.status} ${r.text}`;
}

test('two workers, a signed subscription: the primary verifies it once and both workers route it', {
  timeout: 90_000,
}, async () => {
  const [port, sub, stats] = await Promise.all([freePort(), freePort(), freePort()]);
  const keys = tmpDir('cluster-keys');
  copyFileSync(join(KEYS, 'public.pem'), join(keys, 'signed.example.pem'));
  const router = await startUwrouter(
    [
      '--http',
      `127.0.0.1:${port}`,
      '--http-processes',
      '2',
      '--http-subscription-server',
      `127.0.0.1:${sub}`,
      '--subscriptions-sign-check',
      `SHA256:${keys}`,
      '--http-stats',
      `127.0.0.1:${stats}`,
    ],
    { readyPattern: /subscription server bound on/ },
  );
  after(() => router.stop());
  const node = await startUwsgiNode({
    app: 'whoami.py',
    name: 'signed-node',
    args: [
      '--subscribe2',
      `server=127.0.0.1:${sub},key=signed.example,sign=SHA256:${join(KEYS, 'private.pem')}`,
    ],
  });
  after(() => node.stop());
  await pollUntil(
    'routable',
    async () => ((await get(port, 'signed.example')) === '200 signed-node' ? true : undefined),
    {
      timeoutMs: 10_000,
    },
  );
  // 300 requests on 300 connections, 10 at a time: both workers take their share
  const answers: string[] = [];
  for (let round = 0; round < 30; round++) {
    answers.push(...(await Promise.all(Array.from({ length: 10 }, () => get(port, 'signed.example')))));
  }
  assert.deepEqual(new Set(answers), new Set(['200 signed-node']));
  const s = await readStatsJson<Stats>(stats);
  assert.equal(s.pid, router.pid, 'the stats are the primary’s');
  const workers = s.uwrouter.processes.filter((p) => p.state === 'ready');
  assert.equal(workers.length, 2, JSON.stringify(s.uwrouter.processes));
  for (const w of workers)
    assert.ok(w.accepted >= 30, `${w.name} accepted ${w.accepted} of 301+: each took a share`);
  assert.equal(s.subscription_packets.rejected['bad-signature'], 0);
  // the workers' usage reaches the primary's table within a second or so
  await pollUntil('requests counted across workers', async () => {
    const now = await readStatsJson<Stats>(stats);
    const n = now.subscriptions.find((p) => p.key === 'signed.example')?.nodes[0];
    return n && n.requests >= 301 ? true : undefined;
  });
});

test('kill -9 of a worker under wrk load: it is respawned, and requests started after the kill all succeed', {
  timeout: 90_000,
}, async () => {
  const { port, stats, router } = await whoamiBehindHttpRouter('n', 2, ['--http-processes', '2']);
  await pollUntil('two workers', async () => {
    const s = await readStatsJson<Stats>(stats);
    return s.uwrouter.processes.filter((p) => p.state === 'ready').length === 2 ? s : undefined;
  });
  const before = (await readStatsJson<Stats>(stats)).uwrouter.processes.map((p) => p.pid);
  const load = runWrk(`http://127.0.0.1:${port}/`, { threads: 1, conns: 10, seconds: 4 });
  await sleep(1200);
  const victim = before[0];
  const killedAt = Date.now();
  process.kill(victim, 'SIGKILL');
  // probes on fresh connections, one after another, until wrk is done
  const probes: Array<{ at: number; ok: boolean }> = [];
  while (Date.now() - killedAt < 2500) {
    const at = Date.now();
    const ok = await get(port, 'x').then(
      (t) => t === '200 n',
      () => false,
    );
    probes.push({ at, ok });
  }
  const wrk = await load;
  const after100 = probes.filter((p) => p.at - killedAt >= 100);
  assert.ok(after100.length >= 10, `${after100.length} probes`);
  assert.deepEqual(
    after100.filter((p) => !p.ok).map((p) => p.at - killedAt),
    [],
    'every request started 100 ms or more after the kill succeeded',
  );
  assert.ok(wrk.requests > 100, `wrk got ${wrk.requests} answers`);
  assert.equal(wrk.errors.non2xx3xx, 0);
  await pollUntil('the respawn line', () =>
    new RegExp(`uWSGI http 1 \\(pid: ${victim}\\) died \\(killed by SIGKILL`).test(router.logs()) &&
    /respawned uWSGI http 1 \(pid: \d+\)/.test(router.logs())
      ? true
      : undefined,
  );
  const s = await readStatsJson<Stats>(stats);
  const pids = s.uwrouter.processes.filter((p) => p.state === 'ready').map((p) => p.pid);
  assert.equal(pids.length, 2);
  assert.ok(!pids.includes(victim) && pids.includes(before[1]), `${before} → ${pids}`);
});

test('harakiri: a worker whose event loop stops is killed and replaced; its client is closed; the line says so', {
  timeout: 90_000,
}, async () => {
  const { port, stats, router } = await whoamiBehindHttpRouter('h', 1, ['--http-harakiri', '2']);
  const worker = (await readStatsJson<Stats>(stats)).uwrouter.processes[0].pid;
  // an idle client of that worker (no request yet)
  const client = connect(port, '127.0.0.1');
  let clientClosedAt = 0;
  client.on('close', () => {
    clientClosedAt = Date.now();
  });
  client.on('error', () => {});
  await new Promise((r) => client.once('connect', r));
  await sleep(1500); // a heartbeat reports the session
  const stoppedAt = Date.now();
  process.kill(worker, 'SIGSTOP');
  // while it is stopped, a new request waits in the backlog and is served by the next worker
  const waiting = get(port, 'x');
  const line = await pollUntil(
    'the harakiri line',
    () => /\*\*\* HARAKIRI ON GATEWAY uWSGI http 1 \(pid: (\d+)\).*\*\*\*/.exec(router.logs()) ?? undefined,
    { timeoutMs: 8000 },
  );
  const killedAfter = Date.now() - stoppedAt;
  assert.equal(line[1], String(worker));
  assert.ok(killedAfter >= 2000, `killed ${killedAfter} ms after it stopped (harakiri 2 s)`);
  assert.match(line[0], /closing its 1 client connection\(s\)/);
  assert.equal(await waiting, '200 h');
  await pollUntil('the client closed', () => (clientClosedAt > 0 ? true : undefined));
  await pollUntil('respawned', () =>
    /respawned uWSGI http 1 \(pid: \d+\)/.test(router.logs()) ? true : undefined,
  );
  assert.equal(await get(port, 'x'), '200 h');
});

test('--http-processes auto runs one worker per core; a worker sent SIGTERM drains and is replaced at once', {
  timeout: 90_000,
}, async () => {
  const { port, stats, router } = await whoamiBehindHttpRouter('a', 1, ['--http-processes', 'auto']);
  const first = (await readStatsJson<Stats>(stats)).uwrouter.processes;
  assert.equal(first.length, availableParallelism());
  assert.match(router.logs(), new RegExp(`generation 1 serving: uWSGI http ×${availableParallelism()}`));
  const victim = first[0].pid;
  process.kill(victim, 'SIGTERM');
  await pollUntil('replaced', () =>
    new RegExp(
      `uWSGI http 1 \\(pid: ${victim}\\) drains \\(SIGTERM received\\): starting a replacement`,
    ).test(router.logs()) && /respawned uWSGI http 1 \(pid: \d+\)/.test(router.logs())
      ? true
      : undefined,
  );
  await pollUntil('the drained worker exited', () => (isProcessGone(victim) ? true : undefined));
  assert.equal(await get(port, 'x'), '200 a');
  const now = await pollUntil('all serving again', async () => {
    const ps = (await readStatsJson<Stats>(stats)).uwrouter.processes;
    return ps.filter((p) => p.state === 'ready').length === availableParallelism() ? ps : undefined;
  });
  assert.ok(!now.some((p) => p.pid === victim));
});
