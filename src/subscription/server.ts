/**
 * The UDP subscription server (spec: subscription.md §2, §2.3): one dgram socket per
 * `X-subscription-server` address, every datagram through `SubscriptionReceiver`, then
 * federation (`X-resubscribe`). Never throws on input.
 */
import { createSocket, type Socket, type SocketType } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError, ListenError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { encodeSubscription } from '../protocol/subscription.ts';
import { closeUdpSockets } from '../udp/close-sockets.ts';
import { DatagramQueue } from './datagram-queue.ts';
import type { DatagramOutcome, SubscriptionReceiver } from './receiver.ts';
import { kernelDrops, readRmemMax } from './udp-socket-info.ts';

/** uWSGI receives into a 4096-byte buffer; longer datagrams are truncated (§2) */
export const SUBSCRIPTION_RECV_SIZE = 4096;

/** `subscription-rcvbuf` default: room for ~5,000 small datagrams queued in the kernel */
export const SUBSCRIPTION_RCVBUF_DEFAULT = 4 * 1024 * 1024;

export interface UdpEndpoint {
  host: string;
  port: number;
  type: SocketType;
  /** 224.0.0.0/4 group to join (bound on the wildcard address, §2) */
  multicast?: string;
}

/**
 * Parses a subscription server or resubscribe address: `ip:port`, `:port` (all IPv4
 * interfaces), `[v6]:port`. Unix datagram paths are refused: Node's dgram has no AF_UNIX.
 */
export function parseUdpEndpoint(value: string, option: string): UdpEndpoint {
  const bad = (why: string): never => {
    throw new ConfigError(`--${option} "${value}": ${why}`);
  };
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    const host = value.slice(1, close);
    const port = Number(value.slice(close + 2));
    if (close < 0 || value[close + 1] !== ':' || !isIPv6(host)) bad('expected [IPv6]:PORT');
    if (!Number.isInteger(port) || port < 0 || port > 65535) bad('bad port');
    return { host, port, type: 'udp6' };
  }
  const colon = value.lastIndexOf(':');
  if (colon < 0) {
    bad(
      'UNIX datagram subscription sockets are not supported (Node.js cannot open AF_UNIX SOCK_DGRAM); use a UDP address such as 127.0.0.1:2626',
    );
  }
  const host = value.slice(0, colon) || '0.0.0.0';
  const portText = value.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) bad('bad port');
  if (!isIPv4(host)) bad('the host must be an IPv4 literal (or [IPv6] in brackets)');
  const first = Number(host.split('.')[0]);
  if (first >= 224 && first <= 239) return { host: '0.0.0.0', port, type: 'udp4', multicast: host };
  return { host, port, type: 'udp4' };
}

export interface ResubscribeOptions {
  /** `X-resubscribe` targets */
  targets: readonly string[];
  /** the router's own first non-subscription listening address (announced upstream) */
  ownAddress: string;
  /** `fastrouter-resubscribe-bind`: send from a socket bound here */
  bind?: string;
}

export interface SubscriptionServerOptions {
  addresses: readonly string[];
  receiver: SubscriptionReceiver;
  logger: Logger;
  resubscribe?: ResubscribeOptions;
  /** option name for error messages; default `fastrouter-subscription-server` */
  option?: string;
  /** `uWSGI fastrouter`, … for the bind log line (spec: corerouter.md §1) */
  displayName?: string;
  /** called after each datagram (tests, cheap-mode wiring may use table events instead) */
  onDatagram?: (outcome: DatagramOutcome) => void;
  /** receive buffer to ask for (bytes); 0 = the system default; default 4 MiB */
  rcvbuf?: number;
}

export class SubscriptionServer {
  private readonly endpoints: UdpEndpoint[];
  private readonly receiver: SubscriptionReceiver;
  private readonly logger: Logger;
  private readonly resubscribe: ResubscribeOptions | undefined;
  private readonly resubTargets: UdpEndpoint[];
  private readonly onDatagram: ((o: DatagramOutcome) => void) | undefined;
  private readonly displayName: string;
  private readonly rcvbuf: number;
  private readonly sockets: Socket[] = [];
  private resubSocket: Socket | undefined;
  private resubSocket6: Socket | undefined;
  /** datagrams longer than SUBSCRIPTION_RECV_SIZE (truncated, as uWSGI does) */
  truncated = 0;
  /** read datagrams wait here to be processed in batches (datagram-queue.ts) */
  private readonly queue = new DatagramQueue((msg) => this.processQueued(msg));

  /** Validates every address now (throws ConfigError); sockets open in `listen()`. */
  constructor(opts: SubscriptionServerOptions) {
    const option = opts.option ?? 'fastrouter-subscription-server';
    this.endpoints = opts.addresses.map((a) => parseUdpEndpoint(a, option));
    this.receiver = opts.receiver;
    this.logger = opts.logger;
    this.resubscribe = opts.resubscribe;
    this.resubTargets = (opts.resubscribe?.targets ?? []).map((a) => parseUdpEndpoint(a, 'resubscribe'));
    this.onDatagram = opts.onDatagram;
    this.displayName = opts.displayName ?? 'uWSGI fastrouter';
    this.rcvbuf = opts.rcvbuf ?? SUBSCRIPTION_RCVBUF_DEFAULT;
  }

  async listen(): Promise<void> {
    for (const ep of this.endpoints) this.sockets.push(await this.bindOne(ep));
    if (this.resubTargets.length > 0 && this.resubscribe?.bind) {
      const ep = parseUdpEndpoint(this.resubscribe.bind, 'fastrouter-resubscribe-bind');
      const s = createSocket(ep.type);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(ep.port, ep.host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      s.on('error', (e) => this.logger.warn(`resubscribe socket: ${e.message}`));
      if (ep.type === 'udp6') this.resubSocket6 = s;
      else this.resubSocket = s;
    }
  }

  private bindOne(ep: UdpEndpoint): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: ep.type, reuseAddr: ep.multicast !== undefined });
      const fail = (e: Error): void =>
        reject(new ListenError(`subscription server ${ep.host}:${ep.port}: ${e.message}`, { cause: e }));
      s.once('error', fail);
      s.on('message', (msg) => this.queue.push(msg));
      s.bind(ep.port, ep.host, () => {
        s.off('error', fail);
        s.on('error', (e) => this.logger.warn(`subscription server socket error: ${e.message}`));
        try {
          if (ep.multicast) s.addMembership(ep.multicast);
        } catch (e) {
          s.close();
          fail(e as Error);
          return;
        }
        // uWSGI also prints "fd N"; a dgram socket's fd is only reachable through a deprecated API
        this.logger.info(`${this.displayName} subscription server bound on ${this.describe(s)}`);
        this.sizeReceiveBuffer(s);
        resolve(s);
      });
    });
  }

  /**
   * The kernel's default receive buffer (~208 KiB) holds a few hundred announcements: a
   * burst of thousands (a fleet restarting) was mostly dropped. Linux grants at most
   * net.core.rmem_max (Node has no SO_RCVBUFFORCE), so say so when that caps the request.
   */
  private sizeReceiveBuffer(s: Socket): void {
    const want = this.rcvbuf;
    if (want <= 0) return;
    try {
      s.setRecvBufferSize(want);
    } catch (e) {
      this.logger.warn(
        `subscription server ${this.describe(s)}: could not set the receive buffer to ${want} bytes: ${(e as Error).message}`,
      );
      return;
    }
    const max = readRmemMax();
    if (max !== undefined && want > max) {
      this.logger.warn(
        `subscription server ${this.describe(s)}: receive buffer capped at ${max} bytes by net.core.rmem_max (asked ${want}, --subscription-rcvbuf); bursts of announcements may be dropped: raise it with "sysctl -w net.core.rmem_max=${want}"`,
      );
    }
  }

  /** Datagrams the kernel dropped on these sockets (receive buffer full), when Linux says. */
  kernelDrops(): number | undefined {
    return kernelDrops(this.sockets.map((s) => s.address()));
  }

  /** Datagrams read but dropped because the processing queue was full. */
  get queueDrops(): number {
    return this.queue.dropped;
  }

  private processQueued(msg: Buffer): void {
    try {
      this.onMessage(msg);
    } catch (e) {
      // the receiver never throws; an onDatagram callback might: it must not stop the queue
      this.logger.error(`subscription server: ${(e as Error).message}`);
    }
  }

  private describe(s: Socket): string {
    const a = s.address();
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  /** Bound addresses (`host:port` / `[v6]:port`), in configuration order. */
  addresses(): string[] {
    return this.sockets.map((s) => this.describe(s));
  }

  /** One datagram; public so a cluster primary or a test can feed datagrams directly. */
  onMessage(msg: Buffer): DatagramOutcome {
    let buf = msg;
    if (buf.length > SUBSCRIPTION_RECV_SIZE) {
      this.truncated++;
      buf = buf.subarray(0, SUBSCRIPTION_RECV_SIZE);
    }
    const outcome = this.receiver.handle(buf);
    if (this.resubTargets.length > 0 && outcome.packet) this.forward(outcome);
    this.onDatagram?.(outcome);
    return outcome;
  }

  /** spec: subscription.md §2.3 — new packet, own address, cores/load/weight 0, no signature */
  private forward(outcome: DatagramOutcome): void {
    const p = outcome.packet;
    if (!p || p.key === undefined || p.key.length === 0 || !this.resubscribe) return;
    const enc = encodeSubscription(p.cmd, {
      key: p.key,
      address: this.resubscribe.ownAddress,
      modifier1: p.modifier1,
      modifier2: p.modifier2,
      cores: 0,
      load: 0,
      weight: 0,
      sniKey: p.sniKey,
      sniCrt: p.sniCrt,
      sniCa: p.sniCa,
    });
    if (!enc.ok) return;
    enc.packet[3] = p.cmdByte;
    for (const t of this.resubTargets) {
      const s = this.senderFor(t.type);
      s.send(enc.packet, t.port, t.host === '0.0.0.0' ? '127.0.0.1' : t.host, (e) => {
        if (e) this.logger.warn(`resubscribe to ${t.host}:${t.port}: ${e.message}`);
      });
    }
  }

  private senderFor(type: SocketType): Socket {
    if (type === 'udp6') {
      if (!this.resubSocket6) {
        this.resubSocket6 = createSocket('udp6');
        this.resubSocket6.on('error', (e) => this.logger.warn(`resubscribe socket: ${e.message}`));
        this.resubSocket6.unref();
      }
      return this.resubSocket6;
    }
    if (!this.resubSocket) {
      this.resubSocket = createSocket('udp4');
      this.resubSocket.on('error', (e) => this.logger.warn(`resubscribe socket: ${e.message}`));
      this.resubSocket.unref();
    }
    return this.resubSocket;
  }

  async close(): Promise<void> {
    const all = [...this.sockets, this.resubSocket, this.resubSocket6];
    this.sockets.length = 0;
    this.queue.clear();
    this.resubSocket = undefined;
    this.resubSocket6 = undefined;
    await closeUdpSockets(all);
  }
}
