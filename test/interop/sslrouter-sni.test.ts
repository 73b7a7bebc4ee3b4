/**
 * Certificates by server name and client certificates through the sslrouter, checked with
 * openssl s_client and curl against uwrouter and uWSGI configured alike (spec:
 * ssl-sni-sessions.md §1–3): three `--sni` names, an `--sni-regexp`, the listener's default,
 * CLIENT_CA with "!" (required) and without (optional), and the SNI name as the key of a
 * subscribed uWSGI node (`--sslrouter-sni`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freePort, pollUntil, readStatsJson, startUwsgiNode } from './harness/index.ts';
import { assertSniArgsServed } from './harness/sni-args-served.ts';
import {
  ca,
  client,
  curlHttps,
  SNI_ARGS,
  sClient,
  servedName,
  stranger,
  uwrouterSsl,
  uwsgiSsl,
} from './sslrouter-peers.ts';

describe('sslrouter: SNI certificates, uwrouter and uWSGI alike', () => {
  test('three names, a regexp and the default: each client is served its certificate, verified', async () => {
    const node = await startUwsgiNode({ app: 'hello.py', protocol: 'http' });
    const ours = await uwrouterSsl(['--sslrouter-to', node.address, ...SNI_ARGS]);
    const theirs = await uwsgiSsl(['--sslrouter-to', node.address, ...SNI_ARGS]);
    await assertSniArgsServed(ours, theirs);
  });

  test('b.example has an RSA certificate, a.example an ECDSA one: each handshake is signed accordingly', async () => {
    const node = await startUwsgiNode({ app: 'hello.py', protocol: 'http' });
    const ours = await uwrouterSsl(['--sslrouter-to', node.address, ...SNI_ARGS]);
    const rsa = await sClient(ours.port, ['-servername', 'b.example'], 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(servedName(rsa), 'b.example');
    assert.match(rsa.stdout, /Peer signature type: RSA-PSS/);
    const ec = await sClient(ours.port, ['-servername', 'a.example'], 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(servedName(ec), 'a.example');
    assert.match(ec.stdout, /Peer signature type: ECDSA/);
  });
});

describe('sslrouter: client certificates, uwrouter and uWSGI alike', () => {
  test('CLIENT_CA with "!": required; without: optional, but a certificate sent must verify', async () => {
    const node = await startUwsgiNode({ app: 'hello.py', protocol: 'http' });
    const mine = {
      required: await uwrouterSsl(['--sslrouter-to', node.address], `,,!${ca.crt}`),
      optional: await uwrouterSsl(['--sslrouter-to', node.address], `,,${ca.crt}`),
    };
    const ref = {
      required: await uwsgiSsl(['--sslrouter-to', node.address], `,,!${ca.crt}`),
      optional: await uwsgiSsl(['--sslrouter-to', node.address], `,,${ca.crt}`),
    };
    const withCert = ['--cert', client.crt, '--key', client.key];
    const withStranger = ['--cert', stranger.crt, '--key', stranger.key];
    for (const [label, r] of [
      ['uwrouter', mine],
      ['uwsgi', ref],
    ] as const) {
      const noneRequired = await curlHttps(r.required.port);
      assert.notEqual(noneRequired.code, 0, `${label}: required, none sent`);
      assert.doesNotMatch(noneRequired.stdout, /Hello World/);
      const okRequired = await curlHttps(r.required.port, { args: withCert });
      assert.equal(okRequired.stdout, 'Hello World', `${label}: required, sent: ${okRequired.stderr}`);
      const noneOptional = await curlHttps(r.optional.port);
      assert.equal(
        noneOptional.stdout,
        'Hello World',
        `${label}: optional, none sent: ${noneOptional.stderr}`,
      );
      const okOptional = await curlHttps(r.optional.port, { args: withCert });
      assert.equal(okOptional.stdout, 'Hello World', `${label}: optional, sent`);
      const foreign = await curlHttps(r.optional.port, { args: withStranger });
      assert.notEqual(foreign.code, 0, `${label}: optional, a certificate of another CA`);
      assert.doesNotMatch(foreign.stdout, /Hello World/);
    }
  });
});

describe('sslrouter: keys by SNI from subscriptions, uwrouter and uWSGI alike', () => {
  test('--sslrouter-sni: a uWSGI node subscribing as a.example serves https://a.example through both', async () => {
    const [u1, u2, s1, s2] = await Promise.all([1, 2, 3, 4].map(() => freePort()));
    const sub = (u: number, s: number) => [
      '--sslrouter-sni',
      '--sslrouter-subscription-server',
      `127.0.0.1:${u}`,
      '--sslrouter-stats',
      `127.0.0.1:${s}`,
      ...SNI_ARGS,
    ];
    const ours = await uwrouterSsl(sub(u1, s1));
    const theirs = await uwsgiSsl(sub(u2, s2));
    const node = await startUwsgiNode({
      app: 'echo_vars.py',
      protocol: 'http',
      args: [
        '--subscribe-freq',
        '1',
        '--subscribe2',
        `server=127.0.0.1:${u1},key=a.example`,
        '--subscribe2',
        `server=127.0.0.1:${u2},key=a.example`,
      ],
    });
    for (const stats of [s1, s2]) {
      await pollUntil(
        `node subscribed (stats ${stats})`,
        async () =>
          (await readStatsJson<{ subscriptions?: Array<{ nodes: unknown[] }> }>(stats)).subscriptions?.[0]
            ?.nodes.length
            ? true
            : undefined,
        { retryErrors: true },
      );
    }
    for (const [label, r] of [
      ['uwrouter', ours],
      ['uwsgi', theirs],
    ] as const) {
      const hit = await curlHttps(r.port, { name: 'a.example', path: '/by-sni' });
      assert.equal(hit.code, 0, `${label}: ${hit.stderr}`);
      assert.equal((JSON.parse(hit.stdout) as { vars: Record<string, string> }).vars.REQUEST_URI, '/by-sni');
      // another name has no node: the connection is closed after the handshake, no answer
      const miss = await curlHttps(r.port, { name: 'b.example' });
      assert.notEqual(miss.code, 0, label);
      assert.equal(miss.stdout, '', label);
    }
    assert.match(
      ours.router.logs(),
      new RegExp(`a\\.example => new node: ${node.address.replace(/\./g, '\\.')}`),
    );
  });
});
