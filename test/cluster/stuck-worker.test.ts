/**
 * A worker that stops reading its IPC channel (a stuck event loop; SIGSTOP stands in for one)
 * while the primary's subscription table keeps changing: every delta sent to it waits in the
 * primary (Node's child_process queues writes without bound). The worker group kills such a
 * worker (SIGKILL) once more than `unwrittenLimit` table items wait unwritten AND it has not
 * beaten for 5 s, logs one line saying why, and respawns it from a fresh snapshot. A worker
 * stopped for less than that is left alone and catches up.
 *
 * The test process plays the primary, as src/cluster/primary.ts wires a generation: the real
 * configuration check, the primary's sockets, a real subscription system and its feed, and a
 * RouterGroup forking the real worker entry (src/cli.ts); the group is given a small limit
 * (GroupOptions.unwrittenLimit; the command uses UNWRITTEN_ITEMS_LIMIT). Subscriptions reach
 * the table as the datagrams a uWSGI node sends, handed to the receiver.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bindConfiguredSockets } from '../../src/cluster/bound-sockets.ts';
import { checkConfig, configEntries } from '../../src/cluster/config-check.ts';
import { RouterGroup } from '../../src/cluster/router-group.ts';
import { buildSubscribed } from '../../src/cluster/router-runtime.ts';
import type { WorkerProcess } from '../../src/cluster/worker-process.ts';
import { loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/logger.ts';
import { encodeSubscription } from '../../src/protocol/subscription.ts';
import { pollUntil, rawRequest, uwsgiGet } from '../interop/harness/index.ts';
import { captureLogger } from '../subscription/harness.ts';

/** the test's limit: far below what one flood below leaves unwritten */
const LIMIT = 2000;
/** deltas sent while the worker is stopped: a stopped reader's socket buffer holds a few thousand */
const FLOOD = 20_000;

/** A node answering every request with `NAME` (or never, holding the connection open). */
async function startNode(name: string | null): Promise<string> {
  const server = createServer((s) => {
    s.on('error', () => {});
    if (name !== null) s.once('data', () => s.end(`HTTP/1.0 200 OK\r\n\r\n${name}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => server.close());
  const a = server.address();
  assert.ok(a && typeof a === 'object');
  return `127.0.0.1:${a.port}`;
}

interface Cluster {
  group: RouterGroup;
  port: number;
  lines: string[];
  announce(key: string, node?: string): void;
  /** what the router answers for `key` (the node's name, or what else came) */
  ask(key: string, timeoutMs?: number): Promise<string>;
  worker(): WorkerProcess;
}

/** One fastrouter worker with a subscription table, judged every second as the primary does. */
async function startCluster(node: string, limit = LIMIT): Promise<Cluster> {
  const { config } = loadConfig(
    [
      '--fastrouter',
      '127.0.0.1:0',
      '--fastrouter-subscription-server',
      '127.0.0.1:0',
      '--fastrouter-processes',
      '1',
    ],
    {},
  );
  const checked = checkConfig(config, silentLogger());
  const settings = checked.subscriptions.get('fastrouter');
  assert.ok(settings);
  const sub = buildSubscribed(settings);
  const { byRouter, next } = await bindConfiguredSockets(
    [{ router: 'fastrouter', addresses: checked.listen.get('fastrouter') ?? [] }],
    { backlog: 100, sharedSockets: [] },
    new Map(),
    () => {},
  );
  const sockets = byRouter.get('fastrouter') ?? [];
  const port = Number(sockets[0].socket.name.split(':').at(-1));
  const { logger, lines } = captureLogger();
  const group = new RouterGroup({
    spec: {
      router: 'fastrouter',
      generation: 1,
      config: configEntries(config),
      version: 'test',
      sockets,
      feeds: [sub.feed],
      cwd: process.cwd(),
      inherited: () => ({ logFile: null, requestLogFile: null }),
      pem: [],
    },
    count: 1,
    harakiriMs: 0,
    unwrittenLimit: limit,
    log: logger,
    onReport: (_w, _table, items) => sub.source.applyReports(items as never),
    canRespawn: () => true,
  });
  const judge = setInterval(() => group.checkWorkers(Date.now()), 1000);
  after(async () => {
    clearInterval(judge);
    group.killAll();
    await Promise.all(group.workers().map((w) => w.exited()));
    for (const s of next.values()) s.close();
    await sub.system.close();
  });
  await group.start();
  const request = (key: string) => uwsgiGet(key);
  return {
    group,
    port,
    lines,
    announce(key, address = node) {
      const r = encodeSubscription('subscribe', { key, address });
      assert.ok(r.ok);
      const outcome = sub.system.receiver.handle(r.packet);
      assert.ok(outcome.ok, JSON.stringify(outcome));
    },
    async ask(key, timeoutMs = 5000) {
      const got = (await rawRequest(port, request(key), { timeoutMs })).toString();
      return got.slice(got.indexOf('\r\n\r\n') + 4);
    },
    worker() {
      const [w] = group.workers();
      assert.ok(w, 'a worker runs');
      return w;
    },
  };
}

/** Polls until `key` is routed to the node (each worker learns subscriptions a little later). */
async function routed(c: Cluster, key: string, timeoutMs = 10_000): Promise<void> {
  await pollUntil(`${key} routed`, async () => ((await c.ask(key)) === 'node' ? true : undefined), {
    timeoutMs,
  });
}

/**
 * Stops the worker that routes `before.example` (SIGCONT at the latest after the test) and
 * announces FLOOD new keys; resolves once more than LIMIT changes wait unwritten for it.
 */
async function stopAndFlood(
  c: Cluster,
): Promise<{ w: WorkerProcess; resume: () => void; stoppedAt: number }> {
  c.announce('before.example');
  await routed(c, 'before.example');
  const w = c.worker();
  process.kill(w.pid, 'SIGSTOP');
  let continued = false;
  const resume = (): void => {
    if (continued || w.state === 'exited') return;
    continued = true;
    try {
      process.kill(w.pid, 'SIGCONT');
    } catch {
      // gone
    }
  };
  after(resume);
  const stoppedAt = Date.now();
  for (let i = 0; i < FLOOD; i++) c.announce(`k${i}.example`);
  await pollUntil('the changes waiting for the stopped worker', () =>
    w.unwrittenItems > LIMIT ? true : undefined,
  );
  return { w, resume, stoppedAt };
}

test('a stopped worker with more than the limit of table changes unwritten is killed after 5 s without a beat, logged, and respawned with the subscriptions made meanwhile', {
  timeout: 90_000,
}, async () => {
  const c = await startCluster(await startNode('node'));
  const { w: stuck, stoppedAt } = await stopAndFlood(c);
  await pollUntil('the stuck worker killed', () => (stuck.state === 'exited' ? true : undefined), {
    timeoutMs: 20_000,
  });
  // killed only once it had been silent for 5 s (stopped up to 1 s after its last beat)
  assert.ok(Date.now() - stoppedAt >= 4000, `killed after ${Date.now() - stoppedAt} ms`);
  const line = c.lines.find((l) => l.includes(`(pid: ${stuck.pid})`) && /unwritten/.test(l));
  assert.ok(line, c.lines.join('\n'));
  assert.match(
    line,
    new RegExp(
      `^uWSGI fastrouter 1 \\(pid: ${stuck.pid}\\) does not read its channel: (\\d+) table changes wait unwritten in the primary \\(more than ${LIMIT}\\), no heartbeat for ([5-9]|\\d\\d) s: killing it \\(SIGKILL\\); it is respawned from a fresh snapshot$`,
    ),
  );
  const unread = Number(/: (\d+) table changes/.exec(line)?.[1]);
  assert.ok(unread > LIMIT && unread <= FLOOD, line);
  assert.equal(c.lines.filter((l) => /unwritten/.test(l)).length, 1, c.lines.join('\n'));
  assert.ok(
    c.lines.some((l) => l.includes(`(pid: ${stuck.pid}) died (killed by SIGKILL)`)),
    c.lines.join('\n'),
  );
  const fresh = await pollUntil('a new worker', () => {
    const w = c.group.workers()[0];
    return w && w.pid !== stuck.pid ? w : undefined;
  });
  assert.deepEqual(await fresh.ready, { ok: true });
  // the snapshot has what was announced before and while the old worker was stopped
  for (const key of ['before.example', 'k0.example', `k${FLOOD - 1}.example`]) {
    assert.equal(await c.ask(key), 'node', key);
  }
});

test('a worker stopped for less than 5 s with more than the limit unwritten is not killed, and catches up', {
  timeout: 90_000,
}, async () => {
  const c = await startCluster(await startNode('node'));
  const { w, resume, stoppedAt } = await stopAndFlood(c);
  // three judgements with the backlog over the limit, none with 5 s of silence
  await sleep(3000 - (Date.now() - stoppedAt));
  assert.equal(w.state, 'ready', c.lines.join('\n'));
  assert.ok(w.unwrittenItems > LIMIT, `${w.unwrittenItems} unwritten`);
  resume();
  await pollUntil('the backlog written', () => (w.unwrittenItems === 0 ? true : undefined));
  assert.equal(w.state, 'ready');
  assert.equal(c.worker(), w);
  await routed(c, `k${FLOOD - 1}.example`);
  // a few more judgements after it caught up: still the same worker
  await sleep(2500);
  assert.equal(w.state, 'ready');
  assert.deepEqual(
    c.lines.filter((l) => /unwritten|died/.test(l)),
    [],
  );
});

test('a worker silent for 7 s with table changes unwritten, but no more than the limit, is not killed', {
  timeout: 90_000,
}, async () => {
  // the same flood, under this limit
  const c = await startCluster(await startNode('node'), FLOOD);
  const { w, resume, stoppedAt } = await stopAndFlood(c);
  await sleep(7000 - (Date.now() - stoppedAt));
  assert.equal(w.state, 'ready');
  resume();
  await pollUntil('the backlog written', () => (w.unwrittenItems === 0 ? true : undefined));
  await routed(c, `k${FLOOD - 1}.example`);
  assert.equal(c.worker(), w);
  assert.deepEqual(
    c.lines.filter((l) => /unwritten|died/.test(l)),
    [],
  );
});

test('a draining worker (replaced already) that stops reading is killed too; its replacement serves', {
  timeout: 90_000,
}, async () => {
  const c = await startCluster(await startNode('node'));
  c.announce('before.example');
  c.announce('slow.example', await startNode(null));
  await routed(c, 'before.example');
  const old = c.worker();
  // a request its node never answers keeps the old worker draining (reload-mercy is 60 s)
  const held = c.ask('slow.example', 60_000).catch((e: NodeJS.ErrnoException) => e.code ?? String(e));
  await pollUntil('the held request counted', () => (old.sessions === 1 ? true : undefined));
  process.kill(old.pid, 'SIGTERM');
  const replacement = await pollUntil('a replacement', () => {
    const w = c.group.workers()[0];
    return w && w !== old ? w : undefined;
  });
  assert.deepEqual(await replacement.ready, { ok: true });
  assert.equal(old.state, 'draining');
  process.kill(old.pid, 'SIGSTOP');
  after(() => {
    try {
      process.kill(old.pid, 'SIGCONT');
    } catch {
      // gone
    }
  });
  for (let i = 0; i < FLOOD; i++) c.announce(`k${i}.example`);
  await pollUntil('the draining worker killed', () => (old.state === 'exited' ? true : undefined), {
    timeoutMs: 20_000,
  });
  const line = c.lines.find((l) => l.includes(`(pid: ${old.pid})`) && /unwritten/.test(l));
  assert.ok(line, c.lines.join('\n'));
  assert.match(line, /: killing it \(SIGKILL\); it was draining \(a replacement serves already\)$/);
  // the held client was the old worker's: closed with it (unanswered), not left open
  const closed = await Promise.race([held, sleep(5000).then(() => 'still open')]);
  assert.ok(closed === '' || closed === 'ECONNRESET', closed);
  assert.equal(c.group.workers().length, 1);
  assert.equal(c.worker(), replacement);
  await routed(c, `k${FLOOD - 1}.example`);
  assert.equal(replacement.state, 'ready');
});
