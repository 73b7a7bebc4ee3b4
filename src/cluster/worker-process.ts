/**
 * The primary's handle on one worker process: forks it (the same entry script, with
 * WORKER_ENV set), walks it through init → sockets → snapshots → start, and exposes what the
 * primary needs: readiness, heartbeats, reports, stats answers, drain, kill.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RouterName } from '../config/config.ts';
import { DISPLAY_NAME } from '../corerouter/names.ts';
import type { BoundSocket } from './bound-sockets.ts';
import {
  type ConfigEntries,
  type FromWorker,
  type InheritedFile,
  isFromWorker,
  type ToWorker,
  WORKER_ENV,
  type WorkerStatsAnswer,
} from './messages.ts';
import type { ReplicaPeer, TableFeed } from './replication.ts';
import type { InheritedFiles } from './worker-files.ts';

/** src/cli.ts (or dist/cli.js): the worker runs the same entry, which sees WORKER_ENV. */
const ENTRY = fileURLToPath(new URL(`../cli${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** Node options a worker must not inherit: a second inspector on the primary's port, or one that waits. */
function workerExecArgv(): string[] {
  return process.execArgv.filter((a) => !/^--inspect(-brk|-wait|-port)?(=|$)/.test(a) && a !== '--test');
}

export type WorkerState = 'starting' | 'ready' | 'draining' | 'exited';

export interface WorkerSpec {
  router: RouterName;
  slot: number;
  generation: number;
  config: ConfigEntries;
  version: string;
  /** the router's listening sockets, with the address each was configured as */
  sockets: Array<{ configured: string; socket: BoundSocket }>;
  feeds: readonly TableFeed[];
  /** the working directory (`chdir` of the configuration the worker runs) */
  cwd: string;
  /** the files the worker inherits, as open now (asked at each fork: a reopen changes them) */
  inherited: () => InheritedFiles;
  /** certificate files the primary read for this configuration (src/tls/pem-files.ts) */
  pem: Array<[string, string]>;
}

/** The first fd a worker inherits files at (0–2 stdio, 3 the IPC channel). */
const FIRST_INHERITED_FD = 4;

export interface WorkerEvents {
  onReport(w: WorkerProcess, table: string, items: unknown[]): void;
  /** the worker began draining on its own (a signal, or it lost the primary) */
  onDraining(w: WorkerProcess, why: string): void;
  onExit(w: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void;
  /** the worker asks for its sockets again (before they are sent: a released one may be bound again) */
  onWantSockets?(w: WorkerProcess): void;
}

export class WorkerProcess implements ReplicaPeer {
  readonly spec: WorkerSpec;
  readonly child: ChildProcess;
  readonly pid: number;
  state: WorkerState = 'starting';
  /** Date.now() of the last heartbeat (or of readiness) */
  lastBeat = 0;
  /** open sessions at the last heartbeat */
  sessions = 0;
  /**
   * Table items (deltas, snapshot entries) handed to the channel whose message is not written
   * to the pipe yet: they wait in this process (Node queues a channel's writes without bound;
   * it has no public figure for them). A worker that reads its channel keeps this to the
   * message or two being written.
   */
  unwrittenItems = 0;
  readonly startedAt = Date.now();
  /** settles when the worker reports ready (true) or fails/exits first (false + why) */
  readonly ready: Promise<{ ok: true } | { ok: false; message: string; config: boolean }>;
  private settleReady: (r: { ok: true } | { ok: false; message: string; config: boolean }) => void = () => {};
  private readonly events: WorkerEvents;
  private readonly statsWaiters = new Map<number, (a: WorkerStatsAnswer | null) => void>();
  private nextStatsId = 1;
  /** asked for the sockets while one was released: sent when it is bound again */
  private wantsSockets = false;
  /** the inherited files as this worker sees them (its fds) */
  private readonly files: { logFile: InheritedFile | null; requestLogFile: InheritedFile | null };

  constructor(spec: WorkerSpec, events: WorkerEvents) {
    this.spec = spec;
    this.events = events;
    this.ready = new Promise((resolve) => {
      this.settleReady = resolve;
    });
    const inherited = spec.inherited();
    const extra: number[] = [];
    const pass = (f: InheritedFile | null): InheritedFile | null => {
      if (!f) return null;
      extra.push(f.fd);
      return { fd: FIRST_INHERITED_FD + extra.length - 1, path: f.path };
    };
    this.files = { logFile: pass(inherited.logFile), requestLogFile: pass(inherited.requestLogFile) };
    this.child = fork(ENTRY, [], {
      execArgv: workerExecArgv(),
      env: { ...process.env, [WORKER_ENV]: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...extra],
      cwd: spec.cwd,
    });
    this.pid = this.child.pid ?? -1;
    this.child.on('message', (m: unknown) => this.onMessage(m));
    this.child.on('error', () => {
      // a failed send to a dying worker: the exit handler does the rest
    });
    this.child.once('exit', (code, signal) => {
      this.state = 'exited';
      this.settleReady({
        ok: false,
        message: `exited (${signal ?? `code ${code}`}) before it was ready`,
        config: false,
      });
      for (const w of this.statsWaiters.values()) w(null);
      this.statsWaiters.clear();
      for (const f of this.spec.feeds) f.detach(this);
      this.events.onExit(this, code, signal);
    });
  }

  /** `uWSGI http 2` (uWSGI's gateway names; spec: corerouter.md §1) */
  get title(): string {
    return `${DISPLAY_NAME[this.spec.router]} ${this.spec.slot}`;
  }

  send(m: ToWorker, handle?: object): boolean {
    if (!this.child.connected) return false;
    try {
      return this.child.send(m, handle as Parameters<ChildProcess['send']>[1]);
    } catch {
      return false;
    }
  }

  sendTable(table: string, op: 'snapshot' | 'deltas', items: readonly unknown[]): boolean {
    if (!this.child.connected) return false;
    const n = items.length;
    this.unwrittenItems += n;
    // the callback runs once the message is written to the pipe, or with the error that
    // dropped it (the channel closed): one closure per message of up to CHUNK items
    const written = (): void => {
      this.unwrittenItems -= n;
    };
    try {
      this.child.send({ t: 'table', table, op, items: items as unknown[] }, undefined, undefined, written);
    } catch {
      written();
    }
    return true;
  }

  private onMessage(m: unknown): void {
    if (!isFromWorker(m)) return;
    const msg = m as FromWorker;
    switch (msg.t) {
      case 'hello':
        void this.introduce();
        break;
      case 'ready':
        if (this.state === 'starting') this.state = 'ready';
        this.lastBeat = Date.now();
        this.settleReady({ ok: true });
        break;
      case 'failed':
        this.settleReady({ ok: false, message: msg.message, config: msg.config });
        break;
      case 'beat':
        this.lastBeat = Date.now();
        this.sessions = msg.sessions;
        break;
      case 'report':
        this.events.onReport(this, msg.table, msg.items);
        break;
      case 'stats': {
        const w = this.statsWaiters.get(msg.id);
        this.statsWaiters.delete(msg.id);
        w?.(msg);
        break;
      }
      case 'want-sockets':
        this.events.onWantSockets?.(this);
        this.sendSockets();
        break;
      case 'draining':
        if (this.state !== 'exited') this.state = 'draining';
        this.events.onDraining(this, msg.why);
        break;
    }
  }

  /** init, the sockets, the table snapshots, start (the channel keeps them in this order). */
  private async introduce(): Promise<void> {
    const s = this.spec;
    this.send({
      t: 'init',
      router: s.router,
      slot: s.slot,
      generation: s.generation,
      config: s.config,
      version: s.version,
      sockets: s.sockets.map(({ configured, socket }) => ({
        configured,
        name: socket.name,
        fd: socket.fd,
        sharesPort: socket.sharesPort,
      })),
      tables: s.feeds.map((f) => f.name),
      logFile: this.files.logFile,
      requestLogFile: this.files.requestLogFile,
      pem: s.pem,
    });
    this.sendSockets();
    for (const f of s.feeds) await f.attach(this);
    this.send({ t: 'start' });
  }

  /**
   * Each listening socket as a handle (a fresh copy of the fd in the worker each time). A
   * socket the primary released (cheap mode on a shared port) goes once it is bound again
   * (`sendWantedSockets`); a worker starting cheap does not need it before.
   */
  private sendSockets(): void {
    this.spec.sockets.forEach(({ socket }, index) => {
      if (socket.handle) this.send({ t: 'socket', index }, socket.handle);
      else this.wantsSockets = true;
    });
  }

  /** The sockets this worker asked for while one was released, now that they are bound again. */
  sendWantedSockets(): void {
    if (!this.wantsSockets || this.state === 'exited') return;
    this.wantsSockets = false;
    this.sendSockets();
  }

  /** The worker's stats answer, or null when it does not answer within `timeoutMs`. */
  stats(timeoutMs: number): Promise<WorkerStatsAnswer | null> {
    if (this.state === 'exited' || !this.child.connected) return Promise.resolve(null);
    const id = this.nextStatsId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.statsWaiters.delete(id);
        resolve(null);
      }, timeoutMs);
      this.statsWaiters.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      if (!this.send({ t: 'stats', id })) {
        clearTimeout(timer);
        this.statsWaiters.delete(id);
        resolve(null);
      }
    });
  }

  /** Stop accepting and finish (the worker exits by itself, within `mercyMs`). */
  drain(mercyMs: number): void {
    if (this.state === 'exited') return;
    this.state = 'draining';
    for (const f of this.spec.feeds) f.detach(this);
    if (!this.send({ t: 'drain', mercyMs })) this.kill();
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.state === 'exited') return;
    try {
      this.child.kill(signal);
    } catch {
      // gone already
    }
  }

  /** Resolves when the process has exited. */
  exited(): Promise<void> {
    if (this.state === 'exited') return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', () => resolve()));
  }
}
