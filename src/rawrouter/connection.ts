/**
 * One client connection of the rawrouter (spec: corerouter.md §10): the node is chosen and
 * connected at accept, before any client byte (server-speaks-first protocols: SMTP, MySQL,
 * SSH), with the corerouter's retries and fallbacks; then the bytes are relayed untouched.
 * Optionally a PROXY protocol header goes first to the node (uwrouter extension), and with
 * `rawrouter-xclient` the node's greeting is swapped for an `XCLIENT ADDR=` exchange.
 * Client bytes wait in the socket until the node is ready for them: they never reach the
 * node before the PROXY header or the XCLIENT line.
 */
import type { Socket } from 'node:net';
import type { GiveUpCode } from '../corerouter/connect.ts';
import type { IdleSweep } from '../corerouter/idle-sweep.ts';
import { Join } from '../corerouter/join.ts';
import type { CoreRouter } from '../corerouter/router.ts';
import {
  dropNodeOfGoneClient,
  RelaySession,
  relayEndpoints,
  writeProxyHeader,
} from '../corerouter/tcp-relay.ts';
import type { NodeLease } from '../corerouter/types.ts';
import { type GreetingResult, SmtpGreetingReader, xclientLine } from '../protocol/smtp-greeting.ts';

export interface RawrouterSettings {
  /** inactivity timeout of a session (`rawrouter-timeout`); 0 = none */
  timeoutMs: number;
  /** `rawrouter-proxy-protocol`: 0 = none, 1 = v1 line, 2 = v2 binary header to every node */
  proxyProtocol: 0 | 1 | 2;
  /** `rawrouter-xclient` */
  xclient: boolean;
  /** `rawrouter-buffer-size`: the longest node greeting read for XCLIENT */
  bufferSize: number;
}

/** What all connections of one rawrouter share. */
export interface RawrouterShared extends RawrouterSettings {
  readonly sweep: IdleSweep;
  readonly idleTicks: number;
}

export class RawrouterConnection extends RelaySession {
  private readonly client: Socket;
  private readonly shared: RawrouterShared;
  private backend: Socket | null = null;
  private greeting: SmtpGreetingReader | null = null;
  private xclient: Buffer | null = null;
  /** bytes read from the node outside the join (its greeting, with XCLIENT) */
  private received = 0;

  constructor(client: Socket, key: string, core: CoreRouter, shared: RawrouterShared) {
    super(client, key, core, shared);
    this.client = client;
    this.shared = shared;
    // nothing is read from the client until the join: a fresh socket emits no data without a
    // 'data' listener (paused anyway, in case a caller already made it flow)
    if (client.readableFlowing === true) client.pause();
    client.on('error', this.onClientError);
    client.on('end', this.onClientEnd);
    client.on('close', this.onClientClose);
    // spec §10: the node is connected at accept, not on the first client byte. A router that
    // has a node connection to one of its own ports open first looks whether this client is
    // that connection (the router talking to itself: every hop would open another); the
    // connecting side records it when its connect completes, which libuv reports in the same
    // poll as this accept, so the look waits for the end of that poll
    if (core.outgoing.size === 0) this.startAttempt();
    else setImmediate(this.startUnlessOwn);
  }

  private readonly startUnlessOwn = (): void => {
    if (this.client.destroyed) return;
    if (this.core.outgoing.isOwn(this.client)) {
      this.reject(
        'UWR_ERR_LOOP_DETECTED',
        'the rawrouter connected to itself (a node address is its own listener): closing',
      );
      return;
    }
    this.startAttempt();
  };

  /** IdleWatched: bytes moved since the node connected (spec §4: either side re-arms). */
  get progress(): number {
    const j = this.join;
    return j ? this.received + j.tx + j.rx : this.received;
  }

  /** Ends the session before the join: one log line, one counter. */
  private reject(code: string, why: string): void {
    this.note(code, why);
    this.client.destroy();
  }

  connected(backend: Socket, lease: NodeLease): void {
    this.attempt = null;
    if (dropNodeOfGoneClient(this.client, backend, lease)) return;
    this.backend = backend;
    this.lease = lease;
    if (this.shared.timeoutMs > 0) this.shared.sweep.watch(this);
    const version = this.shared.proxyProtocol;
    if (version !== 0)
      this.sent += writeProxyHeader(backend, version, relayEndpoints(this.client, this.info));
    this.xclient = this.shared.xclient ? xclientLine(this.info.address) : null;
    if (this.xclient === null) {
      this.startJoin(null);
      return;
    }
    this.greeting = new SmtpGreetingReader(this.shared.bufferSize);
    backend.on('data', this.onGreetingData);
    backend.on('end', this.onGreetingLost);
    backend.on('error', this.onGreetingLost);
    backend.on('close', this.onGreetingLost);
  }

  private readonly onGreetingData = (chunk: Buffer): void => {
    this.received += chunk.length;
    const r: GreetingResult = this.greeting!.push(chunk);
    if (r.state === 'need-more') return;
    this.detachGreeting();
    if (r.state === 'error') {
      this.reject(
        'UWR_ERR_XCLIENT',
        r.reason === 'too-long'
          ? `node greeting longer than buffer-size ${this.shared.bufferSize} (xclient): closing`
          : 'node greeting has a CR without LF (xclient): closing',
      );
      return;
    }
    const line = this.xclient!;
    this.backend!.write(line);
    this.sent += line.length;
    this.startJoin(r.rest);
  };

  private readonly onGreetingLost = (): void => {
    this.detachGreeting();
    this.reject('UWR_ERR_BACKEND_CLOSED', 'node closed before its greeting ended (xclient): closing');
  };

  private detachGreeting(): void {
    const b = this.backend!;
    b.removeListener('data', this.onGreetingData);
    b.removeListener('end', this.onGreetingLost);
    b.removeListener('error', this.onGreetingLost);
    b.removeListener('close', this.onGreetingLost);
    // an error after this point (e.g. while the client is being closed) stays handled
    b.on('error', this.onClientError);
    this.greeting = null;
  }

  /** `early`: node bytes that came after its greeting, due to the client first. */
  private startJoin(early: Buffer | null): void {
    const backend = this.backend!;
    if (early !== null && early.length > 0) this.client.write(early);
    this.join = new Join(this.client, backend, this);
    if (this.clientEnded) backend.end();
  }

  /** JoinHooks: both sockets are gone. */
  closed(tx: number, rx: number): void {
    this.releaseLease(tx + this.received, rx + this.sent);
  }

  private releaseLease(tx: number, rx: number): void {
    const lease = this.lease;
    this.lease = null;
    lease?.release(tx, rx);
  }

  gaveUp(code: GiveUpCode, detail: string): void {
    this.attempt = null;
    this.reject(code, `${detail}: closing`);
  }

  /** IdleWatched: no byte moved for the timeout. */
  onIdle(): void {
    if (this.client.destroyed) return;
    if (this.join) {
      this.note('UWR_ERR_TIMEOUT', 'timeout: closing');
      this.join.destroy();
      return;
    }
    this.reject('UWR_ERR_TIMEOUT', 'timeout waiting for the node greeting (xclient): closing');
  }

  private readonly onClientError = (): void => {
    // ECONNRESET and friends: the close handler does the teardown
  };

  protected override clientLeftBeforeJoin(): void {
    if (this.backend) {
      // the client left during the greeting: not the node's fault, nothing to log
      if (this.greeting) this.detachGreeting();
      this.backend.destroy();
      this.releaseLease(this.received, this.sent);
    }
  }
}
