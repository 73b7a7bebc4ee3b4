/**
 * What a TLS listener started with SNI_ARGS (sslrouter-peers.ts) must serve, checked the same
 * on uwrouter's and uWSGI's (spec: ssl-sni-sessions.md §1, §3): each of the three `--sni`
 * names its own certificate, a name matching the `--sni-regexp` the regexp's, and an unknown
 * name or none the listener's default, each verified by openssl s_client and answered by the
 * node ("Hello World"); then curl, which verifies the name itself, through uwrouter.
 */
import assert from 'node:assert/strict';
import { curlHttps, type Router, sClient, servedName } from '../sslrouter-peers.ts';

const CASES: ReadonlyArray<[name: string | null, cn: string]> = [
  ['a.example', 'a.example'],
  ['b.example', 'b.example'],
  ['c.example', 'c.example'],
  ['shop42.example', 'shop.example'],
  ['unknown.example', 'default.example'],
  [null, 'default.example'],
];

export async function assertSniArgsServed(ours: Router, theirs: Router): Promise<void> {
  for (const [label, r] of [
    ['uwrouter', ours],
    ['uwsgi', theirs],
  ] as const) {
    for (const [name, cn] of CASES) {
      // the host name is verified where the served certificate is meant to cover it
      const covered = name !== null && cn !== 'default.example';
      const args =
        name === null
          ? ['-noservername']
          : ['-servername', name, ...(covered ? ['-verify_hostname', name] : [])];
      const res = await sClient(r.port, [...args, '-verify_return_error'], 'GET / HTTP/1.0\r\n\r\n');
      assert.equal(servedName(res), cn, `${label} ${name}: ${res.stderr}`);
      assert.match(res.stdout, /Verify return code: 0 \(ok\)/, `${label} ${name}`);
      assert.match(res.stdout, /Hello World/, `${label} ${name}`);
    }
  }
  // curl verifies the name itself
  for (const name of ['a.example', 'b.example', 'c.example', 'shop1.example']) {
    const res = await curlHttps(ours.port, { name });
    assert.equal(res.code, 0, `${name}: ${res.stderr}`);
    assert.equal(res.stdout, 'Hello World');
  }
}
