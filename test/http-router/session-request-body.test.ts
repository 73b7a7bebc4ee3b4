/**
 * Request bodies the node must get whole: `Expect: 100-continue` answered for uwsgi nodes
 * (which never send 100) once connected, and chunked bodies de-chunked and stored (memory,
 * then an unlinked temporary file) before they go to the node with their length.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deadPort } from '../corerouter/fake-node.ts';
import {
  bodyOf,
  echo,
  noSessionsLeft,
  onCleanup,
  RawClient,
  rawExchange,
  startRouter,
  uwsgiNode,
  waitFor,
} from './fakes.ts';

function statusOf(out: string): number {
  return Number(out.slice(9, 12));
}

function chunked(pieces: Buffer[]): Buffer {
  return Buffer.concat([
    ...pieces.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]),
    Buffer.from('0\r\n\r\n'),
  ]);
}

/** this process's open files inside `dir` (the router runs in the test process) */
function openFilesIn(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(`${dir}/`)) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'uwr-body-test-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('Expect: 100-continue to a uwsgi node: 100 once connected, the body only then, then the answer', async () => {
  const n = await uwsgiNode(echo);
  const r = await startRouter(['--http-to', n.address]);
  const c = await RawClient.open(r.port);
  c.write('POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
  assert.equal(await c.read((t) => t.endsWith('\r\n\r\n')), 'HTTP/1.1 100 Continue\r\n\r\n');
  c.write('hello');
  const res = await c.readResponse();
  assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
  assert.equal(bodyOf(res), 'hello');
  assert.equal(n.requests[0].vars.get('HTTP_EXPECT'), '100-continue');
  await noSessionsLeft(r);
});

test('Expect: no 100 before a failed connect (502), none with --http-auto-continue=false', async () => {
  const dead = `127.0.0.1:${await deadPort()}`;
  const r = await startRouter(['--http-to', dead, '--http-max-retries', '0']);
  const out = await rawExchange(
    r.port,
    'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
  );
  assert.equal(statusOf(out), 502);
  assert.doesNotMatch(out, /100 Continue/);

  const n = await uwsgiNode(echo);
  const off = await startRouter(['--http-to', n.address, '--http-auto-continue=false']);
  const c = await RawClient.open(off.port);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n');
  await waitFor(() => n.connections === 1);
  await sleep(200);
  c.write('ok');
  const res = await c.readResponse();
  assert.match(res, /^HTTP\/1\.1 200 OK\r\n/, 'the first thing the client gets is the answer');
  await noSessionsLeft(r);
  await noSessionsLeft(off);
});

test('Expect to an HTTP node: the router answers 100 once connected; Expect is not forwarded', async () => {
  const sockets = new Set<Socket>();
  let seen = '';
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.endsWith('\r\n\r\nhello'))
        s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  const r = await startRouter(['--http-to', `http://127.0.0.1:${port}`]);
  const c = await RawClient.open(r.port);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
  assert.equal(await c.read((t) => t.endsWith('\r\n\r\n')), 'HTTP/1.1 100 Continue\r\n\r\n');
  c.write('hello');
  const res = await c.readResponse();
  assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
  assert.equal(bodyOf(res), 'ok');
  assert.match(seen, /\r\nContent-Length: 5\r\n/);
  assert.doesNotMatch(seen, /^expect:/im);
  await noSessionsLeft(r);
});

test('a chunked body to a uwsgi node is de-chunked and sent with CONTENT_LENGTH (in memory)', async () => {
  const n = await uwsgiNode(echo);
  const r = await startRouter(['--http-to', n.address]);
  const out = await rawExchange(
    r.port,
    Buffer.concat([
      Buffer.from('POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'),
      chunked([Buffer.from('hello'), Buffer.from(' world')]),
    ]),
  );
  assert.equal(statusOf(out), 200);
  assert.equal(bodyOf(out), 'hello world');
  const v = n.requests[0].vars;
  assert.equal(v.get('CONTENT_LENGTH'), '11');
  assert.equal(v.get('HTTP_TRANSFER_ENCODING'), undefined);
  assert.equal(n.requests[0].body.toString(), 'hello world');
  await noSessionsLeft(r);
});

test('a chunked body past --http-body-buffer-size goes through an unlinked temporary file, byte-exact', async () => {
  const dir = tempDir();
  const n = await uwsgiNode(echo);
  const r = await startRouter([
    '--http-to',
    n.address,
    '--http-body-buffer-size',
    '1024',
    '--http-body-temp-dir',
    dir,
  ]);
  const pieces = Array.from({ length: 40 }, (_, i) => {
    const b = Buffer.alloc(5000 + i);
    for (let k = 0; k < b.length; k++) b[k] = (k * 7 + i) & 0xff;
    return b;
  });
  const whole = Buffer.concat(pieces);
  const wire = chunked(pieces);
  const c = await RawClient.open(r.port);
  c.write('POST /big HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n');
  // stored before routing: the body is wanted now, whatever the node
  assert.equal(await c.read((t) => t.endsWith('\r\n\r\n')), 'HTTP/1.1 100 Continue\r\n\r\n');
  c.write(wire.subarray(0, 60000));
  // the file is open in the directory but has no name: nothing is left behind, whatever happens
  await waitFor(() => openFilesIn(dir).length === 1);
  assert.match(openFilesIn(dir)[0]!, /\(deleted\)$/);
  assert.deepEqual(readdirSync(dir), []);
  assert.equal(n.connections, 0, 'no node is connected while the body is stored');
  c.write(wire.subarray(60000));
  const res = await c.read((t) => t.includes('\r\n\r\n') && c.closed, 10000);
  assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
  assert.equal(n.requests[0].vars.get('CONTENT_LENGTH'), String(whole.length));
  assert.ok(n.requests[0].body.equals(whole), 'the node got the de-chunked bytes');
  assert.deepEqual(readdirSync(dir), []);
  await noSessionsLeft(r);
  await waitFor(() => openFilesIn(dir).length === 0);
});

test('a stored body to an HTTP node: Content-Length, no Transfer-Encoding, no Expect (already met)', async () => {
  let seen = '';
  const server = createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.endsWith('abc')) s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    server.close();
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  const r = await startRouter(['--http-to', `http://127.0.0.1:${port}`]);
  const out = await rawExchange(
    r.port,
    'POST /c HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  );
  assert.match(out, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  assert.match(seen, /\r\nContent-Length: 3\r\n/);
  assert.doesNotMatch(seen, /transfer-encoding/i);
  // the router met the expectation when it stored the body: a node 100 would be a second one
  assert.doesNotMatch(seen, /expect/i);
  assert.ok(seen.endsWith('\r\n\r\nabc'));
  await noSessionsLeft(r);
});

test('stored bodies are bounded (413 past --http-max-body), checked (400) and timed (http-timeout)', async () => {
  const n = await uwsgiNode(echo);
  const r = await startRouter(['--http-to', n.address, '--http-max-body', '1000', '--http-timeout', '1']);
  const big = await rawExchange(
    r.port,
    Buffer.concat([
      Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'),
      chunked([Buffer.alloc(600), Buffer.alloc(600)]),
    ]),
  );
  assert.equal(statusOf(big), 413);
  const bad = await rawExchange(
    r.port,
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
  );
  assert.equal(statusOf(bad), 400);
  const c = await RawClient.open(r.port);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab');
  const t0 = Date.now();
  assert.equal(await c.read(() => c.closed, 5000), '');
  assert.ok(Date.now() - t0 >= 900, 'closed by the timeout');
  assert.ok(r.lines.some((l) => l.includes('request body stalled past http-timeout while stored')));
  assert.equal(n.connections, 0);
  await noSessionsLeft(r);
});

test('--http-body-temp-dir must be a writable directory: a start-up error naming it', async () => {
  await assert.rejects(
    startRouter(['--http-to', '127.0.0.1:9', '--http-body-temp-dir', '/nonexistent/uwr-body']),
    /--http-body-temp-dir.*\/nonexistent\/uwr-body.*not a writable directory/,
  );
});
