/**
 * WebSocket upgrade detection for `http-websockets` (spec: http-router.md §6): at least
 * two of {`Upgrade: websocket`, `Connection: Upgrade`, a `Sec-WebSocket-Version` header}
 * plus a `Sec-WebSocket-Key` header. Values are compared case-insensitively but as whole
 * values, like uWSGI: `Connection: keep-alive, Upgrade` does not count (yet Upgrade +
 * Version is enough, which is what browsers send anyway). The node does the handshake.
 *
 * Unlike uWSGI, which turns such a request into a raw tunnel at once, the router holds
 * it as an ordinary request until the node's head says 101 (node-exchange.ts): a refused
 * upgrade is a normal answer and what the client sent after it is parsed as the next
 * request, never passed through. An HTTP/1.0 request is never an upgrade (RFC 9110 §7.8:
 * its Upgrade is ignored).
 */
import type { HttpHeaderField } from '../protocol/http-request-head.ts';

function eqIgnoreCase(a: string, lower: string): boolean {
  return a.length === lower.length && a.toLowerCase() === lower;
}

export function isWebSocketUpgrade(headers: readonly HttpHeaderField[]): boolean {
  let upgrade = false;
  let connection = false;
  let version = false;
  let key = false;
  for (let i = 0; i < headers.length; i++) {
    const { name, value } = headers[i];
    switch (name.length) {
      case 7:
        if (eqIgnoreCase(name, 'upgrade') && eqIgnoreCase(value, 'websocket')) upgrade = true;
        break;
      case 10:
        if (eqIgnoreCase(name, 'connection') && eqIgnoreCase(value, 'upgrade')) connection = true;
        break;
      case 17:
        if (eqIgnoreCase(name, 'sec-websocket-key')) key = true;
        break;
      case 21:
        if (eqIgnoreCase(name, 'sec-websocket-version')) version = true;
        break;
    }
  }
  const score = (upgrade ? 1 : 0) + (connection ? 1 : 0) + (version ? 1 : 0);
  return key && score >= 2;
}
