/**
 * Replay / freshness rules for signed packets (spec: subscription.md §4).
 *
 * uWSGI checks only `unix ≥ now − tolerance` for new nodes and `unix > creation unix` for
 * refreshes, and nothing for unsubscribes, so a captured subscribe re-adds its node after
 * the node's own unsubscribe, a captured unsubscribe can be replayed, and a subscribe with
 * byte 3 flipped (the header is not signed, spec README item 4) is an accepted unsubscribe.
 *
 * Here every accepted signed packet is remembered per key + node address, for the whole
 * tolerance window and also after the node left, on two timelines:
 * - a subscribe must be strictly newer than the last accepted subscribe, and not older
 *   than the last accepted unsubscribe − 1;
 * - an unsubscribe must be strictly newer than both.
 * A real node sends `unix = now` in announces (≥ 1 s apart) and `now + 1` in its unsubscribe
 * (§4), so it always passes: its unsubscribe is newer than its last announce, and a node
 * restarted right after stopping announces `now ≥ its unsubscribe's unix − 1` (observed with
 * uWSGI 2.0.21: unsubscribe unix=T+1, the restarted node's first announce unix=T+1). No signed
 * packet is ever accepted twice (both timelines are strict for their own command), and a
 * flipped subscribe carries the unix of an announce already accepted, so it is not newer.
 *
 * Beyond uWSGI also: a `unix` older than `now − tolerance` or more than `tolerance` in the
 * future is refused for every command (real nodes send now or now + 1). That is what makes
 * forgetting a record safe once both its timestamps are older than the window.
 */
export type ReplayVerdict = 'replay' | 'too-old' | 'too-new' | null;

/** The last accepted signed timestamps of one key + node. */
interface SignedRecord {
  sub: number;
  unsub: number;
}

const NONE = Number.NEGATIVE_INFINITY;

export interface SignedHistoryOptions {
  /** `subscriptions-sign-check-tolerance` seconds */
  tolerance: number;
  /** bound on remembered key + node pairs; default 65536 */
  maxEntries?: number;
}

/**
 * Bounded memory of accepted signed timestamps. Records expire once both timestamps are
 * older than the tolerance (a replay of them is then `too-old` anyway). When the bound is
 * reached the least recently updated record is forgotten and its newest timestamp raises a
 * floor that every pair without a record must exceed, so forgetting never re-opens a
 * replay (a real node's next packet carries `now`, far above that floor).
 */
export class SignedHistory {
  private readonly records = new Map<string, SignedRecord>();
  private readonly tolerance: number;
  private readonly maxEntries: number;
  /** the newest timestamp of any record forgotten before it expired */
  private floor = NONE;

  constructor(opts: SignedHistoryOptions) {
    this.tolerance = opts.tolerance;
    this.maxEntries = Math.max(1, opts.maxEntries ?? 65536);
  }

  get size(): number {
    return this.records.size;
  }

  private window(unix: number, now: number): ReplayVerdict {
    if (unix < now - this.tolerance) return 'too-old';
    if (unix > now + this.tolerance) return 'too-new';
    return null;
  }

  /** `id` = key + NUL + node address. */
  checkSubscribe(id: string, unix: number, now: number): ReplayVerdict {
    const w = this.window(unix, now);
    if (w) return w;
    const r = this.records.get(id);
    if (r === undefined) return unix <= this.floor ? 'replay' : null;
    return unix <= r.sub || unix < r.unsub - 1 ? 'replay' : null;
  }

  checkUnsubscribe(id: string, unix: number, now: number): ReplayVerdict {
    const w = this.window(unix, now);
    if (w) return w;
    const r = this.records.get(id);
    if (r === undefined) return unix <= this.floor ? 'replay' : null;
    return unix <= r.sub || unix <= r.unsub ? 'replay' : null;
  }

  /** Call only after the packet passed its check and its signature verified. */
  acceptSubscribe(id: string, unix: number, now: number): void {
    this.update(id, now).sub = unix;
  }

  acceptUnsubscribe(id: string, unix: number, now: number): void {
    this.update(id, now).unsub = unix;
  }

  private update(id: string, now: number): SignedRecord {
    let r = this.records.get(id);
    if (r !== undefined) {
      // re-insert: the Map's order stays "least recently updated first"
      this.records.delete(id);
    } else {
      this.expire(now);
      if (this.records.size >= this.maxEntries) this.forgetOldest();
      r = { sub: NONE, unsub: NONE };
    }
    this.records.set(id, r);
    return r;
  }

  private forgetOldest(): void {
    const oldest = this.records.entries().next();
    if (oldest.done) return;
    const [id, r] = oldest.value;
    this.records.delete(id);
    this.floor = Math.max(this.floor, r.sub, r.unsub);
  }

  /**
   * Drops records whose timestamps both fell out of the window, from the least recently
   * updated end (announces arrive in time order, so that end is the oldest; a record out of
   * order waits behind a newer one, within the bound).
   */
  expire(now: number): void {
    const limit = now - this.tolerance;
    for (const [id, r] of this.records) {
      if (r.sub >= limit || r.unsub >= limit) break;
      this.records.delete(id);
    }
    if (this.floor < limit) this.floor = NONE;
  }
}
