/**
 * The rawrouter and the PROXY protocol with real peers: uWSGI `--http-socket` nodes with
 * `--enable-proxy-protocol` reading uwrouter's v1 line, HAProxy's `accept-proxy` reading
 * uwrouter's v1 and v2 headers, and uwrouter reading HAProxy's `send-proxy-v2` from a
 * trusted peer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freePort, haproxyTcpConf, readStatsJson, startHaproxy, startUwsgiNode } from './harness/index.ts';
import { httpVia, type RawStats, uwrouterRaw } from './rawrouter-peers.ts';

describe('rawrouter: PROXY protocol to a uWSGI node', () => {
  test('--rawrouter-proxy-protocol 1: a uWSGI node with --enable-proxy-protocol sees the real client address and port', async () => {
    const node = await startUwsgiNode({
      app: 'echo_vars.py',
      protocol: 'http',
      args: ['--enable-proxy-protocol'],
    });
    const ours = await uwrouterRaw(['--rawrouter-to', node.address, '--rawrouter-proxy-protocol', '1']);
    const a = await httpVia(ours.port, { localAddress: '127.0.0.5' });
    assert.equal(a.status, 'HTTP/1.0 200 OK');
    assert.equal(a.vars.REMOTE_ADDR, '127.0.0.5');
    assert.equal(a.vars.REMOTE_PORT, String(a.localPort));
  });
});

describe('rawrouter: PROXY protocol with HAProxy', () => {
  test("HAProxy send-proxy-v2 → uwrouter (trusted) → v1 to a uWSGI node: the node sees HAProxy's client", async () => {
    const node = await startUwsgiNode({
      app: 'echo_vars.py',
      protocol: 'http',
      args: ['--enable-proxy-protocol'],
    });
    const stats = await freePort();
    const ours = await uwrouterRaw([
      '--rawrouter-to',
      node.address,
      '--rawrouter-proxy-protocol',
      '1',
      '--rawrouter-enable-proxy-protocol',
      '--rawrouter-trusted-proxy',
      '127.0.0.1',
      '--rawrouter-stats',
      `127.0.0.1:${stats}`,
    ]);
    const hp = await freePort();
    await startHaproxy(
      haproxyTcpConf(
        `frontend f\n  bind 127.0.0.1:${hp}\n  default_backend b\nbackend b\n  server s 127.0.0.1:${ours.port} send-proxy-v2\n`,
      ),
      { port: hp },
    );
    const a = await httpVia(hp, { localAddress: '127.0.0.6' });
    assert.equal(a.status, 'HTTP/1.0 200 OK');
    assert.equal(a.vars.REMOTE_ADDR, '127.0.0.6');
    assert.equal(a.vars.REMOTE_PORT, String(a.localPort));
    const s = await readStatsJson<RawStats>(stats);
    assert.ok((s.uwrouter?.counters.proxy_header_v2 ?? 0) >= 1, JSON.stringify(s.uwrouter));
    // the client straight to uwrouter from 127.0.0.1 (trusted) without a header is refused
    assert.equal((await httpVia(ours.port)).status, '');
    assert.match(ours.router.logs(), /bad PROXY protocol header from a trusted peer \(not-proxy\): closing/);
  });

  test("uwrouter → HAProxy accept-proxy: HAProxy takes uwrouter's v1 and v2 headers (and passes the client on)", async () => {
    const node = await startUwsgiNode({
      app: 'echo_vars.py',
      protocol: 'http',
      args: ['--enable-proxy-protocol'],
    });
    const hp = await freePort();
    // HAProxy as the rawrouter's node: reads the PROXY header, re-sends the client as v1
    await startHaproxy(
      haproxyTcpConf(
        `frontend f\n  bind 127.0.0.1:${hp} accept-proxy\n  default_backend b\nbackend b\n  server s ${node.address} send-proxy\n`,
      ),
      { port: hp },
    );
    for (const version of ['1', '2']) {
      const ours = await uwrouterRaw([
        '--rawrouter-to',
        `127.0.0.1:${hp}`,
        '--rawrouter-proxy-protocol',
        version,
      ]);
      const a = await httpVia(ours.port, { localAddress: '127.0.0.7' });
      assert.equal(a.status, 'HTTP/1.0 200 OK', `v${version}`);
      assert.equal(a.vars.REMOTE_ADDR, '127.0.0.7', `v${version}`);
      assert.equal(a.vars.REMOTE_PORT, String(a.localPort), `v${version}`);
    }
  });
});
