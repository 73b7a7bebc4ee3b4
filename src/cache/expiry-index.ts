/**
 * Keys by expiry second, so the sweeper visits only what is due instead of scanning every
 * item (uWSGI scans all slots every `cache-expire-freq` seconds once anything is due).
 * Buckets are visited by iterating the map: their number is the number of distinct future
 * expiry seconds, small next to the items, and a clock that jumps forward still finds them.
 */
export class ExpiryIndex {
  private readonly buckets = new Map<number, Set<string>>();

  add(key: string, expires: number): void {
    let b = this.buckets.get(expires);
    if (b === undefined) {
      b = new Set();
      this.buckets.set(expires, b);
    }
    b.add(key);
  }

  remove(key: string, expires: number): void {
    const b = this.buckets.get(expires);
    if (b === undefined) return;
    b.delete(key);
    if (b.size === 0) this.buckets.delete(expires);
  }

  /** `from` or `to` 0 = not indexed (never expires). */
  move(key: string, from: number, to: number): void {
    if (from !== 0) this.remove(key, from);
    if (to !== 0) this.add(key, to);
  }

  /** Removes and returns the keys whose expiry is ≤ now. */
  takeDue(now: number): string[] {
    const due: string[] = [];
    for (const [second, keys] of this.buckets) {
      if (second > now) continue;
      for (const k of keys) due.push(k);
      this.buckets.delete(second);
    }
    return due;
  }

  clear(): void {
    this.buckets.clear();
  }

  /** Indexed keys (tests). */
  get size(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.size;
    return n;
  }
}
