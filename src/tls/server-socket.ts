/**
 * Turning an accepted TCP socket into the server side of a TLS connection once its
 * ClientHello has been read (tls-client-hello-reader.ts) and a context chosen, and the
 * client-certificate checks Node cannot do during the handshake.
 */
import type { Server, Socket } from 'node:net';
import { type PeerCertificate, TLSSocket } from 'node:tls';
import type { TlsContextChoice } from './sni-entry.ts';

/**
 * What Node's TLSSocket asks of its `server` for session ids (lib/internal/tls/wrap.js: with a
 * listener for either event it turns session callbacks on, then emits `resumeSession(id, cb)`
 * and `newSession(id, der, done)` on it). A tls.Server gives no way to tell which connection
 * an event is for; an object per handshake does (the front's handshake is that object).
 */
export interface SessionEventTarget {
  listenerCount(event: string): number;
  emit(event: string, ...args: unknown[]): boolean;
}

export interface ServerTlsOptions {
  /** ALPN protocols the server accepts, in preference order (none = no ALPN answer) */
  ALPNProtocols?: string[];
  /** receives this connection's resumeSession/newSession (TLS 1.2 session ids in a cache) */
  sessionEvents?: SessionEventTarget;
}

/**
 * Starts the TLS server handshake on `socket` with the chosen context. `received` is every
 * byte read from the socket so far (the reader's `received`): it is put back so OpenSSL
 * reads the ClientHello itself. The caller must have stopped reading (removed its 'data'
 * listener and paused the socket) and keeps owning the handshake timer.
 */
export function startServerTls(
  socket: Socket,
  received: Buffer,
  choice: TlsContextChoice,
  options: ServerTlsOptions = {},
): TLSSocket {
  if (received.length > 0) socket.unshift(received);
  return new TLSSocket(socket, {
    isServer: true,
    secureContext: choice.context,
    requestCert: choice.clientCert !== 'none',
    rejectUnauthorized: choice.clientCert === 'required',
    ...(options.ALPNProtocols ? { ALPNProtocols: options.ALPNProtocols } : {}),
    // documented as a net.Server; Node only calls listenerCount and emit on it here
    ...(options.sessionEvents ? { server: options.sessionEvents as unknown as Server } : {}),
  });
}

export type ClientCertVerdict = { ok: true; present: boolean } | { ok: false; reason: string };

/** Intermediate CAs between the client's certificate and the trust anchor. */
function intermediates(leaf: PeerCertificate): number {
  let count = 0;
  let cert = leaf as PeerCertificate & { issuerCertificate?: PeerCertificate };
  // bounded walk: OpenSSL's own default limit is 100
  for (let i = 0; i < 100; i++) {
    const issuer = cert.issuerCertificate as
      | (PeerCertificate & { issuerCertificate?: PeerCertificate })
      | undefined;
    if (issuer === undefined || issuer === null || issuer === cert) return count; // cert is the anchor
    // the issuer is an intermediate unless it is the self-signed anchor
    if (issuer.issuerCertificate !== issuer) count++;
    cert = issuer;
  }
  return count;
}

/** The handshake's verification result; undefined when this Node.js does not expose it. */
function verifyError(socket: TLSSocket): { code?: string; message: string } | null | undefined {
  // tls.Server reads the same internal (onServerSocketSecure): a TLSSocket made by hand
  // never gets `authorized` set, and Node's verify callback accepts every certificate
  // during the handshake, leaving the verdict to this call.
  const handle = (socket as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return undefined;
  return handle.verifyError() as { code?: string; message: string } | null;
}

/**
 * Call on the 'secure' event when `choice.clientCert` is not 'none', and close the
 * connection when the verdict is not ok (log its reason with `--ssl-verbose`). Node checks
 * a client certificate during the handshake only for being there (CLIENT_CA with "!"); this
 * decides the rest, as uWSGI's OpenSSL settings do: a certificate that was sent must verify
 * against CLIENT_CA ("optional" = asked for, may be absent), and `--ssl-verify-depth`
 * bounds its chain (OpenSSL semantics: the most intermediate CAs; Node has no verify depth).
 */
export function clientCertificateVerdict(socket: TLSSocket, choice: TlsContextChoice): ClientCertVerdict {
  if (choice.clientCert === 'none') return { ok: true, present: false };
  const cert = socket.getPeerCertificate(true);
  const present = cert !== null && cert !== undefined && Object.keys(cert).length > 0;
  if (!present) {
    return choice.clientCert === 'required'
      ? { ok: false, reason: 'no client certificate' }
      : { ok: true, present };
  }
  const err = verifyError(socket);
  if (err === undefined)
    return { ok: false, reason: 'this Node.js does not report client certificate verification' };
  if (err !== null)
    return { ok: false, reason: `client certificate not verified: ${err.code ?? err.message}` };
  const n = intermediates(cert);
  if (n > choice.verifyDepth) {
    return {
      ok: false,
      reason: `client certificate chain has ${n} intermediate CAs, more than --ssl-verify-depth ${choice.verifyDepth}`,
    };
  }
  return { ok: true, present };
}
