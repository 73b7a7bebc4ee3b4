/**
 * Inactivity timeouts for many connections with one coarse timer (spec: corerouter.md §4:
 * "each connection has an inactivity timer"; uWSGI's own timers are second-granular).
 * A per-socket `setTimeout` costs a timer object per socket and a re-arm on every read and
 * write; here the hot path does nothing at all: a watched session exposes a progress
 * figure it keeps anyway (bytes read so far), and the sweep, every `intervalMs`, notes which
 * sessions moved since the last tick and ends those idle for at least their timeout.
 * A timeout fires between `timeoutMs` and `timeoutMs + intervalMs` after the last activity.
 */
import { Roster } from './roster.ts';

export interface IdleWatched {
  /** changes whenever the session moves bytes (bytes read from either side so far) */
  readonly progress: number;
  /** the sweep's bookkeeping: progress at the last tick and the tick it last changed */
  seenProgress: number;
  lastTick: number;
  /** idle this many ticks or more → `onIdle` (from `IdleSweep.ticksFor`) */
  idleTicks: number;
  /** called once from the sweep (already unwatched); the session ends itself */
  onIdle(): void;
}

export class IdleSweep {
  /** advances by one every `intervalMs` while something is watched */
  tick = 0;
  readonly intervalMs: number;
  private readonly watched = new Roster<IdleWatched>();
  private timer: NodeJS.Timeout | null = null;

  constructor(intervalMs = 1000) {
    this.intervalMs = intervalMs;
  }

  /** A sweep interval for timeouts of `timeoutMs`: 1 s, finer only for sub-second timeouts. */
  static intervalFor(timeoutMs: number): number {
    if (timeoutMs <= 0) return 1000;
    return Math.min(1000, Math.max(10, Math.floor(timeoutMs / 2)));
  }

  /** Ticks that guarantee at least `timeoutMs` of silence before `onIdle`. */
  ticksFor(timeoutMs: number): number {
    return Math.ceil(timeoutMs / this.intervalMs) + 1;
  }

  get size(): number {
    return this.watched.size;
  }

  watch(w: IdleWatched): void {
    w.seenProgress = w.progress;
    w.lastTick = this.tick;
    this.watched.add(w);
    if (this.timer === null) {
      this.timer = setInterval(this.sweep, this.intervalMs);
      this.timer.unref();
    }
  }

  unwatch(w: IdleWatched): void {
    this.watched.delete(w);
  }

  private readonly sweep = (): void => {
    const now = ++this.tick;
    const watched = this.watched;
    // from the end: a deletion moves the last member (already seen) into the freed slot, and
    // members watched meanwhile (a retry's next attempt) wait for the next tick
    for (let i = watched.size - 1; i >= 0; i--) {
      const w = watched.at(i);
      if (w === undefined) continue;
      const p = w.progress;
      if (p !== w.seenProgress) {
        w.seenProgress = p;
        w.lastTick = now;
      } else if (now - w.lastTick >= w.idleTicks) {
        this.watched.delete(w);
        w.onIdle();
      }
    }
    if (this.watched.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  };
}
