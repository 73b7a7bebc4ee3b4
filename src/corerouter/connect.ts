/**
 * Backend connect with uWSGI's retry and fallback rules (spec: corerouter.md §5):
 * a failed connect (refused, error, timeout) is logged, the node is marked failed through
 * its lease, then up to `maxRetries` more attempts go to the fallback list in order, or
 * (without fallbacks) to whatever the mapper picks next for the same key.
 * Errors after a connection is established are not retried.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { ConnectionLog } from '../connection-log.ts';
import { connectionLogFields, type Logger } from '../logger.ts';
import type { IdleSweep, IdleWatched } from './idle-sweep.ts';
import type { OutgoingEndpoints } from './outgoing-endpoints.ts';
import type { BackendAddress, ClientInfo, KeyMapper, NodeLease } from './types.ts';

export interface RouteContext {
  readonly mapper: KeyMapper | null;
  readonly fallbacks: readonly BackendAddress[];
  readonly fallbackOnNoKey: boolean;
  readonly maxRetries: number;
  readonly connectTimeoutMs: number;
  readonly quiet: boolean;
  readonly log: Logger;
  /** the router's rate-limited per-connection lines (without it: `log`, unlimited) */
  readonly connectionLog?: ConnectionLog;
  /** `uwsgi-fastrouter`, `uwsgi-http`, … (log prefix, spec: corerouter.md §9) */
  readonly logPrefix: string;
  /** adds one to a stats counter (by error code or outcome name) */
  count(code: string): void;
  /** the router's open node connections, for self-connection checks (loops) */
  readonly outgoing?: OutgoingEndpoints;
}

export type GiveUpCode = 'UWR_ERR_NO_NODE' | 'UWR_ERR_CONNECT' | 'UWR_ERR_CONNECT_TIMEOUT';

export interface ConnectCallbacks {
  connected(backend: Socket, lease: NodeLease, attempt: BackendAttempt): void;
  gaveUp(code: GiveUpCode, detail: string, attempt: BackendAttempt): void;
  /**
   * An already-open connection to `lease.address` to use instead of connecting (the HTTP
   * router's keep-alive pool of HTTP nodes); null = connect as usual.
   */
  reuse?(lease: NodeLease): Socket | null;
}

/** strerror(3) texts for the errors a connect sees, as uWSGI prints them. */
const STRERROR: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  ECONNRESET: 'Connection reset by peer',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENOTSOCK: 'Socket operation on non-socket',
  EAGAIN: 'Resource temporarily unavailable',
  EMFILE: 'Too many open files',
  ENOTFOUND: 'Name or service not known',
  EAI_AGAIN: 'Temporary failure in name resolution',
};

export function describeError(err: NodeJS.ErrnoException): string {
  return (err.code && STRERROR[err.code]) || err.code || err.message;
}

const noop = (): void => {};

function fallbackLease(address: BackendAddress): NodeLease {
  return { address, modifier1: 0, modifier2: 0, connected: noop, failed: noop, release: noop };
}

function openSocket(address: BackendAddress): Socket {
  return address.kind === 'tcp'
    ? netConnect({ host: address.host, port: address.port, noDelay: true, allowHalfOpen: true })
    : netConnect({ path: address.path, allowHalfOpen: true });
}

/**
 * One request's way to a backend; `cancel()` when the client goes away first.
 * The connect timeout is a timer on the connecting socket, or, when the router passes its
 * `IdleSweep`, a tick count on that shared timer (no timer object per attempt).
 */
export class BackendAttempt implements IdleWatched {
  readonly key: string;
  readonly client: ClientInfo;
  retries = 0;
  /** IdleWatched: a connecting socket moves no bytes; the sweep counts its ticks */
  readonly progress = 0;
  seenProgress = 0;
  lastTick = 0;
  idleTicks = 0;
  private readonly sweep: IdleSweep | null;
  private readonly ctx: RouteContext;
  private readonly cb: ConnectCallbacks;
  private socket: Socket | null = null;
  private lease: NodeLease | null = null;
  private done = false;

  constructor(
    ctx: RouteContext,
    key: string,
    client: ClientInfo,
    cb: ConnectCallbacks,
    sweep: IdleSweep | null = null,
  ) {
    this.ctx = ctx;
    this.key = key;
    this.client = client;
    this.cb = cb;
    this.sweep = ctx.connectTimeoutMs > 0 ? sweep : null;
    if (this.sweep) this.idleTicks = this.sweep.ticksFor(ctx.connectTimeoutMs);
  }

  start(): void {
    const lease = this.ctx.mapper ? this.ctx.mapper.pick(this.key, this.client) : null;
    if (lease) {
      this.open(lease);
      return;
    }
    // spec: fallback-on-no-key treats an unmapped key as a failed first attempt
    if (this.ctx.fallbackOnNoKey && this.ctx.fallbacks.length > 0) {
      this.retry();
      return;
    }
    this.giveUp('UWR_ERR_NO_NODE', `no node for key "${this.key}"`);
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.sweep?.unwatch(this);
    if (this.socket) {
      this.socket.destroy();
      this.socket = null;
    }
    // the node was not at fault: release without marking it
    this.lease?.release(0, 0);
    this.lease = null;
  }

  private open(lease: NodeLease): void {
    const pooled = this.cb.reuse ? this.cb.reuse(lease) : null;
    if (pooled) {
      this.done = true;
      lease.connected();
      this.cb.connected(pooled, lease, this);
      return;
    }
    this.lease = lease;
    const s = openSocket(lease.address);
    this.socket = s;
    // `on`, not `once` (no wrapper per listener): every way out of the attempt detaches them
    s.on('connect', this.onConnect);
    s.on('error', this.onError);
    if (this.sweep) {
      this.sweep.watch(this);
    } else {
      s.setTimeout(this.ctx.connectTimeoutMs);
      s.on('timeout', this.onTimeout);
    }
  }

  private detach(s: Socket): void {
    s.removeListener('connect', this.onConnect);
    s.removeListener('error', this.onError);
    if (this.sweep) {
      this.sweep.unwatch(this);
    } else {
      s.removeListener('timeout', this.onTimeout);
      s.setTimeout(0);
    }
  }

  /** IdleWatched: the connect took longer than the connect timeout. */
  onIdle(): void {
    this.onTimeout();
  }

  private readonly onConnect = (): void => {
    const s = this.socket!;
    const lease = this.lease!;
    this.detach(s);
    this.done = true;
    this.socket = null;
    this.lease = null;
    // recorded before anything is written: the accepting side checks at the first byte
    if (lease.address.kind === 'tcp') this.ctx.outgoing?.add(s, lease.address.port);
    lease.connected();
    this.cb.connected(s, lease, this);
  };

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    this.failAttempt(describeError(err), 'UWR_ERR_CONNECT');
  };

  private readonly onTimeout = (): void => {
    this.failAttempt('timeout', 'UWR_ERR_CONNECT_TIMEOUT');
  };

  private failAttempt(reason: string, code: GiveUpCode): void {
    if (this.done) return;
    const s = this.socket!;
    const lease = this.lease!;
    this.detach(s);
    s.on('error', noop);
    s.destroy();
    this.socket = null;
    this.lease = null;
    if (!this.ctx.quiet) {
      const node = lease.address.name;
      const msg = `[${this.ctx.logPrefix}] unable to connect() to node "${node}" (${this.retries} retries): ${reason}`;
      const out = this.ctx.connectionLog;
      if (out) out.line('warn', code, this.client, this.key, node, msg);
      else this.ctx.log.warn(connectionLogFields(code, this.client, this.key, node), msg);
    }
    // per-attempt count; the request's outcome is counted once by the router at give-up
    this.ctx.count('node_connect_failures');
    lease.failed(reason);
    lease.release(0, 0);
    if (this.retries >= this.ctx.maxRetries || !this.retry()) {
      this.giveUp(code, `cannot connect to "${lease.address.name}" for key "${this.key}": ${reason}`);
    }
  }

  /** Next attempt per spec §5 step 3; false when there is nothing left to try. */
  private retry(): boolean {
    this.retries++;
    if (this.ctx.fallbacks.length > 0) {
      const fb = this.ctx.fallbacks[this.retries - 1];
      if (!fb) return false;
      this.open(fallbackLease(fb));
      return true;
    }
    const lease = this.ctx.mapper ? this.ctx.mapper.pick(this.key, this.client) : null;
    if (!lease) return false;
    this.open(lease);
    return true;
  }

  private giveUp(code: GiveUpCode, detail: string): void {
    if (this.done) return;
    this.done = true;
    this.cb.gaveUp(code, detail, this);
  }
}
