/**
 * What the HTTPS interop tests share: uwrouter's and uWSGI's HTTPS routers on free ports
 * (the certificates, curl and s_client helpers come from sslrouter-peers.ts), a TCP hop that
 * records the uwsgi packets a node receives, a TLS client that sends raw request bytes, and
 * a client certificate whose subject needs OpenSSL's escaping (UTF-8, "/", "+", a
 * multi-valued RDN) for comparing HTTPS_DN byte for byte.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { after } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { freePort, type ServerHandle, startUwrouter, startUwsgiRouter } from './harness/index.ts';
import { ca, certs, dflt, type Router } from './sslrouter-peers.ts';

export type { Router } from './sslrouter-peers.ts';

/** `--https 127.0.0.1:P,CRT,KEY[EXTRA]` + args, on uwrouter. */
export async function uwrouterHttps(args: string[], extra = '', cert = dflt): Promise<Router> {
  const port = await freePort();
  const router = await startUwrouter([
    '--https',
    `127.0.0.1:${port},${cert.crt},${cert.key}${extra}`,
    ...args,
  ]);
  return { port, router };
}

/** The same on uWSGI's HTTP router (`uwsgi --plugin http --master --https …`). */
export async function uwsgiHttps(args: string[], extra = '', cert = dflt): Promise<Router> {
  const port = await freePort();
  const router = await startUwsgiRouter('http', [
    '--https',
    `127.0.0.1:${port},${cert.crt},${cert.key}${extra}`,
    ...args,
  ]);
  return { port, router };
}

/** uwrouter and uWSGI, labelled, for side-by-side loops. */
export function both(ours: Router, theirs: Router): Array<[label: string, r: Router]> {
  return [
    ['uwrouter', ours],
    ['uwsgi', theirs],
  ];
}

/** One uwsgi packet as the node received it: var names in wire order, values as bytes. */
export interface CapturedPacket {
  keys: string[];
  vars: Map<string, Buffer>;
}

/** A TCP hop in front of a uwsgi node: records each request's vars, relays every byte. */
export async function startCaptureHop(
  target: ServerHandle,
): Promise<{ address: string; packets: CapturedPacket[] }> {
  const packets: CapturedPacket[] = [];
  const server: Server = createServer((client) => {
    const up = connect(target.port!, '127.0.0.1');
    let head: Buffer | null = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      up.write(d);
      if (head === null) return;
      head = Buffer.concat([head, d]);
      if (head.length < 4 || head.length < 4 + head.readUInt16LE(1)) return;
      const end = 4 + head.readUInt16LE(1);
      const keys: string[] = [];
      const vars = new Map<string, Buffer>();
      for (let p = 4; p < end; ) {
        const kl = head.readUInt16LE(p);
        const k = head.subarray(p + 2, p + 2 + kl).toString('latin1');
        p += 2 + kl;
        const vl = head.readUInt16LE(p);
        vars.set(k, Buffer.from(head.subarray(p + 2, p + 2 + vl)));
        p += 2 + vl;
        keys.push(k);
      }
      packets.push({ keys, vars });
      head = null;
    });
    up.pipe(client);
    client.on('end', () => up.end());
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
    client.on('error', () => undefined);
    up.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => {
    server.close();
  });
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, packets };
}

export interface TlsRawResult {
  text: string;
  error: string | null;
  socket: TLSSocket;
  /** the client's port (0 when it never connected) */
  localPort: number;
}

/**
 * Raw request bytes over TLS (trusting the test CA, any name), read to the server's close or
 * until `until` matches; `cert` = a client certificate pair.
 */
export function tlsRequest(
  port: number,
  request: string,
  o: { servername?: string; cert?: { crt: string; key: string }; until?: (t: string) => boolean } = {},
): Promise<TlsRawResult> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      port,
      host: '127.0.0.1',
      servername: o.servername ?? 'localhost',
      ca: readFileSync(ca.crt),
      checkServerIdentity: () => undefined,
      ...(o.cert ? { cert: readFileSync(o.cert.crt), key: readFileSync(o.cert.key) } : {}),
    });
    let text = '';
    let error: string | null = null;
    let localPort = 0;
    const timer = setTimeout(() => socket.destroy(), 10_000);
    const done = (): void => {
      clearTimeout(timer);
      resolve({ text, error, socket, localPort });
    };
    socket.on('secureConnect', () => {
      localPort = socket.localPort ?? 0;
      socket.write(request);
    });
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (o.until?.(text)) {
        socket.destroy();
      }
    });
    socket.on('error', (e) => {
      error = e.message;
    });
    socket.on('close', done);
  });
}

/**
 * A client certificate from the test CA whose subject exercises X509_NAME_oneline's escaping:
 * `/C=IT/O=A\/B+OU=x/CN=naïve+UID=7` (UTF-8, a "/" in a value, multi-valued RDNs).
 */
export const oddClient = (() => {
  const key = certs.newKey('ecdsa', 'odd-client.key');
  const csr = certs.path('odd-client.csr');
  const crt = certs.path('odd-client.crt');
  const ext = certs.path('odd-client.ext');
  writeFileSync(ext, 'basicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth\n');
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      '-key',
      key,
      '-utf8',
      '-multivalue-rdn',
      '-subj',
      '/C=IT/O=A\\/B+OU=x/CN=naïve+UID=7',
      '-out',
      csr,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.crt,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-days',
      '30',
      '-extfile',
      ext,
      '-out',
      crt,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { crt, key };
})();
