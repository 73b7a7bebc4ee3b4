/**
 * The HTTP router reading PROXY headers from trusted peers (`--http-enable-proxy-protocol`
 * with `--http-trusted-proxy`), through the `uwrouter` command with 2 worker processes (the
 * listeners are adopted in the workers): HAProxy `send-proxy` (v1) and `send-proxy-v2`
 * (CRC32C + unique-id TLVs) in front, each worker checked on its own; a trusted peer without
 * a header or with a bad CRC32C is closed; an untrusted peer's PROXY line is a bad request
 * and its own address is what the node sees; on an HTTPS listener the header is read inside
 * the TLS stream (where uWSGI reads its v1 line).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeProxyV1, encodeProxyV2 } from '../../src/protocol/proxy-protocol.ts';
import { freePort, pollUntil, type ServerHandle, startUwsgiNode } from './harness/index.ts';
import {
  assertHaproxyClientThroughEachWorker,
  capturedHaproxyV2,
  echoAnswer,
  exchange,
  exchangeTls,
  HTTP_REQUEST,
  uwrouterWithTwoWorkers,
} from './proxy-intake-peers.ts';
import { dflt } from './sslrouter-peers.ts';

const SPOOF = { srcAddress: '6.6.6.6', srcPort: 6666, dstAddress: '127.0.0.1', dstPort: 80 };

describe('HTTP router: PROXY v1/v2 from trusted peers, 2 workers', { timeout: 120_000 }, () => {
  let node: ServerHandle;
  let router: ServerHandle;
  let port = 0;
  let tlsPort = 0;
  let workers: number[] = [];
  before(async () => {
    node = await startUwsgiNode({ app: 'echo_vars.py' });
    [port, tlsPort] = await Promise.all([freePort(), freePort()]);
    ({ router, workers } = await uwrouterWithTwoWorkers([
      '--http',
      `127.0.0.1:${port}`,
      '--https',
      `127.0.0.1:${tlsPort},${dflt.crt},${dflt.key}`,
      '--http-to',
      node.address,
      '--http-enable-proxy-protocol',
      '--http-trusted-proxy',
      '127.0.0.1',
      '--http-processes',
      '2',
      '--socket-timeout',
      '2',
    ]));
  });
  after(async () => {
    await router?.stop();
    await node?.stop();
  });

  test("HAProxy send-proxy (v1) and send-proxy-v2 with CRC32C + TLVs: each worker gives the node HAProxy's client", async () => {
    await assertHaproxyClientThroughEachWorker(port, workers, HTTP_REQUEST, ['v1', 'v2']);
  });

  test('a trusted peer: the captured HAProxy v2 header is taken; with one bit changed (bad CRC32C) or without a header, closed', async () => {
    const header = await capturedHaproxyV2('127.0.0.8');
    const good = echoAnswer((await exchange(port, [header, HTTP_REQUEST])).bytes);
    assert.equal(good.status, 'HTTP/1.0 200 OK');
    assert.equal(good.vars.REMOTE_ADDR, '127.0.0.8');
    const bad = Buffer.from(header);
    bad[19] ^= 1; // the last byte of the source address: 127.0.0.9 now, the CRC32C no longer matches
    assert.equal((await exchange(port, [bad, HTTP_REQUEST])).bytes.length, 0);
    assert.equal((await exchange(port, [HTTP_REQUEST])).bytes.length, 0);
    await pollUntil('the log lines', () =>
      /\(bad-checksum\): closing/.test(router.logs()) && /\(not-proxy\): closing/.test(router.logs())
        ? true
        : undefined,
    );
  });

  test('an untrusted peer: its own address goes to the node; its PROXY line (v1 or v2) is a bad request', async () => {
    const plain = echoAnswer((await exchange(port, [HTTP_REQUEST], '127.0.0.9')).bytes);
    assert.equal(plain.status, 'HTTP/1.0 200 OK');
    assert.equal(plain.vars.REMOTE_ADDR, '127.0.0.9');
    for (const h of [encodeProxyV1(SPOOF), encodeProxyV2(SPOOF)]) {
      const a = echoAnswer((await exchange(port, [h, HTTP_REQUEST], '127.0.0.9')).bytes);
      assert.match(a.status, /^HTTP\/1\.[01] 400 /, String(h));
    }
  });

  test('HTTPS listener: the header is read inside the TLS stream, v1 and v2', async () => {
    for (const h of [encodeProxyV1(SPOOF), encodeProxyV2(SPOOF, { crc32c: true })]) {
      const a = echoAnswer((await exchangeTls(tlsPort, [h, HTTP_REQUEST])).bytes);
      assert.equal(a.status, 'HTTP/1.0 200 OK');
      assert.equal(a.vars.REMOTE_ADDR, '6.6.6.6');
      assert.equal(a.vars.REMOTE_PORT, '6666');
      assert.equal(a.vars.HTTPS, 'on');
    }
    // no header inside TLS from the trusted peer: closed
    assert.equal((await exchangeTls(tlsPort, [HTTP_REQUEST])).bytes.length, 0);
  });
});
