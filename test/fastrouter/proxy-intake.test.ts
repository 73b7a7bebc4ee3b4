/**
 * The fastrouter with --fastrouter-enable-proxy-protocol (uwrouter extension): a trusted
 * peer's PROXY v1/v2 header names the client, which the node reads in REMOTE_ADDR and
 * REMOTE_PORT (whatever the sender wrote there); other peers are served as they are.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { createFastrouter } from '../../src/fastrouter/index.ts';
import { encodeProxyV1, encodeProxyV2 } from '../../src/protocol/proxy-protocol.ts';
import { decodePacket, encodePacket } from '../../src/protocol/uwsgi.ts';
import { type FakeNode, rawExchange, startFakeNode } from '../corerouter/fake-node.ts';
import { captureLogger } from '../log-capture.ts';

const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function startRouter(args: string[]) {
  const { config } = loadConfig(['--fastrouter', '127.0.0.1:0', ...args], {});
  const { log, lines } = captureLogger();
  const router = createFastrouter(config, log, { version: 'test' });
  await router.start();
  cleanup.push(() => router.close());
  const a = router.listeners[0].server.address();
  return { router, port: typeof a === 'object' && a ? a.port : 0, lines };
}

async function node(): Promise<FakeNode> {
  const n = await startFakeNode({ name: 'a' });
  cleanup.push(() => n.close());
  return n;
}

function packet(): Buffer {
  const r = encodePacket(0, [
    ['REQUEST_METHOD', 'GET'],
    ['HTTP_HOST', 'example.com'],
    ['REMOTE_ADDR', '6.6.6.6'],
    ['REMOTE_PORT', '6666'],
  ]);
  assert.ok(r.ok);
  return r.packet;
}

function remoteOf(req: Buffer): [string | undefined, string | undefined] {
  const vars = new Map(decodePacket(req).vars);
  return [vars.get('REMOTE_ADDR'), vars.get('REMOTE_PORT')];
}

const ENDS = { srcAddress: '203.0.113.9', srcPort: 40001, dstAddress: '127.0.0.1', dstPort: 80 };
const TRUSTING = ['--fastrouter-enable-proxy-protocol', '--fastrouter-trusted-proxy', '127.0.0.0/8'];

test('a trusted peer: the v1, v2 and v2-with-CRC32C header source replaces REMOTE_ADDR/REMOTE_PORT', async () => {
  const n = await node();
  const r = await startRouter(['--fastrouter-to', n.address, ...TRUSTING]);
  const headers = [
    encodeProxyV1(ENDS),
    encodeProxyV2(ENDS),
    encodeProxyV2(ENDS, { crc32c: true, tlvs: [{ type: 0x05, value: Buffer.from('req-1') }] }),
  ];
  for (const [i, h] of headers.entries()) {
    assert.match(await rawExchange(r.port, [h, packet()]), /ok-a$/, `header ${i}`);
    assert.deepEqual(remoteOf(n.requests[i]), ['203.0.113.9', '40001'], `header ${i}`);
  }
  // a LOCAL header (the balancer's own health check) names no client: the vars stay
  assert.match(await rawExchange(r.port, [encodeProxyV2(null, { command: 'LOCAL' }), packet()]), /ok-a$/);
  assert.deepEqual(remoteOf(n.requests[3]), ['6.6.6.6', '6666']);
});

test('a trusted peer without a header, or with a bad CRC32C, is closed before any node', async () => {
  const n = await node();
  const r = await startRouter(['--fastrouter-to', n.address, ...TRUSTING]);
  assert.equal(await rawExchange(r.port, packet()), '');
  const h = encodeProxyV2(ENDS, { crc32c: true });
  h[16] ^= 1; // the source address's first byte: the CRC no longer matches
  assert.equal(await rawExchange(r.port, [h, packet()]), '');
  assert.equal(n.requests.length, 0);
  assert.equal(r.router.counters.get('UWR_ERR_PROXY_HEADER'), 2);
  assert.ok(
    r.lines.some((l) => /\(bad-checksum\): closing/.test(l)),
    r.lines.join('\n'),
  );
});

test('an untrusted peer: its packet goes as sent, and a PROXY header from it is no header', async () => {
  const n = await node();
  const r = await startRouter([
    '--fastrouter-to',
    n.address,
    '--fastrouter-enable-proxy-protocol',
    '--fastrouter-trusted-proxy',
    '10.0.0.0/8',
    '--fastrouter-timeout',
    '1',
  ]);
  assert.match(await rawExchange(r.port, packet()), /ok-a$/);
  assert.deepEqual(remoteOf(n.requests[0]), ['6.6.6.6', '6666']);
  // the v2 signature read as a uwsgi header announces a 2573-byte vars block that never
  // comes: the router times out; nothing naming 203.0.113.9 reaches the node
  assert.equal(await rawExchange(r.port, [encodeProxyV2(ENDS), packet()]), '');
  assert.equal(n.requests.length, 1);
});

test('start-up errors: the switch without a trusted list, a list without the switch, a bad range', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--fastrouter-enable-proxy-protocol'], /--fastrouter-trusted-proxy/],
    [
      ['--fastrouter-trusted-proxy', '10.0.0.0/8'],
      /has no effect without --fastrouter-enable-proxy-protocol/,
    ],
    [
      ['--fastrouter-enable-proxy-protocol', '--fastrouter-trusted-proxy', '10.0.0.0/33'],
      /"10.0.0.0\/33" is not an IP/,
    ],
  ];
  for (const [args, message] of cases) {
    const { config } = loadConfig(
      ['--fastrouter', '127.0.0.1:0', '--fastrouter-to', '127.0.0.1:1', ...args],
      {},
    );
    assert.throws(
      () => createFastrouter(config, captureLogger().log, { version: 'test' }),
      (err: Error) => err instanceof ConfigError && message.test(err.message),
      args.join(' '),
    );
  }
});
