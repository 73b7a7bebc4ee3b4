/**
 * A minimal TLS server built the way the routers will use src/tls: read the ClientHello
 * from the raw socket, pick the context with ListenerTls.contextFor, start TLS with the
 * bytes read so far, check the client certificate on 'secure'. It answers every client
 * with one line naming the context that served it, and records what happened.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { ClientHelloReader } from '../../src/protocol/tls-client-hello-reader.ts';
import type { ListenerTls } from '../../src/tls/listener-tls.ts';
import { clientCertificateVerdict, startServerTls } from '../../src/tls/server-socket.ts';

export interface ServerEvent {
  /** `source name` of the chosen context, or the reader's error reason */
  chose: string;
  /** Node's own idea of the server name (false on resumed TLS 1.2 sessions) */
  nodeServername?: string | false;
  verdict?: string;
  error?: string;
}

export interface TlsTestServer {
  port: number;
  events: ServerEvent[];
  close(): Promise<void>;
}

export async function startTlsTestServer(
  listener: ListenerTls,
  options: { holdOpen?: boolean } = {},
): Promise<TlsTestServer> {
  const events: ServerEvent[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new ClientHelloReader();
    const onData = (chunk: Buffer) => {
      const r = reader.push(chunk);
      if (r.state === 'need-more') return;
      socket.removeListener('data', onData);
      socket.pause();
      if (r.state === 'error') {
        events.push({ chose: r.reason });
        socket.destroy();
        return;
      }
      const choice = listener.contextFor(r.hello);
      const event: ServerEvent = { chose: `${choice.source} ${choice.name}` };
      events.push(event);
      const tls = startServerTls(socket, r.received, choice);
      tls.on('error', (e: Error) => {
        event.error = e.message;
      });
      tls.on('secure', () => {
        event.nodeServername = (tls as TLSSocket & { servername: string | false }).servername;
        const v = clientCertificateVerdict(tls, choice);
        event.verdict = v.ok ? `ok${v.present ? ' cert' : ''}` : v.reason;
        if (!v.ok) {
          tls.destroy();
          return;
        }
        if (options.holdOpen) tls.write(`${event.chose}\n`);
        else tls.end(`${event.chose}\n`);
      });
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface ClientResult {
  ok: boolean;
  /** the line the server answered with */
  line: string;
  fingerprint?: string;
  keyType?: string;
  protocol?: string | null;
  cipher?: string;
  reused?: boolean;
  session?: Buffer;
  error?: string;
}

/** One TLS client connection; resolves when the server has answered or the handshake failed. */
export function tlsClient(port: number, options: ConnectionOptions = {}): Promise<ClientResult> {
  return new Promise((resolve) => {
    let line = '';
    let session: Buffer | undefined;
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    socket.on('session', (s: Buffer) => {
      session = s;
    });
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      line += d;
    });
    const result = (): ClientResult => {
      const cert = socket.getPeerX509Certificate();
      return {
        ok: true,
        line: line.trim(),
        fingerprint: cert?.fingerprint256,
        keyType: cert?.publicKey.asymmetricKeyType,
        protocol: socket.getProtocol(),
        cipher: socket.getCipher()?.name,
        reused: socket.isSessionReused(),
        session,
      };
    };
    let secured: ClientResult | null = null;
    socket.on('secureConnect', () => {
      secured = result();
    });
    socket.on('end', () => {
      socket.end();
    });
    socket.on('close', () => {
      if (secured) resolve({ ...secured, line: line.trim(), session: session ?? secured.session });
      else resolve({ ok: false, line: '', error: 'closed before the handshake' });
    });
    socket.on('error', (e: Error) => {
      if (!secured) resolve({ ok: false, line: '', error: e.message });
      socket.destroy();
    });
  });
}
