/**
 * `--fastrouter-post-buffering` beside uWSGI's fastrouter (spec: uwsgi-protocol.md §7.7), both
 * with the same options in front of the same nodes:
 * - a recording TCP node: with either router, the node's connection is accepted only after the
 *   client's last body byte left (a slow upload never holds a node), and it gets head + body;
 * - a real uWSGI node echoing the body: a body in memory and one past the limit (in a file) come
 *   back byte for byte through both routers.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeVars, encodePacket } from '../../src/protocol/uwsgi.ts';
import {
  freePort,
  type ServerHandle,
  startUwrouter,
  startUwsgiNode,
  startUwsgiRouter,
} from './harness/index.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function packet(length: number): Buffer {
  const r = encodePacket(
    0,
    [
      ['REQUEST_METHOD', 'POST'],
      ['REQUEST_URI', '/'],
      ['PATH_INFO', '/'],
      ['SERVER_PROTOCOL', 'HTTP/1.1'],
      ['SERVER_NAME', 'localhost'],
      ['SERVER_PORT', '80'],
      ['HTTP_HOST', 'example.com'],
      ['CONTENT_LENGTH', String(length)],
    ],
    0,
  );
  assert.ok(r.ok);
  return r.packet;
}

/** Sends the head, then the body in `pieces` parts `gapMs` apart; the answer and when the last byte left. */
async function slowUpload(
  port: number,
  body: Buffer,
  pieces: number,
  gapMs: number,
): Promise<{ answer: Buffer; lastWrite: number }> {
  const s = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  s.on('data', (c) => chunks.push(c));
  s.on('error', () => {});
  await once(s, 'connect');
  s.write(packet(body.length));
  const step = Math.ceil(body.length / pieces);
  let lastWrite = 0;
  for (let at = 0; at < body.length; at += step) {
    await sleep(gapMs);
    const piece = body.subarray(at, at + step);
    await new Promise<void>((resolve) => s.write(piece, () => resolve()));
    lastWrite = performance.now();
  }
  await once(s, 'close');
  return { answer: Buffer.concat(chunks), lastWrite };
}

/** A node that records when each connection was accepted and what it got, and answers 200. */
function recordingNode(): Promise<{ server: Server; port: number; accepted: number[]; got: Buffer[] }> {
  const accepted: number[] = [];
  const got: Buffer[] = [];
  const server = createServer((s) => {
    accepted.push(performance.now());
    const parts: Buffer[] = [];
    s.on('error', () => {});
    s.on('data', (c) => {
      parts.push(c);
      const all = Buffer.concat(parts);
      if (all.length < 4 || all.length < 4 + all.readUInt16LE(1)) return;
      // the vars decoded: a pattern over the bytes took the body's first digits as part of
      // the value now and then (CONTENT_LENGTH is the last var) and waited for bytes never sent
      const end = 4 + all.readUInt16LE(1);
      const length = decodeVars(all, 4, end).vars.find(([k]) => k === 'CONTENT_LENGTH')?.[1];
      if (all.length >= end + Number(length)) {
        got.push(all);
        s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => ({
    server,
    port: (server.address() as { port: number }).port,
    accepted,
    got,
  }));
}

const answerBody = (answer: Buffer): Buffer => answer.subarray(answer.indexOf('\r\n\r\n') + 4);

describe('--fastrouter-post-buffering: uwrouter beside uWSGI', () => {
  const handles: ServerHandle[] = [];
  let recorder: Awaited<ReturnType<typeof recordingNode>>;
  /** routers in front of the recording node, and in front of the echo node */
  const toRecorder: Record<'uwrouter' | 'uwsgi', number> = { uwrouter: 0, uwsgi: 0 };
  const toEcho: Record<'uwrouter' | 'uwsgi', number> = { uwrouter: 0, uwsgi: 0 };

  before(async () => {
    recorder = await recordingNode();
    const echo = await startUwsgiNode({ app: 'echo_body.py' });
    handles.push(echo);
    const [a, b, c, d] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const common = ['--fastrouter-post-buffering', '8192'];
    const started = await Promise.all([
      startUwrouter([
        '--fastrouter',
        `127.0.0.1:${a}`,
        '--fastrouter-to',
        `127.0.0.1:${recorder.port}`,
        ...common,
      ]),
      startUwsgiRouter('fastrouter', [
        ...['--fastrouter', `127.0.0.1:${b}`, '--fastrouter-to', `127.0.0.1:${recorder.port}`],
        ...common,
      ]),
      startUwrouter(['--fastrouter', `127.0.0.1:${c}`, '--fastrouter-to', echo.address, ...common]),
      startUwsgiRouter('fastrouter', [
        '--fastrouter',
        `127.0.0.1:${d}`,
        '--fastrouter-to',
        echo.address,
        ...common,
      ]),
    ]);
    handles.push(...started);
    Object.assign(toRecorder, { uwrouter: a, uwsgi: b });
    Object.assign(toEcho, { uwrouter: c, uwsgi: d });
  });

  after(async () => {
    for (const h of handles.reverse()) await h.stop();
    recorder?.server.close();
  });

  for (const role of ['uwrouter', 'uwsgi'] as const) {
    test(`${role}: the node is connected only once the slow body is all in, and gets it whole`, async () => {
      const body = randomBytes(20_000);
      const before = recorder.accepted.length;
      const r = await slowUpload(toRecorder[role], body, 4, 150);
      assert.equal(answerBody(r.answer).toString(), 'ok');
      assert.equal(recorder.accepted.length, before + 1);
      const acceptedAt = recorder.accepted[before];
      assert.ok(
        acceptedAt >= r.lastWrite,
        `accepted ${(r.lastWrite - acceptedAt).toFixed(0)} ms before the last byte`,
      );
      const got = recorder.got.at(-1)!;
      assert.equal(sha(got.subarray(got.length - body.length)), sha(body));
    });
  }

  test('a body in memory (4 KiB) and one past the limit (1 MiB, in a file) come back byte for byte through both', async () => {
    for (const size of [4096, 1024 * 1024]) {
      const body = randomBytes(size);
      for (const role of ['uwrouter', 'uwsgi'] as const) {
        const r = await slowUpload(toEcho[role], body, 8, 20);
        assert.match(r.answer.subarray(0, 16).toString('latin1'), /^HTTP\/1\.[01] 200/, `${role} ${size}`);
        const echoed = answerBody(r.answer);
        assert.equal(echoed.length, size, `${role} ${size}`);
        assert.equal(sha(echoed), sha(body), `${role} ${size}`);
      }
    }
  });
});
