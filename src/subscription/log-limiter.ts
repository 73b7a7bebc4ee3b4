/**
 * At most one log line per (key, reason) per interval, with a bounded memory: a flood of
 * bad packets with random keys cannot grow the map past `maxEntries` (oldest dropped), and
 * a global cap of `maxPerSecond` lines keeps such a flood from filling the log anyway.
 */
export class LogLimiter {
  private readonly last = new Map<string, number>();
  private readonly interval: number;
  private readonly maxEntries: number;
  /** lines suppressed since start */
  suppressed = 0;

  private readonly maxPerSecond: number;
  private second = -1;
  private inSecond = 0;

  constructor(intervalSeconds = 60, maxEntries = 4096, maxPerSecond = 20) {
    this.interval = intervalSeconds;
    this.maxEntries = maxEntries;
    this.maxPerSecond = maxPerSecond;
  }

  allow(key: string, reason: string, now: number): boolean {
    if (now !== this.second) {
      this.second = now;
      this.inSecond = 0;
    }
    if (this.inSecond >= this.maxPerSecond) {
      this.suppressed++;
      return false;
    }
    const id = `${reason}\0${key.length > 300 ? key.slice(0, 300) : key}`;
    const at = this.last.get(id);
    if (at !== undefined && now - at < this.interval) {
      this.suppressed++;
      return false;
    }
    if (at !== undefined) this.last.delete(id);
    else if (this.last.size >= this.maxEntries) {
      const oldest = this.last.keys().next();
      if (!oldest.done) this.last.delete(oldest.value);
    }
    this.last.set(id, now);
    this.inSecond++;
    return true;
  }
}

/** Untrusted bytes in log lines: control and non-ASCII bytes as `\xNN`. */
export function printable(s: string): string {
  return /[\x00-\x1f\x7f-\xff]/.test(s)
    ? s.replace(/[\x00-\x1f\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    : s;
}
