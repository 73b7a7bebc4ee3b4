/** Cache settings for tests: uWSGI's defaults (spec: ssl-sni-sessions.md §6) with overrides. */
import type { CacheSettings } from '../../src/cache/cache.ts';

export function settings(o: Partial<CacheSettings> & { name: string; maxItems: number }): CacheSettings {
  return {
    blocksize: 65536,
    blocks: o.maxItems,
    bitmap: false,
    keysize: 2048,
    hash: 'djb33x',
    hashsize: 65536,
    purgeLru: false,
    lazyExpire: false,
    noExpire: false,
    ignoreFull: false,
    sweepOnFull: 0,
    clearOnFull: false,
    lastModified: false,
    ...o,
  };
}

/** A clock a test moves by hand (epoch seconds). */
export class ManualClock {
  now = 1_800_000_000;
  readonly read = (): number => this.now;
}

/** A logger that keeps the lines (only what the cache calls). */
export function recordingLogger(): { lines: string[]; log: never } {
  const lines: string[] = [];
  const rec = (msg: string) => lines.push(msg);
  const log = { info: rec, warn: rec, error: rec, debug: () => {}, trace: () => {} };
  return { lines, log: log as never };
}
