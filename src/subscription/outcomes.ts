/**
 * What the receiver does with a datagram, and the counters shown in stats under
 * `subscription_packets` (a uwrouter extension, spec: corerouter.md §8).
 */
import type { SubscriptionPacket } from '../protocol/subscription.ts';

export type RejectReason =
  | 'bad-packet'
  | 'no-key'
  | 'bad-address'
  | 'key-too-long'
  | 'unsigned'
  | 'no-public-key'
  | 'bad-signature'
  | 'replay'
  | 'too-old'
  | 'too-new'
  | 'self'
  | 'too-many-keys'
  | 'too-many-nodes';

export const REJECT_REASONS: readonly RejectReason[] = [
  'bad-packet',
  'no-key',
  'bad-address',
  'key-too-long',
  'unsigned',
  'no-public-key',
  'bad-signature',
  'replay',
  'too-old',
  'too-new',
  // beyond uWSGI: a node at one of this process's own listeners; the key and pool bounds
  'self',
  'too-many-keys',
  'too-many-nodes',
];

export type AcceptResult = 'new-pool' | 'new-node' | 'refresh' | 'unsubscribe' | 'unknown-node';

export type DatagramOutcome =
  | { ok: true; result: AcceptResult; packet: SubscriptionPacket }
  | { ok: false; reason: RejectReason; packet: SubscriptionPacket | null };

export interface SubscriptionCounters {
  datagrams: number;
  accepted: Record<AcceptResult, number>;
  rejected: Record<RejectReason, number>;
}

export function newCounters(): SubscriptionCounters {
  const rejected = {} as Record<RejectReason, number>;
  for (const k of REJECT_REASONS) rejected[k] = 0;
  return {
    datagrams: 0,
    accepted: { 'new-pool': 0, 'new-node': 0, refresh: 0, unsubscribe: 0, 'unknown-node': 0 },
    rejected,
  };
}
