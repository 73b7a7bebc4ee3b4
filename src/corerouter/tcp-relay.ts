/**
 * What the relaying routers (rawrouter, sslrouter, fastrouter) do alike around a node
 * connection: who the client is when a trusted peer sent a PROXY header, the PROXY header
 * they send on to the node, and the node that connected after its client had already left.
 */
import type { Socket } from 'node:net';
import {
  encodeProxyV1,
  encodeProxyV2,
  type ProxyEndpoints,
  type ProxyTlv,
  proxiedSource,
} from '../protocol/proxy-protocol.ts';
import { PeerInfo } from './peer-info.ts';
import { receivedProxyHeader } from './proxy-intake.ts';
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
