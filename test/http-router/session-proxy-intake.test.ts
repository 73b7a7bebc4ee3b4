/**
 * PROXY headers on the HTTP router's plain listeners (spec: http-router.md §1): uWSGI's
 * optional v1 line from any peer without --http-trusted-proxy (with a start-up warning),
 * and with it the corerouter intake: v1/v2 required from the trusted peers once per
 * connection, never re-set by a later request, within --socket-timeout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeProxyV1, encodeProxyV2 } from '../../src/protocol/proxy-protocol.ts';
import { answer, RawClient, startRouter, uwsgiNode } from './fakes.ts';

const ENDS = { srcAddress: '203.0.113.9', srcPort: 40001, dstAddress: '127.0.0.1', dstPort: 80 };
const GET = 'GET / HTTP/1.1\r\nHost: a.example\r\n\r\n';

test('without trusted peers: the v1 line from any peer (uWSGI), a warning at start-up; v2 is no header there', async () => {
  const node = await uwsgiNode(answer());
  const r = await startRouter(['--http-to', node.address, '--http-enable-proxy-protocol']);
  assert.ok(
    r.lines.some((l) => /accepts a PROXY v1 line from any client/.test(l)),
    r.lines.join('\n'),
  );
  const c = await RawClient.open(r.port);
  c.write(Buffer.concat([encodeProxyV1(ENDS), Buffer.from(GET)]));
  assert.match(await c.readResponse(), /^HTTP\/1\.1 200/);
  assert.equal(node.requests[0].vars.get('REMOTE_ADDR'), '203.0.113.9');
  const v2 = await RawClient.open(r.port);
  v2.write(Buffer.concat([encodeProxyV2(ENDS), Buffer.from(GET)]));
  assert.match(await v2.read((t) => t.includes('\r\n\r\n')), /^HTTP\/1\.1 400/);
  assert.equal(node.requests.length, 1);
});

test('trusted peers: the v2 header names the client of every keepalive request; a later PROXY line is a bad request', async () => {
  const node = await uwsgiNode(answer());
  const r = await startRouter([
    '--http-to',
    node.address,
    '--http-keepalive',
    '--http-enable-proxy-protocol',
    '--http-trusted-proxy',
    '127.0.0.0/8',
  ]);
  assert.ok(!r.lines.some((l) => /from any client/.test(l)));
  const c = await RawClient.open(r.port);
  c.write(Buffer.concat([encodeProxyV2(ENDS, { crc32c: true }), Buffer.from(GET)]));
  assert.match(await c.readResponse(), /^HTTP\/1\.1 200/);
  c.write(GET);
  assert.match(await c.readResponse(), /^HTTP\/1\.1 200/);
  assert.deepEqual(
    node.requests.map((q) => [q.vars.get('REMOTE_ADDR'), q.vars.get('REMOTE_PORT')]),
    [
      ['203.0.113.9', '40001'],
      ['203.0.113.9', '40001'],
    ],
  );
  c.write(Buffer.concat([encodeProxyV1({ ...ENDS, srcAddress: '6.6.6.6' }), Buffer.from(GET)]));
  assert.match(await c.read((t) => t.includes('\r\n\r\n')), /^HTTP\/1\.1 400/);
  assert.equal(node.requests.length, 2);
});

test('trusted peers: no header within --socket-timeout closes the connection', async () => {
  const node = await uwsgiNode(answer());
  const r = await startRouter([
    '--http-to',
    node.address,
    '--http-enable-proxy-protocol',
    '--http-trusted-proxy',
    '127.0.0.1',
    '--socket-timeout',
    '1',
  ]);
  const c = await RawClient.open(r.port);
  c.write('PROXY TCP4 203.0.113.9 '); // a header that never completes
  const t0 = Date.now();
  assert.equal(await c.read(() => false, 4000), '');
  assert.ok(c.closed);
  assert.ok(Date.now() - t0 >= 800, `closed after ${Date.now() - t0} ms`);
  assert.ok(
    r.lines.some((l) => /no complete PROXY protocol header from a trusted peer within 1000 ms/.test(l)),
  );
  assert.equal(node.requests.length, 0);
});
