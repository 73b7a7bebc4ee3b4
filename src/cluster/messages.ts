/**
 * The IPC messages between the primary and its workers (JSON over the fork channel; listening
 * sockets travel as handles with `socket` messages). A worker's life:
 *   worker: hello → primary: init, socket × N, table snapshots → primary: start →
 *   worker: ready (or failed) → beats every second, reports, stats answers → primary: drain →
 *   the worker finishes its sessions (up to the mercy) and exits 0.
 */
import type { RouterName } from '../config/config.ts';

/** A Config's values by canonical option name, as loaded by the primary. */
export type ConfigEntries = Array<[string, string[]]>;

/** One listening socket of the worker's router (its handle follows in a `socket` message). */
export interface SocketInfo {
  /** the address as configured (what the router's options list) */
  configured: string;
  /** the bound name (getsockname form) */
  name: string;
  fd: number;
  /** a TCP socket shared with other processes (`--reuse-port`): see BoundSocket.sharesPort */
  sharesPort: boolean;
}

export type ToWorker =
  | {
      t: 'init';
      router: RouterName;
      /** 1-based slot within the router's workers (`uWSGI http 2`) */
      slot: number;
      generation: number;
      config: ConfigEntries;
      version: string;
      sockets: SocketInfo[];
      /** the replicated tables this worker will receive (`subscriptions:http`, `cache:routes`) */
      tables: string[];
      /** the log file (`--logto`, `--logto2`, `--daemonize`) passed at fork as this fd, and its path (reopen) */
      logFile: InheritedFile | null;
      /** the `--req-logger file:` file passed at fork as this fd, and its path (reopen) */
      requestLogFile: InheritedFile | null;
      /**
       * certificate and key files the primary read before it dropped privileges, by path: a
       * worker runs as the dropped user and may not be allowed to read them (root-only keys)
       */
      pem: Array<[path: string, text: string]>;
    }
  | { t: 'socket'; index: number }
  | { t: 'table'; table: string; op: 'snapshot' | 'deltas'; items: unknown[] }
  | { t: 'start' }
  | { t: 'drain'; mercyMs: number }
  | { t: 'stats'; id: number }
  | { t: 'reopen-logs'; signal: 'SIGUSR2' | 'SIGHUP' };

/** A file the primary opened and a worker inherits as `fd` (reopened by `path`). */
export interface InheritedFile {
  fd: number;
  path: string;
}

export interface WorkerStatsAnswer {
  t: 'stats';
  id: number;
  /** the router's stats document (subscription sections are the primary's: null here) */
  doc: Record<string, unknown>;
  /** sessions held per subscribed node: table name → [key, node, ref] */
  refs: Record<string, Array<[string, string, number]>>;
  pid: number;
  /** connections this worker accepted since it started (the accept balance) */
  accepted: number;
  /** pools with a subscription certificate in this worker's TLS contexts: table name → keys */
  sni: Record<string, string[]>;
}

export type FromWorker =
  | { t: 'hello' }
  | { t: 'ready' }
  | { t: 'failed'; message: string; config: boolean }
  | { t: 'beat'; sessions: number }
  | { t: 'report'; table: string; items: unknown[] }
  | WorkerStatsAnswer
  | { t: 'draining'; why: string }
  /** send the listening sockets again (cheap mode closed this worker's copies: corerouter.md §7) */
  | { t: 'want-sockets' };

/** a worker's heartbeat period: harakiri judges silences longer than X-harakiri + this */
export const BEAT_MS = 1000;

/** The environment variable that makes `src/cli.ts` run as a worker (set by the primary). */
export const WORKER_ENV = 'UWROUTER_CLUSTER_WORKER';

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}

export function isToWorker(m: unknown): m is ToWorker {
  return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string';
}
