/**
 * The fastrouter reading PROXY headers from trusted peers (`--fastrouter-enable-proxy-protocol`
 * with `--fastrouter-trusted-proxy`, uwrouter extension), through the `uwrouter` command
 * with 2 worker processes: HAProxy `send-proxy-v2` (CRC32C + unique-id TLVs) and
 * `send-proxy` in front, each worker checked on its own; a real uWSGI node reads the
 * header's source in REMOTE_ADDR/REMOTE_PORT, not what the uwsgi packet said; an untrusted
 * peer's packet reaches the node as sent; a trusted peer without a header is closed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, pollUntil, type ServerHandle, startUwsgiNode, uwsgiPacket } from './harness/index.ts';
import {
  assertHaproxyClientThroughEachWorker,
  echoAnswer,
  exchange,
  uwrouterWithTwoWorkers,
} from './proxy-intake-peers.ts';

/** what nginx would send, with the address nginx saw (here: a claim the router must replace) */
const PACKET = uwsgiPacket({
  REQUEST_METHOD: 'GET',
  REQUEST_URI: '/who',
  PATH_INFO: '/who',
  QUERY_STRING: '',
  SERVER_PROTOCOL: 'HTTP/1.0',
  SERVER_NAME: 'proxy.example',
  SERVER_PORT: '80',
  HTTP_HOST: 'proxy.example',
  REMOTE_ADDR: '6.6.6.6',
  REMOTE_PORT: '6666',
});

describe('fastrouter: PROXY v1/v2 from trusted peers, 2 workers', { timeout: 120_000 }, () => {
  let node: ServerHandle;
  let router: ServerHandle;
  let port = 0;
  let workers: number[] = [];
  before(async () => {
    node = await startUwsgiNode({ app: 'echo_vars.py' });
    port = await freePort();
    ({ router, workers } = await uwrouterWithTwoWorkers([
      '--fastrouter',
      `127.0.0.1:${port}`,
      '--fastrouter-to',
      node.address,
      '--fastrouter-enable-proxy-protocol',
      '--fastrouter-trusted-proxy',
      '127.0.0.1',
      '--fastrouter-processes',
      '2',
    ]));
  });
  after(async () => {
    await router?.stop();
    await node?.stop();
  });

  test("HAProxy send-proxy-v2 (CRC32C, TLVs) and send-proxy: each worker gives the node HAProxy's client", async () => {
    await assertHaproxyClientThroughEachWorker(port, workers, PACKET, ['v2', 'v1']);
  });

  test('an untrusted peer: the packet reaches the node as sent; a trusted peer without a header: closed', async () => {
    const a = echoAnswer((await exchange(port, [PACKET], '127.0.0.9')).bytes);
    assert.equal(a.status, 'HTTP/1.0 200 OK');
    assert.equal(a.vars.REMOTE_ADDR, '6.6.6.6');
    assert.equal((await exchange(port, [PACKET])).bytes.length, 0);
    await pollUntil('the log line', () => (/\(not-proxy\): closing/.test(router.logs()) ? true : undefined));
  });
});
