/**
 * The sslrouter with real peers, side by side with uWSGI's own sslrouter (spec:
 * ssl-sni-sessions.md §2): curl and openssl s_client through it to a real uWSGI
 * `--http-socket` node, the protocol versions each accepts, renegotiation, and a real
 * server-speaks-first node (Python smtpd, implicit TLS as on port 465) — which uWSGI's
 * sslrouter cannot serve, since it connects the node only on the client's first bytes.
 * SNI and client certificates: sslrouter-sni.test.ts; bad clients: sslrouter-hygiene.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { freePort, pollUntil, readStatsJson, startUwsgiNode } from './harness/index.ts';
import { startSmtpd } from './harness/smtpd.ts';
import {
  ca,
  certs,
  curlHttps,
  negotiated,
  runTool,
  sClient,
  uwrouterSsl,
  uwsgiSsl,
} from './sslrouter-peers.ts';

interface Vars {
  vars: Record<string, string>;
  body: { length: number; sha256: string };
}

describe('sslrouter: uwrouter and uWSGI in front of a real uWSGI --http-socket node', () => {
  test('curl through both: the node sees the same request; a 1 MiB body arrives intact through uwrouter', async () => {
    const node = await startUwsgiNode({ app: 'echo_vars.py', protocol: 'http' });
    const ours = await uwrouterSsl(['--sslrouter-to', node.address]);
    const theirs = await uwsgiSsl(['--sslrouter-to', node.address]);
    const answers: Vars[] = [];
    for (const r of [ours, theirs]) {
      const res = await curlHttps(r.port, { path: '/tls?x=1' });
      assert.equal(res.code, 0, res.stderr);
      answers.push(JSON.parse(res.stdout) as Vars);
    }
    for (const k of ['REQUEST_METHOD', 'REQUEST_URI', 'QUERY_STRING', 'SERVER_PROTOCOL', 'REMOTE_ADDR']) {
      assert.equal(answers[0].vars[k], answers[1].vars[k], k);
    }
    assert.equal(answers[0].vars.REQUEST_URI, '/tls?x=1');
    assert.equal(answers[0].vars.HTTP_HOST, `localhost:${ours.port}`);
    const big = randomBytes(1 << 20);
    const file = certs.path('body.bin');
    writeFileSync(file, big);
    const post = await curlHttps(ours.port, { args: ['--data-binary', `@${file}`] });
    assert.equal(post.code, 0, post.stderr);
    assert.deepEqual((JSON.parse(post.stdout) as Vars).body, {
      length: big.length,
      sha256: createHash('sha256').update(big).digest('hex'),
    });
    assert.match(
      ours.router.logs(),
      new RegExp(`uWSGI sslrouter bound on 127\\.0\\.0\\.1:${ours.port} fd \\d+`),
    );
  });

  test('openssl s_client: TLS 1.3 and 1.2 negotiated, TLS 1.0 and 1.1 refused, by both routers', async () => {
    const node = await startUwsgiNode({ app: 'hello.py', protocol: 'http' });
    const ours = await uwrouterSsl(['--sslrouter-to', node.address]);
    const theirs = await uwsgiSsl(['--sslrouter-to', node.address]);
    const request = 'GET / HTTP/1.0\r\nHost: x\r\n\r\n';
    for (const [label, r] of [
      ['uwrouter', ours],
      ['uwsgi', theirs],
    ] as const) {
      const t13 = await sClient(r.port, ['-tls1_3'], request);
      assert.equal(negotiated(t13)?.version, 'TLSv1.3', `${label}: ${t13.stdout}${t13.stderr}`);
      assert.match(t13.stdout, /Hello World/, label);
      assert.match(t13.stdout, /Verify return code: 0 \(ok\)/, label);
      const t12 = await sClient(r.port, ['-tls1_2'], request);
      assert.equal(negotiated(t12)?.version, 'TLSv1.2', label);
      assert.match(t12.stdout, /Hello World/, label);
      for (const v of ['-tls1', '-tls1_1']) {
        const old = await sClient(r.port, [v, '-cipher', 'DEFAULT@SECLEVEL=0'], request);
        assert.equal(negotiated(old), null, `${label} ${v}`);
        assert.doesNotMatch(old.stdout, /Hello World/);
        // uwrouter says why (protocol_version); uWSGI allows TLS 1.1 but fails it with an
        // internal_error alert (no SHA-1 signature at OpenSSL 3's security level)
        if (label === 'uwrouter') assert.match(old.stderr, /alert protocol version/, v);
      }
    }
    // uwrouter's TLS 1.2 suites are ECDHE + AEAD only; uWSGI's are OpenSSL's DEFAULT
    const cbc = await sClient(ours.port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA'], request);
    assert.equal(negotiated(cbc), null);
    const theirCbc = await sClient(theirs.port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA'], request);
    assert.equal(negotiated(theirCbc)?.cipher, 'ECDHE-ECDSA-AES128-SHA');
  });

  test('a client-initiated renegotiation is refused (TLS 1.2)', async () => {
    const node = await startUwsgiNode({ app: 'hello.py', protocol: 'http' });
    const ours = await uwrouterSsl(['--sslrouter-to', node.address]);
    // "R" alone on a line (one read) makes s_client renegotiate
    const r = await runTool(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${ours.port}`, '-CAfile', ca.crt, '-tls1_2'],
      { input: 'R\n', timeoutMs: 8000, keepStdinOpenMs: 1500 },
    );
    assert.match(r.stderr, /RENEGOTIATING/);
    assert.match(r.stderr, /:no renegotiation:/);
  });

  test('the stats document: uWSGI fields, plus the tls section', async () => {
    const node = await startUwsgiNode({ app: 'hello.py', protocol: 'http' });
    const [s1, s2] = [await freePort(), await freePort()];
    const ours = await uwrouterSsl(['--sslrouter-to', node.address, '--sslrouter-stats', `127.0.0.1:${s1}`]);
    const theirs = await uwsgiSsl(['--sslrouter-to', node.address, '--sslrouter-stats', `127.0.0.1:${s2}`]);
    for (const r of [ours, theirs]) assert.equal((await curlHttps(r.port)).code, 0);
    const mine = await readStatsJson<Record<string, unknown>>(s1);
    const ref = await readStatsJson<Record<string, unknown>>(s2);
    for (const k of Object.keys(ref)) assert.ok(k in mine, `stats field ${k}`);
    assert.deepEqual(mine.sslrouter, [`127.0.0.1:${ours.port}`]);
    assert.deepEqual(ref.sslrouter, [`127.0.0.1:${theirs.port}`]);
    const tls = mine.tls as Record<string, number>;
    assert.equal(tls.handshakes, 1);
    assert.match(
      theirs.router.logs(),
      new RegExp(`uWSGI sslrouter bound on 127\\.0\\.0\\.1:${theirs.port} fd \\d+`),
    );
  });
});

describe('sslrouter: a server-speaks-first node (SMTP over implicit TLS)', () => {
  test('Python smtpd behind the routers, smtplib.SMTP_SSL in front: uwrouter delivers, uWSGI never greets', async () => {
    const { port: smtpPort, smtpd } = await startSmtpd();
    const ours = await uwrouterSsl(['--sslrouter-to', `127.0.0.1:${smtpPort}`]);
    const theirs = await uwsgiSsl(['--sslrouter-to', `127.0.0.1:${smtpPort}`]);
    const send = (port: number, label: string) =>
      runTool(
        '/usr/bin/python3',
        [
          '-c',
          [
            'import smtplib, ssl',
            `ctx = ssl.create_default_context(cafile=${JSON.stringify(ca.crt)})`,
            `s = smtplib.SMTP_SSL('localhost', ${port}, context=ctx, timeout=4)`,
            "s.ehlo('client.example')",
            `s.sendmail('a@example.com', ['b@example.com'], 'Subject: via ${label}\\n\\nbody-of-${label}')`,
            's.quit()',
            "print('SENT-OK')",
          ].join('\n'),
        ],
        { timeoutMs: 15_000 },
      );
    const mine = await send(ours.port, 'uwrouter');
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stdout, /SENT-OK/);
    await pollUntil('the mail arrived', () => (smtpd.logs().includes('body-of-uwrouter') ? true : undefined));
    // uWSGI connects the node only when the client's first bytes come; the client waits for
    // the greeting first: neither side speaks until the client gives up
    const theirsResult = await send(theirs.port, 'uwsgi');
    assert.notEqual(theirsResult.code, 0);
    assert.match(theirsResult.stderr, /timed out|TimeoutError/);
    assert.ok(!smtpd.logs().includes('body-of-uwsgi'));
    // s_client sees the greeting with nothing sent
    const greet = await sClient(ours.port, ['-quiet'], '', 3000);
    assert.match(greet.stdout, /^220 /m);
    await smtpd.stop();
  });
});
