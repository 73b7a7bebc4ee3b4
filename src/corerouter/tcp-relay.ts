/**
 * What the relaying routers (rawrouter, sslrouter, fastrouter) do alike around a node
 * connection: who the client is when a trusted peer sent a PROXY header, the PROXY header
 * they send on to the node, and the node that connected after its client had already left;
 * and the session the rawrouter and the sslrouter share (RelaySession).
 */
import type { Socket } from 'node:net';
import {
  encodeProxyV1,
  encodeProxyV2,
  type ProxyEndpoints,
  type ProxyTlv,
  proxiedSource,
} from '../protocol/proxy-protocol.ts';
import { BackendAttempt, type ConnectCallbacks, type GiveUpCode } from './connect.ts';
import type { IdleSweep, IdleWatched } from './idle-sweep.ts';
import type { Join, JoinHooks } from './join.ts';
import { PeerInfo } from './peer-info.ts';
import { receivedProxyHeader } from './proxy-intake.ts';
import type { CoreRouter } from './router.ts';
import type { NodeLease } from './types.ts';

/**
 * The client of the plain socket `raw`: the source a trusted peer's PROXY header named, else
 * the socket's peer (read lazily, peer-info.ts).
 */
export function relayPeerInfo(raw: Socket): PeerInfo {
  const info = new PeerInfo(raw);
  const h = receivedProxyHeader(raw);
  const src = h ? proxiedSource(h) : null;
  if (src) {
    info.address = src.address;
    info.port = src.port;
  }
  return info;
}

/**
 * The relayed connection's ends for the node's PROXY header: the client (`info`, from
 * relayPeerInfo) and the address it connected to (as a trusted peer's header named it, else
 * the local address of `raw`).
 */
export function relayEndpoints(raw: Socket, info: PeerInfo): ProxyEndpoints {
  const h = receivedProxyHeader(raw);
  const dst = h && proxiedSource(h) ? h : null;
  return {
    srcAddress: info.address,
    srcPort: info.port,
    dstAddress: dst ? dst.dstAddress : (raw.localAddress ?? ''),
    dstPort: dst ? dst.dstPort : (raw.localPort ?? 0),
  };
}

/** Writes a PROXY header (v1 line, or v2 binary with `tlvs`) to the node; returns its length. */
export function writeProxyHeader(
  backend: Socket,
  version: 1 | 2,
  endpoints: ProxyEndpoints,
  tlvs?: readonly ProxyTlv[],
): number {
  const header = version === 1 ? encodeProxyV1(endpoints) : encodeProxyV2(endpoints, tlvs ? { tlvs } : {});
  backend.write(header);
  return header.length;
}

/**
 * ConnectCallbacks.connected after the client has gone: the node connection is closed and
 * its lease given back with nothing moved. Returns true when so (the caller stops there).
 */
export function dropNodeOfGoneClient(client: Socket, backend: Socket, lease: NodeLease): boolean {
  if (!client.destroyed) return false;
  backend.destroy();
  lease.release(0, 0);
  return true;
}

/**
 * A session of a router that connects the node as soon as it has the key, without reading a
 * request (rawrouter at accept, sslrouter after the handshake), then joins the sockets. The
 * subclass registers onClientEnd/onClientClose on its client and calls startAttempt() at
 * the end of its constructor (after its own fields exist).
 */
export abstract class RelaySession implements ConnectCallbacks, IdleWatched, JoinHooks {
  protected readonly core: CoreRouter;
  protected readonly key: string;
  protected readonly info: PeerInfo;
  protected readonly sweep: IdleSweep;
  /** IdleWatched: the sweep's bookkeeping */
  seenProgress = 0;
  lastTick = 0;
  idleTicks: number;
  protected attempt: BackendAttempt | null = null;
  protected lease: NodeLease | null = null;
  protected join: Join | null = null;
  /** bytes written to the node outside the join (the PROXY header, XCLIENT) */
  protected sent = 0;
  /** the client ended its side before the join: passed on to the node once joined */
  protected clientEnded = false;

  /** `raw`: the plain socket the client came on (its peer, or the PROXY header it sent). */
  constructor(raw: Socket, key: string, core: CoreRouter, shared: { sweep: IdleSweep; idleTicks: number }) {
    this.core = core;
    this.key = key;
    this.sweep = shared.sweep;
    this.idleTicks = shared.idleTicks;
    this.info = relayPeerInfo(raw);
  }

  abstract get progress(): number;
  abstract onIdle(): void;
  abstract connected(backend: Socket, lease: NodeLease): void;
  abstract gaveUp(code: GiveUpCode, detail: string): void;
  abstract closed(tx: number, rx: number): void;

  /** Connects the node now, with the corerouter's retries and fallbacks. */
  protected startAttempt(): void {
    this.attempt = new BackendAttempt(this.core, this.key, this.info, this, this.sweep);
    this.attempt.start();
  }

  /** One log line (rate-limited per code, connection-log.ts) and one counter. */
  protected note(code: string, why: string): void {
    this.core.count(code);
    // every way a relayed session ends early is a node or routing failure (warn), a client
    // that went away is not logged here
    this.core.connectionLog.about('warn', code, this.info, this.key, this.lease?.address.name ?? '', why);
  }

  protected readonly onClientEnd = (): void => {
    if (this.join) return;
    this.clientEnded = true;
  };

  protected readonly onClientClose = (): void => {
    this.sweep.unwatch(this);
    if (this.join) return;
    this.attempt?.cancel();
    this.attempt = null;
    this.clientLeftBeforeJoin();
  };

  /** The client closed before the join, after the attempt was cancelled. */
  protected clientLeftBeforeJoin(): void {}
}
