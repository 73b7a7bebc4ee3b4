/**
 * The peers the benches run beside uwrouter that are not uWSGI or nginx (those are in the
 * interop harness): HAProxy in http and tcp mode, the Node.js proxies, and the small Node.js
 * nodes and relays in bench/peers/, each in its own process so none shares the bench's loop.
 */
import { join } from 'node:path';
import { freePort, REPO_ROOT, startHaproxy, tmpDir } from '../../test/interop/harness/index.ts';
import {
  asServer,
  type ServerHandle,
  startServerProcess,
} from '../../test/interop/harness/server-process.ts';

const PEERS_DIR = join(REPO_ROOT, 'bench', 'peers');

/** `node bench/peers/SCRIPT PORT …args` on a free port, ready when the port accepts. */
async function startPeerScript(name: string, script: string, args: readonly (string | number)[]) {
  const dir = tmpDir(name);
  const port = await freePort();
  const p = await startServerProcess(
    name,
    process.execPath,
    ['--no-deprecation', join(PEERS_DIR, script), String(port), ...args.map(String)],
    { cwd: dir, ready: { port } },
  );
  return asServer(p, { port, dir });
}

/** A Node.js `http` hello server ("Hello World", keep-alive). */
export function startNodeHello(): Promise<ServerHandle> {
  return startPeerScript('node-hello', 'hello-node.ts', []);
}

export type NodeProxyKind = 'http-proxy' | '@fastify/http-proxy';

/** node-http-proxy or @fastify/http-proxy in front of the HTTP node on `upstreamPort`. */
export function startNodeProxy(kind: NodeProxyKind, upstreamPort: number): Promise<ServerHandle> {
  return kind === 'http-proxy'
    ? startPeerScript('http-proxy', 'http-proxy.ts', [upstreamPort])
    : startPeerScript('fastify-proxy', 'fastify-proxy.ts', [upstreamPort]);
}

/** A `ws` echo server (an HTTP node for websocket tunnels). */
export function startWsNode(): Promise<ServerHandle> {
  return startPeerScript('ws-node', 'ws-node.ts', []);
}

/** A raw TCP uwsgi node that answers the websocket handshake and echoes small frames. */
export function startUwsgiWsNode(): Promise<ServerHandle> {
  return startPeerScript('uwsgi-ws-node', 'uwsgi-ws-node.ts', []);
}

/** `net` sockets piped both ways to `targetPort`: the floor of a Node.js relay. */
export function startPipeProxy(targetPort: number): Promise<ServerHandle> {
  return startPeerScript('pipe-proxy', 'pipe-proxy.ts', [targetPort]);
}

/** A TCP node writing `mib` MiB to every connection, then closing it. */
export function startBlobNode(mib: number): Promise<ServerHandle> {
  return startPeerScript('blob-node', 'blob-node.ts', [mib]);
}

/** One HAProxy process with one thread (as every proxy here runs one process/thread). */
function haproxyConf(mode: 'http' | 'tcp', port: number, upstream: string): string {
  return `global
  maxconn 4096
  nbthread 1
defaults
  mode ${mode}
  timeout connect 5s
  timeout client 30s
  timeout server 30s
${mode === 'http' ? '  http-reuse always\n' : ''}frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server node1 ${upstream}
`;
}

/** HAProxy in http mode (connections to the node reused: `http-reuse always`). */
export async function startHaproxyHttp(upstream: string): Promise<ServerHandle> {
  const port = await freePort();
  return startHaproxy(haproxyConf('http', port, upstream), { port });
}

/** HAProxy in tcp mode: a byte relay, one node connection per client connection. */
export async function startHaproxyTcp(upstream: string): Promise<ServerHandle> {
  const port = await freePort();
  return startHaproxy(haproxyConf('tcp', port, upstream), { port });
}
