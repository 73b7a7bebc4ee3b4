/**
 * A raw session's join of client and node (spec: http-router.md §6: `http-raw-body`,
 * SOURCE, modifier1 123, and a websocket after the node's 101): bytes both ways until
 * either side ends, the node's lease released with the bytes moved, `http-timeout` as the
 * tunnel's inactivity limit (spec §10).
 */
import type { Socket } from 'node:net';
import { Join } from '../corerouter/join.ts';
import type { NodeLease } from '../corerouter/types.ts';
import type { ExchangeOwner } from './exchange-owner.ts';

/** Joins the sockets; `tx`/`rx` = bytes already moved from/to the node before the join. */
export function joinTunnel(
  o: ExchangeOwner,
  backend: Socket,
  lease: NodeLease,
  tx: number,
  rx: number,
): void {
  const stats = o.shared.stats;
  const websocket = o.websocket;
  if (websocket) stats.websockets++;
  const join = new Join(o.client, backend, {
    closed: (jtx, jrx) => {
      if (websocket) stats.websockets--;
      lease.release(jtx + tx, jrx + rx);
    },
  });
  backend.setTimeout(o.shared.settings.timeoutMs);
  backend.on('timeout', () => {
    o.note('info', 'UWR_ERR_TIMEOUT', 'tunnel idle past http-timeout: closing');
    join.destroy();
  });
}
