/**
 * The node side: announces subscriptions to routers (spec: subscription.md §6). Twice at
 * start (0 s and 1 s), then every `freq` seconds; unsubscribes on `stop()`.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { encodeSubscription, type SubscriptionCommand } from '../protocol/subscription.ts';
import type { SubscriptionTarget } from './client-spec.ts';
import { parseUdpEndpoint, type UdpEndpoint } from './server.ts';
import { normalizeDigest } from './signatures.ts';

export interface SubscriberOptions {
  targets: readonly SubscriptionTarget[];
  /** announced when a target names no address: the node's first `--socket` */
  defaultAddress?: string;
  /** the node's sockets, for `=N=` / `socket=N` */
  sockets?: readonly string[];
  /** `--weight` (default 0; routers treat 0 as 1) */
  weight?: number;
  /** `--subscribe-with-modifier1` */
  modifier1?: number;
  /** processes × cores announced as `cores` */
  cores?: number;
  /** listen-queue backlog announced as `load` */
  load?: () => number;
  /** `--subscribe-freq` seconds, default 10 */
  freq?: number;
  logger?: Logger;
  /** epoch seconds for `unix` (tests) */
  now?: () => number;
}

interface PreparedTarget {
  target: SubscriptionTarget;
  endpoint: UdpEndpoint;
  address: string;
  signing: { digest: string; privateKey: KeyObject } | undefined;
}

export class Subscriber {
  private readonly prepared: PreparedTarget[];
  private readonly opts: SubscriberOptions;
  private readonly now: () => number;
  private socket4: Socket | undefined;
  private socket6: Socket | undefined;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  /** packets sent (tests, stats) */
  sent = 0;

  /** Validates every target and parses private keys once; throws ConfigError. */
  constructor(opts: SubscriberOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
    this.prepared = opts.targets.map((t) => this.prepare(t));
  }

  private prepare(t: SubscriptionTarget): PreparedTarget {
    const endpoint = parseUdpEndpoint(t.server, 'subscribe-to');
    if (endpoint.host === '0.0.0.0') endpoint.host = '127.0.0.1';
    let address = t.address;
    if (address === undefined && t.socketIndex !== undefined) address = this.opts.sockets?.[t.socketIndex];
    address ??= this.opts.defaultAddress;
    if (address === undefined || address === '') {
      throw new ConfigError(
        `subscription to ${t.server} for "${t.key}": no address to announce (give ADDR= or a --socket)`,
      );
    }
    let signing: PreparedTarget['signing'];
    if (t.sign) {
      const digest = normalizeDigest(t.sign.digest);
      if (!digest) throw new ConfigError(`subscription for "${t.key}": unknown digest "${t.sign.digest}"`);
      try {
        signing = { digest, privateKey: createPrivateKey(readFileSync(t.sign.keyFile)) };
      } catch (e) {
        throw new ConfigError(
          `subscription for "${t.key}": cannot load private key ${t.sign.keyFile}: ${(e as Error).message}`,
        );
      }
    }
    return { target: t, endpoint, address, signing };
  }

  /** Signs target `index`'s packets with an in-memory key (the programmatic API). */
  setSigning(index: number, digest: string, privateKey: KeyObject): void {
    const d = normalizeDigest(digest);
    if (!d) throw new ConfigError(`unknown digest "${digest}"`);
    this.prepared[index].signing = { digest: d, privateKey };
  }

  /** Sends now, at +1 s, then every `freq` seconds (timers are unref'd). */
  start(): void {
    this.stopped = false;
    this.announce('subscribe');
    const once = setTimeout(() => this.announce('subscribe'), 1000);
    const every = setInterval(() => this.announce('subscribe'), (this.opts.freq ?? 10) * 1000);
    once.unref();
    every.unref();
    this.timers.push(once, every);
  }

  /** One packet per target; resolves when they are handed to the kernel. */
  announce(cmd: SubscriptionCommand): Promise<void> {
    const sends: Promise<void>[] = [];
    for (const p of this.prepared) {
      const t = p.target;
      if (t.check && existsSync(t.check)) continue; // subscribe2 check=: skipped while the file exists
      const enc = encodeSubscription(
        cmd,
        {
          key: t.key,
          address: p.address,
          modifier1: t.modifier1 ?? this.opts.modifier1 ?? 0,
          modifier2: t.modifier2 ?? 0,
          cores: this.opts.cores ?? 1,
          load: this.opts.load?.() ?? 0,
          weight: t.weight ?? this.opts.weight ?? 0,
          sniKey: t.sniKey,
          sniCrt: t.sniCrt,
          sniCa: t.sniCa,
          backup: t.backup,
          proto: t.proto,
        },
        p.signing ? { ...p.signing, now: this.now() } : undefined,
      );
      if (!enc.ok) {
        this.opts.logger?.warn(`subscription packet for "${t.key}" too large, not sent`);
        continue;
      }
      const s = this.socketFor(p.endpoint);
      sends.push(
        new Promise((resolve) => {
          s.send(enc.packet, p.endpoint.port, p.endpoint.host, (e) => {
            if (e) this.opts.logger?.warn(`subscription to ${t.server}: ${e.message}`);
            else this.sent++;
            resolve();
          });
        }),
      );
    }
    return Promise.all(sends).then(() => undefined);
  }

  /** One socket per family for all packets (uWSGI opens one per packet; see report). */
  private socketFor(ep: UdpEndpoint): Socket {
    if (ep.type === 'udp6') {
      if (!this.socket6) this.socket6 = this.openSocket('udp6');
      return this.socket6;
    }
    if (!this.socket4) this.socket4 = this.openSocket('udp4');
    return this.socket4;
  }

  private openSocket(type: 'udp4' | 'udp6'): Socket {
    const s = createSocket(type);
    s.on('error', (e) => this.opts.logger?.warn(`subscription socket: ${e.message}`));
    s.unref();
    return s;
  }

  /** Stops the timers, sends the unsubscribe packets (cmd 1), closes the sockets. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    await this.announce('unsubscribe');
    for (const s of [this.socket4, this.socket6]) s?.close();
    this.socket4 = undefined;
    this.socket6 = undefined;
  }
}
