/**
 * PROXY protocol headers (v1 or v2) from trusted peers, in front of any router's connection
 * handler: a connection from a `TrustedPeers` address must start with a complete, valid
 * header within the time limit, else it is closed with one log line; its header is kept on
 * the socket (`receivedProxyHeader`) and the bytes after it are put back, so the router
 * reads the stream as if the header had never been there. Connections from other peers go
 * straight to the router, their bytes untouched: an untrusted client cannot set its own
 * address (proxy-protocol.txt §5 — the header is expected by configuration, never guessed).
 *
 * The router's handler gets the socket in its initial reading state (neither flowing nor
 * paused), exactly as a fresh accept.
 */
import type { Socket } from 'node:net';
import { type ProxyHeader, proxiedSource } from '../protocol/proxy-protocol.ts';
import { ProxyHeaderReader } from '../protocol/proxy-protocol-reader.ts';
import { IdleSweep, type IdleWatched } from './idle-sweep.ts';
import type { Listener } from './listener.ts';
import type { ConnectionHandler, CoreRouter } from './router.ts';
import type { TrustedPeers } from './trusted-peers.ts';

const PROXY_HEADER = Symbol('uwrouter.proxyHeader');

type WithHeader = Socket & { [PROXY_HEADER]?: ProxyHeader };

/** The header a trusted peer sent on this connection, if any. */
export function receivedProxyHeader(socket: Socket): ProxyHeader | undefined {
  return (socket as WithHeader)[PROXY_HEADER];
}

/** The client a trusted peer's header named on this connection (null: none, or LOCAL/UNKNOWN). */
export function receivedProxySource(socket: Socket): { address: string; port: number } | null {
  const h = receivedProxyHeader(socket);
  return h ? proxiedSource(h) : null;
}

/** Where the client really is: the header's source when it names one, else the socket's peer. */
export function clientEndpoint(socket: Socket): { address: string; port: number } {
  return receivedProxySource(socket) ?? { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
}

export interface ProxyIntakeSettings {
  trusted: TrustedPeers;
  /** a trusted peer's header must be complete this long after accept */
  timeoutMs: number;
  /** largest v2 header (default: the reader's 4096 bytes) */
  maxLength?: number;
}

interface Shared extends ProxyIntakeSettings {
  readonly handler: ConnectionHandler;
  readonly sweep: IdleSweep;
  readonly idleTicks: number;
}

class ProxyIntake implements IdleWatched {
  /** IdleWatched: no progress ever counts, so the limit runs from accept (a deadline) */
  readonly progress = 0;
  seenProgress = 0;
  lastTick = 0;
  idleTicks: number;
  private readonly client: Socket;
  private readonly listener: Listener;
  private readonly core: CoreRouter;
  private readonly shared: Shared;
  private readonly reader: ProxyHeaderReader;
  private done = false;

  constructor(client: Socket, listener: Listener, core: CoreRouter, shared: Shared) {
    this.client = client;
    this.listener = listener;
    this.core = core;
    this.shared = shared;
    this.idleTicks = shared.idleTicks;
    this.reader = new ProxyHeaderReader({ maxLength: shared.maxLength });
    // paused-mode reads: removing the 'readable' listener later leaves the stream in its
    // initial state for the router (a 'data' listener would leave it flowing or paused)
    client.on('readable', this.onReadable);
    client.on('end', this.onEnd);
    client.on('error', this.onError);
    client.on('close', this.onClose);
    if (shared.timeoutMs > 0) shared.sweep.watch(this);
  }

  private detach(): void {
    this.done = true;
    this.shared.sweep.unwatch(this);
    this.client.removeListener('readable', this.onReadable);
    this.client.removeListener('end', this.onEnd);
    this.client.removeListener('error', this.onError);
    this.client.removeListener('close', this.onClose);
  }

  private reject(why: string): void {
    this.detach();
    // a late error on the destroyed socket must not be unhandled
    this.client.on('error', this.onError);
    this.core.count('UWR_ERR_PROXY_HEADER');
    // a trusted balancer that sends a bad header is a misconfiguration: warn, rate-limited
    const peer = { address: this.client.remoteAddress ?? '', port: this.client.remotePort ?? 0 };
    this.core.connectionLog.about('warn', 'UWR_ERR_PROXY_HEADER', peer, '', '', `${why}: closing`);
    this.client.destroy();
  }

  private readonly onReadable = (): void => {
    let chunk: Buffer | null = this.client.read() as Buffer | null;
    while (!this.done && chunk !== null) {
      const r = this.reader.push(chunk);
      if (r.state === 'error') {
        this.reject(`bad PROXY protocol header from a trusted peer (${r.reason})`);
        return;
      }
      if (r.state === 'done') {
        this.detach();
        (this.client as WithHeader)[PROXY_HEADER] = r.header;
        this.core.count(`proxy_header_v${r.header.version}`);
        if (r.rest.length > 0) this.client.unshift(r.rest);
        this.shared.handler(this.client, this.listener, this.core);
        return;
      }
      chunk = this.client.read() as Buffer | null;
    }
  };

  private readonly onEnd = (): void => {
    if (this.done) return;
    if (this.reader.buffered > 0) this.reject('the trusted peer closed inside its PROXY protocol header');
    else {
      this.detach();
      this.client.destroy();
    }
  };

  private readonly onError = (): void => {
    // ECONNRESET and friends: 'close' follows
  };

  private readonly onClose = (): void => {
    if (!this.done) this.detach();
  };

  /** IdleWatched: the header did not arrive in time. */
  onIdle(): void {
    if (this.done || this.client.destroyed) return;
    this.reject(`no complete PROXY protocol header from a trusted peer within ${this.shared.timeoutMs} ms`);
  }
}

/**
 * Wraps a router's handler: connections from `trusted` peers first give their PROXY header.
 * Without trusted peers the handler itself is returned (nothing on the hot path).
 */
export function withProxyIntake(
  handler: ConnectionHandler,
  settings: ProxyIntakeSettings,
): ConnectionHandler {
  if (settings.trusted.size === 0) return handler;
  const sweep = new IdleSweep(IdleSweep.intervalFor(settings.timeoutMs));
  const shared: Shared = { ...settings, handler, sweep, idleTicks: sweep.ticksFor(settings.timeoutMs) };
  return (client: Socket, listener: Listener, core: CoreRouter): void => {
    if (shared.trusted.has(client.remoteAddress)) new ProxyIntake(client, listener, core, shared);
    else handler(client, listener, core);
  };
}
