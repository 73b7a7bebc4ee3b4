/**
 * `--fastrouter-post-buffering N` (spec: uwsgi-protocol.md §7.7): a CONTENT_LENGTH body is
 * read whole before a node is chosen — in memory up to N bytes, else in an unlinked temporary
 * file — then the head and the body go to the node. Without it, the node is connected as soon
 * as the head is in (each test below that looks at the node's connections would fail).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { lengthFraming } from '../../src/corerouter/stored-body.ts';
import { readFastrouterKey } from '../../src/fastrouter/key.ts';
import { node, openConnections, request, startRouter, waitFor } from './harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'uwr-post-buffering-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const POST = (length: number | string): [string, string][] => [
  ['REQUEST_METHOD', 'POST'],
  ['HTTP_HOST', 'example.com'],
  ['CONTENT_LENGTH', String(length)],
];

/** A client that sends in steps and collects the answer. */
async function client(port: number): Promise<{ s: Socket; answer: Promise<Buffer> }> {
  const s = connect(port, '127.0.0.1');
  s.on('error', () => {});
  const chunks: Buffer[] = [];
  s.on('data', (c) => chunks.push(c));
  const answer = once(s, 'close').then(() => Buffer.concat(chunks));
  await once(s, 'connect');
  return { s, answer };
}

/** This process's open files inside `where` (the router runs in this process). */
function openFilesIn(where: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(where)) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('lengthFraming: exactly LENGTH bytes, split anywhere; the rest is not body', () => {
  const got: Buffer[] = [];
  const f = lengthFraming(5)((d) => got.push(Buffer.from(d)));
  assert.deepEqual(f.push(Buffer.from('ab')), { state: 'need-more' });
  assert.deepEqual(f.push(Buffer.from('cdeXY')), { state: 'done', consumed: 3 });
  assert.equal(Buffer.concat(got).toString(), 'abcde');
});

test('readFastrouterKey reads CONTENT_LENGTH only when asked, and only all digits', () => {
  const head = (v: string) => request(POST(v));
  assert.equal(readFastrouterKey(head('123')).contentLength, -1, 'not asked: not read');
  assert.equal(readFastrouterKey(head('123'), true).contentLength, 123);
  assert.equal(readFastrouterKey(head('0'), true).contentLength, 0);
  for (const bad of ['', '12a', '-1', ' 1', '1234567890123456'])
    assert.equal(readFastrouterKey(head(bad), true).contentLength, -1, JSON.stringify(bad));
  assert.equal(readFastrouterKey(request([['HTTP_HOST', 'x']]), true).contentLength, -1);
});

test('in memory: no node connection until the whole body is in; then head and body as sent', async () => {
  const a = await node({ behaviour: 'echo' });
  const r = await startRouter(['--fastrouter-to', a.address, '--fastrouter-post-buffering', '65536']);
  const head = request(POST(10), '', 5, 0);
  const c = await client(r.port);
  c.s.write(Buffer.concat([head, Buffer.from('hello')]));
  await sleep(300);
  assert.equal(await openConnections(a), 0, 'half a body: no node connection yet');
  c.s.write('world');
  const answer = (await c.answer).toString('latin1');
  assert.match(answer, /\r\n\r\nhelloworld$/);
  assert.equal(a.requests.length, 1);
  // modifier1 5 → the static node's 0 (§7.5); otherwise byte for byte
  assert.deepEqual(a.requests[0].subarray(1), Buffer.concat([head, Buffer.from('helloworld')]).subarray(1));
  assert.equal(a.requests[0][0], 0);
});

test('past N bytes: stored in an unnamed file in --fastrouter-post-buffering-dir, sent whole, nothing left', async () => {
  const a = await node({ behaviour: 'echo' });
  const bodyDir = mkdtempSync(join(dir, 'files-'));
  const r = await startRouter([
    ...['--fastrouter-to', a.address],
    ...['--fastrouter-post-buffering', '4096', '--fastrouter-post-buffering-dir', bodyDir],
  ]);
  const body = randomBytes(300_000);
  const c = await client(r.port);
  c.s.write(request(POST(body.length)));
  c.s.write(body.subarray(0, 200_000));
  await waitFor(() => openFilesIn(bodyDir).length === 1);
  // O_TMPFILE: the file never has a name in the directory
  assert.deepEqual(readdirSync(bodyDir), []);
  assert.equal(await openConnections(a), 0);
  c.s.write(body.subarray(200_000));
  const answer = await c.answer;
  const echoed = answer.subarray(answer.indexOf('\r\n\r\n') + 4);
  assert.equal(echoed.length, body.length);
  assert.equal(sha(echoed), sha(body));
  await waitFor(() => openFilesIn(bodyDir).length === 0);
  assert.deepEqual(readdirSync(bodyDir), []);
});

test('a client gone mid-body: no node connection, the temporary file closed', async () => {
  const a = await node({ behaviour: 'echo' });
  const bodyDir = mkdtempSync(join(dir, 'gone-'));
  const r = await startRouter([
    ...['--fastrouter-to', a.address],
    ...['--fastrouter-post-buffering', '1024', '--fastrouter-post-buffering-dir', bodyDir],
  ]);
  const c = await client(r.port);
  c.s.write(request(POST(100_000)));
  c.s.write(randomBytes(50_000));
  await waitFor(() => openFilesIn(bodyDir).length === 1);
  c.s.destroy();
  await waitFor(() => openFilesIn(bodyDir).length === 0);
  assert.equal(await openConnections(a), 0);
  assert.equal(a.requests.length, 0);
  assert.ok(
    r.records.some((x) => x.code === 'UWR_ERR_CLIENT_CLOSED' && x.msg.includes('client closed mid-body')),
    r.lines.join('\n'),
  );
});

test('a body announced past 1 GiB is refused before any byte is stored; no node connection', async () => {
  const a = await node();
  const r = await startRouter(['--fastrouter-to', a.address, '--fastrouter-post-buffering', '4096']);
  const c = await client(r.port);
  c.s.write(request(POST(2 ** 30 + 1)));
  assert.equal((await c.answer).length, 0, 'closed without a reply');
  assert.equal(a.requests.length, 0);
  assert.ok(
    r.records.some(
      (x) => x.code === 'UWR_ERR_BODY_TOO_LARGE' && x.msg.includes('CONTENT_LENGTH 1073741825 exceeds'),
    ),
    r.lines.join('\n'),
  );
});

test('a body that stops coming is closed by --fastrouter-timeout, saying so', async () => {
  const a = await node();
  const r = await startRouter([
    ...['--fastrouter-to', a.address, '--fastrouter-post-buffering', '4096', '--fastrouter-timeout', '1'],
  ]);
  const c = await client(r.port);
  const t0 = Date.now();
  c.s.write(Buffer.concat([request(POST(100)), Buffer.from('partial')]));
  assert.equal((await c.answer).length, 0);
  const ms = Date.now() - t0;
  assert.ok(ms >= 900 && ms < 4000, `closed after ${ms} ms`);
  assert.equal(await openConnections(a), 0);
  assert.match(r.lines.join('\n'), /timeout reading the request body/);
});

test('no CONTENT_LENGTH, 0 or not a number: streamed as without post-buffering (the node is connected at once)', async () => {
  const a = await node({ behaviour: 'silent' });
  const r = await startRouter(['--fastrouter-to', a.address, '--fastrouter-post-buffering', '4096']);
  for (const vars of [POST('12a'), POST(0), [['HTTP_HOST', 'example.com']] as [string, string][]]) {
    const before = a.requests.length;
    const c = await client(r.port);
    c.s.write(request(vars));
    await waitFor(() => a.requests.length === before + 1);
    c.s.destroy();
  }
});

test('a node that closes while the stored body is sent: the client is closed, one log line', async () => {
  // a node that takes the head and then closes (before reading a 2 MB body stored on disk)
  const { createServer } = await import('node:net');
  const server = createServer((s) => {
    s.once('data', () => s.destroy());
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  after(() => server.close());
  const r = await startRouter([
    ...['--fastrouter-to', `127.0.0.1:${port}`],
    ...['--fastrouter-post-buffering', '1024', '--fastrouter-post-buffering-dir', dir],
  ]);
  const body = randomBytes(8 * 1024 * 1024);
  const c = await client(r.port);
  c.s.write(request(POST(body.length)));
  c.s.write(body);
  assert.equal((await c.answer).length, 0);
  await waitFor(() => /the node closed while the buffered body was sent/.test(r.lines.join('\n')));
  // the file is closed asynchronously
  await waitFor(() => openFilesIn(dir).length === 0);
});

test('--fastrouter-max-body: a CONTENT_LENGTH past it is refused, one at it goes through', async () => {
  const a = await node({ behaviour: 'echo' });
  const r = await startRouter([
    ...['--fastrouter-to', a.address, '--fastrouter-post-buffering', '4096', '--fastrouter-max-body', '100'],
  ]);
  const over = await client(r.port);
  over.s.write(request(POST(101)));
  assert.equal((await over.answer).length, 0);
  assert.ok(
    r.records.some(
      (x) => x.code === 'UWR_ERR_BODY_TOO_LARGE' && x.msg.includes('exceeds the 100-byte limit'),
    ),
    r.lines.join('\n'),
  );
  const at = await client(r.port);
  at.s.write(Buffer.concat([request(POST(100)), Buffer.alloc(100, 0x61)]));
  assert.match((await at.answer).toString('latin1'), /\r\n\r\na{100}$/);
  assert.equal(a.requests.length, 1);
});

test('a client that half-closes right after its whole body (stored in a file): not logged as a body cut short', async () => {
  const a = await node({ behaviour: 'silent' });
  const r = await startRouter([
    ...['--fastrouter-to', a.address],
    ...['--fastrouter-post-buffering', '1024', '--fastrouter-post-buffering-dir', dir],
  ]);
  const c = await client(r.port);
  c.s.end(Buffer.concat([request(POST(5000)), Buffer.alloc(5000, 0x63)]));
  await c.answer;
  await waitFor(() => r.lines.some((l) => l.includes('client closed')));
  assert.deepEqual(
    r.lines.filter((l) => l.includes('client closed')).map((l) => l.replace(/^\[[^\]]*\] /, '')),
    ['client closed before its buffered request was routed'],
  );
});

test('--fastrouter-post-buffering-dir or --fastrouter-max-body without post-buffering: one warning each', async () => {
  const r = await startRouter([
    ...[
      '--fastrouter-to',
      '127.0.0.1:1',
      '--fastrouter-post-buffering-dir',
      dir,
      '--fastrouter-max-body',
      '5',
    ],
  ]);
  assert.deepEqual(
    r.lines.filter((l) => l.includes('no effect')),
    [
      '[uwrouter] --fastrouter-post-buffering-dir: no effect without --fastrouter-post-buffering (bodies are streamed)',
      '[uwrouter] --fastrouter-max-body: no effect without --fastrouter-post-buffering (bodies are streamed)',
    ],
  );
});
