/**
 * Freshness and replay checks for sealed cache sync packets (src/protocol/cache-sync-sealed.ts).
 * A packet must be stamped within `maxSkewMs` of this machine's clock, and its (sender,
 * sequence) must not have been accepted before: per sender the highest sequence and a
 * window of the last WINDOW below it are remembered (IPsec's anti-replay window), so UDP
 * reordering within the window is fine and anything older is refused.
 *
 * `check` changes nothing; `accept` records a packet and is called only after the packet
 * opened (authenticated), so forged packets cannot fill or poison the table. Senders are
 * bounded: past `maxSenders` the least recently heard is forgotten (its old packets are then
 * still refused by the timestamp once older than the skew).
 */
import type { SealedHeader } from '../protocol/cache-sync-sealed.ts';

export type ReplayVerdict = 'ok' | 'replay' | 'stale' | 'future';

/** sequence numbers remembered below the highest, per sender */
const WINDOW = 1024;

interface SenderState {
  max: number;
  seen: Uint8Array;
}

export class ReplayGuard {
  private readonly senders = new Map<string, SenderState>();
  private readonly maxSkewMs: number;
  private readonly maxSenders: number;

  constructor(maxSkewMs: number, maxSenders = 4096) {
    this.maxSkewMs = maxSkewMs;
    this.maxSenders = maxSenders;
  }

  check(h: SealedHeader, nowMs: number): ReplayVerdict {
    if (h.timestampMs < nowMs - this.maxSkewMs) return 'stale';
    if (h.timestampMs > nowMs + this.maxSkewMs) return 'future';
    const st = this.senders.get(h.sender);
    if (st === undefined || h.seq > st.max) return 'ok';
    if (h.seq <= st.max - WINDOW) return 'replay';
    const bit = h.seq % WINDOW;
    return (st.seen[bit >> 3] & (1 << (bit & 7))) !== 0 ? 'replay' : 'ok';
  }

  accept(h: SealedHeader): void {
    let st = this.senders.get(h.sender);
    if (st === undefined) {
      if (this.senders.size >= this.maxSenders) {
        const oldest = this.senders.keys().next();
        if (!oldest.done) this.senders.delete(oldest.value);
      }
      st = { max: 0, seen: new Uint8Array(WINDOW / 8) };
    } else {
      // most recently heard last
      this.senders.delete(h.sender);
    }
    this.senders.set(h.sender, st);
    if (h.seq > st.max) {
      if (h.seq - st.max >= WINDOW) st.seen.fill(0);
      else {
        for (let s = st.max + 1; s <= h.seq; s++) {
          const b = s % WINDOW;
          st.seen[b >> 3] &= ~(1 << (b & 7));
        }
      }
      st.max = h.seq;
    }
    const bit = h.seq % WINDOW;
    st.seen[bit >> 3] |= 1 << (bit & 7);
  }

  /** senders remembered (stats, tests) */
  get size(): number {
    return this.senders.size;
  }
}
