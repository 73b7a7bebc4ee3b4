/**
 * The cache UDP sync of one cache (spec: ssl-sni-sessions.md §7): receiving sockets
 * (`udp=`, `cache-udp-server`) apply set/update/delete packets to the cache without
 * announcing them again, and every local write the cache announces goes as one datagram to
 * each node (`nodes=`, `cache-udp-node`) from an unbound socket. With a secret
 * (sealed-channel.ts) only sealed packets are sent and accepted.
 *
 * Receivers honour deletes (uWSGI 2.0 silently drops them: its length check is always
 * true for a delete packet). Every datagram is counted once: applied, deleted, or refused
 * by reason; refusals are logged at most once a minute per reason. A datagram costs a
 * decode (and an AEAD open) and one table write: nothing is queued, so a flood costs CPU,
 * never memory.
 */
import { createSocket, type Socket } from 'node:dgram';
import { ListenError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type CacheDelta, decodeCacheSync, encodeCacheSync } from '../protocol/cache-sync.ts';
import { closeUdpSockets } from '../udp/close-sockets.ts';
import type { UwsgiCache } from './cache.ts';
import type { SealedChannel } from './sealed-channel.ts';
import {
  parseUdpServerAddress,
  resolveUdpNodeAddress,
  type UdpNodeAddress,
  type UdpServerAddress,
} from './udp-address.ts';

/** the largest IPv4 UDP payload: a bigger sync packet cannot be sent at all */
export const MAX_SYNC_DATAGRAM = 65507;
/** receive buffer asked for (bursts of updates, e.g. a fleet of routers storing sessions) */
const SYNC_RCVBUF = 4 * 1024 * 1024;
/** one log line per refusal reason per this long */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

export interface UdpSyncOptions {
  cache: UwsgiCache;
  servers: readonly string[];
  nodes: readonly string[];
  sealed?: SealedChannel;
  log: Logger;
  /** where addresses came from, for errors (`--cache2 udp=` / `--cache-udp-server`) */
  serverOption: string;
  nodeOption: string;
}

export interface UdpSyncCounters {
  /** datagrams read */
  received: number;
  /** set/update packets stored */
  applied: number;
  /** delete packets that removed a key (uWSGI ignores deletes) */
  deleted: number;
  /** delete packets for a key not held */
  deleted_absent: number;
  /** refused before reaching the cache, by reason (codec or seal) */
  refused: Record<string, number>;
  /** valid packets the cache could not store, by reason (full, bad-key, bad-value, expired) */
  not_stored: Record<string, number>;
  /** datagrams sent (one per node per write) */
  sent: number;
  send_errors: number;
  /** local writes too large for one UDP datagram: not sent */
  too_large: number;
}

export class CacheUdpSync {
  private readonly o: UdpSyncOptions;
  private readonly servers: UdpServerAddress[];
  private nodes: UdpNodeAddress[] = [];
  private readonly sockets: Socket[] = [];
  private sender4: Socket | undefined;
  private sender6: Socket | undefined;
  private readonly loggedAt = new Map<string, number>();
  readonly counters: UdpSyncCounters = {
    received: 0,
    applied: 0,
    deleted: 0,
    deleted_absent: 0,
    refused: {},
    not_stored: {},
    sent: 0,
    send_errors: 0,
    too_large: 0,
  };

  /** Validates the server addresses now (ConfigError); nothing opens before `start`. */
  constructor(o: UdpSyncOptions) {
    this.o = o;
    this.servers = o.servers.map((a) => parseUdpServerAddress(a, o.serverOption));
  }

  get sealed(): boolean {
    return this.o.sealed !== undefined;
  }

  /** Resolves the nodes, binds the servers, starts sending the cache's writes. */
  async start(): Promise<void> {
    const name = this.o.cache.name;
    for (const n of this.o.nodes) {
      const node = await resolveUdpNodeAddress(n, this.o.nodeOption);
      this.nodes.push(node);
      this.o.log.info(`added udp node ${n} for cache "${name}"`);
    }
    if (this.nodes.length > 0) {
      this.o.cache.onDelta(this.send);
      if (this.nodes.some((n) => n.type === 'udp4')) this.sender4 = this.openSender('udp4');
      if (this.nodes.some((n) => n.type === 'udp6')) this.sender6 = this.openSender('udp6');
    }
    for (const a of this.servers) this.sockets.push(await this.bind(a));
    if (this.servers.length > 0) this.o.log.info(`udp server thread enabled for cache "${name}"`);
  }

  private openSender(type: 'udp4' | 'udp6'): Socket {
    const s = createSocket(type);
    s.on('error', (e) => this.logLimited('send-socket', `[cache-udp-node] socket error: ${e.message}`));
    if (this.nodes.some((n) => n.broadcast)) {
      s.bind(0, () => s.setBroadcast(true));
    }
    s.unref();
    return s;
  }

  private bind(a: UdpServerAddress): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: a.type, reuseAddr: a.multicast !== undefined });
      const fail = (e: Error): void =>
        reject(new ListenError(`[cache-udp-server] cannot bind to ${a.text}: ${e.message}`, { cause: e }));
      s.once('error', fail);
      s.on('message', this.onMessage);
      s.bind(a.port, a.host, () => {
        s.off('error', fail);
        s.on('error', (e) =>
          this.logLimited('server-socket', `[cache-udp-server] socket error: ${e.message}`),
        );
        try {
          if (a.multicast !== undefined) s.addMembership(a.multicast);
          s.setRecvBufferSize(SYNC_RCVBUF);
        } catch (e) {
          if (a.multicast !== undefined) {
            s.close();
            fail(e as Error);
            return;
          }
          // a receive buffer capped by net.core.rmem_max is still a working socket
        }
        this.o.log.info(`*** udp server for cache "${this.o.cache.name}" running on ${this.describe(s)} ***`);
        resolve(s);
      });
    });
  }

  private describe(s: Socket): string {
    const a = s.address();
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  /** Bound addresses, in configuration order (`ip:port` / `[v6]:port`). */
  addresses(): string[] {
    return this.sockets.map((s) => this.describe(s));
  }

  private readonly onMessage = (msg: Buffer): void => {
    this.handle(msg);
  };

  /**
   * One datagram, as read from a socket; public so a test or a cluster primary can feed
   * datagrams directly. Returns what happened to it.
   */
  handle(datagram: Buffer): string {
    this.counters.received++;
    let plain = datagram;
    if (this.o.sealed !== undefined) {
      const r = this.o.sealed.open(datagram);
      if (!r.ok) return this.refuse(r.reason);
      plain = r.plain;
    }
    const d = decodeCacheSync(plain);
    if (!d.ok) return this.refuse(d.error);
    const result = this.o.cache.applyDelta(d.delta);
    if (result === 'ok') this.counters.applied++;
    else if (result === 'deleted') this.counters.deleted++;
    else if (result === 'absent') this.counters.deleted_absent++;
    else {
      this.counters.not_stored[result] = (this.counters.not_stored[result] ?? 0) + 1;
      this.logLimited(
        `not-stored:${result}`,
        `[cache-udp-server] unable to update cache "${this.o.cache.name}": ${result}`,
      );
    }
    return result;
  }

  private refuse(reason: string): string {
    this.counters.refused[reason] = (this.counters.refused[reason] ?? 0) + 1;
    this.logLimited(
      `refused:${reason}`,
      `[cache-udp-server] cache "${this.o.cache.name}": refused a packet (${reason}); counted in the stats, logged once a minute per reason`,
    );
    return reason;
  }

  private logLimited(id: string, line: string): void {
    const now = Date.now();
    const at = this.loggedAt.get(id);
    if (at !== undefined && now - at < REFUSAL_LOG_INTERVAL_MS) return;
    this.loggedAt.set(id, now);
    this.o.log.warn(line);
  }

  /** The cache's delta listener: one datagram per node. */
  private readonly send = (delta: CacheDelta): void => {
    const e = encodeCacheSync(delta);
    let packet = e.ok ? e.packet : undefined;
    if (packet !== undefined && this.o.sealed !== undefined) packet = this.o.sealed.seal(packet);
    if (packet === undefined || packet.length > MAX_SYNC_DATAGRAM) {
      this.counters.too_large++;
      this.logLimited(
        'too-large',
        `[cache-udp-node] cache "${this.o.cache.name}": an item of ${delta.key.length + (delta.op === 'set' ? delta.value.length : 0)} bytes does not fit one UDP sync packet; not sent (uWSGI would send it corrupted)`,
      );
      return;
    }
    for (const n of this.nodes) {
      const s = n.type === 'udp6' ? this.sender6 : this.sender4;
      if (s === undefined) continue;
      this.counters.sent++;
      s.send(packet, n.port, n.host, this.sent);
    }
  };

  private readonly sent = (err: Error | null): void => {
    if (err === null) return;
    this.counters.send_errors++;
    this.logLimited('send', `[cache-udp-node] sendmsg(): ${err.message}`);
  };

  async close(): Promise<void> {
    const all = [...this.sockets, this.sender4, this.sender6];
    this.sockets.length = 0;
    this.sender4 = undefined;
    this.sender6 = undefined;
    await closeUdpSockets(all);
  }
}
