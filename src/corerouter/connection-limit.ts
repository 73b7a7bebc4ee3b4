/**
 * `--X-max-connections N`: at most N open client connections per router (across its
 * listeners; cheap-mode clients waiting for a node count too). uWSGI's routers have no such
 * bound (they accept until the fds run out); the name follows nginx's `worker_connections`
 * / HAProxy's `maxconn` idea in uWSGI's option style. Each process counts its own.
 *
 * A connection over the limit is refused politely and cheaply: counted as
 * `UWR_ERR_MAX_CONNECTIONS`; routers with a reply (the HTTP router: a short 503 with
 * `Connection: close`) write it, half-close, and discard what the client still sends for at
 * most LINGER_MS, so the client reads the reply instead of a reset (nginx's lingering close);
 * the others are closed at once. At most MAX_LINGERING refused sockets linger at a time,
 * past that they are written to and closed at once. Logging is one line when refusals
 * start, then at most one summary line a second while they go on.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../logger.ts';

export const MAX_CONNECTIONS_CODE = 'UWR_ERR_MAX_CONNECTIONS';
/** how long a refused client may keep its connection open to read the reply */
export const LINGER_MS = 1000;
/** refused sockets lingering at once */
export const MAX_LINGERING = 256;
const LOG_INTERVAL_MS = 1000;

function ignore(): void {}

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/** `this` is the refused socket: no closure per refusal */
function destroyThis(this: Socket): void {
  this.destroy();
}

export interface ConnectionLimitOptions {
  /** 0 = no limit */
  max: number;
  /** bytes written to a refused client (HTTP: a 503), or undefined to just close */
  reply?: Buffer;
  /** `--http-max-connections`, for log lines */
  option: string;
  /** `uwsgi-http`, for log lines */
  logPrefix: string;
  log: Logger;
  count: (code: string) => void;
}

export class ConnectionLimit {
  readonly max: number;
  private readonly opts: ConnectionLimitOptions;
  private lingering = 0;
  private refusedSinceLine = 0;
  private logTimer: NodeJS.Timeout | null = null;
  private readonly forgetLingering = (): void => {
    this.lingering--;
  };

  constructor(opts: ConnectionLimitOptions) {
    this.max = opts.max;
    this.opts = opts;
  }

  /** May one more client connection be served while `open` are? */
  admits(open: number): boolean {
    return this.max === 0 || open < this.max;
  }

  /**
   * Refuse `socket` (over the limit): reply if the router has one and `withReply` (a TLS
   * listener's client must not get plaintext), close, count, log.
   */
  refuse(socket: Socket, open: number, withReply = true): void {
    this.opts.count(MAX_CONNECTIONS_CODE);
    this.noteRefusal(open);
    socket.on('error', ignore);
    const reply = withReply ? this.opts.reply : undefined;
    if (!reply) {
      socket.destroy();
      return;
    }
    if (this.lingering >= MAX_LINGERING) {
      socket.write(reply);
      socket.destroySoon();
      return;
    }
    this.lingering++;
    socket.once('close', this.forgetLingering);
    socket.end(reply);
    // read and drop what the client still sends, so our close is a FIN, not a reset that
    // could discard the reply before the client reads it; its FIN or the deadline ends it
    socket.on('data', ignore);
    socket.once('end', destroyThis);
    setTimeout(destroySocket, LINGER_MS, socket).unref();
  }

  private noteRefusal(open: number): void {
    if (this.logTimer) {
      this.refusedSinceLine++;
      return;
    }
    const what = this.opts.reply ? 'answering new ones with 503' : 'closing new ones';
    this.opts.log.warn(
      { code: MAX_CONNECTIONS_CODE },
      `[${this.opts.logPrefix}] ${open} client connections are open (${this.opts.option} ${this.max}): ${what}`,
    );
    this.logTimer = setTimeout(() => this.summarise(), LOG_INTERVAL_MS);
    this.logTimer.unref();
  }

  private summarise(): void {
    this.logTimer = null;
    const n = this.refusedSinceLine;
    if (n === 0) return;
    this.refusedSinceLine = 0;
    this.opts.log.warn(
      { code: MAX_CONNECTIONS_CODE },
      `[${this.opts.logPrefix}] ${n} more client connections refused in the last second (${this.opts.option} ${this.max})`,
    );
    // refusals that go on get one line a second
    this.logTimer = setTimeout(() => this.summarise(), LOG_INTERVAL_MS);
    this.logTimer.unref();
  }

  /** Stop the summary timer (router close). */
  close(): void {
    if (this.logTimer) clearTimeout(this.logTimer);
    this.logTimer = null;
  }
}
