/**
 * The TLS accept front of one listening socket, shared by every router that terminates TLS
 * (the sslrouter now, HTTPS listeners of the HTTP router next): an accepted TCP socket's
 * ClientHello is read (src/protocol/tls-client-hello-reader.ts), the context picked from it
 * (ListenerTls.contextFor: SNI, regexps, sni-dir, subscriptions, the listener's own), the
 * handshake run, the client certificate checked, and only then is the TLSSocket handed to
 * the router. spec: ssl-sni-sessions.md §1–3
 *
 * Hygiene (what uWSGI lacks):
 * - one deadline from accept to the end of the handshake (`--ssl-handshake-timeout`, 10 s) on
 *   a shared coarse sweep: a hello that never completes costs its socket and a slot on that
 *   sweep, then one log line;
 * - at most `--ssl-max-handshakes` handshakes in progress per listener: a connection past
 *   that closes the OLDEST handshake in progress (counted, logged). Refusing the newcomer
 *   instead let cap / deadline stalled handshakes a second (~100/s by default) lock every
 *   real client out; a real handshake finishes in milliseconds, so an attacker must now
 *   open connections faster than that to crowd one out;
 * - bad input (not TLS, a malformed hello, a server name over 255 bytes, a hello over
 *   16 KiB) is refused from the reader's verdict before OpenSSL sees a byte;
 * - every failure counted by reason; log lines bounded (20/s, the rest summed up);
 * - renegotiation is refused by the contexts themselves (build-secure-context.ts).
 * A connection closed before sending any byte (port scanners, health checks) is counted,
 * not logged.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { IdleSweep, type IdleWatched } from '../corerouter/idle-sweep.ts';
import type { Logger } from '../logger.ts';
import type { ClientHello } from '../protocol/tls-client-hello.ts';
import { ClientHelloReader } from '../protocol/tls-client-hello-reader.ts';
import type { ListenerTls } from './listener-tls.ts';
import { clientCertificateVerdict, type SessionEventTarget, startServerTls } from './server-socket.ts';
import type { SessionLookupDone } from './session-id-cache.ts';
import type { TlsContextChoice } from './sni-entry.ts';
import { offersTls13 } from './ticket-keys.ts';
import type { TlsFrontStats } from './tls-front-stats.ts';
import type { TlsSettings } from './tls-settings.ts';

/** What the router gets with a TLS connection whose handshake completed. */
export interface TlsHandshakeResult {
  /** the parsed ClientHello: `serverName` (normalised, or null), `alpn`, … */
  readonly hello: ClientHello;
  /** the certificate served and how client certificates were treated */
  readonly choice: TlsContextChoice;
  /** a verified client certificate was presented */
  readonly clientCertificate: boolean;
  /** the accepted TCP socket under the TLS one (PROXY intake headers, addresses) */
  readonly raw: Socket;
}

export type TlsSecureHandler = (tls: TLSSocket, result: TlsHandshakeResult) => void;

export interface TlsFrontOptions {
  /** the listener's certificate and SNI registry */
  listenerTls: ListenerTls;
  /** `--ssl-handshake-timeout` in ms: from accept to the end of the handshake */
  handshakeTimeoutMs: number;
  /** `--ssl-max-handshakes`: handshakes in progress on this listener */
  maxHandshakes: number;
  /** counters shared by the router's fronts */
  stats: TlsFrontStats;
  log: Logger;
  /** `uwsgi-sslrouter`, `uwsgi-http`: the log prefix */
  logPrefix: string;
  /** adds one to the router's counter of an error code (stats `uwrouter.counters`) */
  count(code: string): void;
  /** `--ssl-verbose`: log why a client certificate was refused */
  verbose: boolean;
  /** the router takes over: the TLSSocket is in its initial reading state, errors unhandled */
  onSecure: TlsSecureHandler;
  /** ALPN protocols the server accepts, in preference order (none: no ALPN answer) */
  ALPNProtocols?: string[];
  /** written (then the socket ends) when plain HTTP arrives instead of a ClientHello */
  plainHttpAnswer?: Buffer;
  /** the client as the router knows it (a trusted PROXY header's source), for log lines */
  clientOf?: (raw: Socket) => { address: string; port: number };
  /** a sweep to share (default: the front's own, sized for the timeout) */
  sweep?: IdleSweep;
}

const READING_HELLO = 0;
const HANDSHAKING = 1;
const SETTLED = 2;

const noop = (): void => {};

function remoteOf(raw: Socket): { address: string; port: number } {
  return { address: raw.remoteAddress ?? '', port: raw.remotePort ?? 0 };
}

/**
 * A stable, bounded reason for an OpenSSL handshake error: its code without `ERR_SSL_`, in
 * lower case with dashes (`no-shared-cipher`, `unsupported-protocol`,
 * `tlsv1-alert-unknown-ca` = the client refused our certificate). A socket error without an
 * OpenSSL code (ECONNRESET) is the client going away.
 */
export function handshakeFailureReason(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (!code.startsWith('ERR_SSL_')) return 'client-closed';
  return code.slice(8).toLowerCase().replace(/_/g, '-');
}

/**
 * One connection between accept and the end of its handshake. It is also the `server` its
 * TLSSocket emits session events on when TLS 1.2 session ids go through a cache
 * (SessionEventTarget), so no object is made per connection for that.
 */
class TlsHandshake implements IdleWatched, SessionEventTarget {
  /** IdleWatched: nothing counts as progress, so the limit runs from accept (a deadline) */
  readonly progress = 0;
  seenProgress = 0;
  lastTick = 0;
  idleTicks: number;
  private state = READING_HELLO;
  private readonly raw: Socket;
  private readonly front: TlsFront;
  /** the accepted TCP socket (for the eviction log line) */
  get rawSocket(): Socket {
    return this.raw;
  }
  private reader: ClientHelloReader | null = new ClientHelloReader();
  private tls: TLSSocket | null = null;
  private hello: ClientHello | null = null;
  private choice: TlsContextChoice | null = null;
  /** Date.now() at accept (how old an evicted handshake was) */
  readonly acceptedAt = Date.now();

  constructor(raw: Socket, front: TlsFront) {
    this.raw = raw;
    this.front = front;
    this.idleTicks = front.idleTicks;
    // net.Socket keeps the peer's address once read: read it now, so a failure logged after
    // the client closed still names it (one getpeername per connection, beside a handshake)
    remoteOf(raw);
    raw.on('data', this.onData);
    raw.on('end', this.onRawEnd);
    raw.on('error', noop);
    raw.on('close', this.onRawClose);
    front.sweep.watch(this);
  }

  private readonly onData = (chunk: Buffer): void => {
    const r = this.reader!.push(chunk);
    if (r.state === 'need-more') return;
    this.raw.removeListener('data', this.onData);
    this.raw.pause();
    this.reader = null;
    if (r.state === 'error') {
      if (r.reason === 'plaintext-http' && this.front.options.plainHttpAnswer) {
        this.fail(r.reason, r.code, 'plain HTTP on a TLS port', this.front.options.plainHttpAnswer);
      } else {
        this.fail(r.reason, r.code, `not a valid TLS ClientHello (${r.reason})`);
      }
      return;
    }
    this.hello = r.hello;
    const o = this.front.options;
    const choice = o.listenerTls.contextFor(r.hello);
    this.choice = choice;
    if (r.hello.serverName !== null && choice.source === 'listener') o.stats.sniMisses++;
    // TLS 1.2 session ids through the cache; never a lookup for a hello that gets TLS 1.3
    // (its legacy session id is random: resumeSession would fire and never hit, node#60847)
    const sessionEvents =
      o.listenerTls.resumption.sessionCache !== null && !offersTls13(r.hello) ? this : undefined;
    let tls: TLSSocket;
    try {
      tls = startServerTls(this.raw, r.received, choice, { ALPNProtocols: o.ALPNProtocols, sessionEvents });
    } catch (e) {
      // never expected; a throw in a 'data' handler would take the process down
      this.fail('internal', 'UWR_ERR_TLS_HANDSHAKE', `cannot start TLS: ${(e as Error).message}`);
      return;
    }
    this.tls = tls;
    this.state = HANDSHAKING;
    tls.on('secure', this.onSecure);
    tls.on('error', this.onTlsError);
    // the TLS socket inherits allowHalfOpen: a client that leaves mid-handshake only ends it
    tls.on('end', this.onTlsEnd);
    tls.on('close', this.onTlsEnd);
  };

  /** SessionEventTarget: Node asks which session events are listened to. */
  listenerCount(event: string): number {
    return event === 'resumeSession' || event === 'newSession' ? 1 : 0;
  }

  /** SessionEventTarget: a TLS 1.2 session id to look up, or a new session to keep. */
  emit(event: string, id?: unknown, arg2?: unknown, arg3?: unknown): boolean {
    const cache = this.front.options.listenerTls.resumption.sessionCache;
    if (cache === null || this.state !== HANDSHAKING) return false;
    if (event === 'resumeSession') {
      cache.lookup(id as Buffer, arg2 as SessionLookupDone);
      return true;
    }
    if (event === 'newSession') {
      cache.save(id as Buffer, arg2 as Buffer);
      (arg3 as () => void)();
      return true;
    }
    return false;
  }

  private readonly onSecure = (): void => {
    if (this.state !== HANDSHAKING) return;
    const tls = this.tls!;
    const choice = this.choice!;
    const verdict = clientCertificateVerdict(tls, choice);
    if (!verdict.ok) {
      this.fail(
        'client-certificate',
        'UWR_ERR_TLS_CLIENT_CERT',
        this.front.options.verbose ? verdict.reason : 'client certificate refused',
      );
      return;
    }
    this.settle();
    tls.removeListener('secure', this.onSecure);
    tls.removeListener('error', this.onTlsError);
    tls.removeListener('end', this.onTlsEnd);
    tls.removeListener('close', this.onTlsEnd);
    this.raw.removeListener('end', this.onRawEnd);
    this.raw.removeListener('close', this.onRawClose);
    const stats = this.front.options.stats;
    stats.completed(tls.getProtocol(), tls.isSessionReused());
    if (verdict.present) stats.clientCertificates++;
    this.front.options.onSecure(tls, {
      hello: this.hello!,
      choice,
      clientCertificate: verdict.present,
      raw: this.raw,
    });
  };

  private readonly onTlsError = (err: NodeJS.ErrnoException & { reason?: string }): void => {
    const reason = handshakeFailureReason(err);
    if (reason === 'client-closed') this.fail(reason, 'UWR_ERR_CLIENT_CLOSED', 'the client closed');
    else this.fail(reason, 'UWR_ERR_TLS_HANDSHAKE', err.reason ?? err.message);
  };

  private readonly onTlsEnd = (): void => {
    this.fail('client-closed', 'UWR_ERR_CLIENT_CLOSED', 'the client closed during the handshake');
  };

  private readonly onRawEnd = (): void => {
    if (this.state !== READING_HELLO) return;
    if ((this.reader?.buffered ?? 0) === 0) {
      // connected and left without a byte: a scanner or a health check, not worth a line
      this.settle();
      this.front.options.stats.fail('closed-before-hello');
      this.raw.destroy();
      return;
    }
    this.fail('client-closed', 'UWR_ERR_CLIENT_CLOSED', 'the client closed inside its ClientHello');
  };

  private readonly onRawClose = (): void => {
    if (this.state === SETTLED) return;
    const wasHandshaking = this.state === HANDSHAKING;
    const had = this.reader?.buffered ?? 0;
    if (wasHandshaking || had > 0) {
      this.fail('client-closed', 'UWR_ERR_CLIENT_CLOSED', 'the client closed during the handshake');
    } else {
      this.settle();
      this.front.options.stats.fail('closed-before-hello');
    }
  };

  /** IdleWatched: the handshake did not complete in time. */
  onIdle(): void {
    if (this.state === SETTLED) return;
    const what = this.state === READING_HELLO ? 'no complete ClientHello' : 'no complete handshake';
    this.fail(
      'timeout',
      'UWR_ERR_TLS_HANDSHAKE_TIMEOUT',
      `${what} within ${this.front.options.handshakeTimeoutMs} ms (--ssl-handshake-timeout)`,
    );
  }

  /** Leaves the in-progress count, once. */
  private settle(): void {
    this.state = SETTLED;
    this.front.sweep.unwatch(this);
    this.front.handshakes.delete(this);
    this.front.options.stats.inProgress--;
  }

  /** Closed to make room for a newer connection (the front logs and counts it). */
  evict(): void {
    if (this.state === SETTLED) return;
    this.settle();
    (this.tls ?? this.raw).destroy();
  }

  private fail(reason: string, code: string, why: string, answer?: Buffer): void {
    if (this.state === SETTLED) return;
    this.settle();
    const o = this.front.options;
    o.stats.fail(reason);
    o.count(code);
    this.front.logFailure(this.raw, code, `TLS handshake failed: ${why}: closing`);
    const s = this.tls ?? this.raw;
    if (answer !== undefined) {
      s.end(answer);
      // a client that never reads must not hold the socket: the answer is tiny, give it a second
      setTimeout(() => s.destroy(), 1000).unref();
    } else s.destroy();
  }
}

/** The part of a router's TLS front options that comes from the router and its TLS settings. */
export type RouterFrontOptions = Pick<
  TlsFrontOptions,
  'handshakeTimeoutMs' | 'maxHandshakes' | 'stats' | 'log' | 'logPrefix' | 'count' | 'verbose' | 'sweep'
>;

/**
 * What every router's fronts share (the HTTPS listeners and the sslrouter): the handshake
 * deadline and cap, `--ssl-verbose`, the stats, and the router's log and counters.
 */
export function routerFrontOptions(
  router: { readonly log: Logger; readonly logPrefix: string; count(code: string): void },
  settings: TlsSettings,
  stats: TlsFrontStats,
  sweep: IdleSweep,
): RouterFrontOptions {
  return {
    handshakeTimeoutMs: settings.handshakeTimeoutMs,
    maxHandshakes: settings.maxHandshakes,
    stats,
    log: router.log,
    logPrefix: router.logPrefix,
    count: (code) => router.count(code),
    verbose: settings.verbose,
    sweep,
  };
}

export class TlsFront {
  readonly options: TlsFrontOptions;
  readonly sweep: IdleSweep;
  readonly idleTicks: number;
  /** handshakes in progress on this listener, oldest first (a Set keeps insertion order) */
  readonly handshakes = new Set<TlsHandshake>();

  constructor(options: TlsFrontOptions) {
    this.options = options;
    this.sweep = options.sweep ?? new IdleSweep(IdleSweep.intervalFor(options.handshakeTimeoutMs));
    this.idleTicks = this.sweep.ticksFor(options.handshakeTimeoutMs);
  }

  /** handshakes in progress on this listener */
  get inProgress(): number {
    return this.handshakes.size;
  }

  /** Takes an accepted TCP socket (in its initial reading state, or flowing). */
  accept(raw: Socket): void {
    const o = this.options;
    if (this.handshakes.size >= o.maxHandshakes) {
      const oldest: TlsHandshake = this.handshakes.values().next().value!;
      o.stats.evictedBusy++;
      o.count('UWR_ERR_TLS_BUSY');
      this.logFailure(
        oldest.rawSocket,
        'UWR_ERR_TLS_BUSY',
        `${this.handshakes.size} TLS handshakes already in progress on ${o.listenerTls.spec.address} (--ssl-max-handshakes): closing the oldest, started ${Date.now() - oldest.acceptedAt} ms ago`,
      );
      oldest.evict();
    }
    o.stats.inProgress++;
    this.handshakes.add(new TlsHandshake(raw, this));
  }

  /** One log line, within the router's budget for such lines. */
  logFailure(raw: Socket, code: string, text: string): void {
    const o = this.options;
    const budget = o.stats.logBudget;
    if (!budget.allow()) return;
    const client = (o.clientOf ?? remoteOf)(raw);
    o.log.info(
      { code, client_addr: client.address, client_port: client.port },
      `[${o.logPrefix} client_addr: ${client.address} client_port: ${client.port}] ${text}${budget.takeSuppressed()}`,
    );
  }
}
