/**
 * The rawrouter's PROXY protocol (headers to nodes, headers from trusted peers) and
 * `rawrouter-xclient` (spec: corerouter.md §10), in-process against raw TCP peers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeProxyV1, encodeProxyV2 } from '../../src/protocol/proxy-protocol.ts';
import { decodeProxyHeader } from '../../src/protocol/proxy-protocol-reader.ts';
import { deadPort } from '../corerouter/fake-node.ts';
import { node, type RawNode, startRaw, talk, waitFor } from './raw-peers.ts';

test('--rawrouter-proxy-protocol 1 and 2: the node first reads a header naming the client and the router address', async () => {
  for (const version of ['1', '2']) {
    const n = await node({ echo: false });
    const r = await startRaw(['--rawrouter-to', n.address, '--rawrouter-proxy-protocol', version]);
    const c = await talk(r.port);
    c.socket.write('payload');
    await waitFor(() => n.conns[0]?.received.includes('payload') ?? false);
    const got = decodeProxyHeader(n.conns[0].received);
    assert.equal(got.state, 'done');
    if (got.state !== 'done') return;
    assert.equal(got.header.version, Number(version));
    assert.deepEqual(
      [
        got.header.transport,
        got.header.srcAddress,
        got.header.srcPort,
        got.header.dstAddress,
        got.header.dstPort,
      ],
      ['TCP4', '127.0.0.1', c.socket.localPort, '127.0.0.1', r.port],
    );
    assert.equal(got.rest.toString(), 'payload');
    c.socket.destroy();
  }
});

test('PROXY headers from a trusted peer: its client becomes the client (logs, the node header); others are relayed untouched', async () => {
  const n = await node({ echo: false });
  const r = await startRaw([
    '--rawrouter-to',
    n.address,
    '--rawrouter-proxy-protocol',
    '1',
    '--rawrouter-enable-proxy-protocol',
    '--rawrouter-trusted-proxy',
    '127.0.0.2',
  ]);
  const v2 = encodeProxyV2({
    srcAddress: '203.0.113.7',
    srcPort: 4242,
    dstAddress: '198.51.100.1',
    dstPort: 25,
  });
  // split in two writes: the header's second half arrives with the data
  const trusted = await talk(r.port, { localAddress: '127.0.0.2' });
  trusted.socket.write(v2.subarray(0, 10));
  await sleep(20);
  trusted.socket.write(Buffer.concat([v2.subarray(10), Buffer.from('data-after-header')]));
  await waitFor(() => n.conns[0]?.received.includes('data-after-header') ?? false);
  assert.equal(
    n.conns[0].received.toString('latin1'),
    'PROXY TCP4 203.0.113.7 198.51.100.1 4242 25\r\ndata-after-header',
  );
  // an untrusted peer sending a header: bytes relayed as they are, after the router's own header
  const spoof = encodeProxyV1({ srcAddress: '6.6.6.6', srcPort: 1, dstAddress: '6.6.6.6', dstPort: 2 });
  const other = await talk(r.port);
  other.socket.write(spoof);
  await waitFor(() => n.conns[1]?.received.includes('6.6.6.6') ?? false);
  assert.equal(
    n.conns[1].received.toString('latin1'),
    `PROXY TCP4 127.0.0.1 127.0.0.1 ${other.socket.localPort} ${r.port}\r\n${spoof.toString('latin1')}`,
  );
  assert.equal(r.router.counters.get('proxy_header_v2'), 1);
  trusted.socket.destroy();
  other.socket.destroy();
});

test('log lines name the client a trusted peer relayed, and a v2 LOCAL header (health check) keeps the real one', async () => {
  const dead = `127.0.0.1:${await deadPort()}`;
  const r = await startRaw([
    '--rawrouter-to',
    dead,
    '--rawrouter-max-retries',
    '0',
    '--rawrouter-enable-proxy-protocol',
    '--rawrouter-trusted-proxy',
    '127.0.0.0/8',
  ]);
  const c = await talk(r.port);
  c.socket.write(
    encodeProxyV1({ srcAddress: '2001:db8::7', srcPort: 999, dstAddress: '2001:db8::1', dstPort: 25 }),
  );
  await c.closed;
  assert.ok(
    r.lines.some((l) => l.includes('client_addr: 2001:db8::7 client_port: 999] cannot connect')),
    r.lines.join('\n'),
  );
  const local = await talk(r.port);
  const localPort = local.socket.localPort;
  local.socket.write(encodeProxyV2(null, { command: 'LOCAL' }));
  await local.closed;
  assert.ok(
    r.lines.some((l) => l.includes(`client_addr: 127.0.0.1 client_port: ${localPort}]`)),
    r.lines.join('\n'),
  );
  assert.equal(r.router.counters.get('proxy_header_v1'), 1);
  assert.equal(r.router.counters.get('proxy_header_v2'), 1);
});

test('a trusted peer without a valid header is closed before any node is contacted', async () => {
  const n = await node();
  const r = await startRaw([
    '--rawrouter-to',
    n.address,
    '--rawrouter-enable-proxy-protocol',
    '--rawrouter-trusted-proxy',
    '127.0.0.0/8',
    '--socket-timeout',
    '1',
  ]);
  const bad = await talk(r.port);
  bad.socket.write('GET / HTTP/1.0\r\n\r\n');
  await bad.closed;
  assert.equal(bad.received(), '');
  const silent = await talk(r.port);
  const t0 = Date.now();
  await silent.closed;
  assert.ok(Date.now() - t0 >= 900, 'waited for the header');
  assert.equal(n.conns.length, 0);
  assert.equal(r.router.counters.get('UWR_ERR_PROXY_HEADER'), 2);
  assert.ok(
    r.lines.some((l) => l.includes('bad PROXY protocol header from a trusted peer (not-proxy): closing')),
  );
  assert.ok(
    r.lines.some((l) => l.includes('no complete PROXY protocol header from a trusted peer within 1000 ms')),
  );
});

test('PROXY intake on a dual-stack listener: an IPv4 peer (::ffff:…) matches an IPv4 trusted entry; a peer closing mid-header is logged', async () => {
  const n = await node({ echo: false });
  const r = await startRaw(
    [
      '--rawrouter-to',
      n.address,
      '--rawrouter-enable-proxy-protocol',
      '--rawrouter-trusted-proxy',
      '127.0.0.2',
    ],
    '[::]:0',
  );
  const v1 = encodeProxyV1({ srcAddress: '192.0.2.10', srcPort: 1234, dstAddress: '192.0.2.1', dstPort: 80 });
  const c = await talk(r.port, { localAddress: '127.0.0.2' });
  c.socket.write(Buffer.concat([v1, Buffer.from('after')]));
  await waitFor(() => n.conns[0]?.received.includes('after') ?? false);
  // the header was taken off: the node (without --rawrouter-proxy-protocol) gets the bytes after it
  assert.equal(n.conns[0].received.toString(), 'after');
  c.socket.destroy();
  const half = await talk(r.port, { localAddress: '127.0.0.2' });
  half.socket.end(v1.subarray(0, 9));
  await half.closed;
  await waitFor(() =>
    r.lines.some((l) => l.includes('the trusted peer closed inside its PROXY protocol header: closing')),
  );
  assert.equal(n.conns.length, 1);
});

/** A fake SMTP node for XCLIENT: a greeting, then one reply per command line. */
async function smtpNode(greeting = '220-mx.example first\r\n220 mx.example ready\r\n'): Promise<RawNode> {
  let handled = 0;
  return node({
    greeting,
    onData: (c) => {
      const lines = c.received.toString('latin1').split('\r\n').slice(0, -1);
      for (; handled < lines.length; handled++) {
        const cmd = lines[handled];
        if (cmd.startsWith('XCLIENT ')) c.socket.write('220 fresh greeting\r\n');
        else if (cmd === 'QUIT') c.socket.end('221 bye\r\n');
        else c.socket.write('500 what\r\n');
      }
    },
  });
}

test('--rawrouter-xclient: the whole greeting is replaced by the XCLIENT exchange; early client bytes wait', async () => {
  const n = await smtpNode();
  const r = await startRaw(['--rawrouter-to', n.address, '--rawrouter-xclient']);
  const c = await talk(r.port);
  // written before the node's greeting was even read: must reach it after XCLIENT
  c.socket.write('QUIT\r\n');
  await c.closed;
  assert.equal(c.received(), '220 fresh greeting\r\n221 bye\r\n');
  assert.equal(n.conns[0].received.toString('latin1'), 'XCLIENT ADDR=127.0.0.1\r\nQUIT\r\n');
});

test('--rawrouter-xclient: IPv6 clients get ADDR=IPV6:…, bad greetings close the session', async () => {
  const n = await smtpNode('220 v6\r\n');
  const r6 = await startRaw(['--rawrouter-to', n.address, '--rawrouter-xclient'], '[::1]:0');
  const c = await talk(r6.port, { host: '::1' });
  await c.until(/220 fresh greeting/);
  assert.equal(n.conns[0].received.toString('latin1'), 'XCLIENT ADDR=IPV6:::1\r\n');
  c.socket.destroy();

  // a node greeting `greeting` behind an xclient rawrouter reading at most 64 bytes of it
  const behindXclient64 = async (greeting: string) => {
    const greeter = await node({ greeting });
    return startRaw([
      '--rawrouter-to',
      greeter.address,
      '--rawrouter-xclient',
      '--rawrouter-buffer-size',
      '64',
    ]);
  };
  const r = await behindXclient64('220 x\rY');
  const b = await talk(r.port);
  await b.closed;
  assert.equal(b.received(), '');
  const r2 = await behindXclient64(`220 ${'x'.repeat(100)}\r\n`);
  const l = await talk(r2.port);
  await l.closed;
  assert.equal(r.router.counters.get('UWR_ERR_XCLIENT'), 1);
  assert.equal(r2.router.counters.get('UWR_ERR_XCLIENT'), 1);
  assert.ok(r2.lines.some((x) => x.includes('node greeting longer than buffer-size 64 (xclient): closing')));
});
