/**
 * Request loops (issue: one request to a router whose node address is its own listener
 * opened connections to itself until the file descriptors ran out — 17,593 in 2.5 s).
 * Each router runs as its own process (a runaway loop must not take the test runner with
 * it); the request must end quickly with 508 (HTTP router) or a closed connection and a
 * log line (fastrouter), and the router's open file descriptors come back to where they
 * were. Covered: `--http-to http://itself` (Via token), `--http-to itself` as a uwsgi node
 * (self-connection check), two HTTP routers pointing at each other, and
 * `--fastrouter-to itself`.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import {
  childPids,
  freePort,
  parseRawHttpResponse,
  pollUntil,
  rawRequest,
  type ServerHandle,
  startUwrouter,
  uwsgiPacket,
} from './harness/index.ts';

/** Open fds of the router's worker processes (the primary's do not move per request). */
function openFds(pid: number): number {
  const workers = childPids(pid);
  assert.ok(workers.length > 0, 'the router runs a worker');
  return workers.reduce((n, w) => n + readdirSync(`/proc/${w}/fd`).length, 0);
}

const started: ServerHandle[] = [];
after(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

async function router(args: string[], port: number): Promise<ServerHandle> {
  const r = await startUwrouter(args, { port });
  started.push(r);
  return r;
}

/** One request; its answer (or what came before the close), how long it took, fds after. */
async function oneRequest(
  r: ServerHandle,
  port: number,
  data: string | Buffer,
): Promise<{ reply: Buffer; ms: number; fdsBefore: number; fdsAfter: number }> {
  const fdsBefore = openFds(r.pid);
  const t0 = Date.now();
  const reply = await rawRequest(port, data, { timeoutMs: 4000 });
  const ms = Date.now() - t0;
  // the router's own sockets of this request close right after the answer
  let fdsAfter = openFds(r.pid);
  await pollUntil(
    'the fds of the request closed',
    () => {
      fdsAfter = openFds(r.pid);
      return fdsAfter <= fdsBefore ? true : undefined;
    },
    { timeoutMs: 3000 },
  ).catch(() => undefined);
  return { reply, ms, fdsBefore, fdsAfter };
}

describe('request loops end at once', () => {
  test('--http-to http://its own listener: 508 once, fast, no fds left behind', async () => {
    const port = await freePort();
    const r = await router(['--http', `127.0.0.1:${port}`, '--http-to', `http://127.0.0.1:${port}`], port);
    const out = await oneRequest(r, port, 'GET /loop HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const res = parseRawHttpResponse(out.reply);
    assert.equal(res?.status, 508, out.reply.toString().slice(0, 200));
    assert.ok(out.ms < 2000, `took ${out.ms} ms`);
    assert.ok(out.fdsAfter <= out.fdsBefore, `fds ${out.fdsBefore} → ${out.fdsAfter}`);
    await pollUntil('the log line', () => (/request loop/.test(r.logs()) ? true : undefined));
    assert.equal((r.logs().match(/request loop/g) ?? []).length, 1, r.logs());
  });

  test('--http-to its own listener as a uwsgi node: 508 (self-connection), no fds left behind', async () => {
    const port = await freePort();
    const r = await router(['--http', `127.0.0.1:${port}`, '--http-to', `127.0.0.1:${port}`], port);
    const out = await oneRequest(r, port, 'GET /loop HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(parseRawHttpResponse(out.reply)?.status, 508, out.reply.toString().slice(0, 200));
    assert.ok(out.ms < 2000, `took ${out.ms} ms`);
    assert.ok(out.fdsAfter <= out.fdsBefore, `fds ${out.fdsBefore} → ${out.fdsAfter}`);
    await pollUntil('the log line', () =>
      /request loop: the router connected to its own listener/.test(r.logs()) ? true : undefined,
    );
  });

  test('two HTTP routers pointing at each other: 508 (Via), fast', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const a = await router(['--http', `127.0.0.1:${pa}`, '--http-to', `http://127.0.0.1:${pb}`], pa);
    const b = await router(['--http', `127.0.0.1:${pb}`, '--http-to', `http://127.0.0.1:${pa}`], pb);
    const out = await oneRequest(a, pa, 'GET /ping-pong HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(parseRawHttpResponse(out.reply)?.status, 508, out.reply.toString().slice(0, 200));
    assert.ok(out.ms < 2000, `took ${out.ms} ms`);
    assert.ok(out.fdsAfter <= out.fdsBefore, `fds ${out.fdsBefore} → ${out.fdsAfter}`);
    await pollUntil('the log line', () =>
      /request loop: Via names this router/.test(a.logs()) ? true : undefined,
    );
    assert.doesNotMatch(b.logs(), /request loop/);
  });

  test('--fastrouter-to its own listener: closed with a log line, no fds left behind', async () => {
    const port = await freePort();
    const r = await router(
      ['--fastrouter', `127.0.0.1:${port}`, '--fastrouter-to', `127.0.0.1:${port}`],
      port,
    );
    const packet = uwsgiPacket({ REQUEST_METHOD: 'GET', REQUEST_URI: '/', PATH_INFO: '/', HTTP_HOST: 'a' });
    const out = await oneRequest(r, port, packet);
    assert.equal(out.reply.length, 0);
    assert.ok(out.ms < 2000, `took ${out.ms} ms`);
    assert.ok(out.fdsAfter <= out.fdsBefore, `fds ${out.fdsBefore} → ${out.fdsAfter}`);
    // the worker's line reaches the harness through a pipe: wait for it, then check it is one
    await pollUntil('the log line', () => (/connected to itself/.test(r.logs()) ? true : undefined));
    assert.equal((r.logs().match(/connected to itself/g) ?? []).length, 1, r.logs());
  });
});
