/**
 * One client connection of the fastrouter: read the uwsgi head (bounded by buffer-size),
 * find the key, connect to a node (retries, fallbacks), rewrite modifier1/modifier2 to the
 * node's, forward head + body and join the sockets (spec: uwsgi-protocol.md §7).
 * With `--fastrouter-post-buffering N` a CONTENT_LENGTH body is read whole before any node
 * is chosen (in memory up to N bytes, else in an unlinked temporary file), then sent after
 * the head (§7.7): a slow upload never holds a node's connection.
 * Every way a connection ends early is one log line and one counter.
 */
import type { Socket } from 'node:net';
import type { ConnectionLogLevel } from '../connection-log.ts';
import { BackendAttempt, type ConnectCallbacks, type GiveUpCode } from '../corerouter/connect.ts';
import { IdleSweep, type IdleWatched } from '../corerouter/idle-sweep.ts';
import { Join, type JoinHooks } from '../corerouter/join.ts';
import type { Listener } from '../corerouter/listener.ts';
import { PeerInfo } from '../corerouter/peer-info.ts';
import { receivedProxySource } from '../corerouter/proxy-intake.ts';
import type { CoreRouter } from '../corerouter/router.ts';
import { dropNodeOfGoneClient } from '../corerouter/tcp-relay.ts';
import type { NodeLease } from '../corerouter/types.ts';
import { type ReaderResult, UwsgiHeadReader } from '../protocol/uwsgi-reader.ts';
import { withRemoteClient } from '../protocol/uwsgi-remote-vars.ts';
import { RequestLine } from '../request-line.ts';
import type { RequestLog } from '../request-log.ts';
import { readFastrouterKey } from './key.ts';
import { PostBufferedBody, type PostBufferOwner } from './post-buffering.ts';
import { beginFastrouterLine, statusOfAnswer } from './session-line.ts';

export interface FastrouterSettings {
  /** inactivity timeout of a session (`fastrouter-timeout`); 0 = none */
  timeoutMs: number;
  /** the process's request log (`--log-requests`), or null */
  requestLog: RequestLog | null;
  /** `fastrouter-post-buffering`: bodies are read whole first, in memory up to this many bytes; 0 = streamed */
  postBuffering: number;
  /** where bodies past `postBuffering` are stored (`fastrouter-post-buffering-dir`, else the system's) */
  bodyDir: string;
  /** a buffered body announced larger than this is refused (`fastrouter-max-body`, else 1 GiB) */
  maxBody: number;
}

/** What all connections of one fastrouter share. */
interface Shared extends FastrouterSettings {
  /** one coarse timer for every session's inactivity timeout (no per-socket timers) */
  readonly sweep: IdleSweep;
  readonly idleTicks: number;
}

export class FastrouterConnection implements ConnectCallbacks, IdleWatched, JoinHooks, PostBufferOwner {
  private readonly core: CoreRouter;
  private readonly client: Socket;
  private readonly settings: Shared;
  private readonly info: PeerInfo;
  /** IdleWatched: the sweep's bookkeeping */
  seenProgress = 0;
  lastTick = 0;
  idleTicks: number;
  private headBytes = 0;
  private reader: UwsgiHeadReader | null;
  private head: Buffer | null = null;
  private rest: Buffer | null = null;
  private key = '';
  private attempt: BackendAttempt | null = null;
  private join: Join | null = null;
  /** the node of the joined session and the bytes of the forwarded first write */
  private lease: NodeLease | null = null;
  private sent = 0;
  /** the session's request-log line (null: no request log) */
  private readonly line: RequestLine | null;
  /** the status of the node's answer (request log) */
  private status = 0;
  /** post-buffering: the body read before routing, then while it is written to the node */
  private body: PostBufferedBody | null = null;

  constructor(client: Socket, _listener: Listener, core: CoreRouter, settings: Shared) {
    this.core = core;
    this.client = client;
    this.settings = settings;
    this.idleTicks = settings.idleTicks;
    this.info = new PeerInfo(client);
    this.line = settings.requestLog ? new RequestLine(settings.requestLog, 'fastrouter') : null;
    // the line is written when the session is over, when the peer can no longer be read
    if (this.line) this.info.keep();
    // uWSGI grows its buffer to hold any vars block (≤ 65535): nginx's big-cookie requests
    // must reach nodes that raised their own buffer-size (spec: uwsgi-protocol.md §5)
    this.reader = new UwsgiHeadReader();
    client.on('data', this.onHeadData);
    client.on('error', this.onClientError);
    client.on('end', this.onClientEnd);
    client.on('close', this.onClientClose);
    if (settings.timeoutMs > 0) settings.sweep.watch(this);
  }

  /**
   * IdleWatched: bytes read from either side so far. spec: corerouter.md §4 — activity on
   * the node's connection re-arms the client's timer too.
   */
  get progress(): number {
    const j = this.join;
    if (j) return this.headBytes + j.tx + j.rx;
    const b = this.body;
    return b ? this.headBytes + b.progress : this.headBytes;
  }

  /** One log line (rate-limited per code, connection-log.ts) and one counter. */
  private note(level: ConnectionLogLevel, code: string, why: string): void {
    this.core.count(code);
    this.line?.noted(code);
    const node = this.lease?.address.name ?? '';
    this.core.connectionLog.about(level, code, this.info, this.key, node, why);
  }

  /** Ends the connection before any backend: one log line, one counter. */
  private reject(level: ConnectionLogLevel, code: string, why: string): void {
    const line = this.line;
    // a packet refused before it was whole is a request of its own in the request log
    if (line !== null && !line.active) line.begin('-', '-', '-', 0, 0);
    this.note(level, code, why);
    line?.end(this.info, this.key, 0, code, 0, 0);
    this.client.destroy();
  }

  private readonly onHeadData = (chunk: Buffer): void => {
    if (this.headBytes === 0 && this.core.outgoing.isOwn(this.client)) {
      // a node address is this fastrouter's own listener: every hop would open another
      this.reject(
        'warn',
        'UWR_ERR_LOOP_DETECTED',
        'the fastrouter connected to itself (a node address is its own listener): closing',
      );
      return;
    }
    this.headBytes += chunk.length;
    const r: ReaderResult = this.reader!.push(chunk);
    if (r.state === 'need-more') return;
    this.client.removeListener('data', this.onHeadData);
    this.client.pause();
    this.reader = null;
    if (r.state === 'error') {
      this.reject(
        'info',
        'UWR_ERR_PACKET_TOO_LARGE',
        `uwsgi packet vars block of ${r.datasize} bytes exceeds buffer-size ${r.limit}: closing`,
      );
      return;
    }
    let head = r.head;
    // a trusted peer's PROXY header (corerouter/proxy-intake.ts) names the client: it is
    // what the node reads in REMOTE_ADDR/REMOTE_PORT, not what the sender wrote there
    const source = receivedProxySource(this.client);
    if (source !== null) {
      const w = withRemoteClient(head, source.address, source.port);
      if (!w.ok) {
        this.reject(
          'info',
          w.reason === 'too-large' ? 'UWR_ERR_PACKET_TOO_LARGE' : 'UWR_ERR_BAD_PACKET',
          w.reason === 'too-large'
            ? 'uwsgi vars block too large for the PROXY client address: closing'
            : 'malformed uwsgi vars block (REMOTE_ADDR not replaceable): closing',
        );
        return;
      }
      head = w.head;
    }
    this.head = head;
    this.rest = r.rest;
    if (this.line) beginFastrouterLine(this.line, head);
    const buffering = this.settings.postBuffering > 0;
    const k = readFastrouterKey(head, buffering);
    if (k.remoteAddr) this.info.address = k.remoteAddr;
    if (k.remotePort) this.info.port = Number(k.remotePort) || 0;
    if (k.key === null) {
      this.reject(
        'info',
        k.malformed ? 'UWR_ERR_BAD_PACKET' : 'UWR_ERR_NO_KEY',
        k.malformed ? 'malformed uwsgi vars block: closing' : 'no routing key in request: closing',
      );
      return;
    }
    this.key = k.key;
    if (buffering && k.contentLength > 0) {
      this.storeBody(k.contentLength);
      return;
    }
    this.route();
  };

  private route(): void {
    this.attempt = new BackendAttempt(this.core, this.key, this.info, this, this.settings.sweep);
    this.attempt.start();
  }

  /** Post-buffering: the body is read whole (the bytes after the head first), then routed. */
  private storeBody(length: number): void {
    const s = this.settings;
    if (length > s.maxBody) {
      this.reject(
        'info',
        'UWR_ERR_BODY_TOO_LARGE',
        `CONTENT_LENGTH ${length} exceeds the ${s.maxBody}-byte limit of a buffered body: closing`,
      );
      return;
    }
    // the client's address for the lines of a body that never completes (read while open)
    this.info.keep();
    const rest = this.rest!;
    this.rest = EMPTY;
    this.body = new PostBufferedBody(
      this.client,
      this,
      { memoryLimit: s.postBuffering, dir: s.bodyDir },
      length,
      rest,
    );
  }

  /** PostBufferOwner: the whole body is in. */
  bodyIn(): void {
    this.route();
  }

  bodyFailed(code: string, why: string): void {
    this.body = null;
    this.reject('error', code, why);
  }

  connected(backend: Socket, lease: NodeLease): void {
    this.attempt = null;
    if (dropNodeOfGoneClient(this.client, backend, lease)) return;
    const head = this.head!;
    const rest = this.rest!;
    this.head = null;
    this.rest = null;
    // spec: uwsgi-protocol.md §7.5 — the node's modifiers replace the client's
    head[0] = lease.modifier1;
    head[3] = lease.modifier2;
    let first = head;
    if (rest.length > 0) {
      // head and body start are usually adjacent in one chunk: send them as one write
      first =
        rest.buffer === head.buffer && head.byteOffset + head.length === rest.byteOffset
          ? Buffer.from(head.buffer, head.byteOffset, head.length + rest.length)
          : Buffer.concat([head, rest]);
    }
    this.lease = lease;
    this.sent = first.length;
    const body = this.body;
    if (body !== null) {
      // the node is joined once the buffered body is all written (bodySent)
      body.sendAfter(first, backend);
      return;
    }
    backend.write(first);
    this.joinNode(backend);
  }

  /** PostBufferOwner: head, body and surplus are written to the node. */
  bodySent(backend: Socket, bytes: number): void {
    this.body = null;
    this.sent = bytes;
    this.joinNode(backend);
  }

  bodyLost(level: ConnectionLogLevel, code: string, why: string, bytes: number): void {
    this.body = null;
    this.note(level, code, why);
    this.lease!.release(0, bytes);
    this.line?.end(this.info, this.key, 0, code, 0, 0);
    this.lease = null;
    this.client.destroy();
  }

  private joinNode(backend: Socket): void {
    if (this.line) {
      this.line.connected(this.lease!.address.name);
      // before the Join's listener: the first answer bytes give the status and the TTFB
      backend.once('data', this.onFirstAnswer);
    }
    this.join = new Join(this.client, backend, this);
  }

  private readonly onFirstAnswer = (chunk: Buffer): void => {
    this.line?.firstByte(performance.now());
    this.status = statusOfAnswer(chunk);
  };

  /** JoinHooks: both sockets are gone. */
  closed(tx: number, rx: number): void {
    this.lease!.release(tx, rx + this.sent);
    this.lease = null;
    const line = this.line;
    // the body: what followed the head in the first write, and every later client byte
    if (line) line.end(this.info, this.key, this.status, '', tx, rx + this.sent - line.varsBytes - 4);
  }

  gaveUp(code: GiveUpCode, detail: string): void {
    this.attempt = null;
    // a key no mapper knows is the client's; no live node for a known one is the nodes'
    const m = this.core.mapper;
    const unknown = code === 'UWR_ERR_NO_NODE' && (m === null || (m.knows ? !m.knows(this.key) : false));
    this.reject(unknown ? 'info' : 'warn', code, `${detail}: closing`);
  }

  /** IdleWatched: no byte moved for the timeout. */
  onIdle(): void {
    if (this.client.destroyed) return;
    this.onTimeout();
  }

  private onTimeout(): void {
    if (this.join) {
      // nothing moved either way: most often a node slower than fastrouter-timeout
      this.note('warn', 'UWR_ERR_TIMEOUT', 'timeout: closing');
      this.join.destroy();
      return;
    }
    const body = this.body;
    if (body?.sending) {
      body.lose('warn', 'UWR_ERR_TIMEOUT', 'timeout sending the buffered body to the node: closing');
      return;
    }
    this.attempt?.cancel();
    if (this.head) {
      const reading = this.attempt === null && body !== null;
      body?.drop();
      this.body = null;
      if (reading) this.reject('info', 'UWR_ERR_TIMEOUT', 'timeout reading the request body: closing');
      else this.reject('warn', 'UWR_ERR_TIMEOUT', 'timeout waiting for a node: closing');
    } else this.reject('info', 'UWR_ERR_TIMEOUT', 'timeout reading the request: closing');
  }

  private readonly onClientError = (): void => {
    // ECONNRESET and friends: the close handler does the teardown
  };

  private readonly onClientEnd = (): void => {
    if (this.join) return;
    // the client went away before its request was routed
    this.attempt?.cancel();
    this.attempt = null;
    if (this.reader && this.reader.buffered > 0) {
      this.note('info', 'UWR_ERR_CLIENT_CLOSED', 'client closed mid-request');
    }
    this.client.destroy();
  };

  private readonly onClientClose = (): void => {
    this.settings.sweep.unwatch(this);
    const body = this.body;
    if (body !== null) {
      this.body = null;
      // a client that closes (or half-closes) before its request is routed loses it, as in
      // streaming mode (onClientEnd)
      if (!body.complete) {
        const why = body.received
          ? 'client closed before its buffered request was routed'
          : 'client closed mid-body';
        this.note('info', 'UWR_ERR_CLIENT_CLOSED', why);
      }
      // gone while its buffered body went to the node: the node connection goes too
      const writing = body.sending;
      body.drop();
      if (writing) {
        this.lease?.release(0, this.sent);
        this.lease = null;
      }
    }
    // gone before a node was joined (a joined session's line is written by `closed`)
    if (this.join === null) this.line?.end(this.info, this.key, 0, 'UWR_ERR_CLIENT_CLOSED', 0, 0);
    this.attempt?.cancel();
    this.attempt = null;
  };
}

const EMPTY = Buffer.alloc(0);

export function fastrouterHandler(settings: FastrouterSettings) {
  const sweep = new IdleSweep(IdleSweep.intervalFor(settings.timeoutMs));
  const shared: Shared = { ...settings, sweep, idleTicks: sweep.ticksFor(settings.timeoutMs) };
  return (client: Socket, listener: Listener, core: CoreRouter): void => {
    new FastrouterConnection(client, listener, core, shared);
  };
}
