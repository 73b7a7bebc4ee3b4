/**
 * One router's workers for one configuration (a generation): N processes accepting on the
 * same sockets. A worker that dies is respawned (throttled when it dies young); one whose
 * event loop stops beating for `X-harakiri` seconds is killed and respawned, and so is one
 * that stopped reading while table changes for it pile up in the primary; one that
 * drains on its own (a stop signal sent to it) is replaced at once. On reload or stop the
 * whole group retires: every worker drains within reload-mercy, then exits.
 * spec: corerouter.md §1 (gateways respawned by the master; harakiri)
 */
import type { Logger } from '../logger.ts';
import { BEAT_MS } from './messages.ts';
import { type WorkerEvents, WorkerProcess, type WorkerSpec } from './worker-process.ts';

/** how long a worker may take from fork to ready */
export const START_TIMEOUT_MS = 30_000;
/** after reload-mercy, how long before a worker that has not exited is killed */
const EXIT_GRACE_MS = 5000;
/** a worker that dies younger than this is respawned after a growing pause */
const YOUNG_MS = 2000;
const MAX_RESPAWN_PAUSE_MS = 30_000;
/**
 * Table items a worker may leave unwritten in the primary before a silence kills it (see
 * checkWorkers): a worker that reads its channel drains it between two I/O events, so only one
 * that stopped reading gets there; ≈ 90 MB of queued subscription deltas (≈ 86 bytes of JSON each).
 */
export const UNWRITTEN_ITEMS_LIMIT = 1_000_000;
/** …and a heartbeat silence this long (5 beats missed): a worker that is busy but beats is never killed */
export const UNREAD_SILENCE_MS = 5000;

export class WorkerStartError extends Error {
  readonly config: boolean;
  constructor(message: string, config: boolean) {
    super(message);
    this.config = config;
  }
}

export interface GroupOptions {
  /** everything but the slot */
  spec: Omit<WorkerSpec, 'slot'>;
  count: number;
  /** 0 = no harakiri */
  harakiriMs: number;
  /** a silent worker with more table items than this unwritten is killed (UNWRITTEN_ITEMS_LIMIT) */
  unwrittenLimit: number;
  log: Logger;
  onReport: WorkerEvents['onReport'];
  /** a worker asks for its sockets again (cheap mode re-opens them): see WorkerEvents */
  onWantSockets?: () => void;
  /** false while the primary stops (a worker that drains or dies is not replaced) */
  canRespawn: () => boolean;
}

export class RouterGroup {
  readonly opts: GroupOptions;
  private readonly slots: Array<WorkerProcess | null>;
  /** workers of this group that drain (replaced, or the group retires) */
  private readonly retiring = new Set<WorkerProcess>();
  private retired = false;
  private readonly fastDeaths: number[];
  private readonly respawnTimers = new Set<NodeJS.Timeout>();

  constructor(opts: GroupOptions) {
    this.opts = opts;
    this.slots = Array.from({ length: opts.count }, () => null);
    this.fastDeaths = Array.from({ length: opts.count }, () => 0);
  }

  get router(): string {
    return this.opts.spec.router;
  }

  /** Every live worker: serving ones first, then draining ones. */
  workers(): WorkerProcess[] {
    const out = this.slots.filter((w): w is WorkerProcess => w !== null && w.state !== 'exited');
    for (const w of this.retiring) if (w.state !== 'exited') out.push(w);
    return out;
  }

  /** Forks every worker and waits until all serve; throws WorkerStartError (the others are killed). */
  async start(): Promise<void> {
    const started = this.slots.map((_, i) => this.spawn(i + 1, 'spawned'));
    const results = await Promise.all(
      started.map((w) =>
        Promise.race([
          w.ready,
          new Promise<{ ok: false; message: string; config: boolean }>((resolve) =>
            setTimeout(
              () => resolve({ ok: false, message: 'not ready in 30 s', config: false }),
              START_TIMEOUT_MS,
            ).unref(),
          ),
        ]),
      ),
    );
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) {
      this.retired = true;
      for (const w of started) w.kill();
      await Promise.all(started.map((w) => w.exited()));
      throw new WorkerStartError(failed.message, failed.config);
    }
  }

  private spawn(slot: number, verb: 'spawned' | 'respawned'): WorkerProcess {
    const events: WorkerEvents = {
      onReport: this.opts.onReport,
      onDraining: (w, why) => this.onDraining(w, why),
      onExit: (w, code, signal) => this.onExit(w, code, signal),
      onWantSockets: () => this.opts.onWantSockets?.(),
    };
    const w = new WorkerProcess({ ...this.opts.spec, slot }, events);
    this.slots[slot - 1] = w;
    this.opts.log.info(`${verb} ${w.title} (pid: ${w.pid})`);
    return w;
  }

  private onDraining(w: WorkerProcess, why: string): void {
    const i = this.slots.indexOf(w);
    if (i < 0 || this.retired || !this.opts.canRespawn()) return;
    // it stopped accepting on its own: the slot gets a new worker now, not after its drain
    this.slots[i] = null;
    this.retiring.add(w);
    this.opts.log.info(`${w.title} (pid: ${w.pid}) drains (${why}): starting a replacement`);
    this.spawn(i + 1, 'respawned');
  }

  private onExit(w: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.retiring.delete(w)) return;
    const i = this.slots.indexOf(w);
    if (i < 0 || this.retired) return;
    this.slots[i] = null;
    if (!this.opts.canRespawn()) return;
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    const lost = w.sessions > 0 ? `, ${w.sessions} client connection(s) closed` : '';
    const young = Date.now() - w.startedAt < YOUNG_MS;
    this.fastDeaths[i] = young ? this.fastDeaths[i] + 1 : 0;
    const pause = young ? Math.min(MAX_RESPAWN_PAUSE_MS, 500 * 2 ** this.fastDeaths[i]) : 0;
    this.opts.log.warn(
      `${w.title} (pid: ${w.pid}) died (${how}${lost}): respawning${pause > 0 ? ` in ${pause / 1000} s (it died young)` : ''}`,
    );
    const timer = setTimeout(() => {
      this.respawnTimers.delete(timer);
      if (!this.retired && this.slots[i] === null && this.opts.canRespawn()) this.spawn(i + 1, 'respawned');
    }, pause);
    this.respawnTimers.add(timer);
  }

  /**
   * The primary's judgement once a second (`now` = Date.now()): harakiri, and workers that
   * stopped reading the table changes sent to them.
   */
  checkWorkers(now: number): void {
    this.checkHarakiri(now);
    this.checkUnwritten(now);
  }

  /** Kills (SIGKILL) workers that have not beaten for `harakiriMs`. */
  private checkHarakiri(now: number): void {
    const limit = this.opts.harakiriMs;
    if (limit <= 0 || this.retired) return;
    for (const w of this.slots) {
      // a worker beats every BEAT_MS: its loop may have stopped up to that long after the
      // last beat, so only a silence of limit + BEAT_MS proves it stuck for `limit`
      if (w === null || w.state !== 'ready' || now - w.lastBeat <= limit + BEAT_MS) continue;
      const lost = w.sessions > 0 ? `, closing its ${w.sessions} client connection(s)` : '';
      this.opts.log.error(
        `*** HARAKIRI ON GATEWAY ${w.title} (pid: ${w.pid}): its event loop is stuck for more than ${limit / 1000} s${lost} ***`,
      );
      // the exit handler logs the death and respawns
      w.kill('SIGKILL');
      w.lastBeat = now;
    }
  }

  /**
   * Without harakiri, a worker whose event loop is stuck (or that is stopped) never reads its
   * channel, and every table change sent to it waits in the primary, without bound under
   * subscription churn, until the primary itself is killed and takes every router down. One
   * with more than `unwrittenLimit` items unwritten and no heartbeat for UNREAD_SILENCE_MS is
   * killed (SIGKILL): the exit handler respawns it, and a new worker gets a full snapshot.
   * Draining workers count too (a retired group's are no longer fed, but what waits for them
   * stays until they exit).
   */
  private checkUnwritten(now: number): void {
    for (const w of this.slots) if (w) this.judgeUnwritten(w, now, false);
    for (const w of this.retiring) this.judgeUnwritten(w, now, true);
  }

  private judgeUnwritten(w: WorkerProcess, now: number, draining: boolean): void {
    if (w.state !== 'ready' && w.state !== 'draining') return;
    const silence = now - w.lastBeat;
    if (w.unwrittenItems <= this.opts.unwrittenLimit || silence < UNREAD_SILENCE_MS) return;
    const then = draining
      ? 'it was draining (a replacement serves already)'
      : this.retired || !this.opts.canRespawn()
        ? 'it is not replaced (the router stops)'
        : 'it is respawned from a fresh snapshot';
    this.opts.log.error(
      `${w.title} (pid: ${w.pid}) does not read its channel: ${w.unwrittenItems} table changes wait unwritten in the primary (more than ${this.opts.unwrittenLimit}), no heartbeat for ${Math.floor(silence / 1000)} s: killing it (SIGKILL); ${then}`,
    );
    w.kill('SIGKILL');
    // judged again only if it has not exited a silence later
    w.lastBeat = now;
  }

  /** Every worker drains (up to `mercyMs`); resolves once all have exited. */
  async retire(mercyMs: number): Promise<void> {
    this.retired = true;
    for (const t of this.respawnTimers) clearTimeout(t);
    this.respawnTimers.clear();
    const all = this.workers();
    for (const w of this.slots) if (w) this.retiring.add(w);
    this.slots.fill(null);
    for (const w of all) w.drain(mercyMs);
    const backstop = setTimeout(() => {
      for (const w of all) w.kill();
    }, mercyMs + EXIT_GRACE_MS);
    await Promise.all(all.map((w) => w.exited()));
    clearTimeout(backstop);
  }

  /** SIGKILL every worker now (the second stop signal). */
  killAll(): void {
    this.retired = true;
    for (const t of this.respawnTimers) clearTimeout(t);
    for (const w of this.workers()) w.kill();
  }
}
