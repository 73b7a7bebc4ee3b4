/**
 * What a connected node gets first for one request: the uwsgi packet (spec: http-router.md
 * §2) for a uwsgi node, an HTTP/1.1 head with X-Forwarded-* (forward-head.ts) for an HTTP
 * node; in raw modes (§6: `http-raw-body`, SOURCE, modifier1 123) those bytes start a
 * tunnel instead. Side-effect free: node-exchange.ts sends what this decides.
 */
import type { NodeLease } from '../corerouter/types.ts';
import type { RouterErrorStatus } from './error-response.ts';
import type { ExchangeOwner } from './exchange-owner.ts';
import { buildForwardHead, forwardFraming } from './forward-head.ts';
import { buildRequestPacket, resolveModifiers } from './request-vars.ts';

export type NodeRequest =
  /** the request cannot go to this node: answer `status` */
  | { kind: 'refuse'; status: RouterErrorStatus; code: string; why: string }
  /** a raw session: `first` goes to the node, then the sockets are joined */
  | { kind: 'tunnel'; first: Buffer }
  /**
   * `first`, then a body of `bodyLength` bytes (-1: chunked until its end); `varsBytes`:
   * the uwsgi vars block size (0 for an HTTP node), which a node's buffer-size may refuse
   */
  | { kind: 'send'; first: Buffer; bodyLength: number; httpNode: boolean; varsBytes: number };

export function nodeRequest(o: ExchangeOwner, lease: NodeLease): NodeRequest {
  return lease.address.proto === 'http' ? forHttpNode(o) : forUwsgiNode(o, lease);
}

function forUwsgiNode(o: ExchangeOwner, lease: NodeLease): NodeRequest {
  const s = o.shared.settings;
  const head = o.head!;
  const mods = resolveModifiers(lease.modifier1, lease.modifier2, s.modifier1, s.modifier2);
  const r = buildRequestPacket(head, {
    serverName: s.hostname,
    serverPort: o.serverPort,
    https: o.https !== null,
    tlsVars: o.https?.vars,
    remoteAddr: o.info.address,
    remotePort: o.info.port,
    serverNameAsHttpHost: s.serverNameAsHttpHost,
    extraVars: s.extraVars,
    modifier1: mods.modifier1,
    modifier2: mods.modifier2,
  });
  if (!r.ok)
    return {
      kind: 'refuse',
      status: 431,
      code: r.code,
      why: `uwsgi vars of ${r.size} bytes exceed ${r.limit}`,
    };
  // spec §2: modifier1 123 turns the session raw
  if (o.raw || mods.raw) return { kind: 'tunnel', first: r.packet };
  // spec §5: exactly Content-Length bytes; `http-chunked-input` streams the chunked body
  // still chunked (until its end); a chunked body without it was stored and has a length
  const length = head.contentLength >= 0 ? head.contentLength : head.chunked ? -1 : 0;
  return {
    kind: 'send',
    first: r.packet,
    bodyLength: length,
    httpNode: false,
    varsBytes: r.packet.length - 4,
  };
}

function forHttpNode(o: ExchangeOwner): NodeRequest {
  const s = o.shared.settings;
  const head = o.head!;
  const peer = (o.https?.raw ?? o.client).remoteAddress ?? '';
  // the body framing the router declares and forwards (forward-head.ts)
  const framing = forwardFraming(head);
  const input = {
    clientAddress: o.info.address,
    https: o.https !== null,
    trusted: s.trusted.size > 0 && s.trusted.has(peer),
    websocket: o.websocket,
    via: o.shared.viaToken,
  };
  if (o.raw) return { kind: 'tunnel', first: buildForwardHead(head, framing.ok ? framing.length : 0, input) };
  if (!framing.ok) return { kind: 'refuse', status: framing.status, code: framing.code, why: framing.why };
  const first = buildForwardHead(head, framing.length, input);
  return { kind: 'send', first, bodyLength: framing.length, httpNode: true, varsBytes: 0 };
}
