/**
 * An HTTP request's line in the request log (src/request-log.ts): begun from its head (or
 * for a head refused before it was whole), ended with what the node's answer did when a
 * node was connected for it — the status as far as it went out, the time to its first
 * byte, the body bytes sent — and the bytes the client got.
 */
import type { Socket } from 'node:net';
import type { PeerInfo } from '../corerouter/peer-info.ts';
import type { ClientInfo } from '../corerouter/types.ts';
import type { HttpRequestHead } from '../protocol/http-request-head.ts';
import type { RequestLine } from '../request-line.ts';
import type { NodeExchange } from './node-exchange.ts';

export function beginHttpLine(
  line: RequestLine,
  head: HttpRequestHead | null,
  client: Socket,
  info: PeerInfo,
): void {
  // the line may be written after the socket closed, when its peer can no longer be read
  info.keep();
  if (head === null) line.begin('-', '-', '-', 0, 0, client.bytesWritten);
  else
    line.begin(head.method, head.uri, head.protocol, head.headers.length, head.headSize, client.bytesWritten);
}

/** `status` 0: the node's, as far as its answer went out (0 if none did). */
export function endHttpLine(
  line: RequestLine,
  client: Socket,
  info: ClientInfo,
  key: string,
  status: number,
  code: string,
  exchange: NodeExchange | null,
): void {
  if (!line.active) return;
  // the exchange is the connection's, reused: it speaks for this request once connected
  const x = line.node !== '' ? exchange : null;
  if (x !== null) line.firstByte(x.relay.firstByteAt);
  const sent = (client.bytesWritten ?? line.mark) - line.mark;
  line.end(info, key, status !== 0 ? status : (x?.relay.status ?? 0), code, sent, x?.bodyBytes ?? 0);
}
