/**
 * One client connection of the sslrouter once its TLS handshake has completed (tls-front.ts):
 * the node is chosen from the key and connected now, with the corerouter's retries and
 * fallbacks, then the plaintext is relayed both ways untouched (spec: ssl-sni-sessions.md §2).
 * uWSGI connects only when the client's first application bytes arrive, so a protocol whose
 * server speaks first (SMTP, IMAP, POP3, MySQL greetings) hangs there; here the node's
 * greeting reaches the client at once. Client bytes sent meanwhile wait, decrypted, in the
 * TLS socket (its read side stops at the high-water mark) and go to the node after the
 * optional PROXY header. When the node ends, the client gets a close_notify (uWSGI just
 * closes), so it can tell a complete answer from a cut one.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { GiveUpCode } from '../corerouter/connect.ts';
import type { IdleSweep } from '../corerouter/idle-sweep.ts';
import { Join } from '../corerouter/join.ts';
import type { CoreRouter } from '../corerouter/router.ts';
import {
  dropNodeOfGoneClient,
  RelaySession,
  relayEndpoints,
  writeProxyHeader,
} from '../corerouter/tcp-relay.ts';
import type { NodeLease } from '../corerouter/types.ts';
import { tlsSessionTlvs } from '../protocol/proxy-tls-tlvs.ts';
import type { TlsHandshakeResult } from '../tls/tls-front.ts';

export interface SslrouterSettings {
  /** inactivity timeout of a session (`sslrouter-timeout`); 0 = none */
  timeoutMs: number;
  /** `sslrouter-proxy-protocol`: 0 = none, 1 = v1 line, 2 = v2 binary header with TLS TLVs */
  proxyProtocol: 0 | 1 | 2;
  /** `sslrouter-sni`: the server name is the key */
  bySni: boolean;
}

/** What all connections of one sslrouter share. */
export interface SslrouterShared extends SslrouterSettings {
  readonly sweep: IdleSweep;
  readonly idleTicks: number;
}

const noop = (): void => {};

/** A session after its TLS handshake (clientEnded: its close_notify came before the join). */
export class SslrouterConnection extends RelaySession {
  private readonly client: TLSSocket;
  private readonly handshake: TlsHandshakeResult;
  private readonly shared: SslrouterShared;

  constructor(
    client: TLSSocket,
    handshake: TlsHandshakeResult,
    key: string,
    core: CoreRouter,
    shared: SslrouterShared,
  ) {
    super(handshake.raw, key, core, shared);
    this.client = client;
    this.handshake = handshake;
    this.shared = shared;
    client.on('error', noop);
    client.on('end', this.onClientEnd);
    client.on('close', this.onClientClose);
    this.startAttempt();
  }

  /** IdleWatched: bytes moved since the node connected (spec: corerouter.md §4). */
  get progress(): number {
    const j = this.join;
    return j ? j.tx + j.rx : 0;
  }

  connected(backend: Socket, lease: NodeLease): void {
    this.attempt = null;
    if (dropNodeOfGoneClient(this.client, backend, lease)) return;
    this.lease = lease;
    if (this.shared.timeoutMs > 0) this.shared.sweep.watch(this);
    const version = this.shared.proxyProtocol;
    if (version !== 0) {
      // v2 carries the TLS session's facts as TLVs
      const tlvs = version === 2 ? tlsSessionTlvs(this.sessionFacts()) : undefined;
      this.sent += writeProxyHeader(backend, version, relayEndpoints(this.handshake.raw, this.info), tlvs);
    }
    this.join = new Join(this.client, backend, this, true);
    if (this.clientEnded) backend.end();
  }

  private sessionFacts() {
    const c = this.client;
    let cn: string | null = null;
    if (this.handshake.clientCertificate) {
      const subject = c.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
      const v = subject?.CN;
      cn = typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? null) : null;
    }
    return {
      serverName: this.handshake.hello.serverName,
      version: c.getProtocol(),
      cipher: c.getCipher()?.name ?? null,
      clientCertificate: this.handshake.clientCertificate,
      clientCommonName: cn,
    };
  }

  /** JoinHooks: both sockets are gone. */
  closed(tx: number, rx: number): void {
    this.shared.sweep.unwatch(this);
    const lease = this.lease;
    this.lease = null;
    lease?.release(tx, rx + this.sent);
  }

  gaveUp(code: GiveUpCode, detail: string): void {
    this.attempt = null;
    this.note(code, `${detail}: closing`);
    this.client.destroy();
  }

  /** IdleWatched: no byte moved for the timeout. */
  onIdle(): void {
    if (!this.join || this.client.destroyed) return;
    this.note('UWR_ERR_TIMEOUT', 'timeout: closing');
    this.join.destroy();
  }
}
