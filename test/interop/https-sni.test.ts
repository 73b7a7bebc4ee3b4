/**
 * Certificates by server name on uwrouter's HTTPS listener, beside uWSGI's HTTPS router
 * (spec: ssl-sni-sessions.md §3–4): three `--sni` names, an `--sni-regexp` and the default;
 * an `--sni-dir` of 1,000 generated names loaded only as names are asked for (its memory is
 * measured in the load lane, test/load/https-sni-dir.load.test.ts); and a real uWSGI node
 * that subscribes with sni_key/sni_crt: its certificate is served while it lives and removed
 * when it leaves (uWSGI's router keeps it: for a key with a port it deletes nothing, §4).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort, pollUntil, readStatsJson, startUwsgiNode } from './harness/index.ts';
import { assertSniArgsServed } from './harness/sni-args-served.ts';
import { both, tlsRequest, uwrouterHttps, uwsgiHttps } from './https-peers.ts';
import { makeSniDir, sniDirName } from './sni-dir-certs.ts';
import { certs, curlHttps, nameA, SNI_ARGS, sClient, servedName } from './sslrouter-peers.ts';

interface TlsStats {
  tls: { sni_names: { dir: number }; context_builds: number; sni_misses: number };
  subscriptions?: Array<{ key: string; sni_enabled: number; nodes: unknown[] }>;
}

describe('HTTPS: certificates by server name, uwrouter and uWSGI alike', () => {
  test('three names, a regexp and the default: each client is served its certificate, verified', async () => {
    const node = await startUwsgiNode({ app: 'hello.py' });
    const ours = await uwrouterHttps(['--http-to', node.address, ...SNI_ARGS]);
    const theirs = await uwsgiHttps(['--http-to', node.address, ...SNI_ARGS]);
    await assertSniArgsServed(ours, theirs);
  });

  test('--sni-dir of 1,000 names: a name is loaded when first asked for, the others never', async () => {
    const dir = makeSniDir(certs.path('sni-dir-1000'), 1000);
    const node = await startUwsgiNode({ app: 'hello.py' });
    const stats = await freePort();
    const ours = await uwrouterHttps([
      '--http-to',
      node.address,
      '--sni-dir',
      dir,
      '--http-stats',
      `127.0.0.1:${stats}`,
    ]);
    const before = await readStatsJson<TlsStats>(stats);
    assert.equal(before.tls.sni_names.dir, 0, 'nothing loaded at start');
    const touched = [0, 1, 499, 998, 999];
    for (const i of touched) {
      const res = await sClient(ours.port, ['-servername', sniDirName(i)], 'GET / HTTP/1.0\r\n\r\n');
      assert.equal(servedName(res), sniDirName(i));
      assert.match(res.stdout, /Hello World/);
    }
    // asked again: served from what was loaded
    assert.equal(servedName(await sClient(ours.port, ['-servername', sniDirName(499)])), sniDirName(499));
    const missing = await sClient(ours.port, ['-servername', 'name-1000.sni.example']);
    assert.equal(servedName(missing), 'default.example');
    const after = await readStatsJson<TlsStats>(stats);
    assert.equal(after.tls.sni_names.dir, touched.length);
    assert.equal(after.tls.context_builds, touched.length);
    assert.equal(after.tls.sni_misses, 1);
  });
});

describe('HTTPS: a real uWSGI node brings its certificate with sni_key/sni_crt', () => {
  test('served while it is subscribed; gone from uwrouter when it leaves (uWSGI keeps it)', async () => {
    const sniDir = certs.path('subscribed-certs');
    mkdirSync(sniDir);
    copyFileSync(nameA.crt, join(sniDir, 'app.crt'));
    copyFileSync(nameA.key, join(sniDir, 'app.key'));
    const [u1, u2, s1, s2] = await Promise.all([1, 2, 3, 4].map(() => freePort()));
    const ours = await uwrouterHttps([
      '--http-subscription-server',
      `127.0.0.1:${u1}`,
      '--http-stats',
      `127.0.0.1:${s1}`,
      '--subscriptions-sni-dir',
      sniDir,
    ]);
    const theirs = await uwsgiHttps([
      '--http-subscription-server',
      `127.0.0.1:${u2}`,
      '--http-stats',
      `127.0.0.1:${s2}`,
    ]);
    const sni = `sni_key=${join(sniDir, 'app.key')},sni_crt=${join(sniDir, 'app.crt')}`;
    // the key is the Host the clients send, port included (spec http-router.md §4)
    const node = await startUwsgiNode({
      app: 'whoami.py',
      name: 'cert-owner',
      args: [
        '--subscribe-freq',
        '1',
        '--subscribe2',
        `server=127.0.0.1:${u1},key=a.example:${ours.port},${sni}`,
        '--subscribe2',
        `server=127.0.0.1:${u2},key=a.example:${theirs.port},${sni}`,
      ],
    });
    for (const s of [s1, s2]) {
      await pollUntil(
        `subscribed (stats ${s})`,
        async () =>
          (await readStatsJson<TlsStats>(s)).subscriptions?.[0]?.sni_enabled === 1 ? true : undefined,
        { retryErrors: true },
      );
    }
    for (const [label, r] of both(ours, theirs)) {
      const res = await curlHttps(r.port, { name: 'a.example' });
      assert.equal(res.code, 0, `${label}: ${res.stderr}`);
      assert.equal(res.stdout, 'cert-owner', label);
      const other = await sClient(r.port, ['-servername', 'b.example']);
      assert.equal(servedName(other), 'default.example', label);
    }
    assert.match(ours.router.logs(), /\[uwsgi-sni for pid \d+\] added SSL context for a\.example/);
    assert.match(theirs.router.logs(), /\[uwsgi-sni for pid \d+\] added SSL context for a\.example/);
    await node.stop(); // SIGINT: the node unsubscribes
    await pollUntil('uwrouter dropped the pool', async () =>
      (await readStatsJson<TlsStats>(s1)).subscriptions?.length === 0 ? true : undefined,
    );
    const after = await sClient(ours.port, ['-servername', 'a.example']);
    assert.equal(servedName(after), 'default.example');
    assert.match(ours.router.logs(), /\[uwsgi-sni for pid \d+\] destroyed SSL context for a\.example/);
    // uWSGI deletes the SNI item named by the full key (`a.example:PORT`): none, so it stays
    const kept = await sClient(theirs.port, ['-servername', 'a.example']);
    assert.equal(servedName(kept), 'a.example');
    const gone = await tlsRequest(ours.port, 'GET / HTTP/1.1\r\nHost: a.example\r\n\r\n', {
      servername: 'a.example',
    });
    assert.match(gone.text, /^HTTP\/1\.1 (404|503) /);
  });
});
